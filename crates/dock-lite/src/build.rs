//! Building an image from a directory, with its output reported line by line.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bollard::models::BuildInfo;
use bollard::query_parameters::{BuildImageOptions, TagImageOptions};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::client::{Api, Docker};
use crate::context::write_context;
use crate::error::{Error, Result};
use crate::images::split_reference;
use crate::runtime::Runtime;
use crate::timeouts::Timeouts;

/// The longest piece of build output kept before it is handed on as a line.
const MAX_LINE_BYTES: usize = 64 * 1024;

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

    /// The query of `POST /build`: bollard's options take one tag, the
    /// others are added once the image is built (as the daemon does).
    fn query(&self) -> BuildImageOptions {
        BuildImageOptions {
            dockerfile: self.dockerfile.clone(),
            t: self.tags.first().cloned(),
            rm: true,
            forcerm: true,
            nocache: self.no_cache,
            buildargs: (!self.build_args.is_empty())
                .then(|| self.build_args.clone().into_iter().collect()),
            labels: (!self.labels.is_empty()).then(|| self.labels.clone().into_iter().collect()),
            target: self.target.clone().unwrap_or_default(),
            ..Default::default()
        }
    }
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

/// The size of the chunks the context is sent in.
const CHUNK_BYTES: usize = 256 * 1024;

impl Docker {
    /// Builds an image from `options`' directory, calling `on_line` with
    /// each line of build output as it arrives. The context honours
    /// `.dockerignore` (see the crate docs); ignored files are never read,
    /// and the rest is streamed, never held whole. A failing step is an
    /// [`Error::BuildFailed`] with the step and the last lines of output.
    /// The daemon must answer within [`Timeouts::request`] of reading the
    /// last of the context, and the build end within [`Timeouts::build`].
    pub fn build(
        &self,
        options: &BuildOptions,
        mut on_line: impl FnMut(&str),
    ) -> Result<BuildOutput> {
        crate::runtime::refuse_inside_async_runtime()?;
        let context_error = |err: io::Error| Error::BuildContext {
            context: options.context.clone(),
            source: Box::new(err),
        };
        if !options.context.join(&options.dockerfile).is_file() {
            return Err(context_error(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no Dockerfile at {}",
                    options.context.join(&options.dockerfile).display()
                ),
            )));
        }
        let (chunks, body) = mpsc::channel::<io::Result<Bytes>>(4);
        let (events, mut received) = mpsc::channel::<BuildInfo>(64);
        let (query, timeouts, api) = (options.query(), self.timeouts(), self.api());
        // What the daemon's errors concern.
        let context = options.context.display().to_string();
        let (result, task) =
            self.spawn(async move { api.build(query, body, events, timeouts).await })?;

        // The context is packed here, and handed to the runtime chunk by chunk.
        let mut writer = ChunkWriter {
            sender: chunks,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            closed: false,
        };
        let packed = write_context(&options.context, &options.dockerfile, &mut writer)
            .and_then(|count| writer.send().map(|()| count));
        let files_sent = match packed {
            Ok(count) => count,
            // The request ended first: its error tells why.
            Err(_) if writer.closed => {
                drop(writer);
                Runtime::wait(&result)?.map_err(|err| err.concerning(&context))?;
                return Err(context_error(io::Error::other(
                    "the daemon stopped reading the build context",
                )));
            }
            Err(err) => {
                task.abort();
                return Err(context_error(err));
            }
        };
        drop(writer);

        let mut output = OutputLines::default();
        let mut image_id = None;
        while let Some(message) = crate::runtime::wait_here(received.recv()) {
            if let Some(text) = &message.stream {
                output.push(text, &mut on_line);
            }
            if let Some(id) = message.aux.and_then(|aux| aux.id) {
                image_id = Some(id);
            }
            if let Some(detail) = message.error_detail {
                let error = detail.message.unwrap_or_else(|| "the build failed".into());
                task.abort();
                output.flush(&mut on_line);
                return Err(Error::BuildFailed {
                    context: options.context.clone(),
                    step: output.step.clone(),
                    message: error.trim().to_owned(),
                    log_tail: output.tail.iter().cloned().collect(),
                });
            }
        }
        Runtime::wait(&result)?.map_err(|err| err.concerning(&context))?;
        output.flush(&mut on_line);
        let image_id = image_id.or(output.built_id);
        if let Some(id) = &image_id {
            self.tag_built(id, options.tags.iter().skip(1))?;
        }
        Ok(BuildOutput {
            image_id,
            files_sent,
        })
    }

    /// Adds the tags after the first (which the build applied).
    fn tag_built<'a>(&self, id: &str, tags: impl Iterator<Item = &'a String>) -> Result<()> {
        for tag in tags {
            let (repo, tag) = split_reference(tag);
            let options = TagImageOptions {
                repo: Some(repo.to_owned()),
                tag: Some(tag.to_owned()),
            };
            let image = id.to_owned();
            self.call(
                "tag image",
                Some(id),
                self.timeouts().request,
                move |api| async move {
                    api.docker
                        .tag_image(&image, Some(options))
                        .await
                        .map_err(|err| api.error("tag image", err))
                },
            )?;
        }
        Ok(())
    }
}

impl Api {
    /// Sends the build request with the context from `body`, and forwards
    /// the daemon's messages to `events`.
    async fn build(
        &self,
        query: BuildImageOptions,
        body: mpsc::Receiver<io::Result<Bytes>>,
        events: mpsc::Sender<BuildInfo>,
        timeouts: Timeouts,
    ) -> Result<()> {
        let operation = "build image";
        self.agree_within(operation, timeouts.request).await?;
        // When the daemon last took a chunk of the context: it must answer
        // within `request` of that.
        let progress = Arc::new(Mutex::new(Instant::now()));
        let taken = progress.clone();
        // The body belongs to hyper's connection task, which a silent daemon
        // may keep for ever: the channel is closed when this call ends, so
        // that the packing thread is never left waiting on it.
        let body = Arc::new(Mutex::new(body));
        let _close = CloseOnDrop(body.clone());
        let chunks = futures_util::stream::poll_fn(move |cx| {
            let next = match body.lock() {
                Ok(mut body) => body.poll_recv(cx),
                Err(_) => std::task::Poll::Ready(None),
            };
            if next.is_ready() {
                if let Ok(mut last) = taken.lock() {
                    *last = Instant::now();
                }
            }
            next
        });
        let mut stream =
            self.docker
                .build_image(query, None, Some(bollard::body_try_stream(chunks)));
        let last_progress = || {
            progress
                .lock()
                .map(|last| *last)
                .unwrap_or_else(|_| Instant::now())
        };
        // The first answer: as long as the upload goes on, and `request` after.
        let first = loop {
            let deadline = last_progress() + timeouts.request;
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(next) => break next,
                Err(_) if last_progress() + timeouts.request <= Instant::now() => {
                    return Err(self.timed_out(operation, timeouts.request))
                }
                Err(_) => {}
            }
        };
        let deadline = Instant::now() + timeouts.build;
        let mut next = first;
        loop {
            let message = match next {
                None => return Ok(()),
                Some(Ok(message)) => message,
                Some(Err(bollard::errors::Error::DockerStreamError { error })) => BuildInfo {
                    error_detail: Some(bollard::models::ErrorDetail {
                        message: Some(error),
                        code: None,
                    }),
                    ..Default::default()
                },
                Some(Err(err)) => return Err(self.error(operation, err)),
            };
            let failed = message.error_detail.is_some();
            if events.send(message).await.is_err() || failed {
                // The caller is gone, or the build has failed: stop here.
                return Ok(());
            }
            next = tokio::time::timeout_at(deadline, stream.next())
                .await
                .map_err(|_| self.timed_out(operation, timeouts.build))?;
        }
    }
}

/// Closes the context channel when dropped.
struct CloseOnDrop(Arc<Mutex<mpsc::Receiver<io::Result<Bytes>>>>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if let Ok(mut body) = self.0.lock() {
            body.close();
        }
    }
}

/// Sends what is written to it to the runtime in chunks.
struct ChunkWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
    /// The request ended: nobody reads the chunks any more.
    closed: bool,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        crate::runtime::wait_here(self.sender.send(Ok(chunk))).map_err(|_| {
            self.closed = true;
            io::Error::new(io::ErrorKind::BrokenPipe, "the build request has ended")
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        let room = CHUNK_BYTES - self.buffer.len();
        let taken = buf.len().min(room);
        self.buffer.extend_from_slice(&buf[..taken]);
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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
        // A line that never ends is handed on in pieces, not kept whole.
        if self.partial.len() > MAX_LINE_BYTES {
            self.flush(on_line);
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
    fn a_line_that_never_ends_is_handed_on_in_pieces() {
        let mut longest = 0;
        let mut output = OutputLines::default();
        let chunk = "x".repeat(10_000);
        for _ in 0..100 {
            output.push(&chunk, &mut |line: &str| longest = longest.max(line.len()));
        }
        assert!(output.partial.len() <= MAX_LINE_BYTES + chunk.len());
        assert!(longest > 0 && longest <= MAX_LINE_BYTES + chunk.len());
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
        assert_eq!(query.t.as_deref(), Some("a:1"));
        assert_eq!(query.buildargs.unwrap()["BASE_IMAGE"], "alpine:3.20");
        assert_eq!(query.target, "final");
        assert!(query.nocache && query.rm && query.forcerm);
    }
}
