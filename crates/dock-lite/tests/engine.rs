//! Integration tests against the real Docker engine.

use std::process::Command;
use std::time::{Duration, Instant};

use dock_lite::{Docker, DockerHost, Error, RunOptions};

const TEST_LABEL: &str = "dev.dock-lite.test";

fn docker() -> Docker {
    testkit::require_docker();
    let docker = Docker::connect().expect("DOCKER_HOST is valid");
    docker.ping().expect("the daemon answers a ping");
    docker
}

/// Containers (running or not) carrying `label=value`, asked of the docker CLI.
fn containers_labelled(value: &str) -> Vec<String> {
    let output = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label={TEST_LABEL}={value}"),
        ])
        .output()
        .expect("docker ps runs");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn reports_the_daemon_version() {
    let version = docker().version().expect("version");
    assert!(!version.version.is_empty());
    assert!(version.api_version.starts_with("1."), "{version:?}");
}

#[test]
fn runs_a_container_and_keeps_stdout_apart_from_stderr_then_removes_it() {
    let docker = docker();
    let image = testkit::BASE.require();
    let output = docker
        .run(
            &RunOptions::new(&image)
                .command(["sh", "-c", "echo \"out $GREETING\"; echo err >&2; exit 3"])
                .env("GREETING", "hello")
                .label(TEST_LABEL, "run-once")
                .timeout(Duration::from_secs(60)),
        )
        .expect("run");
    assert_eq!(output.exit_code, 3, "a non-zero exit is a result");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "out hello\n");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "err\n");
    assert!(
        containers_labelled("run-once").is_empty(),
        "container left behind"
    );
}

#[test]
fn an_entrypoint_override_takes_the_command_as_its_arguments() {
    let output = docker()
        .run(
            &RunOptions::new(testkit::BASE.require())
                .entrypoint("sh")
                .command(["-c", "echo via-entrypoint"])
                .label(TEST_LABEL, "entrypoint"),
        )
        .expect("run");
    assert_eq!(output.stdout, b"via-entrypoint\n");
    assert!(output.success());
}

#[test]
fn a_missing_image_is_a_typed_error() {
    let err = docker()
        .run(&RunOptions::new("dock-lite-test/no-such-image:never"))
        .unwrap_err();
    assert!(matches!(err, Error::ImageNotFound { .. }), "{err:?}");
}

#[test]
fn an_unreachable_daemon_is_a_typed_error_within_two_seconds() {
    let started = Instant::now();
    let docker = Docker::connect_to(DockerHost::Unix("/nonexistent/docker.sock".into())).unwrap();
    let err = docker.ping().unwrap_err();
    assert!(matches!(err, Error::DaemonUnreachable { .. }), "{err:?}");
    // Port 1 on loopback: refused at once.
    let docker = Docker::connect_to(DockerHost::parse("tcp://127.0.0.1:1").unwrap()).unwrap();
    let err = docker.ping().unwrap_err();
    assert!(matches!(err, Error::DaemonUnreachable { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_malformed_docker_host_is_a_typed_error_not_a_panic() {
    let err = DockerHost::parse("tcp//oops").unwrap_err();
    assert!(matches!(err, Error::MalformedHost { .. }), "{err:?}");
}
