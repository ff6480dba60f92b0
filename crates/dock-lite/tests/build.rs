//! Building images on the real engine: success, a failing step, .dockerignore.

mod common;

use std::path::Path;

use common::{base_image, docker, TEST_LABEL};
use dock_lite::{BuildOptions, Error, RunOptions};

fn write(dir: &Path, name: &str, contents: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Removes the image when the test ends, however it ends.
struct ImageGuard(&'static str);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _ = common::docker().remove_image(self.0, true);
    }
}

#[test]
fn builds_an_image_honouring_dockerignore_and_reports_each_line() {
    let docker = docker();
    let tag = "dock-lite-test/context:latest";
    let _guard = ImageGuard(tag);
    let context = tempfile::tempdir().unwrap();
    let dir = context.path();
    write(
        dir,
        "Dockerfile",
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . /context\nRUN echo built-marker\n",
    );
    write(
        dir,
        ".dockerignore",
        "big\n**/*.log\n!keep.log\nsecret.txt\n",
    );
    write(dir, "src/main.c", "int main(){}");
    write(dir, "big/blob.bin", "ignored");
    write(dir, "deep/dir/debug.log", "ignored");
    write(dir, "keep.log", "kept by the exception");
    write(dir, "secret.txt", "never read");

    let mut lines = Vec::new();
    let output = docker
        .build(
            &BuildOptions::new(dir)
                .tag(tag)
                .build_arg("BASE_IMAGE", base_image())
                .label(TEST_LABEL, "build"),
            |line| lines.push(line.to_owned()),
        )
        .expect("build");
    assert!(output.image_id.is_some());
    assert!(
        lines.iter().any(|line| line.contains("built-marker")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|line| line.starts_with("Step 1/")),
        "{lines:#?}"
    );

    let listing = docker
        .run(
            &RunOptions::new(tag)
                .entrypoint(["sh", "-c"])
                .command(["cd /context && find . -type f | sort"])
                .label(TEST_LABEL, "build"),
        )
        .expect("run the built image");
    let files = String::from_utf8_lossy(&listing.stdout);
    let files: Vec<&str> = files.lines().collect();
    assert_eq!(
        files,
        [
            "./.dockerignore",
            "./Dockerfile",
            "./keep.log",
            "./src/main.c"
        ]
    );
}

#[test]
fn a_failing_run_step_is_a_typed_error_with_the_step_and_the_log() {
    let docker = docker();
    let context = tempfile::tempdir().unwrap();
    write(
        context.path(),
        "Dockerfile",
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo about-to-fail && exit 7\n",
    );
    let err = docker
        .build(
            &BuildOptions::new(context.path()).build_arg("BASE_IMAGE", base_image()),
            |_| {},
        )
        .unwrap_err();
    match err {
        Error::BuildFailed {
            step,
            message,
            log_tail,
            ..
        } => {
            assert!(
                step.as_deref()
                    .unwrap_or("")
                    .contains("RUN echo about-to-fail"),
                "{step:?}"
            );
            assert!(message.contains('7'), "{message}");
            assert!(
                log_tail.iter().any(|line| line.contains("about-to-fail")),
                "{log_tail:#?}"
            );
        }
        other => panic!("expected BuildFailed, got {other:?}"),
    }
}

#[test]
fn a_missing_dockerfile_is_a_typed_error_before_anything_is_sent() {
    let context = tempfile::tempdir().unwrap();
    let err = docker()
        .build(&BuildOptions::new(context.path()), |_| {})
        .unwrap_err();
    assert!(matches!(err, Error::BuildContext { .. }), "{err:?}");
}

#[test]
fn a_context_sent_by_dock_lite_hits_the_cache_of_the_docker_cli() {
    let docker = docker();
    let cli_tag = "dock-lite-test/cache:cli";
    let our_tag = "dock-lite-test/cache:dock-lite";
    let _guards = (ImageGuard(cli_tag), ImageGuard(our_tag));
    let context = tempfile::tempdir().unwrap();
    let dir = context.path();
    write(
        dir,
        "Dockerfile",
        &format!("FROM {}\nCOPY . /context\n", base_image()),
    );
    write(dir, "data/a.txt", "a");
    write(dir, "run.sh", "#!/bin/sh\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cli = std::process::Command::new("docker")
        .args(["build", "-q", "-t", cli_tag])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let cli_id = String::from_utf8_lossy(&cli.stdout).trim().to_owned();
    let ours = docker
        .build(&BuildOptions::new(dir).tag(our_tag), |_| {})
        .unwrap();
    assert_eq!(
        ours.image_id.as_deref(),
        Some(cli_id.as_str()),
        "a different COPY layer: no shared cache"
    );
}
