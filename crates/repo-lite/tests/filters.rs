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
    blobs_git_would_add(root, &[(path, contents)], &["add", "--", path]).remove(0)
}

/// Copies the repository at `root`, writes `files` into the copy and runs
/// `git add` there; returns the blob ids git staged for them.
fn blobs_git_would_add(root: &Path, files: &[(&str, &[u8])], add: &[&str]) -> Vec<String> {
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(root)
        .arg(copy.path().join("copy"))
        .status()
        .unwrap();
    assert!(status.success());
    let copy = copy.path().join("copy");
    for (path, contents) in files {
        let file = copy.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, contents).unwrap();
    }
    git(&copy, add);
    blobs_at(&copy, "", files)
}

/// The blob ids of `files`' paths in `rev` of the repository at `dir` (the
/// index when `rev` is empty).
fn blobs_at(dir: &Path, rev: &str, files: &[(&str, &[u8])]) -> Vec<String> {
    files
        .iter()
        .map(|(path, _)| git(dir, &["rev-parse", &format!("{rev}:{path}")]))
        .collect()
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

/// The blob id of `contents` stored as they are.
fn blob_of(root: &Path, contents: &[u8]) -> String {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), contents).unwrap();
    git(
        root,
        &["hash-object", "--no-filters", file.path().to_str().unwrap()],
    )
}

#[test]
fn gitattributes_written_outside_between_commits_apply_to_the_next_one() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project
        .add_file("sub/first.txt", "first\n", "First")
        .unwrap();
    let contents = b"one\r\ntwo\r\n";
    // Written by someone else, not committed: `git add` reads them anyway.
    std::fs::write(root.join("sub/.gitattributes"), "*.txt text=auto\n").unwrap();
    std::fs::create_dir_all(root.join(".git/info")).unwrap();
    std::fs::write(root.join(".git/info/attributes"), "*.md text=auto\n").unwrap();

    project.add_file("sub/crlf.txt", contents, "Add").unwrap();
    project.add_file("notes.md", contents, "Add").unwrap();

    let normalized = blob_of(&root, b"one\ntwo\n");
    assert_eq!(git(&root, &["rev-parse", "HEAD:sub/crlf.txt"]), normalized);
    assert_eq!(git(&root, &["rev-parse", "HEAD:notes.md"]), normalized);
    assert_eq!(
        blob_git_would_add(&root, "sub/crlf.txt", contents),
        normalized
    );
}

#[test]
fn a_gitattributes_only_in_the_index_applies_until_its_removal_is_committed() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project
        .add_file(".gitattributes", "* text=auto\n", "Normalise")
        .unwrap();
    // Gone from the work tree, still in the index: git reads it there.
    std::fs::remove_file(root.join(".gitattributes")).unwrap();
    let contents = b"one\r\ntwo\r\n";

    project.add_file("a.txt", contents, "Add a").unwrap();

    let expected = blob_git_would_add(&root, "a.txt", contents);
    assert_eq!(expected, blob_of(&root, b"one\ntwo\n"));
    assert_eq!(git(&root, &["rev-parse", "HEAD:a.txt"]), expected);

    project
        .remove_file(".gitattributes", "Stop normalising")
        .unwrap();
    project.add_file("b.txt", contents, "Add b").unwrap();

    assert_eq!(
        git(&root, &["rev-parse", "HEAD:b.txt"]),
        blob_of(&root, contents)
    );
    // a.txt's CRLF now differs from its normalised blob, as git says too.
    git(&root, &["fsck", "--strict"]);
}

#[test]
fn a_staged_gitattributes_dropped_with_its_directory_no_longer_applies() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("keep.txt", "keep\n", "Keep").unwrap();
    // Staged by the user only, then gone from the work tree: the index
    // still has it, so git reads it there.
    std::fs::create_dir(root.join("d")).unwrap();
    std::fs::write(root.join("d/.gitattributes"), "* text=auto\n").unwrap();
    git(&root, &["add", "d/.gitattributes"]);
    std::fs::remove_dir_all(root.join("d")).unwrap();
    let contents = b"one\r\ntwo\r\n";

    // The file `d` takes the place of the directory and of its entries.
    project
        .add_file("d", "a file now\n", "d is a file")
        .unwrap();
    project.remove_file("d", "Remove d").unwrap();
    project.add_file("d/y.txt", contents, "Add y").unwrap();

    assert_eq!(
        git(&root, &["rev-parse", "HEAD:d/y.txt"]),
        blob_of(&root, contents)
    );
    assert_eq!(
        blob_git_would_add(&root, "d/y.txt", contents),
        blob_of(&root, contents)
    );
    assert_clean_and_sound(&root);
}

/// `.gitattributes` files written by a commit apply to the other files of
/// the same commit (and to themselves), as after writing them all and
/// `git add -A`: the new rules, not the ones they replace.
#[test]
fn gitattributes_written_in_the_same_commit_apply_to_its_other_files_as_git_add_all() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project
        .add_file(".gitattributes", "* -text\n", "No conversion")
        .unwrap();
    let crlf = b"one\r\ntwo\r\n".as_slice();
    // The files before the rules that govern them, in the list.
    let files: [(&str, &[u8]); 5] = [
        ("a.txt", crlf),
        ("sub/b.dat", crlf),
        ("sub/c.txt", crlf),
        (".gitattributes", b"* text=auto\r\n"),
        ("sub/.gitattributes", b"*.dat -text\n"),
    ];
    let expected = blobs_git_would_add(&root, &files, &["add", "-A"]);

    project.write_files(&files, "New rules").unwrap();

    let committed = blobs_at(&root, "HEAD", &files);
    assert_eq!(committed, expected);
    // The oracle did convert: a.txt and the new rules themselves got LF,
    // sub/b.dat kept its CRLF.
    assert_eq!(committed[0], blob_of(&root, b"one\ntwo\n"));
    assert_eq!(committed[1], blob_of(&root, crlf));
    assert_eq!(committed[3], blob_of(&root, b"* text=auto\n"));
    assert_clean_and_sound(&root);
}

/// Where a commit writes one `.gitattributes`, the others still come from
/// the work tree, or from the index where the work tree has none.
#[test]
fn a_new_gitattributes_leaves_the_other_directories_rules_as_they_were() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project
        .write_files(
            &[
                ("kept/.gitattributes", "*.txt text=auto\n"),
                ("staged/.gitattributes", "*.txt text=auto\n"),
            ],
            "Rules",
        )
        .unwrap();
    // Only in the index now; and changed (not committed) in the work tree.
    std::fs::remove_file(root.join("staged/.gitattributes")).unwrap();
    std::fs::write(root.join("kept/.gitattributes"), "*.txt -text\n").unwrap();
    let crlf = b"one\r\ntwo\r\n".as_slice();
    let files: [(&str, &[u8]); 4] = [
        ("kept/a.txt", crlf),
        ("staged/b.txt", crlf),
        ("new/c.txt", crlf),
        ("new/.gitattributes", b"*.txt text=auto\n"),
    ];
    // `git add -A` would stage the deletion of staged/.gitattributes too.
    let add = [
        "add",
        "--",
        "kept/a.txt",
        "staged/b.txt",
        "new/c.txt",
        "new/.gitattributes",
    ];
    let expected = blobs_git_would_add(&root, &files, &add);

    project.write_files(&files, "Three files").unwrap();

    let committed = blobs_at(&root, "HEAD", &files);
    assert_eq!(committed, expected);
    let lf = blob_of(&root, b"one\ntwo\n");
    assert_eq!(committed[..3], [blob_of(&root, crlf), lf.clone(), lf]);
}
