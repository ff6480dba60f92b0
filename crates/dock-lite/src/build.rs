//! Building an image from a directory, with its output reported line by line.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use crate::client::Docker;
use crate::context::write_context;
use crate::engine::Body;
use crate::error::{Error, Result};
use crate::images::encode;
use crate::progress::for_each_message;

/// How many lines of build output a [`Error::BuildFailed`] keeps.
const LOG_TAIL_LINES: usize = 30;

/// What to build. Only the context directory is required.
///
/// ```
/// let options = dock_lite::BuildOptions::new("dockerfiles/graphviz")
///     .tag("ondemand-platform/graphviz:latest")
///     .build_arg("BASE_IMAGE", "alpine:3.20")
///     .label("org.opencontainers.image.title", "graphviz");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    context: PathBuf,
    dockerfile: String,
    tags: Vec<String>,
    build_args: BTreeMap<String, String>,
    target: Option<String>,
    no_cache: bool,
    labels: BTreeMap<String, String>,
}

impl BuildOptions {
    /// Builds the `Dockerfile` of directory `context`.
    pub fn new(context: impl Into<PathBuf>) -> Self {
        BuildOptions {
            context: context.into(),
            dockerfile: "Dockerfile".to_owned(),
            tags: Vec::new(),
            build_args: BTreeMap::new(),
            target: None,
            no_cache: false,
            labels: BTreeMap::new(),
        }
    }

    /// The context directory.
    pub fn context(&self) -> &Path {
        &self.context
    }

    /// Uses another Dockerfile, given relative to the context.
    pub fn dockerfile(mut self, path: impl Into<String>) -> Self {
        self.dockerfile = path.into();
        self
    }

    /// Tags the image (`name:tag`); may be given several times.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets a build argument (`ARG` in the Dockerfile).
    pub fn build_arg(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.build_args.insert(name.into(), value.into());
        self
    }

    /// Builds only up to stage `target` of a multi-stage Dockerfile.
    pub fn target(mut self, stage: impl Into<String>) -> Self {
        self.target = Some(stage.into());
        self
    }

    /// Ignores the build cache.
    pub fn no_cache(mut self, no_cache: bool) -> Self {
        self.no_cache = no_cache;
        self
    }

    /// Adds a label to the image.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    fn query(&self) -> String {
        let mut query = format!(
            "dockerfile={}&rm=true&forcerm=true",
            encode(&self.dockerfile)
        );
        for tag in &self.tags {
            query.push_str(&format!("&t={}", encode(tag)));
        }
        if !self.build_args.is_empty() {
            query.push_str(&format!(
                "&buildargs={}",
                encode(&json_object(&self.build_args))
            ));
        }
        if !self.labels.is_empty() {
            query.push_str(&format!("&labels={}", encode(&json_object(&self.labels))));
        }
        if let Some(target) = &self.target {
            query.push_str(&format!("&target={}", encode(target)));
        }
        if self.no_cache {
            query.push_str("&nocache=true");
        }
        query
    }
}

fn json_object(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned())
}

/// A finished build.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildOutput {
    /// The image id (`sha256:...`), when the daemon reported it.
    pub image_id: Option<String>,
    /// How many files of the context were sent (after `.dockerignore`).
    pub files_sent: usize,
}

impl Docker {
    /// Builds an image from `options`' directory, calling `on_line` with
    /// each line of build output as it arrives. The context honours
    /// `.dockerignore` (see the crate docs); ignored files are never read. A
    /// failing step is an [`Error::BuildFailed`] with the step and the last
    /// lines of output.
    pub fn build(
        &self,
        options: &BuildOptions,
        mut on_line: impl FnMut(&str),
    ) -> Result<BuildOutput> {
        let context = options.context.clone();
        let context_error = |err: std::io::Error| Error::BuildContext {
            context: context.clone(),
            source: Box::new(err),
        };
        if !options.context.join(&options.dockerfile).is_file() {
            return Err(context_error(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "no Dockerfile at {}",
                    options.context.join(&options.dockerfile).display()
                ),
            )));
        }
        let mut files_sent = 0;
        let mut pack_error = None;
        let mut write = |out: &mut dyn std::io::Write| match write_context(
            &options.context,
            &options.dockerfile,
            out,
        ) {
            Ok(count) => {
                files_sent = count;
                Ok(())
            }
            Err(err) => {
                let kind = err.kind();
                pack_error = Some(err);
                Err(std::io::Error::new(
                    kind,
                    "packing the build context failed",
                ))
            }
        };
        let path = format!("/build?{}", options.query());
        let sent = self.engine().send(
            "build image",
            "POST",
            &path,
            Body::Streamed {
                content_type: "application/x-tar",
                write: &mut write,
            },
            None,
        );
        if let Some(err) = pack_error {
            return Err(context_error(err));
        }
        let response = sent?.success("build image")?;

        let mut output = OutputLines::default();
        let mut image_id = None;
        for_each_message("build image", response.reader(), |message| {
            if let Some(text) = &message.stream {
                output.push(text, &mut on_line);
            }
            if let Some(id) = message
                .aux
                .as_ref()
                .and_then(|aux| aux.get("ID"))
                .and_then(|id| id.as_str())
            {
                image_id = Some(id.to_owned());
            }
            match message.error {
                Some(error) => Err(Error::BuildFailed {
                    context: options.context.clone(),
                    step: output.step.clone(),
                    message: error.trim().to_owned(),
                    log_tail: output.tail.iter().cloned().collect(),
                }),
                None => Ok(()),
            }
        })?;
        output.flush(&mut on_line);
        Ok(BuildOutput {
            image_id: image_id.or(output.built_id),
            files_sent,
        })
    }
}

/// Splits the daemon's output chunks into lines, remembering the current
/// step and the last lines.
#[derive(Default)]
struct OutputLines {
    partial: String,
    step: Option<String>,
    tail: VecDeque<String>,
    built_id: Option<String>,
}

impl OutputLines {
    fn push(&mut self, text: &str, on_line: &mut impl FnMut(&str)) {
        self.partial.push_str(text);
        while let Some(newline) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=newline).collect();
            self.line(line.trim_end_matches(['\r', '\n']), on_line);
        }
    }

    fn flush(&mut self, on_line: &mut impl FnMut(&str)) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, on_line);
        }
    }

    fn line(&mut self, line: &str, on_line: &mut impl FnMut(&str)) {
        if line.starts_with("Step ") {
            self.step = Some(line.to_owned());
        }
        if let Some(id) = line.strip_prefix("Successfully built ") {
            self.built_id = Some(id.trim().to_owned());
        }
        if self.tail.len() == LOG_TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_owned());
        on_line(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_chunks_become_lines_and_the_step_is_remembered() {
        let mut lines = Vec::new();
        let mut output = OutputLines::default();
        let mut collect = |line: &str| lines.push(line.to_owned());
        output.push("Step 1/2 : FROM x\n ---> abc\nStep 2/2 : RU", &mut collect);
        output.push("N false\n", &mut collect);
        output.push("partial", &mut collect);
        output.flush(&mut collect);
        assert_eq!(
            lines,
            [
                "Step 1/2 : FROM x",
                " ---> abc",
                "Step 2/2 : RUN false",
                "partial"
            ]
        );
        assert_eq!(output.step.as_deref(), Some("Step 2/2 : RUN false"));
    }

    #[test]
    fn options_become_the_query() {
        let query = BuildOptions::new(".")
            .tag("a:1")
            .tag("a:latest")
            .build_arg("BASE_IMAGE", "alpine:3.20")
            .target("final")
            .no_cache(true)
            .query();
        assert!(query.contains("&t=a:1&t=a:latest"), "{query}");
        assert!(
            query.contains("&buildargs=%7B%22BASE_IMAGE%22:%22alpine:3.20%22%7D"),
            "{query}"
        );
        assert!(query.contains("&target=final&nocache=true"), "{query}");
    }
}
