//! Bare projects: commits without a work tree or index, with the real git
//! CLI as the oracle.

mod common;

use common::{git, git_bytes, tester};
use repo_lite::{Error, InitOptions, Outcome, Project};

fn new_bare_project() -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    let project = Project::init(
        dir.path().join("store.git"),
        &InitOptions::default().bare(true),
    )
    .unwrap()
    .with_signature(tester());
    (dir, project)
}

#[test]
fn a_bare_project_commits_what_git_reads_and_writes_no_work_tree_or_index() {
    let (_dir, project) = new_bare_project();
    let root = project.root().to_owned();
    assert!(project.is_bare());
    assert_eq!(git(&root, &["rev-parse", "--is-bare-repository"]), "true");

    project.add_file("docs/a.txt", "a\n", "Add a").unwrap();
    project
        .write_files(
            &[("jobs/1/x.dot", "digraph { x }\n"), ("jobs/2/y.dot", "y\n")],
            "Add two",
        )
        .unwrap();
    project
        .update_file("docs/a.txt", "a, again\n", "Update a")
        .unwrap();
    project.remove_file("jobs/2/y.dot", "Remove y").unwrap();
    assert_eq!(
        project
            .update_file("docs/a.txt", "a, again\n", "No-op")
            .unwrap(),
        Outcome::Unchanged
    );

    assert_eq!(git(&root, &["rev-list", "--count", "HEAD"]), "4");
    assert_eq!(git(&root, &["show", "HEAD:docs/a.txt"]), "a, again");
    assert_eq!(
        git(&root, &["ls-tree", "-r", "--name-only", "HEAD"]),
        "docs/a.txt\njobs/1/x.dot"
    );
    assert_eq!(
        project.read_file("jobs/1/x.dot").unwrap(),
        b"digraph { x }\n"
    );
    git(&root, &["fsck", "--strict"]);
    assert!(!root.join("index").exists(), "a bare project has no index");
    assert!(!root.join("docs").exists() && !root.join("jobs").exists());
    let log = project.log(10).unwrap();
    assert_eq!(log[0].message, "Remove y\n");
    assert_eq!(git(&root, &["log", "-1", "--format=%s"]), "Remove y");
}

#[test]
fn open_finds_a_bare_repository_made_by_git_and_commits_to_it() {
    let dir = tempfile::tempdir().unwrap();
    git(
        dir.path(),
        &["init", "-q", "--bare", "-b", "trunk", "made.git"],
    );
    let root = dir.path().join("made.git");

    let project = Project::open(&root).unwrap().with_signature(tester());
    assert!(project.is_bare());
    assert_eq!(project.current_branch().unwrap().as_deref(), Some("trunk"));
    project.add_file("a.txt", "a\n", "First").unwrap();

    assert_eq!(git(&root, &["log", "--format=%s", "trunk"]), "First");
    git(&root, &["fsck", "--strict"]);
    // A clone of it has the file.
    git(dir.path(), &["clone", "-q", "made.git", "checkout"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("checkout/a.txt")).unwrap(),
        "a\n"
    );
}

#[test]
fn a_bare_project_stores_contents_as_given_whatever_gitattributes_says() {
    let (_dir, project) = new_bare_project();
    let root = project.root().to_owned();
    project
        .write_files(
            &[
                (".gitattributes", "*.txt text eol=crlf\n"),
                ("a.txt", "one\r\ntwo\r\n"),
            ],
            "Add",
        )
        .unwrap();
    assert_eq!(git_bytes(&root, &["show", "HEAD:a.txt"]), b"one\r\ntwo\r\n");
}

#[test]
fn a_refused_path_in_a_bare_project_writes_nothing() {
    let (_dir, project) = new_bare_project();
    let root = project.root().to_owned();
    project.add_file("a.txt", "a\n", "First").unwrap();
    let before = git(&root, &["rev-parse", "HEAD"]);

    for bad in ["../escape.txt", ".git/config", "/abs.txt", "a.txt/below"] {
        let err = project
            .write_files(&[("ok.txt", "ok\n"), (bad, "x\n")], "Bad")
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidPath { .. } | Error::NotAFile { .. }),
            "{bad}: {err:?}"
        );
    }
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), before);
    assert!(!root.join("ok.txt").exists() && !root.parent().unwrap().join("escape.txt").exists());
    git(&root, &["fsck", "--strict"]);
}
