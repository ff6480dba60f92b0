//! Helpers shared by the engine tests.
#![allow(dead_code)] // not every test file uses every helper

use dock_lite::{Docker, ListOptions};

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
