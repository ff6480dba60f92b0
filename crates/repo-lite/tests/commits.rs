//! Adding, updating and removing files: one commit each, checked with git.

mod common;

use std::fs;

use common::{assert_clean_and_sound, commit_count, git, git_bytes, new_project, tester};
use repo_lite::{Error, InitOptions, Outcome, Project, Signature};

#[test]
fn add_on_an_unborn_branch_makes_the_first_commit_and_leaves_git_clean() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    assert_eq!(commit_count(&root), 0);

    let outcome = project
        .add_file("hello.txt", "hello\n", "Add hello")
        .unwrap();

    let Outcome::Committed { id } = outcome else {
        panic!("expected a commit, got {outcome:?}");
    };
    assert_eq!(commit_count(&root), 1);
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), id);
    assert_eq!(git(&root, &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(git_bytes(&root, &["show", "HEAD:hello.txt"]), b"hello\n");
    assert_eq!(fs::read(root.join("hello.txt")).unwrap(), b"hello\n");
    assert_clean_and_sound(&root);
}

#[test]
fn add_creates_parent_directories() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();

    project
        .add_file("a/b/c/deep.txt", "deep", "Add deep")
        .unwrap();

    assert_eq!(fs::read(root.join("a/b/c/deep.txt")).unwrap(), b"deep");
    assert_eq!(
        git(&root, &["ls-tree", "-r", "--name-only", "HEAD"]),
        "a/b/c/deep.txt"
    );
    assert_clean_and_sound(&root);
}

#[test]
fn add_update_and_remove_each_make_exactly_one_commit_and_leave_git_clean() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();

    project.add_file("keep.txt", "keep", "Add keep").unwrap();
    assert_eq!(commit_count(&root), 1);
    assert_clean_and_sound(&root);

    project.add_file("dir/file.txt", "one", "Add file").unwrap();
    assert_eq!(commit_count(&root), 2);
    assert_clean_and_sound(&root);

    let outcome = project
        .update_file("dir/file.txt", "two", "Update file")
        .unwrap();
    assert!(matches!(outcome, Outcome::Committed { .. }), "{outcome:?}");
    assert_eq!(commit_count(&root), 3);
    assert_eq!(git_bytes(&root, &["show", "HEAD:dir/file.txt"]), b"two");
    assert_eq!(fs::read(root.join("dir/file.txt")).unwrap(), b"two");
    assert_clean_and_sound(&root);

    let id = project.remove_file("dir/file.txt", "Remove file").unwrap();
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), id);
    assert_eq!(commit_count(&root), 4);
    assert_eq!(
        git(&root, &["ls-tree", "-r", "--name-only", "HEAD"]),
        "keep.txt"
    );
    assert!(
        !root.join("dir").exists(),
        "the emptied directory is pruned"
    );
    assert_clean_and_sound(&root);
}

#[test]
fn add_of_an_existing_file_overwrites_it_in_one_commit() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("a.txt", "1", "First").unwrap();

    let outcome = project.add_file("a.txt", "2", "Second").unwrap();

    assert!(matches!(outcome, Outcome::Committed { .. }), "{outcome:?}");
    assert_eq!(commit_count(&root), 2);
    assert_eq!(git_bytes(&root, &["show", "HEAD:a.txt"]), b"2");
    assert_clean_and_sound(&root);
}

#[test]
fn writing_identical_content_is_reported_unchanged_and_makes_no_commit() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("same.txt", "same", "Add same").unwrap();
    let head = git(&root, &["rev-parse", "HEAD"]);

    assert_eq!(
        project.add_file("same.txt", "same", "Again").unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(
        project.update_file("same.txt", "same", "Again").unwrap(),
        Outcome::Unchanged
    );

    assert_eq!(commit_count(&root), 1);
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), head);
    assert_clean_and_sound(&root);
}

#[test]
fn update_of_a_missing_file_is_a_typed_error() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();

    let err = project.update_file("missing.txt", "x", "Nope").unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }), "{err:?}");
    assert!(!root.join("missing.txt").exists(), "nothing is written");

    project.add_file("present.txt", "x", "Add").unwrap();
    let err = project.update_file("missing.txt", "x", "Nope").unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }), "{err:?}");
    assert_eq!(commit_count(&root), 1);
    assert_clean_and_sound(&root);
}

#[test]
fn remove_of_a_missing_file_is_a_typed_error() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();

    let err = project.remove_file("missing.txt", "Nope").unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }), "{err:?}");

    project.add_file("present.txt", "x", "Add").unwrap();
    let err = project.remove_file("missing.txt", "Nope").unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }), "{err:?}");
    assert_eq!(commit_count(&root), 1);
}

#[test]
fn update_or_remove_of_a_directory_is_a_typed_error() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("dir/file.txt", "x", "Add").unwrap();

    let err = project.update_file("dir", "x", "Nope").unwrap_err();
    assert!(matches!(err, Error::NotAFile { .. }), "{err:?}");
    let err = project.remove_file("dir", "Nope").unwrap_err();
    assert!(matches!(err, Error::NotAFile { .. }), "{err:?}");
    let err = project.add_file("dir", "x", "Nope").unwrap_err();
    assert!(matches!(err, Error::NotAFile { .. }), "{err:?}");

    assert_eq!(commit_count(&root), 1);
    assert_clean_and_sound(&root);
}

#[test]
fn an_explicit_signature_is_author_and_committer() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    let project = project.with_signature(Signature::new("Ada Lovelace", "ada@example.com"));

    project.add_file("a.txt", "a", "Add").unwrap();

    assert_eq!(
        git(&root, &["log", "-1", "--format=%an%ae"]),
        "Ada Lovelaceada@example.com"
    );
    assert_eq!(
        git(&root, &["log", "-1", "--format=%cn%ce"]),
        "Ada Lovelaceada@example.com"
    );
}

#[test]
fn without_an_explicit_signature_the_identity_comes_from_git_config() {
    let dir = tempfile::tempdir().unwrap();
    Project::init(dir.path(), &InitOptions::default()).unwrap();
    git(dir.path(), &["config", "user.name", "Config Person"]);
    git(dir.path(), &["config", "user.email", "config@example.com"]);
    // gix reads the config when the repository is opened.
    let project = Project::open(dir.path()).unwrap();
    assert_eq!(
        project.signature(),
        Signature::new("Config Person", "config@example.com")
    );

    project.add_file("a.txt", "a", "Add").unwrap();

    assert_eq!(
        git(dir.path(), &["log", "-1", "--format=%an%ae"]),
        "Config Personconfig@example.com"
    );
    assert_clean_and_sound(dir.path());
}

#[test]
fn a_signature_that_would_corrupt_the_commit_is_refused_before_anything_is_written() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    let project = project.with_signature(Signature::new("Eve <evil>", "eve@example.com"));

    let err = project.add_file("a.txt", "a", "Add").unwrap_err();

    assert!(matches!(err, Error::InvalidSignature { .. }), "{err:?}");
    assert!(!root.join("a.txt").exists());
    assert_eq!(commit_count(&root), 0);
}

#[test]
fn the_message_and_a_recent_time_show_in_git_log() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    project
        .add_file("a.txt", "a", "Add a\n\nWith a body.")
        .unwrap();

    assert_eq!(
        git(&root, &["log", "-1", "--format=%B"]),
        "Add a\n\nWith a body."
    );
    let time: u64 = git(&root, &["log", "-1", "--format=%ct"]).parse().unwrap();
    assert!(
        time + 1 >= before && time <= before + 60,
        "{time} vs {before}"
    );
}

#[test]
fn commits_build_on_a_history_made_by_git_itself() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    fs::write(root.join("by-git.txt"), "git").unwrap();
    git(&root, &["add", "by-git.txt"]);
    git(
        &root,
        &[
            "-c",
            "user.name=G",
            "-c",
            "user.email=g@example.com",
            "commit",
            "-q",
            "-m",
            "By git",
        ],
    );

    project.add_file("by-us.txt", "us", "By us").unwrap();
    project
        .update_file("by-git.txt", "changed", "Change git's file")
        .unwrap();

    assert_eq!(commit_count(&root), 3);
    assert_eq!(
        git(&root, &["ls-tree", "-r", "--name-only", "HEAD"]),
        "by-git.txt\nby-us.txt"
    );
    assert_clean_and_sound(&root);
    assert_eq!(tester(), project.signature());
}

#[cfg(unix)]
#[test]
fn an_executable_file_stays_executable_after_update() {
    use std::os::unix::fs::PermissionsExt;

    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    fs::write(root.join("run.sh"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    git(&root, &["add", "run.sh"]);
    git(
        &root,
        &[
            "-c",
            "user.name=G",
            "-c",
            "user.email=g@example.com",
            "commit",
            "-q",
            "-m",
            "Script",
        ],
    );

    project
        .update_file("run.sh", "#!/bin/sh\necho hi\n", "Say hi")
        .unwrap();

    assert!(git(&root, &["ls-tree", "HEAD", "run.sh"]).starts_with("100755"));
    assert_clean_and_sound(&root);
}

#[test]
fn write_files_commits_several_files_in_one_commit() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("README", "readme", "first").unwrap();

    let files = [
        ("jobs/7.dot", b"digraph { a }".as_slice()),
        ("jobs/7.svg", b"<svg/>".as_slice()),
    ];
    let outcome = project.write_files(&files, "Render job 7").unwrap();

    assert!(matches!(outcome, Outcome::Committed { .. }), "{outcome:?}");
    assert_eq!(commit_count(&root), 2);
    assert_eq!(
        git(&root, &["show", "--name-only", "--format=%s", "HEAD"]),
        "Render job 7\n\njobs/7.dot\njobs/7.svg"
    );
    assert_clean_and_sound(&root);
    assert_eq!(
        project.write_files(&files, "again").unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(commit_count(&root), 2);
}

#[test]
fn write_files_with_one_refused_path_writes_nothing() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    let files = [("good.txt", "fine"), (".git/config", "evil")];
    let err = project.write_files(&files, "mixed").unwrap_err();
    assert!(matches!(err, Error::InvalidPath { .. }), "{err:?}");
    assert!(!root.join("good.txt").exists());
    assert_eq!(commit_count(&root), 0);
}

#[test]
fn a_message_git_fsck_would_flag_is_a_typed_error_and_nothing_is_written() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("keep.txt", "keep\n", "Add keep").unwrap();
    let before = common::git_state(&root);

    let err = project
        .add_file("a.txt", "a\n", "Subject\0hidden")
        .unwrap_err();

    assert!(matches!(err, Error::InvalidMessage { .. }), "{err:?}");
    assert_eq!(common::git_state(&root), before);
    common::assert_clean_and_sound(&root);
}
