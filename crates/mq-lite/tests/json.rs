//! JSON bodies (`serde` feature) on a real broker.
#![cfg(feature = "serde")]

mod common;

use mq_lite::{Error, Message, QueueOptions};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Job {
    id: u32,
    source: String,
}

#[test]
fn json_bodies_round_trip_with_their_content_type() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("json"), &QueueOptions::default())
        .unwrap();
    let job = Job {
        id: 7,
        source: "digraph { a -> b }".into(),
    };
    queue.publish_json(&job).unwrap();
    let delivery = queue.get().unwrap().unwrap();
    assert_eq!(
        delivery.properties().content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(delivery.json::<Job>().unwrap(), job);
}

#[test]
fn a_body_that_is_not_the_expected_json_is_a_typed_error() {
    let connection = common::connect();
    let queue = connection
        .declare_queue(&common::unique("not-json"), &QueueOptions::default())
        .unwrap();
    queue
        .publish_message(&Message::new(b"\xff not json".to_vec()))
        .unwrap();
    let err = queue.get().unwrap().unwrap().json::<Job>().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Json {
                operation: "decode",
                ..
            }
        ),
        "{err:?}"
    );
}
