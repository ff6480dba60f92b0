//! Every path refusal, through the public API: typed, and nothing written.

mod common;

use std::path::{Path, PathBuf};

use common::{commit_count, new_project};
use repo_lite::{Error, PathError, Project};

/// Asserts that adding `path` is refused with `expected` and changes nothing.
fn assert_add_refused(project: &Project, path: impl AsRef<Path>, expected: &PathError) {
    let path = path.as_ref();
    let before = commit_count(project.root());
    let err = project.add_file(path, "x", "Refused").unwrap_err();
    match &err {
        Error::InvalidPath {
            path: given,
            source,
        } => {
            assert_eq!(given, path);
            assert_eq!(source, expected, "{path:?}");
        }
        other => panic!("{path:?}: expected InvalidPath, got {other:?}"),
    }
    assert_eq!(commit_count(project.root()), before, "{path:?}");
}

#[test]
fn an_absolute_path_is_refused() {
    let (dir, project) = new_project();
    let target = dir.path().join("absolute.txt");
    assert_add_refused(&project, &target, &PathError::Absolute);
    assert!(!target.exists());
}

#[test]
fn dot_dot_that_escapes_the_worktree_is_refused() {
    let (dir, project) = new_project();
    assert_add_refused(&project, "../escaped.txt", &PathError::EscapesWorktree);
    assert_add_refused(&project, "a/../../escaped.txt", &PathError::EscapesWorktree);
    assert!(!dir.path().join("escaped.txt").exists());
}

#[test]
fn dot_dot_that_stays_inside_the_worktree_is_allowed() {
    let (_dir, project) = new_project();
    project.add_file("a/../inside.txt", "x", "Add").unwrap();
    assert_eq!(project.list_files().unwrap(), [PathBuf::from("inside.txt")]);
}

#[test]
fn a_dot_git_component_in_any_letter_case_is_refused() {
    let (_dir, project) = new_project();
    for path in [".git/config", ".GIT/hooks/pre-commit", "sub/.Git/x", ".git"] {
        assert_add_refused(&project, path, &PathError::GitDir);
    }
}

#[cfg(unix)]
#[test]
fn a_nul_byte_is_refused() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let (_dir, project) = new_project();
    assert_add_refused(&project, OsStr::from_bytes(b"a\0b"), &PathError::Nul);
}

#[test]
fn an_empty_path_is_refused() {
    let (_dir, project) = new_project();
    assert_add_refused(&project, "", &PathError::Empty);
    assert_add_refused(&project, ".", &PathError::Empty);
}

#[cfg(unix)]
#[test]
fn a_parent_directory_that_is_a_symlink_leading_out_of_the_worktree_is_refused() {
    let (_dir, project) = new_project();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), project.root().join("out")).unwrap();

    assert_add_refused(
        &project,
        "out/file.txt",
        &PathError::SymlinkEscapes {
            link: PathBuf::from("out"),
        },
    );
    assert_add_refused(
        &project,
        "out/new/file.txt",
        &PathError::SymlinkEscapes {
            link: PathBuf::from("out"),
        },
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn update_remove_and_read_refuse_the_same_paths() {
    let (_dir, project) = new_project();
    project.add_file("ok.txt", "x", "Add").unwrap();
    for path in ["/abs", "../up", ".git/HEAD", ""] {
        let update = project.update_file(path, "x", "No").unwrap_err();
        let remove = project.remove_file(path, "No").unwrap_err();
        let read = project.read_file(path).unwrap_err();
        for err in [update, remove, read] {
            assert!(matches!(err, Error::InvalidPath { .. }), "{path}: {err:?}");
        }
    }
    assert_eq!(commit_count(project.root()), 1);
}

/// Whether git itself (with both `core.protectHFS` and `core.protectNTFS`)
/// refuses `path` in its index, through `verify_path`.
fn git_refuses(root: &Path, path: &str) -> bool {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "core.protectHFS=true",
            "-c",
            "core.protectNTFS=true",
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("100644,e69de29bb2d1d6434b8b29ae775ad8c2e48c5391,{path}"),
        ])
        .output()
        .expect("git runs");
    if output.status.success() {
        common::git(root, &["rm", "--cached", "-q", "--", path]);
    }
    !output.status.success()
}

#[test]
fn names_a_file_system_treats_as_dot_git_are_refused_as_git_refuses_them() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    let aliases = [
        "git~1/config",
        "GIT~1/hooks/x",
        ".git./config",
        ".git. /config",
        ".git  /config",
        ".git::$INDEX_ALLOCATION/config",
        ".GIT::$index_allocation/x",
        "sub/.git./x",
        ".g\u{200c}it/config",
        ".\u{feff}GIT/config",
        ".gi\u{200d}t",
    ];
    for path in aliases {
        assert!(git_refuses(&root, path), "git accepts {path:?}");
        assert_add_refused(&project, path, &PathError::GitDir);
    }
    for path in [
        "git~2/x",
        ".gitx/y",
        "a.git./b",
        ".gitignore",
        "git",
        "foo.",
    ] {
        assert!(!git_refuses(&root, path), "git refuses {path:?}");
        project.add_file(path, "ok\n", "Accepted").expect(path);
    }
    common::assert_clean_and_sound(&root);
}
