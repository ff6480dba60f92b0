//! The blocking facade inside async code: every call is refused before
//! anything is sent, a run leaves nothing created, and dropping the last
//! handle (or a running container's) does not panic.

mod common;

use std::time::{Duration, Instant};

use common::proxy::{engine_socket, Proxy};
use common::{base_image, containers_labelled, docker, TEST_LABEL};
use dock_lite::{BuildOptions, Docker, Error, ListOptions, RunOptions};

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn refused<T: std::fmt::Debug>(what: &str, result: Result<T, Error>) {
    assert!(
        matches!(result, Err(Error::InsideAsyncRuntime)),
        "{what}: {result:?}"
    );
}

#[test]
fn every_call_inside_an_async_runtime_is_refused_before_anything_is_sent() {
    testkit::require_docker();
    let proxy = Proxy::start(&engine_socket());
    let docker = Docker::connect_to(proxy.host()).unwrap();
    let label = "inside-async";
    let container = docker
        .start_detached(
            &RunOptions::new(base_image())
                .command(["sleep", "60"])
                .publish_port(80)
                .label(TEST_LABEL, label),
        )
        .expect("start, outside the runtime");
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let sent_before = proxy.request_paths().len();

    let run = RunOptions::new(base_image()).label(TEST_LABEL, label);
    current_thread_runtime().block_on(async {
        refused("ping", docker.ping());
        refused("version", docker.version());
        refused("api_version", docker.api_version());
        refused("image_exists", docker.image_exists("x"));
        refused("list_images", docker.list_images());
        refused("remove_image", docker.remove_image("x", false));
        refused("pull_image", docker.pull_image("x", |_| {}));
        refused(
            "list_containers",
            docker.list_containers(&ListOptions::default()),
        );
        refused("remove_container", docker.remove_container("x"));
        refused("run", docker.run(&run));
        refused("start_detached", docker.start_detached(&run));
        refused(
            "build",
            docker.build(&BuildOptions::new(context.path()), |_| {}),
        );
        refused("host_port", container.host_port(80));
        refused("logs", container.logs());
        refused("stop", container.stop(Duration::from_secs(1)));
        refused(
            "wait_for_log",
            container.wait_for_log("x", Duration::from_secs(1)),
        );
        refused(
            "wait_for_port",
            container.wait_for_port(80, Duration::from_secs(1)),
        );
    });
    // The same calls from the runtime's blocking pool are fine.
    let answer = current_thread_runtime().block_on(async {
        let docker = docker.clone();
        tokio::task::spawn_blocking(move || docker.ping())
            .await
            .unwrap()
    });
    answer.expect("ping through spawn_blocking");
    let sent = &proxy.request_paths()[sent_before..];
    assert_eq!(
        sent.len(),
        1,
        "requests sent from inside the runtime: {sent:?}"
    );

    // Dropped inside a runtime, the container is removed in the background.
    current_thread_runtime().block_on(async move { drop(container) });
    let started = Instant::now();
    while !containers_labelled(&common::docker(), label).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the dropped container was not removed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_run_from_async_code_leaves_no_container() {
    let docker = docker();
    let label = "async-run";
    let options = RunOptions::new(base_image())
        .command(["sleep", "30"])
        .label(TEST_LABEL, label);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        let docker = docker.clone();
        tokio::spawn(async move { docker.run(&options) })
            .await
            .unwrap()
    });
    refused("run on a worker thread", result);
    assert!(containers_labelled(&docker, label).is_empty());
}

#[test]
fn dropping_the_last_handle_inside_an_async_runtime_does_not_panic() {
    let docker = docker();
    docker
        .list_images()
        .expect("a call, so that connections are pooled");
    current_thread_runtime().block_on(async move {
        drop(docker);
    });
    let docker = common::docker();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(async move { tokio::spawn(async move { drop(docker) }).await })
        .expect("the task did not panic");
}

#[test]
fn inside_an_unconstrained_future_calls_run_blocking_the_runtimes_thread_without_panicking() {
    // `tokio::task::unconstrained` opts a future out of tokio's budget, by
    // which dock-lite tells async threads from blocking ones: the calls are
    // not refused there (see src/runtime.rs). They then run as any blocking
    // function would, holding the runtime's thread until they return.
    let docker = docker();
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\nNOT-AN-INSTRUCTION x\n",
    )
    .unwrap();
    let outcome = current_thread_runtime().block_on(tokio::task::unconstrained(async {
        docker.ping().expect("ping");
        // A streamed call: its items are received on this thread.
        let pulled = docker.pull_image("127.0.0.1:1/dock-lite-test/none:never", |_| {});
        // Its context is sent from this thread, its output received here.
        let built = docker.build(&BuildOptions::new(context.path()), |_| {});
        (pulled, built)
    }));
    match outcome {
        (Err(Error::PullFailed { .. }), Err(Error::Daemon { .. } | Error::BuildFailed { .. })) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn streamed_calls_inside_another_executors_block_on_do_not_panic() {
    // No tokio runtime here: nothing to refuse, and dock-lite's own waits
    // must not trip the executor's check against nested `block_on`s.
    let docker = docker();
    let pulled = futures_executor::block_on(async {
        docker.pull_image("127.0.0.1:1/dock-lite-test/none:never", |_| {})
    });
    assert!(
        matches!(pulled, Err(Error::PullFailed { .. })),
        "{pulled:?}"
    );
}
