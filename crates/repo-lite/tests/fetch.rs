//! Fetch and fast-forward (a pull that never merges), with the git CLI as
//! the oracle.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{git, git_state, tester, within, Server};
use repo_lite::{Error, InitOptions, Project, PullKind, PushOptions};

/// A project with one commit pushed to a bare remote named `origin`, and
/// the remote's path.
fn project_and_remote(dir: &Path) -> (Project, PathBuf) {
    let served = dir.join("served");
    std::fs::create_dir_all(&served).unwrap();
    git(
        &served,
        &["init", "-q", "--bare", "-b", "main", "shared.git"],
    );
    let remote = served.join("shared.git");
    let project = Project::init(dir.join("local"), &InitOptions::default())
        .unwrap()
        .with_signature(tester());
    project.add_file("a.txt", "a\n", "A").unwrap();
    project.add_file("keep.txt", "keep\n", "Keep").unwrap();
    project
        .add_remote("origin", remote.to_str().unwrap())
        .unwrap();
    project.push("origin", PushOptions::default()).unwrap();
    (project, remote)
}

/// Someone else (git, in a clone) changes `a.txt`, adds `b/new.txt`,
/// removes `keep.txt`, and pushes.
fn someone_else_pushes(dir: &Path, remote: &Path) -> String {
    let other = dir.join("other");
    git(dir, &["clone", "-q", remote.to_str().unwrap(), "other"]);
    std::fs::write(other.join("a.txt"), "a, theirs\n").unwrap();
    std::fs::create_dir_all(other.join("b")).unwrap();
    std::fs::write(other.join("b/new.txt"), "new\n").unwrap();
    git(&other, &["rm", "-q", "keep.txt"]);
    git(&other, &["add", "-A"]);
    common::commit_and_push_as_someone_else(&other, "Theirs");
    git(remote, &["rev-parse", "main"])
}

#[test]
fn a_pull_fast_forwards_the_branch_work_tree_and_index_and_the_push_then_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let (project, remote) = project_and_remote(dir.path());
    let root = project.root().to_owned();
    let theirs = someone_else_pushes(dir.path(), &remote);

    let fetched = project.fetch("origin", "main").unwrap();
    assert_eq!(fetched.new, theirs);
    assert_eq!(fetched.tracking_ref, "refs/remotes/origin/main");
    assert_eq!(
        git(&root, &["rev-parse", "refs/remotes/origin/main"]),
        theirs
    );

    let pulled = project.pull("origin", "main").unwrap();
    assert_eq!(pulled.kind, PullKind::FastForward);
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), theirs);
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "a, theirs\n"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("b/new.txt")).unwrap(),
        "new\n"
    );
    assert!(!root.join("keep.txt").exists());
    assert_eq!(
        git(&root, &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    git(&root, &["fsck", "--strict"]);
    assert_eq!(
        project.pull("origin", "main").unwrap().kind,
        PullKind::UpToDate
    );

    project.add_file("c.txt", "c\n", "C").unwrap();
    assert_eq!(
        project.pull("origin", "main").unwrap().kind,
        PullKind::Ahead
    );
    project.push("origin", PushOptions::default()).unwrap();
    assert_eq!(
        git(&remote, &["rev-parse", "main"]),
        git(&root, &["rev-parse", "HEAD"])
    );
}

#[test]
fn diverged_histories_are_a_typed_error_and_nothing_moves() {
    let dir = tempfile::tempdir().unwrap();
    let (project, remote) = project_and_remote(dir.path());
    let root = project.root().to_owned();
    let theirs = someone_else_pushes(dir.path(), &remote);
    project.add_file("mine.txt", "mine\n", "Mine").unwrap();

    let err = project.push("origin", PushOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NonFastForward { .. }), "{err:?}");
    assert_eq!(git(&remote, &["rev-parse", "main"]), theirs);

    let before = git_state(&root);
    let err = project.pull("origin", "main").unwrap_err();
    assert!(
        matches!(&err, Error::Diverged { branch, remote, .. } if branch == "main" && *remote == theirs),
        "{err:?}"
    );
    assert_eq!(git_state(&root), before);
}

#[test]
fn local_changes_in_the_way_refuse_the_fast_forward_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (project, remote) = project_and_remote(dir.path());
    let root = project.root().to_owned();
    someone_else_pushes(dir.path(), &remote);
    std::fs::write(root.join("a.txt"), "edited here\n").unwrap();
    let head = git(&root, &["rev-parse", "HEAD"]);
    let before = git_state(&root);

    let err = project.pull("origin", "main").unwrap_err();
    assert!(
        matches!(&err, Error::LocalChanges { path, .. } if path == Path::new("a.txt")),
        "{err:?}"
    );
    assert_eq!(git_state(&root), before);
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "edited here\n"
    );
}

#[test]
fn a_bare_project_pulls_over_git_daemon_by_moving_its_branch() {
    let dir = tempfile::tempdir().unwrap();
    let (_project, remote) = project_and_remote(dir.path());
    let theirs = someone_else_pushes(dir.path(), &remote);
    let server = Server::git_daemon(&dir.path().join("served"));
    let url = format!("git://127.0.0.1:{}/shared.git", server.port);
    let mirror_dir = dir.path().join("mirror.git");
    within(Duration::from_secs(60), move || {
        let mirror = Project::init(&mirror_dir, &InitOptions::default().bare(true)).unwrap();
        mirror.add_remote("origin", &url).unwrap();
        let pulled = mirror.pull("origin", "main").unwrap();
        assert_eq!(pulled.kind, PullKind::FastForward);
        assert_eq!(git(&mirror_dir, &["rev-parse", "main"]), theirs);
        git(&mirror_dir, &["fsck", "--strict"]);
        let err = mirror.fetch("origin", "no-such-branch").unwrap_err();
        assert!(
            matches!(err, Error::BranchNotFound { .. } | Error::Fetch { .. }),
            "{err:?}"
        );
        let err = mirror.fetch("upstream", "main").unwrap_err();
        assert!(matches!(err, Error::RemoteNotFound { .. }), "{err:?}");
        drop(server);
    });
}
