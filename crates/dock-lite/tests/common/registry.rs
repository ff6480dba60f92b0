//! A minimal image registry (the Distribution API's read side) on
//! loopback, serving one manifest for an image the engine already has: a
//! pull by digest then fetches only the manifest (the engine skips layers
//! and configuration it holds).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

pub struct Registry {
    pub address: String,
    pub digest: String,
}

const MANIFEST_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";

impl Registry {
    /// Serves a manifest of local image `image` under any name.
    pub fn serving(image: &str) -> Registry {
        let config = config_of(image);
        let inspect = Command::new("docker")
            .args(["image", "inspect", "-f", "{{json .RootFS.Layers}}", image])
            .output()
            .unwrap();
        let layers: Vec<String> = serde_json::from_slice(&inspect.stdout).unwrap();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": config.len(),
                "digest": format!("sha256:{}", sha256(&config)),
            },
            "layers": layers.iter().map(|layer| serde_json::json!({
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar",
                "size": 1,
                "digest": layer,
            })).collect::<Vec<_>>(),
        })
        .to_string()
        .into_bytes();
        let digest = format!("sha256:{}", sha256(&manifest));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let manifest = manifest.clone();
                std::thread::spawn(move || serve(stream, &manifest));
            }
        });
        Registry { address, digest }
    }
}

/// The image's configuration blob, as `docker save` writes it.
fn config_of(image: &str) -> Vec<u8> {
    let mut save = Command::new("docker")
        .args(["save", image])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Id}}", image])
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&id.stdout);
    let wanted = format!("{}.json", id.trim().trim_start_matches("sha256:"));
    let mut archive = tar::Archive::new(save.stdout.take().unwrap());
    let mut config = None;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path == wanted
            || path == format!("blobs/sha256/{}", id.trim().trim_start_matches("sha256:"))
        {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            config = Some(bytes);
            break;
        }
    }
    let _ = save.kill();
    let _ = save.wait();
    config.expect("docker save holds the image's configuration")
}

fn sha256(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) runs");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn serve(stream: TcpStream, manifest: &[u8]) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut words = line.split_whitespace();
        let (Some(method), Some(path)) = (words.next(), words.next()) else {
            return; // not HTTP (a TLS hello, say): close
        };
        let (method, path) = (method.to_owned(), path.to_owned());
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
        }
        let (status, content_type, body): (&str, &str, &[u8]) = if path == "/v2/" {
            ("200 OK", "application/json", b"{}")
        } else if path.contains("/manifests/") {
            ("200 OK", MANIFEST_TYPE, manifest)
        } else {
            (
                "404 Not Found",
                "application/json",
                br#"{"errors":[{"code":"BLOB_UNKNOWN"}]}"#,
            )
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nDocker-Distribution-API-Version: registry/2.0\r\nDocker-Content-Digest: sha256:{}\r\nContent-Length: {}\r\n\r\n",
            sha256(body),
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
        if method != "HEAD" && writer.write_all(body).is_err() {
            return;
        }
    }
}
