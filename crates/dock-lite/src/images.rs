//! Images: exists, list, remove, pull.

use std::collections::BTreeMap;

use bollard::query_parameters::{CreateImageOptions, ListImagesOptions, RemoveImageOptions};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::client::{Api, Docker};
use crate::error::{Error, Result};
use crate::timeouts::Timeouts;

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
    /// How far the layer's download or extraction is, as `current/total
    /// bytes`, when the daemon says.
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

impl ImageSummary {
    /// Ours from bollard's (a private conversion: no bollard type in the API).
    pub(crate) fn from_bollard(image: bollard::models::ImageSummary) -> Self {
        ImageSummary {
            id: image.id,
            tags: image.repo_tags,
            created: image.created,
            size: image.size,
            labels: image.labels.into_iter().collect(),
        }
    }
}

impl Docker {
    /// True when the image is present locally.
    pub fn image_exists(&self, image: &str) -> Result<bool> {
        let name = image.to_owned();
        self.call(
            "inspect image",
            Some(image),
            self.timeouts().request,
            |api| async move { api.image_exists(&name).await },
        )
    }

    /// The local images.
    pub fn list_images(&self) -> Result<Vec<ImageSummary>> {
        self.call(
            "list images",
            None,
            self.timeouts().request,
            |api| async move {
                let listed = api
                    .docker
                    .list_images(Some(ListImagesOptions::default()))
                    .await
                    .map_err(|err| api.error("list images", err))?;
                Ok(listed.into_iter().map(ImageSummary::from_bollard).collect())
            },
        )
    }

    /// Removes the image (untagging it; layers go when nothing else uses them).
    pub fn remove_image(&self, image: &str, force: bool) -> Result<()> {
        let owned = image.to_owned();
        self.call(
            "remove image",
            Some(image),
            self.timeouts().request,
            move |api| async move {
                let options = RemoveImageOptions {
                    force,
                    ..Default::default()
                };
                match api.docker.remove_image(&owned, Some(options), None).await {
                    Ok(_) => Ok(()),
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 404,
                        ..
                    }) => Err(Error::ImageNotFound { image: owned }),
                    Err(err) => Err(api.error("remove image", err)),
                }
            },
        )
    }

    /// Pulls `image` (`name[:tag]`, `latest` when no tag is given, or
    /// `name@sha256:...`), calling `progress` with each message of the
    /// daemon. A failure reported inside the stream is an
    /// [`Error::PullFailed`]. The daemon must answer within
    /// [`Timeouts::request`], and the pull end within [`Timeouts::pull`].
    pub fn pull_image(&self, image: &str, mut progress: impl FnMut(&PullProgress)) -> Result<()> {
        let timeouts = self.timeouts();
        self.call_streaming(
            Some(image),
            |api, sender| {
                let image = image.to_owned();
                async move {
                    api.agree_within("pull image", timeouts.request).await?;
                    api.pull(&image, timeouts, Some(sender)).await
                }
            },
            |message: PullProgress| {
                progress(&message);
                Ok(())
            },
        )
    }
}

impl Api {
    pub async fn image_exists(&self, image: &str) -> Result<bool> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(err) => Err(self.error("inspect image", err)),
        }
    }

    /// Pulls `image`, sending each progress message to `progress`. The
    /// first answer must come within [`Timeouts::request`], the end within
    /// [`Timeouts::pull`].
    pub async fn pull(
        &self,
        image: &str,
        timeouts: Timeouts,
        progress: Option<tokio::sync::mpsc::Sender<PullProgress>>,
    ) -> Result<()> {
        let operation = "pull image";
        let (name, tag) = split_reference(image);
        let options = CreateImageOptions {
            from_image: Some(name.to_owned()),
            tag: Some(tag.to_owned()),
            ..Default::default()
        };
        let failed = |message: String| Error::PullFailed {
            image: image.to_owned(),
            message,
        };
        let mut stream = self.docker.create_image(Some(options), None, None);
        let started = tokio::time::Instant::now();
        let mut answered = false;
        loop {
            let (deadline, timeout) = match answered {
                false if timeouts.request < timeouts.pull => {
                    (started + timeouts.request, timeouts.request)
                }
                _ => (started + timeouts.pull, timeouts.pull),
            };
            let next = tokio::time::timeout_at(deadline, stream.next())
                .await
                .map_err(|_| self.timed_out(operation, timeout))?;
            answered = true;
            let message = match next {
                None => return Ok(()),
                Some(Ok(message)) => message,
                Some(Err(bollard::errors::Error::DockerStreamError { error })) => {
                    return Err(failed(error))
                }
                Some(Err(bollard::errors::Error::DockerResponseServerError {
                    message, ..
                })) => return Err(failed(message)),
                Some(Err(err)) => return Err(self.error(operation, err)),
            };
            if let Some(error) = message.error_detail.and_then(|detail| detail.message) {
                return Err(failed(error));
            }
            if let (Some(sender), Some(status)) = (&progress, message.status) {
                let update = PullProgress {
                    layer: message.id,
                    status,
                    progress: message.progress_detail.and_then(|detail| {
                        Some(format!("{}/{} bytes", detail.current?, detail.total?))
                    }),
                };
                // The caller gone, the pull still runs to its end.
                let _ = sender.send(update).await;
            }
        }
    }
}

/// Splits `name[:tag]` or `name@digest` into the `fromImage` and `tag` of
/// a pull (a digest goes in `tag`, as the docker CLI sends it), leaving a
/// registry's `host:port/` alone.
pub(crate) fn split_reference(image: &str) -> (&str, &str) {
    if let Some((name, digest)) = image.split_once('@') {
        return (name, digest);
    }
    let name_start = image.rfind('/').map_or(0, |slash| slash + 1);
    match image[name_start..].rfind(':') {
        Some(colon) => (
            &image[..name_start + colon],
            &image[name_start + colon + 1..],
        ),
        None => (image, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GET /images/json` as Docker Engine 25+ (API 1.44+) answers it: no `VirtualSize`.
    const API_1_44_IMAGES: &str = r#"[{"Containers":-1,"Created":1715000000,"Id":"sha256:0a1b","Labels":null,"ParentId":"","RepoDigests":["alpine@sha256:77"],"RepoTags":["alpine:3.20"],"SharedSize":-1,"Size":7800000}]"#;

    /// The same from API 1.41 (Docker 20.10), with `VirtualSize`.
    const API_1_41_IMAGES: &str = r#"[{"Containers":-1,"Created":1715000000,"Id":"sha256:0a1b","Labels":{"a":"b"},"ParentId":"","RepoDigests":null,"RepoTags":null,"SharedSize":-1,"Size":7800000,"VirtualSize":7800000}]"#;

    fn parse(json: &str) -> Vec<ImageSummary> {
        let listed: Vec<bollard::models::ImageSummary> = serde_json::from_str(json).unwrap();
        listed.into_iter().map(ImageSummary::from_bollard).collect()
    }

    #[test]
    fn parses_image_lists_of_engines_without_virtual_size() {
        let images = parse(API_1_44_IMAGES);
        assert_eq!(images[0].tags, ["alpine:3.20"]);
        assert_eq!(images[0].size, 7_800_000);
        assert!(images[0].labels.is_empty());
    }

    /// The same from Docker 29 (API 1.52), with its descriptor.
    const API_1_52_IMAGES: &str = r#"[{"Containers":-1,"Created":1761000000,"Descriptor":{"digest":"sha256:4b7ce07002c69e8f3d704a9c5d6fd3053be500b7f1c69fc0d80990c2ad8dd412","mediaType":"application/vnd.oci.image.index.v1+json","size":9218},"Id":"sha256:4b7ce07002c69e8f3d704a9c5d6fd3053be500b7f1c69fc0d80990c2ad8dd412","Labels":null,"ParentId":"","RepoDigests":["alpine@sha256:4b7ce07002c69e8f3d704a9c5d6fd3053be500b7f1c69fc0d80990c2ad8dd412"],"RepoTags":["alpine:3.22"],"SharedSize":-1,"Size":8440000}]"#;

    #[test]
    fn parses_image_lists_of_current_engines() {
        let images = parse(API_1_52_IMAGES);
        assert_eq!(images[0].tags, ["alpine:3.22"]);
        assert!(images[0].id.starts_with("sha256:4b7c"));
    }

    #[test]
    fn parses_image_lists_of_older_engines_with_null_lists() {
        let images = parse(API_1_41_IMAGES);
        assert!(images[0].tags.is_empty());
        assert_eq!(images[0].labels["a"], "b");
    }

    #[test]
    fn splits_tags_and_digests() {
        assert_eq!(split_reference("alpine:3.20"), ("alpine", "3.20"));
        assert_eq!(
            split_reference("host:5000/a/b"),
            ("host:5000/a/b", "latest")
        );
        assert_eq!(
            split_reference("host:5000/a@sha256:0123"),
            ("host:5000/a", "sha256:0123")
        );
    }
}
