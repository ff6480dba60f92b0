//! Images: exists, list, remove, pull.
//!
//! Listed and inspected over the Engine API directly: shiplift's image
//! structs require `VirtualSize`, which Docker Engine 25 (API 1.44) stopped
//! sending, so they fail on current engines.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::client::Docker;
use crate::engine::Body;
use crate::error::{Error, Result};
use crate::progress::for_each_message;

/// An image, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ImageSummary {
    /// The image id (`sha256:...`).
    #[serde(rename = "Id")]
    pub id: String,
    /// Its `repository:tag` names.
    #[serde(rename = "RepoTags", default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Creation time, Unix seconds.
    #[serde(rename = "Created")]
    pub created: i64,
    /// Size in bytes.
    #[serde(rename = "Size")]
    pub size: i64,
    /// Its labels.
    #[serde(rename = "Labels", default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
}

/// A progress message of a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PullProgress {
    /// The layer concerned, when there is one.
    pub layer: Option<String>,
    /// What happens (`Downloading`, `Pull complete`, `Status: ...`).
    pub status: String,
    /// The daemon's text progress bar, when there is one.
    pub progress: Option<String>,
}

/// JSON `null` as the type's default (the daemon sends `null` for empty lists).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl Docker {
    /// True when the image is present locally.
    pub fn image_exists(&self, image: &str) -> Result<bool> {
        let path = format!("/images/{}/json", encode(image));
        let response = self
            .engine()
            .send("inspect image", "GET", &path, Body::Empty, None)?;
        match response.status {
            404 => Ok(false),
            _ => response.success("inspect image").map(|_| true),
        }
    }

    /// The local images.
    pub fn list_images(&self) -> Result<Vec<ImageSummary>> {
        self.engine()
            .json("list images", "GET", "/images/json", Body::Empty)
    }

    /// Removes the image (untagging it; layers go when nothing else uses them).
    pub fn remove_image(&self, image: &str, force: bool) -> Result<()> {
        let path = format!("/images/{}?force={force}", encode(image));
        let response = self
            .engine()
            .send("remove image", "DELETE", &path, Body::Empty, None)?;
        match response.status {
            404 => Err(Error::ImageNotFound {
                image: image.to_owned(),
            }),
            _ => response.success("remove image").map(drop),
        }
    }

    /// Pulls `image` (`name[:tag]`, `latest` when no tag is given), calling
    /// `progress` with each message of the daemon. A failure reported inside
    /// the stream is an [`Error::PullFailed`].
    pub fn pull_image(&self, image: &str, mut progress: impl FnMut(&PullProgress)) -> Result<()> {
        let (name, tag) = split_tag(image);
        let path = format!(
            "/images/create?fromImage={}&tag={}",
            encode(name),
            encode(tag)
        );
        let response = self
            .engine()
            .send("pull image", "POST", &path, Body::Empty, None)?
            .success("pull image")
            .map_err(|err| match err {
                Error::Daemon { message, .. } => Error::PullFailed {
                    image: image.to_owned(),
                    message,
                },
                other => other,
            })?;
        read_pull_stream(response.reader(), image, &mut progress)
    }
}

/// Reports each progress message of a pull; a failure inside the stream
/// (the daemon answers 200 first) becomes [`Error::PullFailed`].
fn read_pull_stream(
    reader: impl std::io::BufRead,
    image: &str,
    progress: &mut impl FnMut(&PullProgress),
) -> Result<()> {
    for_each_message("pull image", reader, |message| {
        if let Some(error) = message.error {
            return Err(Error::PullFailed {
                image: image.to_owned(),
                message: error,
            });
        }
        if let Some(status) = message.status {
            progress(&PullProgress {
                layer: message.id,
                status,
                progress: message.progress,
            });
        }
        Ok(())
    })
}

/// Splits `name[:tag]`, leaving a registry's `host:port/` alone.
pub(crate) fn split_tag(image: &str) -> (&str, &str) {
    let name_start = image.rfind('/').map_or(0, |slash| slash + 1);
    match image[name_start..].rfind(':') {
        Some(colon) => (
            &image[..name_start + colon],
            &image[name_start + colon + 1..],
        ),
        None => (image, "latest"),
    }
}

/// Percent-encodes a path segment or query value.
pub(crate) fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' | b'/' => {
                encoded.push(byte as char)
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GET /images/json` as Docker Engine 25+ (API 1.44+) answers it: no `VirtualSize`.
    const API_1_44_IMAGES: &str = r#"[{"Containers":-1,"Created":1715000000,"Id":"sha256:0a1b","Labels":null,"ParentId":"","RepoDigests":["alpine@sha256:77"],"RepoTags":["alpine:3.20"],"SharedSize":-1,"Size":7800000}]"#;

    /// The same from API 1.41 (Docker 20.10), with `VirtualSize`.
    const API_1_41_IMAGES: &str = r#"[{"Containers":-1,"Created":1715000000,"Id":"sha256:0a1b","Labels":{"a":"b"},"ParentId":"","RepoDigests":null,"RepoTags":null,"SharedSize":-1,"Size":7800000,"VirtualSize":7800000}]"#;

    #[test]
    fn parses_image_lists_of_engines_without_virtual_size() {
        let images: Vec<ImageSummary> = serde_json::from_str(API_1_44_IMAGES).unwrap();
        assert_eq!(images[0].tags, ["alpine:3.20"]);
        assert_eq!(images[0].size, 7_800_000);
        assert!(images[0].labels.is_empty());
    }

    #[test]
    fn parses_image_lists_of_older_engines_with_null_lists() {
        let images: Vec<ImageSummary> = serde_json::from_str(API_1_41_IMAGES).unwrap();
        assert!(images[0].tags.is_empty());
        assert_eq!(images[0].labels["a"], "b");
    }

    /// A pull stream as the daemon sends it, then one that fails midway.
    const PULL_STREAM: &str = r#"{"status":"Pulling from library/alpine","id":"3.20"}
{"status":"Downloading","progressDetail":{"current":1024,"total":3400000},"progress":"[>   ] 1kB/3.4MB","id":"a258b2a6b59a"}
{"status":"Pull complete","progressDetail":{},"id":"a258b2a6b59a"}
{"status":"Status: Downloaded newer image for alpine:3.20"}
"#;
    const FAILING_PULL_STREAM: &str = r#"{"status":"Pulling from library/alpine","id":"3.20"}
{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}
"#;

    #[test]
    fn pull_progress_is_reported_message_by_message() {
        let mut seen = Vec::new();
        read_pull_stream(
            PULL_STREAM.as_bytes(),
            "alpine:3.20",
            &mut |p: &PullProgress| {
                seen.push((p.layer.clone(), p.status.clone(), p.progress.is_some()))
            },
        )
        .unwrap();
        assert_eq!(seen.len(), 4);
        assert_eq!(
            seen[1],
            (Some("a258b2a6b59a".into()), "Downloading".into(), true)
        );
        assert_eq!(seen[3].1, "Status: Downloaded newer image for alpine:3.20");
    }

    #[test]
    fn an_error_inside_the_pull_stream_is_a_typed_error() {
        let err = read_pull_stream(FAILING_PULL_STREAM.as_bytes(), "alpine:3.20", &mut |_| {})
            .unwrap_err();
        assert!(
            matches!(err, Error::PullFailed { ref message, .. } if message == "unexpected EOF"),
            "{err:?}"
        );
    }

    #[test]
    fn splits_tags_and_encodes_names() {
        assert_eq!(split_tag("alpine:3.20"), ("alpine", "3.20"));
        assert_eq!(split_tag("host:5000/a/b"), ("host:5000/a/b", "latest"));
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
