//! A DNS server on port 53 of a loopback address that knows one name
//! (`127.0.0.1`), and can fall silent: a resolver then waits for it as long
//! as `/etc/resolv.conf` tells it to.

use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct Dns {
    /// Where it listens, on port 53.
    pub address: Ipv4Addr,
    silent: Arc<AtomicBool>,
}

impl Dns {
    /// Answers the `A` queries for `name` with 127.0.0.1 (other names do
    /// not exist, and `name` has no IPv6 address).
    pub fn start(name: &str) -> Dns {
        let (socket, address) = (77..=99)
            .find_map(|last| {
                let address = Ipv4Addr::new(127, 0, 0, last);
                UdpSocket::bind((address, 53))
                    .ok()
                    .map(|socket| (socket, address))
            })
            .expect(
                "a UDP socket on port 53 of a loopback address \
                 (root, or net.ipv4.ip_unprivileged_port_start <= 53)",
            );
        let silent = Arc::new(AtomicBool::new(false));
        let (quiet, name) = (silent.clone(), name.to_ascii_lowercase());
        std::thread::spawn(move || {
            let mut query = [0u8; 512];
            while let Ok((read, from)) = socket.recv_from(&mut query) {
                if quiet.load(Ordering::SeqCst) {
                    continue;
                }
                if let Some(reply) = answer(&query[..read], &name) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Dns { address, silent }
    }

    /// From now on no query is answered.
    pub fn go_silent(&self) {
        self.silent.store(true, Ordering::SeqCst);
    }
}

/// The answer to one query (RFC 1035, section 4): the question repeated,
/// and an `A` record when it asks for the address of `name`.
fn answer(query: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let length = usize::from(*query.get(at)?);
        at += 1;
        if length == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + length)?).to_ascii_lowercase());
        at += length;
    }
    let question = query.get(12..at + 4)?;
    let asked_type = u16::from_be_bytes([query[at], query[at + 1]]);
    let known = labels.join(".") == name;
    let address = known && asked_type == 1;
    let mut reply = Vec::with_capacity(64);
    reply.extend_from_slice(&query[..2]); // the query's id
    reply.push(0x81); // an answer, recursion desired
    reply.push(if known { 0x80 } else { 0x83 }); // recursion available; no error or no such name
    reply.extend_from_slice(&[0, 1, 0, u8::from(address), 0, 0, 0, 0]);
    reply.extend_from_slice(question);
    if address {
        // The question's name, class IN, type A, no caching, 127.0.0.1.
        reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0, 0, 1]);
    }
    Some(reply)
}
