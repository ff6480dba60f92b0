//! Running containers to completion on the real engine.

mod common;

use std::time::{Duration, Instant};

use common::{base_image, containers_labelled, docker, TEST_LABEL};
use dock_lite::{Error, PullPolicy, RunOptions};

fn sh(script: &str, test: &str) -> RunOptions {
    RunOptions::new(base_image())
        .entrypoint(["sh", "-c"])
        .command([script])
        .label(TEST_LABEL, test)
        .timeout(Duration::from_secs(60))
}

#[test]
fn a_non_zero_exit_is_a_result_and_stderr_stays_apart_from_stdout() {
    let docker = docker();
    let output = docker
        .run(
            &sh("echo \"out $GREETING\"; echo err >&2; exit 3", "exit-code")
                .env("GREETING", "hello"),
        )
        .expect("run");
    assert_eq!(output.exit_code, 3);
    assert!(!output.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "out hello\n");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "err\n");
    assert!(
        containers_labelled(&docker, "exit-code").is_empty(),
        "container left behind"
    );
}

#[test]
fn ten_mib_of_stdin_reach_the_container_and_its_end_is_seen() {
    let docker = docker();
    let input: Vec<u8> = (0..10 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let output = docker.run(&sh("wc -c", "stdin").stdin(input)).expect("run");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        (10 * 1024 * 1024).to_string()
    );
    assert!(output.success());
}

#[test]
fn stdin_is_echoed_back_byte_for_byte() {
    let input: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let output = docker()
        .run(&sh("cat", "echo").stdin(input.clone()))
        .expect("run");
    assert_eq!(output.stdout, input);
}

#[test]
fn dot_renders_a_graph_from_stdin_in_the_graphviz_image() {
    let image = testkit::GRAPHVIZ.require();
    let output = docker()
        .run(
            &RunOptions::new(image)
                .command(["-Tsvg"])
                .stdin(b"digraph { a -> b [label=\"hello\"] }".to_vec())
                .network("none")
                .label(TEST_LABEL, "dot")
                .timeout(Duration::from_secs(60)),
        )
        .expect("run dot");
    assert!(
        output.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let svg = String::from_utf8_lossy(&output.stdout);
    assert!(svg.contains("<svg") && svg.contains("hello"), "{svg}");
}

#[test]
fn a_timeout_kills_and_removes_the_container() {
    let docker = docker();
    let started = Instant::now();
    let err = docker
        .run(&sh("sleep 60", "timeout").timeout(Duration::from_secs(2)))
        .unwrap_err();
    assert!(matches!(err, Error::RunTimeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        containers_labelled(&docker, "timeout").is_empty(),
        "container left behind"
    );
}

#[test]
fn fifty_runs_leave_no_container_behind() {
    let docker = docker();
    for i in 0..50 {
        let output = docker
            .run(&sh(&format!("exit {}", i % 3), "fifty"))
            .expect("run");
        assert_eq!(output.exit_code, i64::from(i % 3));
    }
    assert!(
        containers_labelled(&docker, "fifty").is_empty(),
        "containers left behind"
    );
}

#[test]
fn working_dir_user_mounts_and_limits_apply() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.txt"), "from the host").unwrap();
    let script = "pwd; id -u; cat /data/input.txt; echo; \
        cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; \
        cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max; \
        touch /data/x 2>/dev/null && echo writable || echo read-only";
    let output = docker()
        .run(
            &sh(script, "settings")
                .working_dir("/tmp")
                .user("1234")
                .mount(dir.path(), "/data", true)
                .memory_bytes(64 * 1024 * 1024)
                .cpus(0.5),
        )
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "/tmp",
            "1234",
            "from the host",
            "67108864",
            "50000",
            "read-only"
        ],
        "{stdout}"
    );
}

#[test]
fn network_none_leaves_only_the_loopback_interface() {
    let output = docker()
        .run(&sh("ls /sys/class/net", "network").network("none"))
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "lo");
}

#[test]
fn a_missing_image_is_a_typed_error_or_a_failed_pull_per_policy() {
    let docker = docker();
    let missing = "dock-lite-test/no-such-image:never";
    let err = docker.run(&RunOptions::new(missing)).unwrap_err();
    assert!(matches!(err, Error::ImageNotFound { .. }), "{err:?}");
    // No registry holds it (and none may be reachable): the pull fails, typed.
    let err = docker
        .run(&RunOptions::new(missing).pull(PullPolicy::IfMissing))
        .unwrap_err();
    assert!(matches!(err, Error::PullFailed { .. }), "{err:?}");
}

/// Set when this test binary re-runs itself as the process to be killed.
const VICTIM_VAR: &str = "DOCK_LITE_KILLED_CLIENT";

#[test]
fn the_daemon_removes_the_container_of_a_client_that_died_mid_run() {
    if std::env::var_os(VICTIM_VAR).is_some() {
        let _ = docker().run(&sh("sleep 3", "orphan"));
        return;
    }
    let docker = docker();
    let mut victim = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_daemon_removes_the_container_of_a_client_that_died_mid_run",
        ])
        .env(VICTIM_VAR, "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let running = |docker: &dock_lite::Docker| {
        docker
            .list_containers(&dock_lite::ListOptions::default().label(TEST_LABEL, "orphan"))
            .expect("list")
            .iter()
            .any(|container| container.state == "running")
    };
    // Killed between create and start, a container is never started and
    // so never auto-removed: kill the client once the container runs.
    while !running(&docker) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the victim never started its container"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    victim.kill().unwrap();
    victim.wait().unwrap();
    assert_eq!(
        containers_labelled(&docker, "orphan").len(),
        1,
        "still running after the kill"
    );
    while !containers_labelled(&docker, "orphan").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the orphan was never removed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
