//! Reading files, the file list and the log at HEAD, checked against git.

mod common;

use std::path::PathBuf;

use common::{git, git_bytes, new_project};
use repo_lite::Error;

#[test]
fn read_file_returns_the_bytes_git_shows_at_head() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    let binary: Vec<u8> = (0..=255).collect();
    project.add_file("bin/data", &binary, "Add binary").unwrap();

    assert_eq!(project.read_file("bin/data").unwrap(), binary);
    assert_eq!(git_bytes(&root, &["show", "HEAD:bin/data"]), binary);
}

#[test]
fn read_of_a_missing_file_is_a_typed_error() {
    let (_dir, project) = new_project();
    let err = project.read_file("missing").unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }), "{err:?}");

    project.add_file("dir/present", "x", "Add").unwrap();
    let err = project.read_file("missing").unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }), "{err:?}");
    let err = project.read_file("dir").unwrap_err();
    assert!(matches!(err, Error::NotAFile { .. }), "{err:?}");
}

#[test]
fn head_commit_and_file_ids_match_git_rev_parse() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    assert_eq!(project.head_commit().unwrap(), None, "unborn branch");
    assert_eq!(project.file_id("a/b.txt").unwrap(), None);
    project.add_file("a/b.txt", "contents\n", "Add").unwrap();
    let rev_parse = |what: &str| git(&root, &["rev-parse", what]);
    assert_eq!(project.head_commit().unwrap(), Some(rev_parse("HEAD")));
    assert_eq!(
        project.file_id("a/b.txt").unwrap(),
        Some(rev_parse("HEAD:a/b.txt"))
    );
    assert_eq!(project.file_id("a/missing").unwrap(), None);
    let err = project.file_id("a").unwrap_err();
    assert!(matches!(err, Error::NotAFile { .. }), "{err:?}");
    let err = project.file_id("../x").unwrap_err();
    assert!(matches!(err, Error::InvalidPath { .. }), "{err:?}");
}

#[test]
fn a_commit_is_found_by_its_id_and_other_ids_are_none_or_refused() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project
        .add_file("a.txt", "a\n", "Add a\n\nwith a body")
        .unwrap();
    let id = git(&root, &["rev-parse", "HEAD"]);
    let commit = project.commit(&id).unwrap().expect("the commit");
    assert_eq!(commit, project.log(1).unwrap()[0]);
    assert_eq!(
        commit.message,
        git(&root, &["log", "-1", "--format=%B"]) + "\n"
    );
    let blob = git(&root, &["rev-parse", "HEAD:a.txt"]);
    assert_eq!(project.commit(&blob).unwrap(), None, "a blob");
    assert_eq!(project.commit(&"0".repeat(40)).unwrap(), None, "absent");
    for bad in ["", "HEAD", "abc", "../x", &"g".repeat(40)] {
        let err = project.commit(bad).unwrap_err();
        assert!(
            matches!(err, Error::InvalidCommitId { .. }),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn list_files_matches_git_ls_tree() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    assert!(project.list_files().unwrap().is_empty(), "unborn branch");
    for path in ["z.txt", "a/b.txt", "a.txt", "a/c/d.txt", "m/n.txt"] {
        project.add_file(path, path, "Add").unwrap();
    }
    project.remove_file("m/n.txt", "Remove").unwrap();

    let mut expected: Vec<PathBuf> = git(&root, &["ls-tree", "-r", "--name-only", "HEAD"])
        .lines()
        .map(PathBuf::from)
        .collect();
    expected.sort();
    assert_eq!(project.list_files().unwrap(), expected);
    assert_eq!(expected.len(), 4);
}

#[test]
fn log_matches_git_log_newest_first() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    assert!(project.log(10).unwrap().is_empty(), "unborn branch");
    project.add_file("a.txt", "1", "First").unwrap();
    project
        .update_file("a.txt", "2", "Second\n\nWith a body.")
        .unwrap();
    project.remove_file("a.txt", "Third").unwrap();

    let log = project.log(10).unwrap();

    let expected = git(&root, &["log", "--format=%H %an|%ae|%at"]);
    let ours: Vec<String> = log
        .iter()
        .map(|c| format!("{} {}|{}|{}", c.id, c.author_name, c.author_email, c.time))
        .collect();
    assert_eq!(ours.join("\n"), expected);
    for commit in &log {
        assert_eq!(
            commit.message.trim_end(),
            git(&root, &["log", "-1", "--format=%B", &commit.id])
        );
    }
    assert_eq!(log[1].message, "Second\n\nWith a body.\n");
}

#[test]
fn log_is_limited_to_the_latest_n() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    for i in 0..5 {
        project
            .add_file("counter", i.to_string(), &format!("Count {i}"))
            .unwrap();
    }

    let log = project.log(2).unwrap();

    let expected = git(&root, &["log", "-n", "2", "--format=%H"]);
    let ids: Vec<&str> = log.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.join("\n"), expected);
    assert_eq!(log[0].message, "Count 4\n");
    assert!(project.log(0).unwrap().is_empty());
}
