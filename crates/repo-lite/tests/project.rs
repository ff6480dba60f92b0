//! Integration tests, with the real git CLI as the oracle.

mod common;

use common::git;
use repo_lite::{Error, InitOptions, Project};

#[test]
fn init_creates_a_repository_that_git_reads_with_head_on_main() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    let project = Project::init(&root, &InitOptions::default()).expect("init");

    assert_eq!(project.current_branch().unwrap().as_deref(), Some("main"));
    assert_eq!(git(&root, &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(git(&root, &["rev-parse", "--is-inside-work-tree"]), "true");
    assert_eq!(git(&root, &["status", "--porcelain"]), "");
    git(&root, &["fsck", "--strict"]);
}

#[test]
fn init_honours_another_default_branch_and_open_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    Project::init(dir.path(), &InitOptions::default().default_branch("trunk")).expect("init");
    assert_eq!(
        git(dir.path(), &["symbolic-ref", "HEAD"]),
        "refs/heads/trunk"
    );

    let reopened = Project::open(dir.path()).expect("open");
    assert_eq!(reopened.current_branch().unwrap().as_deref(), Some("trunk"));
}

#[test]
fn rejects_invalid_branch_names() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "-x", "a..b", "with space", "end.lock", "HEAD"] {
        let err =
            Project::init(dir.path(), &InitOptions::default().default_branch(bad)).unwrap_err();
        assert!(
            matches!(err, Error::InvalidBranchName { .. }),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn opening_a_directory_that_is_not_a_repository_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Project::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Open { .. }), "{err:?}");
}

#[test]
fn init_can_make_a_first_commit_with_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let project = Project::init(
        dir.path(),
        &InitOptions::default()
            .initial_commit("Start the project")
            .signature(repo_lite::Signature::new("Ada", "ada@example.com")),
    )
    .expect("init");
    assert_eq!(
        git(dir.path(), &["log", "--format=%an <%ae> %s"]),
        "Ada <ada@example.com> Start the project"
    );
    assert_eq!(git(dir.path(), &["ls-files"]), "");
    assert_eq!(git(dir.path(), &["status", "--porcelain"]), "");
    git(dir.path(), &["fsck", "--strict"]);
    assert_eq!(project.log(10).unwrap().len(), 1);
}
