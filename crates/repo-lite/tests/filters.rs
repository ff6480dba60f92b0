//! What is committed is what `git add` would commit: blobs go through the
//! clean filters that `.gitattributes` and git config ask for. The oracle is
//! `git add` on a copy of the repository.

mod common;

use std::path::Path;

use common::{assert_clean_and_sound, git, git_state, new_project};
use repo_lite::Error;

/// The blob id `git add` gives `path` with `contents`, in a copy of the
/// repository at `root`.
fn blob_git_would_add(root: &Path, path: &str, contents: &[u8]) -> String {
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(root)
        .arg(copy.path().join("copy"))
        .status()
        .unwrap();
    assert!(status.success());
    let copy = copy.path().join("copy");
    std::fs::write(copy.join(path), contents).unwrap();
    git(&copy, &["add", "--", path]);
    git(&copy, &["rev-parse", &format!(":{path}")])
}

#[test]
fn a_crlf_file_under_text_auto_is_committed_with_lf_as_git_add_would() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project
        .add_file(".gitattributes", "* text=auto\n", "Normalise line endings")
        .unwrap();
    let contents = b"one\r\ntwo\r\n";

    project
        .add_file("crlf.txt", contents, "Add a CRLF file")
        .unwrap();

    let expected = blob_git_would_add(&root, "crlf.txt", contents);
    assert_eq!(git(&root, &["rev-parse", "HEAD:crlf.txt"]), expected);
    assert_eq!(git(&root, &["cat-file", "-p", "HEAD:crlf.txt"]), "one\ntwo");
    // The work tree keeps what the caller wrote, as after `git add`.
    assert_eq!(std::fs::read(root.join("crlf.txt")).unwrap(), contents);
    assert_clean_and_sound(&root);
    // The same contents again are what HEAD holds: no commit.
    assert_eq!(
        project.update_file("crlf.txt", contents, "Again").unwrap(),
        repo_lite::Outcome::Unchanged
    );
}

#[test]
fn core_autocrlf_applies_as_for_git_add() {
    let (_dir, project) = common::new_project_with_config("core.autocrlf", "input");
    let root = project.root().to_owned();
    let contents = b"a\r\nb\r\n";

    project.add_file("x.txt", contents, "Add").unwrap();

    assert_eq!(
        git(&root, &["rev-parse", "HEAD:x.txt"]),
        blob_git_would_add(&root, "x.txt", contents)
    );
    assert_clean_and_sound(&root);
}

#[test]
fn binary_contents_under_text_auto_are_committed_unchanged() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project
        .add_file(".gitattributes", "* text=auto\n", "Normalise")
        .unwrap();
    let contents = b"\0binary\r\n";

    project.add_file("b.bin", contents, "Add binary").unwrap();

    assert_eq!(
        git(&root, &["rev-parse", "HEAD:b.bin"]),
        blob_git_would_add(&root, "b.bin", contents)
    );
    assert_clean_and_sound(&root);
}

#[test]
fn an_lfs_tracked_path_is_a_typed_error_and_nothing_is_written() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project
        .add_file(
            ".gitattributes",
            "*.bin filter=lfs diff=lfs merge=lfs -text\n",
            "Track binaries with LFS",
        )
        .unwrap();
    let before = git_state(&root);

    let err = project
        .write_files(&[("a.txt", "a\n"), ("big.bin", "not a pointer\n")], "Add")
        .unwrap_err();

    assert!(
        matches!(&err, Error::FilterNotSupported { filter, .. } if filter == "lfs"),
        "{err:?}"
    );
    assert_eq!(git_state(&root), before);
}
