//! Listing containers, filtered by label, name or ancestor image, and
//! removing one found so.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::client::Docker;
use crate::error::{Error, Result};
use crate::images::null_as_default;

/// Which containers to list. `Default`: the running ones, unfiltered.
///
/// ```
/// let filter = dock_lite::ListOptions::default()
///     .all(true)
///     .label("com.example.owner", "docs")
///     .ancestor("alpine:3.20");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    all: bool,
    labels: Vec<String>,
    names: Vec<String>,
    ancestors: Vec<String>,
}

impl ListOptions {
    /// Lists stopped containers too, not only running ones.
    pub fn all(mut self, all: bool) -> Self {
        self.all = all;
        self
    }

    /// Only containers with label `key=value` (all given labels must match).
    pub fn label(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.labels
            .push(format!("{}={}", key.as_ref(), value.as_ref()));
        self
    }

    /// Only containers that have label `key`, whatever its value.
    pub fn has_label(mut self, key: impl Into<String>) -> Self {
        self.labels.push(key.into());
        self
    }

    /// Only containers whose name contains `name`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.names.push(name.into());
        self
    }

    /// Only containers created from `image` (or an image built on it).
    pub fn ancestor(mut self, image: impl Into<String>) -> Self {
        self.ancestors.push(image.into());
        self
    }

    fn query(&self) -> bollard::query_parameters::ListContainersOptions {
        let filters: std::collections::HashMap<String, Vec<String>> = [
            ("label", &self.labels),
            ("name", &self.names),
            ("ancestor", &self.ancestors),
        ]
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(key, values)| (key.to_owned(), values.clone()))
        .collect();
        bollard::query_parameters::ListContainersOptions {
            all: self.all,
            filters: Some(filters),
            ..Default::default()
        }
    }
}

/// A published port of a container.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PortMapping {
    /// The port inside the container.
    #[serde(rename = "PrivatePort")]
    pub container_port: u16,
    /// The port on the host, when published.
    #[serde(rename = "PublicPort", default)]
    pub host_port: Option<u16>,
    /// The host address it is published on.
    #[serde(rename = "IP", default)]
    pub host_ip: Option<String>,
    /// `tcp` or `udp`.
    #[serde(rename = "Type")]
    pub protocol: String,
}

/// A container, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ContainerSummary {
    /// The full container id.
    #[serde(rename = "Id")]
    pub id: String,
    /// Its names, each with a leading `/` as the daemon gives them.
    #[serde(rename = "Names", default, deserialize_with = "null_as_default")]
    pub names: Vec<String>,
    /// The image it was created from, as named then.
    #[serde(rename = "Image")]
    pub image: String,
    /// The command it runs.
    #[serde(rename = "Command", default)]
    pub command: String,
    /// `running`, `exited`, `created`, ...
    #[serde(rename = "State", default)]
    pub state: String,
    /// Human-readable status, such as `Up 5 minutes`.
    #[serde(rename = "Status", default)]
    pub status: String,
    /// Its ports.
    #[serde(rename = "Ports", default, deserialize_with = "null_as_default")]
    pub ports: Vec<PortMapping>,
    /// Its labels.
    #[serde(rename = "Labels", default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// Creation time, Unix seconds.
    #[serde(rename = "Created")]
    pub created: i64,
}

impl ContainerSummary {
    /// The first 12 characters of the id, as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }

    /// Ours from bollard's (a private conversion: no bollard type in the API).
    pub(crate) fn from_bollard(summary: bollard::models::ContainerSummary) -> Self {
        ContainerSummary {
            id: summary.id.unwrap_or_default(),
            names: summary.names.unwrap_or_default(),
            image: summary.image.unwrap_or_default(),
            command: summary.command.unwrap_or_default(),
            state: summary
                .state
                .map(|state| state.to_string())
                .unwrap_or_default(),
            status: summary.status.unwrap_or_default(),
            ports: summary
                .ports
                .unwrap_or_default()
                .into_iter()
                .map(|port| PortMapping {
                    container_port: port.private_port,
                    host_port: port.public_port,
                    host_ip: port.ip,
                    protocol: port.typ.map(|typ| typ.to_string()).unwrap_or_default(),
                })
                .collect(),
            labels: summary.labels.unwrap_or_default().into_iter().collect(),
            created: summary.created.unwrap_or_default(),
        }
    }
}

impl Docker {
    /// Lists containers: the running ones by default; see [`ListOptions`].
    pub fn list_containers(&self, options: &ListOptions) -> Result<Vec<ContainerSummary>> {
        let query = options.query();
        self.call(
            "list containers",
            None,
            self.timeouts().request,
            |api| async move {
                let listed = api
                    .docker
                    .list_containers(Some(query))
                    .await
                    .map_err(|err| api.error("list containers", err))?;
                Ok(listed
                    .into_iter()
                    .map(ContainerSummary::from_bollard)
                    .collect())
            },
        )
    }

    /// Removes container `id` (a full or short id, or a name), killing it
    /// if it runs, within [`Timeouts::request`](crate::Timeouts::request).
    /// A container already gone is no error. An id with characters no
    /// container id or name has is refused before anything is sent.
    pub fn remove_container(&self, id: &str) -> Result<()> {
        if !is_container_reference(id) {
            return Err(Error::InvalidOption {
                option: "remove_container",
                value: id.to_owned(),
                reason: "not a container id or name",
            });
        }
        let owned = id.to_owned();
        self.call(
            "remove container",
            Some(id),
            self.timeouts().request,
            move |api| async move { api.remove_container(&owned).await },
        )
    }
}

/// An id or a name as the daemon makes them: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`
/// (which keeps a path or a query out of the request's URL).
fn is_container_reference(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_the_daemons_filter_argument() {
        let query = ListOptions::default()
            .all(true)
            .label("a", "b")
            .label("c", "d")
            .name("web")
            .query();
        assert!(query.all);
        let filters = query.filters.unwrap();
        assert_eq!(filters["label"], ["a=b", "c=d"]);
        assert_eq!(filters["name"], ["web"]);
        assert!(!filters.contains_key("ancestor"));
    }

    #[test]
    fn a_label_key_alone_filters_on_the_key() {
        let query = ListOptions::default().has_label("owner").query();
        assert_eq!(query.filters.unwrap()["label"], ["owner"]);
    }

    #[test]
    fn container_references_keep_out_paths_and_queries() {
        for good in ["0123456789ab", "web", "my_app.1-x"] {
            assert!(is_container_reference(good), "{good}");
        }
        for bad in ["", "-x", "../x", "a/b", "a?force=0", "a b", "é", ".x"] {
            assert!(!is_container_reference(bad), "{bad}");
        }
    }

    /// `GET /containers/json` as Docker 20.10 (API 1.41) answers it.
    const API_1_41_CONTAINERS: &str = r#"[{"Id":"0123456789abcdef","Names":["/web"],"Image":"alpine","ImageID":"sha256:1","Command":"sleep 60","Created":1715000000,"Ports":[{"PrivatePort":5672,"PublicPort":49153,"IP":"127.0.0.1","Type":"tcp"},{"PrivatePort":80,"Type":"tcp"}],"Labels":null,"State":"running","Status":"Up 2 seconds","HostConfig":{"NetworkMode":"default"},"NetworkSettings":{},"Mounts":[]}]"#;

    #[test]
    fn parses_a_container_list_with_null_lists() {
        let listed: Vec<bollard::models::ContainerSummary> =
            serde_json::from_str(API_1_41_CONTAINERS).unwrap();
        let containers: Vec<ContainerSummary> = listed
            .into_iter()
            .map(ContainerSummary::from_bollard)
            .collect();
        let web = &containers[0];
        assert_eq!(web.short_id(), "0123456789ab");
        assert_eq!(web.ports[0].host_port, Some(49153));
        assert_eq!(web.ports[1].host_port, None);
        assert!(web.labels.is_empty());
    }
}
