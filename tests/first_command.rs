//! The README's first command, `cargo run --example platform`, on a machine
//! without the platform's Graphviz image and with no broker at `AMQP_URL`:
//! it builds the image (through `scripts/test-images`), starts a broker
//! container, serves, renders the bundled graphs through the HTTP API, and
//! removes the broker when it ends. `--demo` ends it after the graphs;
//! the serving itself is what `tests/api.rs` tests.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The platform example, built by `cargo test` next to this test binary.
fn platform_example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("examples/platform"))
        .unwrap();
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test`, which builds the examples",
        path.display()
    );
    path
}

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn the_first_command_builds_a_missing_image_starts_a_broker_serves_and_cleans_up() {
    testkit::require_docker();
    // The broker image must be there already (the tests' own preparation);
    // the Graphviz image under this name is not.
    let broker_image = testkit::RABBITMQ.require();
    let image = format!("ondemand-test/first-command-{}:latest", std::process::id());
    assert!(docker(&["images", "-q", &image]).is_empty());
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = Command::new(platform_example())
        .args(["--demo", "--listen", "127.0.0.1:0", "--queue"])
        .arg(format!("first-command.{}", std::process::id()))
        .arg("--project")
        .arg(dir.path().join("renders"))
        .env("GRAPHVIZ_IMAGE", &image)
        .env("RABBITMQ_IMAGE", &broker_image)
        // Nothing listens there: the example starts a broker of its own.
        .env(
            "AMQP_URL",
            format!("amqp://guest:guest@127.0.0.1:{}/%2f", testkit::free_port()),
        )
        .output()
        .expect("the example runs");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let built = !docker(&["images", "-q", &image]).is_empty();
    let _ = Command::new("docker").args(["rmi", "-f", &image]).output();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(built, "the image was built: {stderr}");
    assert!(stderr.contains("building"), "the build was shown: {stderr}");
    assert!(
        stdout.contains("starting") && stdout.contains("broker ready"),
        "{stdout}"
    );
    assert!(stdout.contains("serving on http://127.0.0.1:"), "{stdout}");
    for graph in ["hello.dot", "states.dot"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.contains(graph) && line.contains("/api/v1/jobs/")),
            "{graph} rendered: {stdout}"
        );
    }
    eprintln!("the first command built the image and rendered the graphs in {elapsed:.1?}");
    assert!(elapsed < Duration::from_secs(600));
    assert!(
        docker(&[
            "ps",
            "-aq",
            "--filter",
            "label=dev.ondemand.platform=demo-broker"
        ])
        .is_empty(),
        "the broker container it started is gone"
    );
}
