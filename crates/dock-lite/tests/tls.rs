#![cfg(feature = "tls")]
//! A remote daemon over TLS (`DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`),
//! through a TLS proxy in front of the engine with certificates the test
//! makes; published ports of a remote daemon.

mod common;

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::proxy::engine_socket;
use common::{base_image, containers_labelled, TEST_LABEL};
use dock_lite::{Docker, DockerHost, Error, ListOptions, RunOptions, TlsOptions};
use testkit::tls::{non_loopback_address, start_proxy, Material};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn host(address: std::net::SocketAddr) -> DockerHost {
    DockerHost::parse(&format!("tcp://{address}")).unwrap()
}

/// Set when this test binary re-runs itself with the TLS environment.
const CHILD_IMAGE_VAR: &str = "DOCK_LITE_TLS_CHILD_IMAGE";

#[test]
fn docker_tls_verify_and_docker_cert_path_reach_the_engine_through_a_tls_proxy() {
    const NAME: &str =
        "docker_tls_verify_and_docker_cert_path_reach_the_engine_through_a_tls_proxy";
    if let Ok(image) = std::env::var(CHILD_IMAGE_VAR) {
        return connect_from_the_environment(&image);
    }
    testkit::require_docker();
    let material = Material::new(None);
    let address = start_proxy(&material, LOOPBACK, &engine_socket());
    // The environment goes to a child process only: the docker CLI that
    // other tests run reads it too.
    let host = format!("tcp://{address}");
    let image = testkit::GRAPHVIZ.require();
    let stdout = common::run_child_test(
        NAME,
        &[
            ("DOCKER_HOST", host.as_ref()),
            ("DOCKER_TLS_VERIFY", "1".as_ref()),
            ("DOCKER_CERT_PATH", material.path("client").as_os_str()),
            (CHILD_IMAGE_VAR, image.as_ref()),
        ],
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

fn connect_from_the_environment(graphviz: &str) {
    let docker = Docker::connect().expect("connect");
    assert!(matches!(docker.host(), DockerHost::Tcp { .. }));
    docker.ping().expect("ping over TLS");
    assert_eq!(
        docker.api_version().unwrap(),
        docker.version().unwrap().api_version
    );
    // stdin over TLS: its end reaches `dot` through the proxy.
    let output = docker
        .run(
            &RunOptions::new(graphviz)
                .command(["-Tsvg"])
                .stdin(b"digraph { tls -> engine }".to_vec())
                .network("none")
                .label(TEST_LABEL, "tls-dot")
                .timeout(Duration::from_secs(60)),
        )
        .expect("run dot over TLS");
    assert!(
        output.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("engine"));
    assert!(docker
        .list_containers(
            &ListOptions::default()
                .all(true)
                .label(TEST_LABEL, "tls-dot")
        )
        .unwrap()
        .is_empty());
}

#[test]
fn a_client_certificate_of_another_authority_is_a_typed_tls_error() {
    let material = Material::new(None);
    let address = start_proxy(&material, LOOPBACK, &engine_socket());
    let docker = Docker::connect_with_tls(
        host(address),
        &TlsOptions::from_cert_path(material.path("rogue")),
    )
    .unwrap();
    let started = Instant::now();
    let err = docker.ping().unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_daemon_certificate_of_another_authority_is_a_typed_tls_error() {
    let material = Material::new(None);
    let address = start_proxy(&material, LOOPBACK, &engine_socket());
    let docker = Docker::connect_with_tls(
        host(address),
        &TlsOptions::from_cert_path(material.path("rogue-ca")),
    )
    .unwrap();
    let err = docker.list_images().unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
}

#[test]
fn missing_or_unusable_tls_files_are_typed_errors_before_anything_is_sent() {
    let material = Material::new(None);
    let tcp = DockerHost::parse("tcp://127.0.0.1:1").unwrap();
    let client = material.path("client");
    let missing_key = TlsOptions::new(
        client.join("ca.pem"),
        client.join("cert.pem"),
        client.join("absent.pem"),
    );
    let not_a_key = TlsOptions::new(
        client.join("ca.pem"),
        client.join("cert.pem"),
        client.join("ca.pem"),
    );
    let not_a_ca = TlsOptions::new(
        client.join("key.pem"),
        client.join("cert.pem"),
        client.join("key.pem"),
    );
    for (tls, file) in [
        (&missing_key, "absent.pem"),
        (&not_a_key, "ca.pem"),
        (&not_a_ca, "key.pem"),
    ] {
        match Docker::connect_with_tls(tcp.clone(), tls) {
            Err(Error::TlsConfig { path, .. }) => assert!(path.ends_with(file), "{path:?}"),
            other => panic!("expected TlsConfig for {file}, got {other:?}"),
        }
    }
}

#[test]
fn published_ports_of_a_remote_daemon_are_reachable_at_its_host_address() {
    testkit::require_docker();
    let ip = non_loopback_address();
    let material = Material::new(Some(ip));
    let address = start_proxy(&material, ip, &engine_socket());
    let docker = Docker::connect_with_tls(
        host(address),
        &TlsOptions::from_cert_path(material.path("client")),
    )
    .unwrap();
    assert!(!docker.host().is_local());
    let label = "remote-port";
    // A one-line TCP service: perl in Debian, busybox nc in Alpine.
    let script = "if command -v perl >/dev/null; then exec perl -MIO::Socket::INET -e \
        '$s = IO::Socket::INET->new(LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die; \
         while ($c = $s->accept) { print $c \"dock-lite\\n\"; close $c }'; \
        else exec nc -lk -p 8080 -e echo dock-lite; fi";
    let service = docker
        .start_detached(
            &RunOptions::new(base_image())
                .entrypoint(["sh", "-c"])
                .command([script])
                .publish_port(8080)
                .label(TEST_LABEL, label),
        )
        .expect("start over TLS");
    assert_eq!(service.host_address(), ip.to_string());
    let port = service.host_port(8080).unwrap();
    service
        .wait_for_port(8080, Duration::from_secs(30))
        .expect("the published port is reachable from this machine");
    let started = Instant::now();
    let greeting = loop {
        let mut answer = String::new();
        if let Ok(mut stream) = std::net::TcpStream::connect((ip, port)) {
            let _ = stream.read_to_string(&mut answer);
        }
        if answer.contains("dock-lite") || started.elapsed() > Duration::from_secs(30) {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(greeting.trim(), "dock-lite");
    let listed = docker
        .list_containers(&ListOptions::default().label(TEST_LABEL, label))
        .unwrap();
    assert_eq!(listed[0].ports[0].host_ip.as_deref(), Some("0.0.0.0"));
    service.remove().unwrap();
    assert!(containers_labelled(&common::docker(), label).is_empty());
}
