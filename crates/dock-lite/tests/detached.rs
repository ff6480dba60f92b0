//! Long-running containers and listing, on the real engine.

mod common;

use std::time::{Duration, Instant};

use common::proxy::{engine_socket, Proxy};
use common::{containers_labelled, docker, RemoveLabelledOnDrop, TEST_LABEL};
use dock_lite::{Docker, Error, ListOptions, RunOptions};

#[test]
fn a_detached_broker_is_listed_while_it_runs_answers_on_its_port_and_is_gone_once_removed() {
    let docker = docker();
    let image = testkit::RABBITMQ.require();
    let broker = docker
        .start_detached(
            &RunOptions::new(&image)
                .publish_port(5672)
                .label(TEST_LABEL, "detached"),
        )
        .expect("start");
    broker
        .wait_for_log("Server startup complete", Duration::from_secs(90))
        .expect("the broker starts");
    broker
        .wait_for_port(5672, Duration::from_secs(10))
        .expect("the port answers");
    let port = broker.host_port(5672).unwrap();
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the published port");

    let listed = docker
        .list_containers(&ListOptions::default().label(TEST_LABEL, "detached"))
        .unwrap();
    assert_eq!(listed.len(), 1);
    let summary = &listed[0];
    assert_eq!(summary.id, broker.id());
    assert_eq!(summary.state, "running");
    assert_eq!(summary.image, image);
    assert!(summary.names[0].starts_with('/'));
    assert!(summary
        .ports
        .iter()
        .any(|p| p.container_port == 5672 && p.host_port == Some(port)));
    assert_eq!(summary.labels[TEST_LABEL], "detached");
    let by_ancestor = docker
        .list_containers(
            &ListOptions::default()
                .ancestor(&image)
                .label(TEST_LABEL, "detached"),
        )
        .unwrap();
    assert_eq!(by_ancestor.len(), 1);

    broker.stop(Duration::from_secs(10)).expect("stop");
    assert!(docker
        .list_containers(&ListOptions::default().label(TEST_LABEL, "detached"))
        .unwrap()
        .is_empty());
    assert_eq!(
        containers_labelled(&docker, "detached").len(),
        1,
        "stopped, not removed"
    );
    broker.remove().expect("remove");
    assert!(containers_labelled(&docker, "detached").is_empty());
}

#[test]
fn a_dropped_handle_removes_its_container_and_waits_time_out_with_a_typed_error() {
    let docker = docker();
    let sleeper = docker
        .start_detached(
            &RunOptions::new(testkit::BASE.require())
                .command(["sleep", "300"])
                .label(TEST_LABEL, "dropped"),
        )
        .expect("start");
    let err = sleeper
        .wait_for_log("never printed", Duration::from_millis(500))
        .unwrap_err();
    assert!(matches!(err, Error::NotReady { .. }), "{err:?}");
    let err = sleeper.host_port(80).unwrap_err();
    assert!(matches!(err, Error::PortNotPublished { .. }), "{err:?}");
    let name = docker
        .list_containers(&ListOptions::default().label(TEST_LABEL, "dropped"))
        .unwrap()[0]
        .names[0]
        .trim_start_matches('/')
        .to_owned();
    assert_eq!(
        docker
            .list_containers(&ListOptions::default().name(&name))
            .unwrap()
            .len(),
        1
    );
    drop(sleeper);
    assert!(containers_labelled(&docker, "dropped").is_empty());
}

#[test]
fn a_failed_remove_is_tried_again_in_the_background_and_leaves_no_container() {
    testkit::require_docker();
    let label = "failed-remove";
    let _cleanup = RemoveLabelledOnDrop(label);
    let proxy = Proxy::start(&engine_socket());
    let docker = Docker::connect_to(proxy.host()).unwrap();
    let container = docker
        .start_detached(
            &RunOptions::new(testkit::BASE.require())
                .command(["sleep", "300"])
                .label(TEST_LABEL, label),
        )
        .expect("start");
    let id = container.id().to_owned();
    proxy.fail_next("DELETE");
    let started = Instant::now();
    let err = container.remove().unwrap_err();
    match &err {
        Error::Daemon {
            operation: "remove container",
            resource: Some(resource),
            status: 500,
            ..
        } => assert_eq!(*resource, id),
        other => panic!("expected the proxy's 500, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "remove waited for its retry: {:?}",
        started.elapsed()
    );
    let engine = common::docker();
    while !containers_labelled(&engine, label).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the container was left behind after the failed remove"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let deletes = proxy
        .request_paths()
        .into_iter()
        .filter(|path| path.contains(&format!("/containers/{id}?")))
        .count();
    assert_eq!(deletes, 2, "{:?}", proxy.request_paths());
    eprintln!(
        "removed by the background retry {:.2?} after the failed remove",
        started.elapsed()
    );
}

#[test]
fn a_log_past_sixteen_mib_is_followed_once_and_read_back_as_its_latest_sixteen_mib() {
    let docker = docker();
    let label = "long-log";
    let _cleanup = RemoveLabelledOnDrop(label);
    // 40,960 lines of 512 bytes (20 MiB), then a last word. The daemon
    // keeps it whole with json-file's rotation at 3 files of 10 MB.
    let lines = 40_960;
    let container = docker
        .start_detached(
            &RunOptions::new(testkit::BASE.require())
                .entrypoint(["sh", "-c"])
                .command([format!(
                    "seq -f '%0511g' 1 {lines}; echo finished; sleep 300"
                )])
                .label(TEST_LABEL, label),
        )
        .expect("start");
    let started = Instant::now();
    container
        .wait_for_log("finished", Duration::from_secs(60))
        .expect("the last word is found after 20 MiB");
    let waited = started.elapsed();
    let started = Instant::now();
    let logs = container.logs().expect("logs");
    let read = started.elapsed();
    eprintln!(
        "20 MiB of log: found the last word in {waited:.2?}, read back the latest 16 MiB in {read:.2?}"
    );
    assert_eq!(
        logs.len(),
        dock_lite::LOGS_LIMIT,
        "the daemon kept less than 16 MiB of the log (its json-file rotation?)"
    );
    // 20 MiB + 9 bytes, of which the first 4 MiB + 9 bytes were let go.
    let first_kept = format!("{:0511}\n", lines - dock_lite::LOGS_LIMIT / 512 + 1);
    assert!(logs.starts_with(&first_kept.as_bytes()["finished\n".len()..]));
    assert!(logs.ends_with(format!("{lines:0511}\nfinished\n").as_bytes()));
    // Within the call's deadline (the cost per chunk past the limit is
    // checked in the unit tests of src/detached.rs: the former handling
    // moved the whole 16 MiB for each of these 8,192 chunks, 5.9 s here
    // against 1.0 s).
    assert!(read < Duration::from_secs(10), "{read:?}");
}

#[test]
fn a_log_line_that_comes_in_pieces_is_found_and_a_stopped_container_is_not_ready_at_once() {
    let docker = docker();
    let label = "log-pieces";
    let _cleanup = RemoveLabelledOnDrop(label);
    let base = testkit::BASE.require();
    let sh = |script: &str| {
        RunOptions::new(&base)
            .entrypoint(["sh", "-c"])
            .command([script])
            .label(TEST_LABEL, label)
    };
    let pieces = docker
        .start_detached(&sh(
            "printf 'starting... rea'; sleep 1; printf 'dy\\n'; sleep 300",
        ))
        .expect("start");
    pieces
        .wait_for_log("ready", Duration::from_secs(20))
        .expect("found across the two writes");
    let stopped = docker.start_detached(&sh("echo bye")).expect("start");
    let started = Instant::now();
    let err = stopped
        .wait_for_log("never printed", Duration::from_secs(60))
        .unwrap_err();
    assert!(matches!(err, Error::NotReady { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited for a stopped container: {:?}",
        started.elapsed()
    );
}
