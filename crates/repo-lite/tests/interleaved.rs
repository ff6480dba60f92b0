//! A project handle keeps the index it wrote and the tree of its last
//! commit in memory, and writes reflog lines itself. These tests change the
//! repository with the git CLI between calls and check, with git as the
//! oracle, that the handle notices and stays consistent.

mod common;

use common::{assert_clean_and_sound, commit_count, git, new_project};
use repo_lite::Outcome;

#[test]
fn a_commit_after_git_changed_the_index_keeps_that_change_staged() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("a.txt", "a\n", "Add a").expect("add a");
    project.add_file("b.txt", "b\n", "Add b").expect("add b");
    // git unstages a file behind the handle's back: the index on disk is
    // no longer the one the handle wrote.
    git(&root, &["rm", "--cached", "-q", "a.txt"]);
    project.add_file("c.txt", "c\n", "Add c").expect("add c");
    // The commit holds a.txt still; the index keeps the user's removal.
    assert_eq!(
        git(&root, &["ls-tree", "--name-only", "HEAD"]),
        "a.txt\nb.txt\nc.txt"
    );
    assert_eq!(git(&root, &["ls-files"]), "b.txt\nc.txt");
    assert_eq!(
        git(&root, &["diff", "--cached", "--name-status"]),
        "D\ta.txt"
    );
    git(&root, &["fsck", "--strict"]);
    // Staged again, git sees nothing left to do.
    git(&root, &["add", "a.txt"]);
    assert_clean_and_sound(&root);
}

#[test]
fn a_commit_on_top_of_one_made_by_git_keeps_both() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("a.txt", "a\n", "Add a").expect("add a");
    std::fs::write(root.join("g.txt"), "from git\n").expect("write g.txt");
    git(&root, &["add", "g.txt"]);
    git(
        &root,
        &[
            "-c",
            "user.name=Git",
            "-c",
            "user.email=git@example.com",
            "commit",
            "-q",
            "-m",
            "Add g",
        ],
    );
    project
        .update_file("a.txt", "a2\n", "Update a")
        .expect("update a");
    assert_eq!(commit_count(&root), 3);
    assert_eq!(git(&root, &["ls-files"]), "a.txt\ng.txt");
    assert_eq!(git(&root, &["show", "HEAD:g.txt"]), "from git");
    assert_clean_and_sound(&root);
}

#[test]
fn a_file_replaced_by_a_directory_is_indexed_from_the_tree() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project
        .add_file("a/b.txt", "b\n", "Add a/b")
        .expect("add a/b");
    project
        .remove_file("a/b.txt", "Remove a/b")
        .expect("remove a/b");
    project
        .add_file("a", "now a file\n", "Add a")
        .expect("add a");
    assert_clean_and_sound(&root);
    assert_eq!(git(&root, &["ls-files"]), "a");
}

#[test]
fn reflogs_record_every_commit_as_git_does() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("a.txt", "a\n", "Add a").expect("add a");
    project
        .update_file("a.txt", "a2\n", "Update a\n\nWith a body.")
        .expect("update a");
    let head_log = git(&root, &["reflog", "show", "--format=%gs", "HEAD"]);
    assert_eq!(head_log, "commit: Update a\ncommit (initial): Add a");
    let branch_log = git(&root, &["reflog", "show", "--format=%gs", "main"]);
    assert_eq!(branch_log, head_log);
    let tip = git(&root, &["rev-parse", "HEAD"]);
    assert_eq!(git(&root, &["rev-parse", "HEAD@{0}"]), tip);
    assert_eq!(
        git(&root, &["rev-parse", "main@{1}"]),
        git(&root, &["rev-parse", "HEAD~1"])
    );
    assert_clean_and_sound(&root);
}

#[test]
fn no_reflog_is_written_when_git_config_turns_them_off() {
    let (_dir, project) = common::new_project_with_config("core.logAllRefUpdates", "false");
    let root = project.root().to_owned();
    project.add_file("a.txt", "a\n", "Add a").expect("add a");
    assert!(!root.join(".git/logs/HEAD").exists());
    assert_clean_and_sound(&root);
}

#[test]
fn a_detached_head_moves_and_the_branch_stays() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("a.txt", "a\n", "Add a").expect("add a");
    let branch_tip = git(&root, &["rev-parse", "main"]);
    git(&root, &["checkout", "-q", "--detach"]);
    let outcome = project.add_file("b.txt", "b\n", "Add b").expect("add b");
    let Outcome::Committed { id } = outcome else {
        panic!("expected a commit, got {outcome:?}");
    };
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), id);
    assert_eq!(git(&root, &["rev-parse", "main"]), branch_tip);
    assert_eq!(
        git(&root, &["reflog", "show", "--format=%gs", "-n1", "HEAD"]),
        "commit: Add b"
    );
    assert_clean_and_sound(&root);
}

#[test]
fn what_the_user_staged_with_git_for_other_paths_survives_a_commit() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("a.txt", "a\n", "Add a").expect("add a");
    std::fs::write(root.join("staged.txt"), "staged by the user\n").unwrap();
    std::fs::write(root.join("a.txt"), "a, changed and staged\n").unwrap();
    git(&root, &["add", "staged.txt", "a.txt"]);
    let staged = git(&root, &["diff", "--cached", "--name-status"]);
    assert_eq!(staged, "M\ta.txt\nA\tstaged.txt");

    project.add_file("b.txt", "b\n", "Add b").expect("add b");

    assert_eq!(git(&root, &["diff", "--cached", "--name-status"]), staged);
    assert_eq!(
        git(&root, &["show", "--name-only", "--format=", "HEAD"]),
        "b.txt"
    );
    assert_eq!(git(&root, &["show", "HEAD:a.txt"]), "a");
    git(&root, &["fsck", "--strict"]);
}

#[test]
fn an_error_after_the_branch_moved_carries_the_new_commit() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("a.txt", "a\n", "Add a").expect("add a");
    // The reflog of HEAD cannot be appended to: it is a directory.
    let log = root.join(".git/logs/HEAD");
    std::fs::remove_file(&log).unwrap();
    std::fs::create_dir(&log).unwrap();

    let err = project.add_file("b.txt", "b\n", "Add b").unwrap_err();

    match &err {
        repo_lite::Error::Finish { id, .. } => {
            assert_eq!(id, &git(&root, &["rev-parse", "HEAD"]));
        }
        other => panic!("expected Finish, got {other:?}"),
    }
    assert_eq!(commit_count(&root), 2);
}
