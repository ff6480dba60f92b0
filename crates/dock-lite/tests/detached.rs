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
