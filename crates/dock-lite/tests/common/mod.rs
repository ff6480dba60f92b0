//! Helpers shared by the engine tests.
#![allow(dead_code)] // not every test file uses every helper

pub mod dns;
pub mod fake_daemon;
pub mod proxy;
pub mod registry;

use std::time::Duration;

use dock_lite::{Docker, DockerHost, ListOptions};

/// Every container and image a test creates carries this label (value: the test's name).
pub const TEST_LABEL: &str = "dev.dock-lite.test";

/// A client for the engine of `DOCKER_HOST`, failing loudly when it does not answer.
pub fn docker() -> Docker {
    testkit::require_docker();
    let docker = Docker::connect().expect("DOCKER_HOST is valid");
    docker.ping().expect("the daemon answers a ping");
    docker
}

/// The small base image (alpine, or the offline Debian one).
pub fn base_image() -> String {
    testkit::BASE.require()
}

/// Ids of the containers, running or not, labelled `TEST_LABEL=value`.
pub fn containers_labelled(docker: &Docker, value: &str) -> Vec<String> {
    docker
        .list_containers(&ListOptions::default().all(true).label(TEST_LABEL, value))
        .expect("list containers")
        .into_iter()
        .map(|container| container.id)
        .collect()
}

/// A daemon that accepts connections on a unix socket and never answers.
pub fn silent_unix_daemon() -> (tempfile::TempDir, DockerHost) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    (dir, DockerHost::Unix(path.to_string_lossy().into_owned()))
}

/// A daemon that accepts TCP connections on loopback and never answers.
pub fn silent_tcp_daemon() -> DockerHost {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = DockerHost::parse(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    host
}

/// Removes, with the docker CLI, the containers labelled `TEST_LABEL=value`
/// (for tests whose client could not).
pub fn force_remove_labelled(value: &str) {
    let listed = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label={TEST_LABEL}={value}"),
        ])
        .output()
        .expect("docker ps runs");
    for id in String::from_utf8_lossy(&listed.stdout).split_whitespace() {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v", id])
            .output();
    }
}

/// Removes, with the docker CLI, the containers labelled `TEST_LABEL=value`
/// when dropped: also when an assertion has failed, and when the test's
/// client cannot (its daemon went silent).
pub struct RemoveLabelledOnDrop(pub &'static str);

impl Drop for RemoveLabelledOnDrop {
    fn drop(&mut self) {
        force_remove_labelled(self.0);
    }
}

/// True when this process runs as root.
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .expect("id(1) runs")
        .stdout
        == b"0\n"
}

/// Asserts that `elapsed` is no less than `bound` and at most two seconds
/// more: calls are checked ten at a time, on a CI machine of two cores that
/// may be busy.
pub fn assert_on_time(what: &str, elapsed: Duration, bound: Duration) {
    assert!(
        elapsed >= bound && elapsed <= bound + Duration::from_secs(2),
        "{what}: {elapsed:?} for a bound of {bound:?}"
    );
}

/// Runs test `name` of this test binary again in a child process, with
/// `env` set there only, and returns its standard output once it passed.
pub fn run_child_test(name: &str, env: &[(&str, &std::ffi::OsStr)]) -> String {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture"])
        .envs(env.iter().copied())
        .output()
        .expect("the child test runs");
    let stdout = String::from_utf8_lossy(&child.stdout).into_owned();
    assert!(
        child.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&child.stderr)
    );
    stdout
}
