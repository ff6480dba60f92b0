//! Running containers to completion on the real engine.

mod common;

use std::time::{Duration, Instant};

use common::proxy::{engine_socket, Proxy};
use common::{base_image, containers_labelled, docker, TEST_LABEL};
use dock_lite::{Error, OutputStream, PullPolicy, RunOptions};

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
fn a_locked_down_container_cannot_write_its_root_fork_past_its_limit_or_gain_privileges() {
    // The shell gives up ("Cannot fork") at the first fork the limit refuses.
    let script = "touch /probe 2>/dev/null && echo root-writable; \
                  touch /scratch/probe && echo scratch-writable; \
                  grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; id -u; \
                  for i in $(seq 1 40); do sleep 5 & echo started; done";
    let output = docker()
        .run(
            &sh(script, "locked-down")
                .locked_down()
                .tmpfs("/scratch", 1 << 20)
                .pids_limit(16)
                .user("65534:65534")
                .network("none")
                .timeout(Duration::from_secs(30)),
        )
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("root-writable"), "{stdout}");
    assert!(stdout.contains("scratch-writable"), "{stdout}");
    assert!(stdout.contains("CapEff:\t0000000000000000"), "{stdout}");
    assert!(stdout.contains("NoNewPrivs:\t1"), "{stdout}");
    assert!(stdout.lines().any(|line| line == "65534"), "{stdout}");
    let started = stdout.lines().filter(|line| *line == "started").count();
    assert!(
        (1..16).contains(&started),
        "{started} processes started under a limit of 16: {stdout}"
    );
    assert!(!output.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("fork"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
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

/// 50 MB of stdin, which the containers below never read.
fn fifty_megabytes() -> Vec<u8> {
    vec![b'x'; 50_000_000]
}

/// How long the docker CLI takes to run `script` with `stdin` on its stdin.
fn docker_cli_time(script: &str, stdin: &[u8]) -> Duration {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(stdin).unwrap();
    let started = Instant::now();
    let status = std::process::Command::new("docker")
        .args(["run", "-i", "--rm", "--network", "none", "--label"])
        .arg(format!("{TEST_LABEL}=cli-reference"))
        .args([&base_image(), "sh", "-c", script])
        .stdin(std::fs::File::open(file.path()).unwrap())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("the docker CLI runs");
    assert!(status.success());
    started.elapsed()
}

/// Runs the CLI's `script` and dock-lite's `ours` labelled `test`, both
/// fed 50 MB they never read, and asserts the promise: dock-lite within a
/// second of what the docker CLI takes. Each time is the shorter of two
/// runs, taken in turns (a busy machine slows one run, seldom both);
/// `check` looks at each of dock-lite's outputs.
fn within_a_second_of_the_cli(
    script: &str,
    ours: &str,
    test: &str,
    check: impl Fn(&dock_lite::RunOutput),
) {
    let docker = docker();
    let stdin = fifty_megabytes();
    let options = sh(ours, test).stdin(stdin.clone());
    let (mut ours, mut cli) = (Duration::MAX, Duration::MAX);
    for _ in 0..2 {
        cli = cli.min(docker_cli_time(script, &stdin));
        let started = Instant::now();
        let output = docker.run(&options).expect("run");
        ours = ours.min(started.elapsed());
        check(&output);
    }
    eprintln!(
        "{script} with 50 MB of stdin: dock-lite {ours:.2?}, docker CLI {cli:.2?} \
         (the shorter of two runs each)"
    );
    assert!(
        ours <= cli + Duration::from_secs(1),
        "dock-lite {ours:?}, CLI {cli:?}"
    );
    assert!(containers_labelled(&docker, test).is_empty());
}

#[test]
fn fifty_megabytes_of_stdin_to_a_container_that_exits_at_once_take_no_longer_than_with_the_cli() {
    within_a_second_of_the_cli("true", "true", "stdin-true", |output| {
        assert!(output.success())
    });
}

#[test]
fn fifty_megabytes_of_stdin_to_a_container_that_sleeps_end_with_its_exit_as_with_the_cli() {
    within_a_second_of_the_cli("sleep 5", "sleep 5; echo done", "stdin-sleep", |output| {
        assert_eq!(output.stdout, b"done\n")
    });
}

#[test]
fn fifty_megabytes_of_stdin_to_a_container_that_outlives_its_timeout_end_in_a_run_timeout_on_time()
{
    let docker = docker();
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = docker
        .run(
            &sh("sleep 3600", "stdin-timeout")
                .stdin(fifty_megabytes())
                .timeout(timeout),
        )
        .unwrap_err();
    let ours = started.elapsed();
    eprintln!("sleep 3600 with 50 MB of stdin and a 2 s timeout: {err} after {ours:.2?}");
    assert!(matches!(err, Error::RunTimeout { .. }), "{err:?}");
    // The run gives up at the timeout, then kills and removes the container
    // (a forced removal: 0.1-0.5 s on an idle machine) before it returns;
    // 3 s leaves room for a busy CI machine of two cores.
    assert!(
        ours >= timeout && ours <= timeout + Duration::from_secs(3),
        "{ours:?}"
    );
    assert!(containers_labelled(&docker, "stdin-timeout").is_empty());
}

/// Set when this test binary re-runs itself to measure its memory alone.
const OUTPUT_CAP_CHILD_VAR: &str = "DOCK_LITE_OUTPUT_CAP_CHILD";

/// The peak resident memory of this process, from /proc/self/status.
fn peak_resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn three_hundred_megabytes_of_stdout_past_a_seventeen_mib_limit_are_a_typed_error_and_cost_about_the_limit_in_memory(
) {
    // Not a power of two (see the next test for what doubling would reserve).
    const LIMIT: u64 = 17 * 1024 * 1024;
    if std::env::var_os(OUTPUT_CAP_CHILD_VAR).is_some() {
        let docker = docker();
        docker
            .run(&sh("true", "output-cap"))
            .expect("a warm-up run");
        let before = peak_resident_bytes();
        let err = docker
            .run(&sh("head -c 300000000 /dev/zero", "output-cap").output_limit(LIMIT))
            .unwrap_err();
        let growth = peak_resident_bytes() - before;
        match err {
            Error::OutputTooLarge {
                stream: OutputStream::Stdout,
                limit: LIMIT,
                received,
                ..
            } => assert!(received > LIMIT),
            other => panic!("expected OutputTooLarge on stdout, got {other:?}"),
        }
        println!("MEMORY_GROWTH={growth}");
        return;
    }
    let stdout = common::run_child_test(
        "three_hundred_megabytes_of_stdout_past_a_seventeen_mib_limit_are_a_typed_error_and_cost_about_the_limit_in_memory",
        &[(OUTPUT_CAP_CHILD_VAR, "1".as_ref())],
    );
    let growth: u64 = stdout
        .lines()
        .find_map(|line| line.strip_prefix("MEMORY_GROWTH="))
        .expect("the child reports its memory growth")
        .parse()
        .unwrap();
    eprintln!(
        "peak memory grew by {:.1} MiB for a 17 MiB limit",
        growth as f64 / f64::from(1 << 20)
    );
    // The buffer (at most the limit) and the reads in flight: 16.9-17.0 MiB
    // measured.
    assert!(
        growth < LIMIT * 3 / 2 + (2 << 20),
        "memory grew by {growth} bytes"
    );
    assert!(containers_labelled(&docker(), "output-cap").is_empty());
}

#[test]
fn output_of_exactly_the_limit_is_kept_in_a_buffer_no_larger_than_the_limit() {
    // Just past a power of two: a buffer growing by doubling would reserve
    // 32 MiB for it (resident memory does not show what is reserved and
    // never touched; the capacity does).
    const LIMIT: u64 = 17 * 1024 * 1024;
    let output = docker()
        .run(&sh(&format!("head -c {LIMIT} /dev/zero"), "output-exact").output_limit(LIMIT))
        .expect("run");
    assert_eq!(output.stdout.len() as u64, LIMIT);
    eprintln!(
        "{} MiB of stdout kept in a buffer of {:.1} MiB",
        LIMIT >> 20,
        output.stdout.capacity() as f64 / f64::from(1 << 20)
    );
    assert!(
        output.stdout.capacity() as u64 <= LIMIT,
        "capacity {}",
        output.stdout.capacity()
    );
}

#[test]
fn too_much_stderr_is_a_typed_error_naming_stderr() {
    let docker = docker();
    let err = docker
        .run(&sh("head -c 3000000 /dev/zero >&2", "stderr-cap").output_limit(1 << 20))
        .unwrap_err();
    assert!(
        matches!(err, Error::OutputTooLarge { stream: OutputStream::Stderr, limit, .. } if limit == 1 << 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("stderr"), "{err}");
    assert!(containers_labelled(&docker, "stderr-cap").is_empty());
}

#[test]
fn impossible_options_are_typed_errors_before_anything_is_sent() {
    testkit::require_docker();
    let proxy = Proxy::start(&engine_socket());
    let docker = dock_lite::Docker::connect_to(proxy.host()).unwrap();
    let base = || sh("true", "invalid-options");
    for (options, option) in [
        (base().cpus(-1.0), "cpus"),
        (base().cpus(f64::NAN), "cpus"),
        (base().memory_bytes(0), "memory_bytes"),
        (base().memory_bytes(1 << 20), "memory_bytes"),
        (base().mount("relative/dir", "/data", true), "mount"),
    ] {
        for result in [
            docker.run(&options).map(drop),
            docker.start_detached(&options).map(drop),
        ] {
            match result {
                Err(Error::InvalidOption {
                    option: refused, ..
                }) => assert_eq!(refused, option),
                other => panic!("{option}: expected InvalidOption, got {other:?}"),
            }
        }
    }
    assert!(
        proxy.request_paths().is_empty(),
        "{:?}",
        proxy.request_paths()
    );
}

#[test]
fn a_missing_network_is_named_and_not_taken_for_a_missing_image() {
    // Docker 20.10 finds it missing at start, Docker 25+ at create (see
    // tests/negotiation.rs): either way the daemon's message names it.
    let docker = docker();
    let err = docker
        .run(&sh("true", "missing-network").network("dock-lite-test-no-such-network"))
        .unwrap_err();
    match &err {
        Error::Daemon {
            operation: operation @ ("create container" | "start container"),
            host,
            resource: Some(resource),
            status: 404,
            message,
            ..
        } => {
            assert!(
                message.contains("dock-lite-test-no-such-network"),
                "{message}"
            );
            assert_eq!(*host, docker.host().to_string());
            // The image until the container exists, the container after.
            if *operation == "create container" {
                assert_eq!(*resource, base_image());
            } else {
                assert!(
                    resource.len() == 64 && resource.chars().all(|c| c.is_ascii_hexdigit()),
                    "not a container id: {resource}"
                );
            }
            let text = err.to_string();
            assert!(
                text.contains(resource.as_str()) && text.contains(host.as_str()),
                "{text}"
            );
        }
        other => panic!("expected the daemon's 404, got {other:?}"),
    }
    assert!(containers_labelled(&docker, "missing-network").is_empty());
}
