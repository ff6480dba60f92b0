//! Every call has a deadline: a daemon that accepts connections and never
//! answers gives a typed timeout within the documented time.

mod common;

use std::time::{Duration, Instant};

use common::proxy::{engine_socket, Proxy};
use common::{assert_on_time, base_image, RemoveLabelledOnDrop, TEST_LABEL};
use dock_lite::{BuildOptions, Docker, DockerHost, Error, ListOptions, RunOptions, Timeouts};

type Call = Box<dyn FnOnce(&Docker) -> Result<(), Error> + Send>;
type BorrowingCall<'a> = Box<dyn FnOnce() -> Result<(), Error> + Send + 'a>;

fn context_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("data.bin"), vec![7u8; 4 << 20]).unwrap();
    dir
}

/// Runs every call at once against `host`; each must end with a
/// `DaemonTimeout` for its operation, within its default deadline.
fn every_call_times_out(host: DockerHost) {
    let docker = Docker::connect_to(host).unwrap();
    let defaults = Timeouts::default();
    let (ping, request) = (defaults.ping, defaults.request);
    let context = context_dir();
    let context_path = context.path().to_owned();
    let calls: Vec<(&str, Duration, Call)> = vec![
        ("ping", ping, Box::new(|d| d.ping())),
        ("version", ping, Box::new(|d| d.version().map(drop))),
        (
            "inspect image",
            request,
            Box::new(|d| d.image_exists("x").map(drop)),
        ),
        (
            "list containers",
            request,
            Box::new(|d| d.list_containers(&ListOptions::default()).map(drop)),
        ),
        (
            "remove container",
            request,
            Box::new(|d| d.remove_container("x")),
        ),
        (
            "list images",
            request,
            Box::new(|d| d.list_images().map(drop)),
        ),
        (
            "remove image",
            request,
            Box::new(|d| d.remove_image("x", true)),
        ),
        (
            "create container",
            request,
            Box::new(|d| d.run(&RunOptions::new("x")).map(drop)),
        ),
        (
            "create container",
            request,
            Box::new(|d| d.start_detached(&RunOptions::new("x")).map(drop)),
        ),
        (
            "build image",
            request,
            Box::new(move |d| d.build(&BuildOptions::new(&context_path), |_| {}).map(drop)),
        ),
        (
            "pull image",
            request,
            Box::new(|d| d.pull_image("x", |_| {})),
        ),
    ];
    check_all(&docker, calls);
}

fn check_all(docker: &Docker, calls: Vec<(&'static str, Duration, Call)>) {
    std::thread::scope(|scope| {
        let running: Vec<_> = calls
            .into_iter()
            .map(|(operation, bound, call)| {
                scope.spawn(move || {
                    let started = Instant::now();
                    let result = call(docker);
                    (operation, bound, result, started.elapsed())
                })
            })
            .collect();
        for handle in running {
            let (operation, bound, result, elapsed) = handle.join().unwrap();
            assert_timed_out(docker, operation, bound, result, elapsed);
        }
    });
}

fn assert_timed_out(
    docker: &Docker,
    operation: &str,
    bound: Duration,
    result: Result<(), Error>,
    elapsed: Duration,
) {
    match result {
        Err(Error::DaemonTimeout {
            operation: reported,
            host,
            timeout,
            ..
        }) => {
            assert_eq!(reported, operation);
            assert_eq!(host, docker.host().to_string(), "{operation}");
            assert_eq!(timeout, bound, "{operation}");
        }
        other => panic!("{operation}: expected DaemonTimeout, got {other:?}"),
    }
    assert_on_time(operation, elapsed, bound);
    eprintln!("{operation}: typed timeout after {elapsed:.2?} (bound {bound:?})");
}

#[test]
fn every_call_to_a_silent_unix_socket_is_a_typed_timeout_within_its_deadline() {
    let (_dir, host) = common::silent_unix_daemon();
    every_call_times_out(host);
}

#[test]
fn every_call_to_a_silent_tcp_daemon_is_a_typed_timeout_within_its_deadline() {
    every_call_times_out(common::silent_tcp_daemon());
}

#[test]
fn calls_on_a_container_whose_daemon_falls_silent_time_out_within_the_configured_deadline() {
    testkit::require_docker();
    let proxy = Proxy::start(&engine_socket());
    let request = Duration::from_secs(3);
    let docker = Docker::connect_to(proxy.host())
        .unwrap()
        .with_timeouts(Timeouts::default().request(request));
    let label = "falls-silent";
    // The client's own clean-up goes through the silent proxy.
    let _cleanup = RemoveLabelledOnDrop(label);
    let container = docker
        .start_detached(
            &RunOptions::new(base_image())
                .command(["sleep", "300"])
                .label(TEST_LABEL, label),
        )
        .expect("start through the proxy");
    proxy.go_silent();
    let grace = Duration::from_secs(1);
    let context = context_dir();
    let (container_ref, docker_ref, context) = (&container, &docker, context.path());
    let calls: Vec<(&'static str, Duration, BorrowingCall<'_>)> = vec![
        (
            "build image",
            request,
            Box::new(move || {
                docker_ref
                    .build(&BuildOptions::new(context), |_| {})
                    .map(drop)
            }),
        ),
        (
            "pull image",
            request,
            Box::new(move || docker_ref.pull_image("x", |_| {})),
        ),
        (
            "inspect container",
            request,
            Box::new(move || container_ref.host_port(80).map(drop)),
        ),
        (
            "read container logs",
            request,
            Box::new(move || container_ref.logs().map(drop)),
        ),
        (
            "stop container",
            grace + request,
            Box::new(move || container_ref.stop(grace)),
        ),
    ];
    std::thread::scope(|scope| {
        let running: Vec<_> = calls
            .into_iter()
            .map(|(operation, bound, call)| {
                scope.spawn(move || {
                    let started = Instant::now();
                    (operation, bound, call(), started.elapsed())
                })
            })
            .collect();
        for handle in running {
            let (operation, bound, result, elapsed) = handle.join().unwrap();
            assert_timed_out(docker_ref, operation, bound, result, elapsed);
        }
    });
    let started = Instant::now();
    let err = container.remove().unwrap_err();
    assert!(
        matches!(
            err,
            Error::DaemonTimeout {
                operation: "remove container",
                ..
            }
        ),
        "{err:?}"
    );
    assert_on_time("remove container", started.elapsed(), request);
}
