//! Cloning, with the git CLI as the oracle and local servers for `git://`
//! and smart HTTP.

mod common;

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{assert_clean_and_sound, commit_count, git, history, make_origin, Server};
use repo_lite::{CloneOptions, ClonePhase, CloneProgress, Error, Project};

/// A temporary directory with an origin repository made by the git CLI in
/// `origin/`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary directory");
        make_origin(&dir.path().join("origin"));
        Fixture { dir }
    }

    fn origin(&self) -> PathBuf {
        self.dir.path().join("origin")
    }

    fn file_url(&self) -> String {
        format!("file://{}", self.origin().display())
    }

    /// A bare copy of the origin at `served/origin.git`, for servers to
    /// serve; returns `served`.
    fn served(&self) -> PathBuf {
        let served = self.dir.path().join("served");
        std::fs::create_dir_all(&served).expect("served directory");
        git(
            self.dir.path(),
            &["clone", "-q", "--bare", "origin", "served/origin.git"],
        );
        served
    }

    fn dest(&self) -> PathBuf {
        self.dir.path().join("clone")
    }

    /// What is in the fixture's directory, to show nothing was left over.
    fn entries(&self) -> Vec<String> {
        entries(self.dir.path())
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// The clone at `dest` has the origin's `main`: same files, same history,
/// a clean status and a sound repository.
fn assert_matches_origin(origin: &Path, dest: &Path, project: &Project) {
    assert_eq!(
        project.root(),
        dest.canonicalize().expect("clone exists").as_path()
    );
    assert_eq!(
        project.current_branch().expect("HEAD").as_deref(),
        Some("main")
    );
    assert_eq!(history(dest), history(origin));
    assert_eq!(git(dest, &["ls-files"]), git(origin, &["ls-files"]));
    assert_eq!(
        std::fs::read_to_string(dest.join("README.md")).expect("README"),
        "# origin\n\nWith a library.\n"
    );
    assert_eq!(
        project.read_file("src/lib.rs").expect("read"),
        b"pub fn one() -> u32 { 1 }\n"
    );
    assert!(
        !dest.join("docs").exists(),
        "feature's file is not checked out"
    );
    assert_clean_and_sound(dest);
}

#[test]
fn clone_over_a_file_url_has_the_origins_files_and_history_and_passes_fsck() {
    let fixture = Fixture::new();
    let project = Project::clone_repo(&fixture.file_url(), fixture.dest(), CloneOptions::default())
        .expect("clone");
    assert_matches_origin(&fixture.origin(), &fixture.dest(), &project);
    // Other branches arrive as remote-tracking branches, as with git clone.
    assert_eq!(
        git(&fixture.dest(), &["rev-parse", "origin/feature"]),
        git(&fixture.origin(), &["rev-parse", "feature"])
    );
}

#[test]
fn clone_from_a_plain_path_has_the_origins_files_and_history() {
    let fixture = Fixture::new();
    let path = fixture.origin().display().to_string();
    let project =
        Project::clone_repo(&path, fixture.dest(), CloneOptions::default()).expect("clone");
    assert_matches_origin(&fixture.origin(), &fixture.dest(), &project);
}

#[test]
fn clone_with_a_branch_checks_out_that_branch() {
    let fixture = Fixture::new();
    let options = CloneOptions::default().branch("feature");
    let project = Project::clone_repo(&fixture.file_url(), fixture.dest(), options).expect("clone");
    let dest = fixture.dest();
    assert_eq!(
        project.current_branch().expect("HEAD").as_deref(),
        Some("feature")
    );
    assert_eq!(
        git(&dest, &["rev-parse", "HEAD"]),
        git(&fixture.origin(), &["rev-parse", "feature"])
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("docs/feature.md")).expect("feature's file"),
        "A feature.\n"
    );
    assert_eq!(commit_count(&dest), 4);
    assert_clean_and_sound(&dest);
}

#[test]
fn clone_with_depth_one_fetches_a_single_commit() {
    let fixture = Fixture::new();
    let options = CloneOptions::default().depth(NonZeroU32::MIN);
    let project = Project::clone_repo(&fixture.file_url(), fixture.dest(), options).expect("clone");
    let dest = fixture.dest();
    assert_eq!(git(&dest, &["rev-list", "--count", "HEAD"]), "1");
    assert_eq!(
        git(&dest, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );
    assert_eq!(
        git(&dest, &["rev-parse", "HEAD"]),
        git(&fixture.origin(), &["rev-parse", "main"])
    );
    assert_eq!(project.log(10).expect("log").len(), 1);
    assert_clean_and_sound(&dest);
}

#[test]
fn clone_with_a_branch_and_depth_one_fetches_that_branchs_tip_only() {
    let fixture = Fixture::new();
    let options = CloneOptions::default()
        .branch("feature")
        .depth(NonZeroU32::MIN);
    let project = Project::clone_repo(&fixture.file_url(), fixture.dest(), options).expect("clone");
    let dest = fixture.dest();
    assert_eq!(
        project.current_branch().expect("HEAD").as_deref(),
        Some("feature")
    );
    assert_eq!(git(&dest, &["rev-list", "--count", "HEAD"]), "1");
    assert!(dest.join("docs/feature.md").is_file());
    assert_clean_and_sound(&dest);
}

#[test]
fn clone_over_git_protocol_from_git_daemon_has_the_origins_files_and_history() {
    let fixture = Fixture::new();
    let daemon = Server::git_daemon(&fixture.served());
    let url = format!("git://127.0.0.1:{}/origin.git", daemon.port);
    let project =
        Project::clone_repo(&url, fixture.dest(), CloneOptions::default()).expect("clone");
    assert_matches_origin(&fixture.origin(), &fixture.dest(), &project);
}

#[test]
fn clone_over_git_protocol_with_depth_one_fetches_a_single_commit() {
    let fixture = Fixture::new();
    let daemon = Server::git_daemon(&fixture.served());
    let url = format!("git://127.0.0.1:{}/origin.git", daemon.port);
    let options = CloneOptions::default().depth(NonZeroU32::MIN);
    Project::clone_repo(&url, fixture.dest(), options).expect("clone");
    assert_eq!(git(&fixture.dest(), &["rev-list", "--count", "HEAD"]), "1");
    assert_clean_and_sound(&fixture.dest());
}

#[test]
fn clone_over_smart_http_from_git_http_backend_has_the_origins_files_and_history() {
    let fixture = Fixture::new();
    let server = Server::git_http(&fixture.served());
    let url = format!("http://127.0.0.1:{}/origin.git", server.port);
    let project =
        Project::clone_repo(&url, fixture.dest(), CloneOptions::default()).expect("clone");
    assert_matches_origin(&fixture.origin(), &fixture.dest(), &project);
}

#[test]
fn clone_over_smart_http_with_a_branch_checks_out_that_branch() {
    let fixture = Fixture::new();
    let server = Server::git_http(&fixture.served());
    let url = format!("http://127.0.0.1:{}/origin.git", server.port);
    let options = CloneOptions::default().branch("feature");
    let project = Project::clone_repo(&url, fixture.dest(), options).expect("clone");
    assert_eq!(
        project.current_branch().expect("HEAD").as_deref(),
        Some("feature")
    );
    assert_clean_and_sound(&fixture.dest());
}

#[test]
fn clone_into_an_existing_empty_directory_fills_it() {
    let fixture = Fixture::new();
    std::fs::create_dir(fixture.dest()).expect("empty destination");
    let project = Project::clone_repo(&fixture.file_url(), fixture.dest(), CloneOptions::default())
        .expect("clone");
    assert_matches_origin(&fixture.origin(), &fixture.dest(), &project);
    assert_eq!(
        fixture.entries(),
        ["clone", "origin"],
        "no temporary directory is left"
    );
}

#[test]
fn clone_makes_missing_parent_directories() {
    let fixture = Fixture::new();
    let dest = fixture.dir.path().join("a/b/clone");
    let project =
        Project::clone_repo(&fixture.file_url(), &dest, CloneOptions::default()).expect("clone");
    assert_matches_origin(&fixture.origin(), &dest, &project);
    assert_eq!(entries(&fixture.dir.path().join("a/b")), ["clone"]);
}

#[test]
fn progress_reports_objects_and_bytes_received_and_ends_with_done() {
    let fixture = Fixture::new();
    let server = Server::git_http(&fixture.served());
    let url = format!("http://127.0.0.1:{}/origin.git", server.port);
    let seen: Arc<Mutex<Vec<CloneProgress>>> = Arc::default();
    let record = seen.clone();
    let options = CloneOptions::default().on_progress(move |progress| {
        record.lock().expect("not poisoned").push(progress.clone());
    });
    Project::clone_repo(&url, fixture.dest(), options).expect("clone");

    let seen = seen.lock().expect("not poisoned");
    let last = seen.last().expect("at least one report");
    assert_eq!(last.phase, ClonePhase::Done);
    let objects: u64 = git(&fixture.origin(), &["rev-list", "--objects", "--all"])
        .lines()
        .count()
        .try_into()
        .expect("a small count");
    assert_eq!(last.objects_received, objects);
    assert_eq!(last.objects_total, Some(objects));
    assert!(last.bytes_received > 0, "{last:?}");
    assert_eq!(last.files_checked_out, 2);
    assert_eq!(last.files_total, Some(2));
    assert_eq!(
        seen.iter().filter(|p| p.phase == ClonePhase::Done).count(),
        1
    );
}

#[test]
fn invalid_urls_are_refused_before_anything_is_written() {
    let fixture = Fixture::new();
    for url in [
        "",
        "ftp://example.com/repo.git",
        "http://",
        "https:///repo.git",
    ] {
        let err = Project::clone_repo(url, fixture.dest(), CloneOptions::default())
            .expect_err("an invalid URL");
        assert!(
            matches!(&err, Error::InvalidUrl { url: given, .. } if given == url),
            "{url:?}: {err:?}"
        );
        assert_eq!(fixture.entries(), ["origin"], "{url:?}");
    }
}

#[test]
fn invalid_branch_names_are_refused_before_anything_is_written() {
    let fixture = Fixture::new();
    let options = CloneOptions::default().branch("no..dots");
    let err = Project::clone_repo(&fixture.file_url(), fixture.dest(), options)
        .expect_err("an invalid branch name");
    assert!(matches!(err, Error::InvalidBranchName { .. }), "{err:?}");
    assert_eq!(fixture.entries(), ["origin"]);
}

#[test]
fn unreachable_host_fails_and_leaves_no_destination_behind() {
    let fixture = Fixture::new();
    let port = common::free_port();
    for url in [
        format!("git://127.0.0.1:{port}/origin.git"),
        format!("http://127.0.0.1:{port}/origin.git"),
    ] {
        let err = Project::clone_repo(&url, fixture.dest(), CloneOptions::default())
            .expect_err("nothing listens");
        assert!(
            matches!(&err, Error::Clone { url: given, .. } if *given == url),
            "{err:?}"
        );
        assert_eq!(fixture.entries(), ["origin"], "{url}");
    }
}

#[test]
fn missing_repository_fails_and_leaves_no_destination_behind() {
    let fixture = Fixture::new();
    let url = format!("file://{}", fixture.dir.path().join("nowhere").display());
    let err = Project::clone_repo(&url, fixture.dest(), CloneOptions::default())
        .expect_err("no repository");
    assert!(matches!(err, Error::Clone { .. }), "{err:?}");
    assert_eq!(fixture.entries(), ["origin"]);
}

#[test]
fn missing_branch_is_reported_and_leaves_no_destination_behind() {
    let fixture = Fixture::new();
    let options = CloneOptions::default().branch("no-such-branch");
    let err = Project::clone_repo(&fixture.file_url(), fixture.dest(), options)
        .expect_err("no such branch");
    assert!(
        matches!(&err, Error::BranchNotFound { branch, .. } if branch == "no-such-branch"),
        "{err:?}"
    );
    assert_eq!(fixture.entries(), ["origin"]);
}

#[test]
fn missing_branch_with_depth_is_reported_too() {
    let fixture = Fixture::new();
    let options = CloneOptions::default()
        .branch("no-such-branch")
        .depth(NonZeroU32::MIN);
    let err = Project::clone_repo(&fixture.file_url(), fixture.dest(), options)
        .expect_err("no such branch");
    assert!(matches!(err, Error::BranchNotFound { .. }), "{err:?}");
    assert_eq!(fixture.entries(), ["origin"]);
}

#[test]
fn failed_clone_into_an_empty_directory_leaves_it_empty() {
    let fixture = Fixture::new();
    std::fs::create_dir(fixture.dest()).expect("empty destination");
    let options = CloneOptions::default().branch("no-such-branch");
    let err = Project::clone_repo(&fixture.file_url(), fixture.dest(), options)
        .expect_err("no such branch");
    assert!(matches!(err, Error::BranchNotFound { .. }), "{err:?}");
    assert_eq!(fixture.entries(), ["clone", "origin"]);
    assert!(entries(&fixture.dest()).is_empty());
}

#[test]
fn failed_clone_removes_the_parent_directories_it_made() {
    let fixture = Fixture::new();
    let dest = fixture.dir.path().join("a/b/clone");
    let options = CloneOptions::default().branch("no-such-branch");
    Project::clone_repo(&fixture.file_url(), dest, options).expect_err("no such branch");
    assert_eq!(fixture.entries(), ["origin"]);
}

#[test]
fn cancelled_clone_fails_with_cancelled_and_leaves_no_destination_behind() {
    let fixture = Fixture::new();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let options = CloneOptions::default()
        .cancel_flag(cancel)
        .on_progress(move |_| flag.store(true, Ordering::Relaxed));
    let err =
        Project::clone_repo(&fixture.file_url(), fixture.dest(), options).expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
    assert_eq!(fixture.entries(), ["origin"]);
}

#[test]
fn clone_cancelled_before_it_starts_writes_nothing() {
    let fixture = Fixture::new();
    std::fs::create_dir(fixture.dest()).expect("empty destination");
    let options = CloneOptions::default().cancel_flag(Arc::new(AtomicBool::new(true)));
    let err =
        Project::clone_repo(&fixture.file_url(), fixture.dest(), options).expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
    assert_eq!(fixture.entries(), ["clone", "origin"]);
    assert!(entries(&fixture.dest()).is_empty());
}

#[test]
fn non_empty_destination_is_refused_before_any_network_traffic() {
    let fixture = Fixture::new();
    std::fs::create_dir(fixture.dest()).expect("destination");
    std::fs::write(fixture.dest().join("keep.txt"), "mine\n").expect("a file");
    // Nothing listens there: reaching the network would fail differently.
    let url = format!("git://127.0.0.1:{}/origin.git", common::free_port());
    let err =
        Project::clone_repo(&url, fixture.dest(), CloneOptions::default()).expect_err("not empty");
    assert!(
        matches!(&err, Error::DestinationNotEmpty { path } if *path == fixture.dest()),
        "{err:?}"
    );
    assert_eq!(entries(&fixture.dest()), ["keep.txt"]);
    assert_eq!(fixture.entries(), ["clone", "origin"]);
}

#[test]
fn destination_that_is_a_file_is_refused() {
    let fixture = Fixture::new();
    std::fs::write(fixture.dest(), "a file\n").expect("a file");
    let err = Project::clone_repo(&fixture.file_url(), fixture.dest(), CloneOptions::default())
        .expect_err("a file is in the way");
    assert!(matches!(err, Error::DestinationNotEmpty { .. }), "{err:?}");
    assert_eq!(
        std::fs::read_to_string(fixture.dest()).expect("still there"),
        "a file\n"
    );
}

#[cfg(unix)]
#[test]
fn clone_root_gets_the_mode_of_a_new_directory_not_a_private_temporary_one() {
    use std::os::unix::fs::PermissionsExt;
    let fixture = Fixture::new();
    let fresh = fixture.dir.path().join("fresh");
    std::fs::create_dir(&fresh).expect("a new directory");
    Project::clone_repo(&fixture.file_url(), fixture.dest(), CloneOptions::default())
        .expect("clone");
    let mode = |path: &Path| path.metadata().expect("metadata").permissions().mode() & 0o7777;
    assert_eq!(mode(&fixture.dest()), mode(&fresh));
}

/// Everything an error shows: its Display and Debug, and those of every
/// source in its chain.
fn everything_shown(err: &Error) -> Vec<String> {
    let mut shown = vec![err.to_string(), format!("{err:?}")];
    let mut source = std::error::Error::source(err);
    while let Some(current) = source {
        shown.push(current.to_string());
        shown.push(format!("{current:?}"));
        source = current.source();
    }
    shown
}

/// Asserts that no part of `err` shows `secret`, and that its Display shows
/// the URL with `masked` in its place.
fn assert_masked(err: &Error, secret: &str, masked: &str) {
    for shown in everything_shown(err) {
        assert!(!shown.contains(secret), "{secret} shown in {shown}");
    }
    assert!(err.to_string().contains(masked), "{err}");
}

/// A password (percent-encoded or not) or a token in a clone URL never
/// appears in an error: not in its Display, its Debug, nor in any error of
/// its source chain, gix's included (which quote the URL). Nothing listens
/// on the port, so nothing leaves the machine.
#[test]
fn credentials_in_a_clone_url_are_masked_in_every_error_and_its_sources() {
    let fixture = Fixture::new();
    let port = common::free_port();
    let no_such_branch = || CloneOptions::default().branch("no-such-branch");
    for scheme in ["https", "http", "git", "ssh"] {
        for (password, secret) in [("hunter2-Pa55", "Pa55"), ("hunter2%2FPa55", "Pa55")] {
            let url = format!("{scheme}://alice:{password}@127.0.0.1:{port}/origin.git");
            let err = Project::clone_repo(&url, fixture.dest(), no_such_branch())
                .expect_err("nothing listens");
            assert!(matches!(err, Error::Clone { .. }), "{err:?}");
            assert_masked(&err, secret, "alice:***@127.0.0.1");
            assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
        }
    }

    let token = format!("https://ghp_T0KEN@127.0.0.1:{port}/origin.git");
    let err = Project::clone_repo(&token, fixture.dest(), CloneOptions::default())
        .expect_err("nothing listens");
    assert_masked(&err, "T0KEN", "https://***@127.0.0.1");

    // Refused before anything is sent; gix's parse error quotes its input.
    for url in [
        "ftp://alice:hunter2-Pa55@127.0.0.1/origin.git",
        "https://alice:hunter2-Pa55@exa mple.com/origin.git",
    ] {
        let err = Project::clone_repo(url, fixture.dest(), CloneOptions::default())
            .expect_err("an invalid URL");
        assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
        assert_masked(&err, "Pa55", "alice:***@");
    }

    let cancelled = CloneOptions::default().cancel_flag(Arc::new(AtomicBool::new(true)));
    let url = format!("https://alice:hunter2-Pa55@127.0.0.1:{port}/origin.git");
    let err = Project::clone_repo(&url, fixture.dest(), cancelled).expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
    assert_masked(&err, "Pa55", "alice:***@127.0.0.1");
    assert_eq!(fixture.entries(), ["origin"]);
}
