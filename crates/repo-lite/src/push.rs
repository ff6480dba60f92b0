//! Pushing a branch (and tags) to a remote, on gix's transport: repo-lite
//! speaks git's receive-pack protocol (commands, pack, report-status) and
//! gix's pack generator writes the pack. gix itself has no push.

mod pack;
mod report;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gix::hash::ObjectId;
use gix::protocol::transport::client::{MessageKind, WriteMode};
use gix::protocol::transport::packetline::PacketLineRef;
use gix::protocol::transport::Service;
use gix::refs::FullName;
use gix::remote::Direction;

use crate::error::{BoxError, Error, Result};
use crate::project::{branch_reference, Project};
use crate::redact::Redactor;
use crate::refs::is_ancestor;
use report::{Messages, RefStatus, Report};

/// The callback of [`PushOptions::on_progress`].
type ProgressFn = Box<dyn FnMut(&PushProgress) + Send>;

/// What [`Project::push`] pushes and how.
#[derive(Default)]
#[non_exhaustive]
pub struct PushOptions {
    /// The branch to push (to the branch of the same name); the current
    /// branch when `None`.
    pub branch: Option<String>,
    /// Tags to push with it (`refs/tags/<tag>` of the same name).
    pub tags: Vec<String>,
    /// Lets the remote branch move to a commit that does not descend from
    /// it (off by default). A forced push carries a lease: the remote
    /// branch must still be [`expected`](Self::expected), or when that is
    /// `None`, what the remote-tracking branch (`refs/remotes/<remote>/<branch>`)
    /// last saw, or absent; [`Error::StaleLease`] otherwise, and nothing
    /// changes.
    pub force: bool,
    /// The commit id (full hex) the remote branch must have for a forced
    /// push.
    pub expected: Option<String>,
    /// Setting this flag cancels the push: it fails with
    /// [`Error::PushCancelled`] and the remote is as it was.
    pub cancel: Option<Arc<AtomicBool>>,
    /// How long a read or write on a `git://` connection may wait, and how
    /// long one HTTP(S) request may take as a whole, before the push fails
    /// with [`Error::Push`]. By default 60 s for a `git://` read or write
    /// and 10 minutes for an HTTP(S) request (which carries the whole
    /// pack). Connecting has gix's own limits (5 s over `git://`, 20 s
    /// over HTTP(S)); `file://`, paths and `ssh://` run a local program
    /// (`ssh` has its own `ConnectTimeout` and `ServerAliveInterval`).
    pub timeout: Option<Duration>,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for PushOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushOptions")
            .field("branch", &self.branch)
            .field("tags", &self.tags)
            .field("force", &self.force)
            .field("expected", &self.expected)
            .field("cancel", &self.cancel)
            .field("timeout", &self.timeout)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

impl PushOptions {
    /// Sets [`branch`](Self::branch).
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }

    /// Adds a tag to [`tags`](Self::tags).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets [`force`](Self::force).
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Sets [`expected`](Self::expected).
    pub fn expected(mut self, commit: impl Into<String>) -> Self {
        self.expected = Some(commit.into());
        self
    }

    /// Sets [`cancel`](Self::cancel).
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Sets [`timeout`](Self::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Calls `callback` as the push goes on (on the pushing thread).
    pub fn on_progress(mut self, callback: impl FnMut(&PushProgress) + Send + 'static) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }
}

/// Where a push is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushPhase {
    /// Connecting and reading the remote's references.
    Connecting,
    /// Finding the objects the remote lacks.
    Counting,
    /// Sending the pack.
    Writing,
    /// Waiting for the remote's answer.
    Waiting,
    /// Done.
    Done,
}

impl std::fmt::Display for PushPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PushPhase::Connecting => "connecting",
            PushPhase::Counting => "counting objects",
            PushPhase::Writing => "writing objects",
            PushPhase::Waiting => "waiting for the remote",
            PushPhase::Done => "done",
        })
    }
}

/// A snapshot of a push's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushProgress {
    /// The phase.
    pub phase: PushPhase,
    /// Objects in the pack (known from [`PushPhase::Writing`] on).
    pub objects: usize,
    /// Bytes of the pack sent so far.
    pub bytes_sent: u64,
}

/// How one reference changed on the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateKind {
    /// It did not exist and was created.
    Created,
    /// It moved forward to a descendant.
    FastForward,
    /// It was forced to a commit that does not descend from the old one.
    Forced,
    /// It already was the commit pushed; nothing was sent for it.
    UpToDate,
}

/// One reference a push updated on the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefUpdate {
    /// Its full name, such as `refs/heads/main`.
    pub reference: String,
    /// The id it had on the remote (full hex), if it existed.
    pub old: Option<String>,
    /// The id it has now.
    pub new: String,
    /// How it changed.
    pub kind: UpdateKind,
}

/// What [`Project::push`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushOutcome {
    /// The remote's URL, credentials masked.
    pub url: String,
    /// Each reference pushed.
    pub updates: Vec<RefUpdate>,
    /// Objects sent in the pack (0 when nothing needed sending).
    pub objects_sent: usize,
    /// Bytes of the pack sent.
    pub bytes_sent: u64,
    /// The remote's messages (`remote: ...` lines, such as hook output).
    pub messages: String,
}

/// One reference to push, checked.
struct Command {
    reference: FullName,
    new: ObjectId,
    /// What the remote has now.
    old: Option<ObjectId>,
    kind: UpdateKind,
}

impl Project {
    /// Pushes a branch (and tags) to `remote`: a remote's name (see
    /// [`add_remote`](Self::add_remote)) or a URL or path, over every
    /// transport clone speaks (`file://` and paths through
    /// `git-receive-pack`, `git://`, `http(s)://` through git's smart HTTP,
    /// `ssh://`). Only the objects the remote lacks are sent. Credentials
    /// for HTTP(S) come from the URL or git's credential helpers, as for
    /// `git push`; no error shows them.
    ///
    /// When the remote supports it (git does), the push is atomic: every
    /// reference changes or none. A pushed remote's remote-tracking branch
    /// (`refs/remotes/<remote>/<branch>`) follows, as after `git push`.
    ///
    /// # Errors
    ///
    /// Before anything is sent: [`Error::InvalidRemoteName`] or
    /// [`Error::InvalidUrl`] (an option-like URL, `ext::` and other remote
    /// helpers, a transport gix does not speak), [`Error::InvalidBranchName`],
    /// [`Error::LocalRefNotFound`] for a branch or tag the project does not
    /// have, [`Error::InvalidCommitId`] for `expected`. Refused by the
    /// remote's state or answer: [`Error::NonFastForward`],
    /// [`Error::StaleLease`], [`Error::HookDeclined`] (with the hook's
    /// message), [`Error::PushRejected`] (a protected reference, and other
    /// reasons the remote gives), [`Error::AuthenticationFailed`]. Then
    /// [`Error::PushCancelled`] and [`Error::Push`] (connection, transport,
    /// a pack the remote could not unpack). The remote is unchanged after
    /// every error.
    pub fn push(&self, remote: &str, options: PushOptions) -> Result<PushOutcome> {
        let PushOptions {
            branch,
            tags,
            force,
            expected,
            cancel,
            timeout,
            mut progress,
        } = options;
        let (remote_name, url) = self.resolve_remote(remote)?;
        let redactor = Redactor::new(&url);
        let branch = match branch {
            Some(branch) => branch,
            None => self
                .current_branch()?
                .ok_or_else(|| Error::LocalRefNotFound {
                    root: self.root.clone(),
                    reference: "HEAD (detached: name a branch to push)".into(),
                })?,
        };
        let branch_ref = branch_reference(&branch)?;
        let expected = expected.map(|id| parse_id(&id)).transpose()?;
        let mut local = vec![(branch_ref.clone(), self.local_ref(&branch_ref)?)];
        for tag in &tags {
            let name = FullName::try_from(format!("refs/tags/{tag}")).map_err(|err| {
                Error::InvalidBranchName {
                    name: tag.clone(),
                    source: err.into(),
                }
            })?;
            if tag.starts_with('-') {
                return Err(Error::InvalidBranchName {
                    name: tag.clone(),
                    source: "a tag name cannot start with '-'".into(),
                });
            }
            let id = self.local_ref(&name)?;
            local.push((name, id));
        }
        let lease = match (force, expected) {
            (false, _) => None,
            (true, Some(expected)) => Some(Some(expected)),
            (true, None) => Some(self.tracking_ref(remote_name.as_deref(), &branch)?),
        };
        let cancel = cancel.unwrap_or_default();
        let mut report_progress = |phase, objects, bytes_sent| {
            if let Some(callback) = progress.as_mut() {
                callback(&PushProgress {
                    phase,
                    objects,
                    bytes_sent,
                });
            }
        };
        report_progress(PushPhase::Connecting, 0, 0);
        let push = Push {
            project: self,
            redactor: &redactor,
            cancel: &cancel,
            timeout: crate::transport::Deadlines::new(timeout),
        };
        let outcome = push.run(&url, &local, lease, force, &mut report_progress)?;
        if let Some(name) = &remote_name {
            // As git does: the remote-tracking branch follows what was pushed.
            self.set_tracking_ref(name, &branch, local[0].1)?;
        }
        report_progress(PushPhase::Done, outcome.objects_sent, outcome.bytes_sent);
        Ok(outcome)
    }
}

/// One push's context, for its steps and for naming its errors.
struct Push<'a> {
    project: &'a Project,
    redactor: &'a Redactor,
    cancel: &'a AtomicBool,
    timeout: crate::transport::Deadlines,
}

impl Push<'_> {
    fn error(&self, source: BoxError) -> Error {
        Error::Push {
            url: self.redactor.url(),
            source,
        }
    }

    fn gix_error(&self, err: &(dyn std::error::Error + 'static)) -> Error {
        self.error(self.redactor.error(err))
    }

    fn check_cancelled(&self) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Error::PushCancelled {
                url: self.redactor.url(),
            });
        }
        Ok(())
    }

    fn run(
        &self,
        url: &str,
        local: &[(FullName, ObjectId)],
        lease: Option<Option<ObjectId>>,
        force: bool,
        progress: &mut dyn FnMut(PushPhase, usize, u64),
    ) -> Result<PushOutcome> {
        let repo = &self.project.repo;
        self.check_cancelled()?;
        let remote = repo.remote_at(url).map_err(|err| Error::InvalidUrl {
            url: self.redactor.url(),
            source: self.redactor.error(&err),
        })?;
        let mut connection = remote
            .connect(Direction::Push)
            .map_err(|err| self.gix_error(&err))?;
        crate::daemon::use_nodelay_socket_with_timeout(&mut connection, self.timeout.io)
            .map_err(|err| self.gix_error(&err))?;
        // What gix's own fetch applies before its handshake (proxy, headers,
        // redirects from git config), with a deadline per HTTP request.
        if let Some(options) = crate::transport::http_options(repo, url, self.timeout.http_request)
            .map_err(|err| self.gix_error(&err))?
        {
            connection
                .transport_mut()
                .configure(&*options)
                .map_err(|err| self.gix_error(&err))?;
        }
        let authenticate = connection
            .configured_credentials(
                remote
                    .url(Direction::Push)
                    .cloned()
                    .ok_or_else(|| self.error("the remote has no URL to push to".into()))?,
            )
            .map_err(|err| self.gix_error(&err))?;
        let handshake = gix::protocol::handshake(
            connection.transport_mut(),
            Service::ReceivePack,
            authenticate,
            Vec::new(),
            &mut gix::progress::Discard,
        )
        .map_err(|err| self.classify_handshake_error(&err))?;
        let remote_refs = remote_refs(handshake.refs.as_deref().unwrap_or_default());
        let capabilities = &handshake.capabilities;
        let commands = self.plan(local, &remote_refs, lease, force)?;
        let mut outcome = PushOutcome {
            url: self.redactor.url(),
            updates: commands
                .iter()
                .map(|command| RefUpdate {
                    reference: command.reference.as_bstr().to_string(),
                    old: command.old.map(|id| id.to_string()),
                    new: command.new.to_string(),
                    kind: command.kind,
                })
                .collect(),
            objects_sent: 0,
            bytes_sent: 0,
            messages: String::new(),
        };
        let to_send: Vec<&Command> = commands
            .iter()
            .filter(|command| command.kind != UpdateKind::UpToDate)
            .collect();
        if to_send.is_empty() {
            return Ok(outcome);
        }
        self.check_cancelled()?;
        progress(PushPhase::Counting, 0, 0);
        // The commits the remote's references reach (a tag peeled to its
        // commit), where the project has them.
        let remote_has: Vec<ObjectId> = remote_refs
            .iter()
            .filter(|(_, id)| repo.has_object(id))
            .filter_map(|(_, id)| {
                let object = repo.find_object(*id).ok()?;
                Some(object.peel_to_commit().ok()?.id)
            })
            .collect();
        let tips: Vec<ObjectId> = to_send.iter().map(|command| command.new).collect();
        let ids = pack::objects_to_send(repo, &tips, &remote_has).map_err(|err| self.error(err))?;

        let side_band = capabilities.contains("side-band-64k");
        let mut asked = vec!["report-status", "agent=repo-lite"];
        if side_band {
            asked.push("side-band-64k");
        }
        if capabilities.contains("atomic") {
            asked.push("atomic");
        }
        // The remote's own progress is not shown; hooks' output still is.
        if capabilities.contains("quiet") {
            asked.push("quiet");
        }
        let thin = !capabilities.contains("no-thin");
        let mut request = connection
            .transport_mut()
            .request(WriteMode::Binary, MessageKind::Flush, false)
            .map_err(|err| self.gix_error(&err))?;
        for (position, command) in to_send.iter().enumerate() {
            let old = command
                .old
                .unwrap_or_else(|| ObjectId::null(repo.object_hash()));
            let mut line =
                format!("{old} {} {}", command.new, command.reference.as_bstr()).into_bytes();
            if position == 0 {
                line.push(0);
                line.extend_from_slice(asked.join(" ").as_bytes());
            }
            line.push(b'\n');
            // In binary mode, each write is one packet line.
            request
                .write_all(&line)
                .map_err(|err| self.error(err.into()))?;
        }
        request
            .write_message(MessageKind::Flush)
            .map_err(|err| self.error(err.into()))?;
        let (mut writer, mut reader) = request.into_parts();
        progress(PushPhase::Writing, 0, 0);
        let sent = pack::write(repo, ids, thin, &mut writer, self.cancel, &mut |sent| {
            progress(PushPhase::Writing, sent.objects, sent.bytes)
        });
        let sent = match sent {
            Ok(sent) => sent,
            Err(err) => {
                self.check_cancelled()?;
                return Err(self.error(err));
            }
        };
        writer.flush().map_err(|err| self.error(err.into()))?;
        drop(writer);
        outcome.objects_sent = sent.objects;
        outcome.bytes_sent = sent.bytes;
        progress(PushPhase::Waiting, sent.objects, sent.bytes);

        let (report, messages) =
            read_report(&mut reader, side_band).map_err(|err| self.error(err))?;
        outcome.messages = messages.text();
        self.check_report(&report, &to_send, &outcome.messages)?;
        Ok(outcome)
    }

    /// Each local reference against the remote's: what to send, or why not.
    fn plan(
        &self,
        local: &[(FullName, ObjectId)],
        remote_refs: &[(String, ObjectId)],
        lease: Option<Option<ObjectId>>,
        force: bool,
    ) -> Result<Vec<Command>> {
        let repo = &self.project.repo;
        let mut commands = Vec::new();
        for (position, (reference, new)) in local.iter().enumerate() {
            let name = reference.as_bstr().to_string();
            let old = remote_refs
                .iter()
                .find(|(remote_name, _)| *remote_name == name)
                .map(|(_, id)| *id);
            let is_branch = position == 0;
            if let (true, Some(expected)) = (is_branch, lease) {
                if expected != old {
                    return Err(Error::StaleLease {
                        url: self.redactor.url(),
                        reference: name,
                        expected: expected.map(|id| id.to_string()),
                        actual: old.map(|id| id.to_string()),
                    });
                }
            }
            let kind = match old {
                None => UpdateKind::Created,
                Some(old) if old == *new => UpdateKind::UpToDate,
                Some(old) if repo.has_object(old) && is_ancestor(repo, old, *new) => {
                    UpdateKind::FastForward
                }
                Some(_) if is_branch && force => UpdateKind::Forced,
                Some(_) => {
                    return Err(Error::NonFastForward {
                        url: self.redactor.url(),
                        reference: name,
                    })
                }
            };
            commands.push(Command {
                reference: reference.clone(),
                new: *new,
                old,
                kind,
            });
        }
        Ok(commands)
    }

    fn check_report(&self, report: &Report, sent: &[&Command], messages: &str) -> Result<()> {
        if let Some(unpack) = &report.unpack_error {
            let reason = format!("the remote could not unpack the pack: {unpack}");
            return Err(self.error(with_messages(reason, messages).into()));
        }
        for command in sent {
            let reference = command.reference.as_bstr().to_string();
            match report.status(&reference) {
                Some(RefStatus::Ok) => {}
                Some(RefStatus::Rejected(reason)) => {
                    return Err(rejection(self.redactor.url(), reference, reason, messages));
                }
                None => {
                    let reason = "the remote did not report on this reference".to_owned();
                    return Err(self.error(with_messages(reason, messages).into()));
                }
            }
        }
        Ok(())
    }

    fn classify_handshake_error(&self, err: &gix::Error) -> Error {
        // gix's messages along the chain, not status codes: a port such as
        // 40123 in a URL must not read as a 401.
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
        let mut refused = false;
        while let Some(cause) = current {
            let text = cause.to_string().to_lowercase();
            refused |= ["credentials", "authentication", "permission denied"]
                .iter()
                .any(|word| text.contains(word));
            current = cause.source();
        }
        let source = self.redactor.error(err);
        if refused {
            return Error::AuthenticationFailed {
                url: self.redactor.url(),
                source,
            };
        }
        self.error(source)
    }
}

/// The remote's references and the ids they point at (a tag's own id),
/// without receive-pack's `capabilities^{}` placeholder of an empty
/// repository.
fn remote_refs(refs: &[gix::protocol::handshake::Ref]) -> Vec<(String, ObjectId)> {
    use gix::protocol::handshake::Ref;
    refs.iter()
        .filter_map(|reference| match reference {
            Ref::Direct {
                full_ref_name,
                object,
            } => Some((full_ref_name.to_string(), *object)),
            Ref::Peeled {
                full_ref_name, tag, ..
            } => Some((full_ref_name.to_string(), *tag)),
            Ref::Symbolic {
                full_ref_name,
                object,
                tag,
                ..
            } => Some((full_ref_name.to_string(), tag.unwrap_or(*object))),
            _ => None,
        })
        .filter(|(name, id)| name.starts_with("refs/") && !id.is_null())
        .collect()
}

/// Reads receive-pack's answer: the report-status and, in side-band mode,
/// the remote's messages; each capped.
fn read_report(
    reader: &mut dyn gix::protocol::transport::client::blocking_io::ExtendedBufRead<'_>,
    side_band: bool,
) -> Result<(Report, Messages), BoxError> {
    let mut messages = Messages::default();
    let mut report_lines: Vec<Vec<u8>> = Vec::new();
    let mut band_data = Vec::new();
    let mut read = 0usize;
    while let Some(line) = reader.readline() {
        let line = line??;
        let PacketLineRef::Data(data) = line else {
            break;
        };
        read += data.len();
        if read > report::REPORT_CAP {
            return Err("the remote's answer is larger than a report can be".into());
        }
        if !side_band {
            report_lines.push(data.to_vec());
            continue;
        }
        match report::split_band(data) {
            Some((1, payload)) => band_data.extend_from_slice(payload),
            Some((2, payload)) => messages.push(payload),
            Some((3, payload)) => {
                messages.push(payload);
                return Err(format!("the remote failed: {}", messages.text()).into());
            }
            _ => {}
        }
    }
    let report = if side_band {
        report::parse_lines(report::packet_lines(&band_data))
    } else {
        report::parse_lines(report_lines.iter().map(Vec::as_slice))
    };
    Ok((report, messages))
}

/// The error of a reference the remote refused, by the reason it gave.
fn rejection(url: String, reference: String, reason: &str, messages: &str) -> Error {
    if reason.contains("hook declined") {
        return Error::HookDeclined {
            url,
            reference,
            message: with_messages(reason.to_owned(), messages),
        };
    }
    if reason.contains("non-fast-forward") || reason.contains("fetch first") {
        return Error::NonFastForward { url, reference };
    }
    if reason.contains("stale info") {
        return Error::StaleLease {
            url,
            reference,
            expected: None,
            actual: None,
        };
    }
    Error::PushRejected {
        url,
        reference,
        reason: with_messages(reason.to_owned(), messages),
    }
}

fn with_messages(reason: String, messages: &str) -> String {
    if messages.is_empty() {
        reason
    } else {
        format!("{reason}\n{messages}")
    }
}

fn parse_id(id: &str) -> Result<ObjectId> {
    ObjectId::from_hex(id.as_bytes()).map_err(|err| Error::InvalidCommitId {
        id: id.to_owned(),
        source: err.into(),
    })
}
