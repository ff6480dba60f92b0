//! Connecting to the engine: version, and the typed errors of bad hosts.

mod common;

use std::time::{Duration, Instant};

use dock_lite::{Docker, DockerHost, Error};

#[test]
fn reports_the_daemon_version() {
    let version = common::docker().version().expect("version");
    assert!(!version.version.is_empty());
    assert!(version.api_version.starts_with("1."), "{version:?}");
}

#[test]
fn an_unreachable_daemon_is_a_typed_error_within_two_seconds() {
    let started = Instant::now();
    let docker = Docker::connect_to(DockerHost::Unix("/nonexistent/docker.sock".into())).unwrap();
    let err = docker.ping().unwrap_err();
    assert!(matches!(err, Error::DaemonUnreachable { .. }), "{err:?}");
    let err = docker.list_containers(&Default::default()).unwrap_err();
    assert!(matches!(err, Error::DaemonUnreachable { .. }), "{err:?}");
    // Port 1 on loopback: refused at once.
    let docker = Docker::connect_to(DockerHost::parse("tcp://127.0.0.1:1").unwrap()).unwrap();
    let err = docker.ping().unwrap_err();
    assert!(matches!(err, Error::DaemonUnreachable { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_daemon_that_never_answers_times_out_within_two_seconds() {
    // Accepts connections but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("tcp://{}", silent.local_addr().unwrap());
    let docker = Docker::connect_to(DockerHost::parse(&host).unwrap()).unwrap();
    let started = Instant::now();
    let err = docker.ping().unwrap_err();
    assert!(matches!(err, Error::DaemonTimeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_socket_that_is_not_a_docker_daemon_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-docker.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    drop(_listener); // the file stays, nobody listens: connection refused
    let docker = Docker::connect_to(DockerHost::Unix(path.to_string_lossy().into())).unwrap();
    let err = docker.ping().unwrap_err();
    assert!(matches!(err, Error::DaemonUnreachable { .. }), "{err:?}");
}

#[test]
fn a_malformed_docker_host_is_a_typed_error_not_a_panic() {
    for bad in [
        "tcp//oops",
        "localhost:2375",
        "tcp://host:port",
        "ssh://user@host",
    ] {
        let err = DockerHost::parse(bad).unwrap_err();
        assert!(matches!(err, Error::MalformedHost { .. }), "{bad}: {err:?}");
    }
}

/// Set when this test binary re-runs itself as another user.
const PROBE_SOCKET_VAR: &str = "DOCK_LITE_PROBE_SOCKET";

#[test]
fn a_socket_this_user_may_not_open_is_permission_denied_within_two_seconds() {
    if let Ok(path) = std::env::var(PROBE_SOCKET_VAR) {
        let docker = Docker::connect_to(DockerHost::Unix(path)).unwrap();
        let started = Instant::now();
        let err = docker.ping().unwrap_err();
        assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("locked.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root may open any socket: run the probe as user `nobody` then.
    let mut probe = if common::is_root() {
        let mut command = std::process::Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        command.arg(std::env::current_exe().unwrap());
        command
    } else {
        std::process::Command::new(std::env::current_exe().unwrap())
    };
    let output = probe
        .args([
            "--exact",
            "a_socket_this_user_may_not_open_is_permission_denied_within_two_seconds",
        ])
        .env(PROBE_SOCKET_VAR, &path)
        .output()
        .expect("the probe runs");
    assert!(
        output.status.success(),
        "probe failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"));
}

#[cfg(not(feature = "tls"))]
#[test]
fn without_the_tls_feature_tls_is_a_typed_error() {
    let err = Docker::connect_with_tls(
        DockerHost::parse("tcp://127.0.0.1:2376").unwrap(),
        &dock_lite::TlsOptions::from_cert_path("/nonexistent"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::TlsConfig { .. }), "{err:?}");
}

#[test]
fn credentials_in_a_docker_host_never_appear_in_an_error() {
    // As DOCKER_HOST would give them: refused by the parser, masked.
    let err = DockerHost::parse("tcp://admin:hunter2@build-host:2376").unwrap_err();
    assert!(matches!(err, Error::MalformedHost { .. }), "{err:?}");
    // Built by hand, so that a connection is tried: every error that names
    // the host masks them, and so does the handle's Debug.
    let host = DockerHost::Tcp {
        host: "admin:hunter2@127.0.0.1".into(),
        port: 1,
    };
    let docker = Docker::connect_to(host).unwrap();
    let failed = docker.ping().unwrap_err();
    assert!(
        matches!(
            failed,
            Error::DaemonUnreachable { .. } | Error::DaemonTimeout { .. }
        ),
        "{failed:?}"
    );
    for text in [
        err.to_string(),
        format!("{err:?}"),
        failed.to_string(),
        format!("{failed:?}"),
        format!("{docker:?}"),
    ] {
        assert!(
            !text.contains("hunter2") && !text.contains("admin"),
            "{text}"
        );
        assert!(text.contains("***@"), "masked, not dropped: {text}");
    }
}
