//! The API version is agreed with each daemon (from the answer to an
//! unversioned `/_ping`) and carried by every request after that one:
//! this engine (Docker 20.10) refuses anything above 1.41, Docker 29
//! anything below 1.44.

mod common;

use common::fake_daemon::NewerDaemon;
use common::proxy::{engine_socket, Proxy};
use common::{base_image, TEST_LABEL};
use dock_lite::{Docker, ListOptions, RunOptions};

/// The minor version of a request path's `/v1.NN/` prefix.
fn minor_version(path: &str) -> Option<u32> {
    let version = path.strip_prefix("/v")?.split('/').next()?;
    version.strip_prefix("1.")?.parse().ok()
}

#[test]
fn every_request_after_the_first_ping_carries_a_version_this_engine_accepts() {
    testkit::require_docker();
    let proxy = Proxy::start(&engine_socket());
    let docker = Docker::connect_to(proxy.host()).unwrap();
    docker.ping().expect("ping");
    let engine = docker.version().expect("version");
    assert_eq!(docker.api_version().unwrap(), engine.api_version);
    let output = docker
        .run(
            &RunOptions::new(base_image())
                .command(["true"])
                .label(TEST_LABEL, "negotiation"),
        )
        .expect("run");
    assert!(output.success());
    docker.list_containers(&ListOptions::default()).unwrap();
    docker.list_images().unwrap();

    let paths = proxy.request_paths();
    assert_eq!(paths[0], "/_ping", "the first request asks, unversioned");
    let newest = minor_version(&format!("/v{}/", engine.api_version)).unwrap();
    for path in &paths[1..] {
        let minor = minor_version(path).unwrap_or_else(|| panic!("unversioned request {path}"));
        assert!(minor <= newest, "{path} is above the engine's {newest}");
        assert_eq!(minor, newest, "{path}");
    }
    assert!(paths.len() > 6, "{paths:?}");
}

#[test]
fn a_newer_daemon_that_refuses_old_versions_gets_its_own_version() {
    for (daemon, asked) in [
        (NewerDaemon::start(), &["/_ping"][..]),
        (
            NewerDaemon::start_without_ping_header(),
            &["/_ping", "/version"][..],
        ),
    ] {
        speaks_the_newer_version(&daemon, asked);
    }
}

/// Checks the calls to `daemon`, whose first requests (unversioned) are `asked`.
fn speaks_the_newer_version(daemon: &NewerDaemon, asked: &[&str]) {
    let docker = Docker::connect_to(daemon.host()).unwrap();
    docker.ping().expect("ping a Docker 29 daemon");
    assert_eq!(docker.api_version().unwrap(), "1.52");
    let version = docker.version().unwrap();
    assert_eq!(version.version, "29.0.0");
    assert!(docker
        .list_containers(&ListOptions::default().all(true))
        .unwrap()
        .is_empty());
    assert!(docker.list_images().unwrap().is_empty());

    let paths = daemon.request_paths();
    assert_eq!(&paths[..asked.len()], asked);
    for path in &paths[asked.len()..] {
        let minor = minor_version(path).unwrap_or_else(|| panic!("unversioned request {path}"));
        assert!(minor >= 44, "{path} would be refused as too old");
    }
    // ping, version, the two lists.
    assert_eq!(paths.len(), asked.len() + 4, "{paths:?}");
}

#[test]
fn a_404_at_create_names_what_is_missing_image_or_not() {
    let daemon = NewerDaemon::start();
    let docker = Docker::connect_to(daemon.host()).unwrap();
    let err = docker
        .run(&RunOptions::new("present:latest").network("dock-lite-test-missing"))
        .unwrap_err();
    match &err {
        dock_lite::Error::Daemon {
            operation: "create container",
            host,
            resource: Some(resource),
            status: 404,
            message,
            ..
        } => {
            assert!(
                message.contains("network dock-lite-test-missing"),
                "{message}"
            );
            assert_eq!(*host, daemon.host().to_string());
            assert_eq!(resource, "present:latest", "the image it was created from");
        }
        other => panic!("expected the daemon's own 404, got {other:?}"),
    }
    let err = docker.run(&RunOptions::new("absent:latest")).unwrap_err();
    assert!(
        matches!(&err, dock_lite::Error::ImageNotFound { image } if image == "absent:latest"),
        "{err:?}"
    );
}

#[test]
fn the_simulated_newer_daemon_refuses_what_this_engine_would_accept() {
    // The stand-in answers as Docker 29 does: a fixed 1.41 is refused there.
    use std::io::{Read, Write};
    let daemon = NewerDaemon::start();
    let dock_lite::DockerHost::Unix(path) = daemon.host() else {
        unreachable!()
    };
    let mut stream = std::os::unix::net::UnixStream::connect(path).unwrap();
    stream
        .write_all(
            b"GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("client version 1.41 is too old"),
        "{answer}"
    );
}
