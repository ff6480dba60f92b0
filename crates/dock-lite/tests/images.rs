//! Image calls on the real engine.

mod common;

use std::time::{Duration, Instant};

use common::{base_image, docker};
use dock_lite::Error;

#[test]
fn exists_and_list_see_the_local_images() {
    let docker = docker();
    let base = base_image();
    assert!(docker.image_exists(&base).unwrap());
    assert!(!docker.image_exists("dock-lite-test/absent:never").unwrap());
    let images = docker.list_images().unwrap();
    assert!(
        images.iter().any(|image| image.tags.contains(&base)),
        "{base} not in {images:#?}"
    );
}

#[test]
fn remove_untags_an_image_and_a_missing_one_is_a_typed_error() {
    let docker = docker();
    let tag = "dock-lite-test/removable:latest";
    let status = std::process::Command::new("docker")
        .args(["tag", &base_image(), tag])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(docker.image_exists(tag).unwrap());
    docker.remove_image(tag, false).expect("remove");
    assert!(!docker.image_exists(tag).unwrap());
    let err = docker.remove_image(tag, false).unwrap_err();
    assert!(matches!(err, Error::ImageNotFound { .. }), "{err:?}");
}

#[test]
fn a_pull_that_cannot_succeed_is_a_typed_error_quickly() {
    let started = Instant::now();
    let err = docker()
        .pull_image("127.0.0.1:1/dock-lite-test/none:never", |_| {})
        .unwrap_err();
    assert!(matches!(err, Error::PullFailed { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn an_image_pinned_by_digest_is_pulled() {
    let docker = docker();
    let registry = common::registry::Registry::serving(&base_image());
    let pinned = format!(
        "{}/dock-lite-test/pinned@{}",
        registry.address, registry.digest
    );
    let mut messages = Vec::new();
    docker
        .pull_image(&pinned, |progress| messages.push(progress.status.clone()))
        .unwrap_or_else(|err| panic!("pull {pinned}: {err:?}"));
    assert!(
        messages
            .iter()
            .any(|status| status.contains(&registry.digest)),
        "{messages:#?}"
    );
    assert!(docker.image_exists(&pinned).unwrap());
    docker
        .remove_image(&pinned, false)
        .expect("untag the digest");
    assert!(!docker.image_exists(&pinned).unwrap());
}
