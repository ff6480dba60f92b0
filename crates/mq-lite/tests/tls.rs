//! `amqps://` (`tls` feature) against a broker whose certificate the test
//! generates with the openssl CLI.
#![cfg(feature = "tls")]

use std::time::{Duration, Instant};

use mq_lite::{ConnectOptions, Connection, Error, QueueOptions};
use testcontainers::{clients::Cli, core::WaitFor, GenericImage};
use testkit::tls::{authority, issue};

const AMQPS_PORT: u16 = 5671;
/// Where the official image (and ours) read extra configuration files.
const CONF_DIR: &str = "/etc/rabbitmq/conf.d";

/// A CA and a server certificate for localhost and 127.0.0.1, plus the
/// broker configuration that uses them, in one directory the broker can read.
fn tls_material() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    authority(path, "ca");
    issue(
        path,
        "ca",
        "server",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    );
    std::fs::write(
        path.join("90-tls.conf"),
        format!(
            "listeners.ssl.default = {AMQPS_PORT}\n\
             ssl_options.cacertfile = {CONF_DIR}/ca.pem\n\
             ssl_options.certfile = {CONF_DIR}/server.pem\n\
             ssl_options.keyfile = {CONF_DIR}/server.key\n\
             ssl_options.verify = verify_none\n\
             ssl_options.fail_if_no_peer_cert = false\n"
        ),
    )
    .unwrap();
    // The broker runs as its own user: let it read the files.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(path).unwrap() {
        let file = entry.unwrap().path();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    dir
}

#[test]
fn amqps_with_the_brokers_ca_trusted_publishes_and_gets_and_an_untrusted_one_is_refused() {
    let material = tls_material();
    let image = testkit::RABBITMQ.require();
    let (name, tag) = testkit::split_name_and_tag(&image);
    let docker = Cli::default();
    let broker = docker.run(
        GenericImage::new(name, tag)
            .with_exposed_port(AMQPS_PORT)
            .with_volume(material.path().to_string_lossy(), CONF_DIR)
            .with_wait_for(WaitFor::message_on_stdout("Server startup complete")),
    );
    let url = format!(
        "amqps://guest:guest@localhost:{}/%2f",
        broker.get_host_port_ipv4(AMQPS_PORT)
    );
    let ca = std::fs::read(material.path().join("ca.pem")).unwrap();

    let connection = Connection::open_with(&ConnectOptions::new(&url).tls_root_certificate(ca))
        .expect("amqps connect");
    let queue = connection
        .declare_queue("tls.jobs", &QueueOptions::default())
        .unwrap();
    queue.publish(b"over TLS").unwrap();
    assert_eq!(queue.get().unwrap().unwrap().body(), b"over TLS");

    let started = Instant::now();
    let err = Connection::open_with(
        &ConnectOptions::new(&url).connection_timeout(Duration::from_secs(5)),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(6));
}
