//! TLS in front of the Docker engine, as a remote daemon with
//! `--tlsverify` has it: certificates made with the openssl CLI, and a
//! proxy that asks for a client certificate signed by the test's authority
//! and forwards to the engine's unix socket. A worker given `DOCKER_HOST`
//! `tcp://<address>`, `DOCKER_TLS_VERIFY=1` and
//! `DOCKER_CERT_PATH=<material>/client` reaches the engine as a remote one.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

/// Runs the openssl CLI with `args` in `dir`; fails the test if it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl CLI is installed (apt-get install openssl)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes a certificate authority `name` in `dir` (`name.pem`, `name.key`).
pub fn authority(dir: &Path, name: &str) {
    let (key, cert) = (format!("{name}.key"), format!("{name}.pem"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-subj",
            &format!("/CN=testkit {name}"),
        ],
    );
}

/// Makes a certificate `name` in `dir` (`name.pem`, `name.key`), signed by
/// authority `ca`, with the extensions `ext` (an openssl extension file's
/// text, such as `subjectAltName=DNS:localhost,IP:127.0.0.1`).
pub fn issue(dir: &Path, ca: &str, name: &str, ext: &str) {
    let ext_file = format!("{name}.ext");
    std::fs::write(dir.join(&ext_file), ext).unwrap();
    let (key, csr, cert) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext_file,
            "-out",
            &cert,
        ],
    );
}

/// The test's certificates: in `client/` the files a client of the
/// daemon gets (`ca.pem`, `cert.pem`, `key.pem`), in `rogue/` a client
/// certificate of another authority, in `rogue-ca/` a `ca.pem` that did
/// not sign the server's certificate.
pub struct Material {
    /// Where the files are; removed when dropped.
    pub dir: tempfile::TempDir,
}

impl Material {
    /// Makes them; the server's certificate is for localhost, 127.0.0.1 and `extra_ip`.
    pub fn new(extra_ip: Option<IpAddr>) -> Material {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        authority(path, "ca");
        authority(path, "other-ca");
        let mut san = "subjectAltName=DNS:localhost,IP:127.0.0.1".to_owned();
        if let Some(ip) = extra_ip {
            san.push_str(&format!(",IP:{ip}"));
        }
        issue(
            path,
            "ca",
            "server",
            &format!("{san}\nextendedKeyUsage=serverAuth\n"),
        );
        issue(path, "ca", "client", "extendedKeyUsage=clientAuth\n");
        issue(path, "other-ca", "rogue", "extendedKeyUsage=clientAuth\n");
        let copy = |from: &str, to: &str| {
            let target = path.join(to);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(path.join(from), target).unwrap();
        };
        copy("ca.pem", "client/ca.pem");
        copy("client.pem", "client/cert.pem");
        copy("client.key", "client/key.pem");
        copy("ca.pem", "rogue/ca.pem");
        copy("rogue.pem", "rogue/cert.pem");
        copy("rogue.key", "rogue/key.pem");
        copy("other-ca.pem", "rogue-ca/ca.pem");
        copy("client.pem", "rogue-ca/cert.pem");
        copy("client.key", "rogue-ca/key.pem");
        Material { dir }
    }

    /// A file or directory of the material, such as `client`.
    pub fn path(&self, sub: &str) -> std::path::PathBuf {
        self.dir.path().join(sub)
    }
}

/// Starts a TLS proxy on `ip` (a free port) that requires a client
/// certificate of the test's authority and forwards to the engine's unix
/// socket at `engine_socket`. It runs until the test process exits.
pub fn start_proxy(material: &Material, ip: IpAddr, engine_socket: &str) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(material.path("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain: Vec<_> = CertificateDer::pem_file_iter(material.path("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(material.path("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    let engine_socket = Arc::new(engine_socket.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, engine_socket) = (acceptor.clone(), engine_socket.clone());
                tokio::spawn(async move {
                    // A refused client certificate ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut engine) =
                        tokio::net::UnixStream::connect(engine_socket.as_str()).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut engine).await;
                });
            }
        });
    });
    address
}

/// An address of this machine that is not loopback: the one its default
/// route leaves from (no packet is sent to find it).
pub fn non_loopback_address() -> IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    socket
        .connect("203.0.113.1:9")
        .expect("this machine has a default route");
    let ip = socket.local_addr().unwrap().ip();
    assert!(!ip.is_loopback(), "{ip}");
    ip
}
