//! The objects a commit writes: loose files git reads, compressed as git
//! config says, and none left behind by a refused change.

mod common;

use std::path::Path;

use common::{assert_clean_and_sound, git, new_project};

/// The loose object files under `.git/objects`, with their sizes.
fn loose_objects(root: &Path) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    for fan_out in std::fs::read_dir(root.join(".git/objects")).expect("objects directory") {
        let fan_out = fan_out.expect("entry");
        let name = fan_out.file_name().to_string_lossy().into_owned();
        if name.len() != 2 {
            continue;
        }
        for object in std::fs::read_dir(fan_out.path()).expect("fan-out directory") {
            let object = object.expect("entry");
            let size = object.metadata().expect("metadata").len();
            found.push((
                format!("{name}{}", object.file_name().to_string_lossy()),
                size,
            ));
        }
    }
    found.sort();
    found
}

#[test]
fn each_commit_writes_read_only_loose_objects_that_git_reads() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project
        .add_file("src/main.rs", "fn main() {}\n", "Add main")
        .expect("add");
    // A blob, two trees and a commit.
    let objects = loose_objects(&root);
    assert_eq!(objects.len(), 4, "{objects:?}");
    for (id, _) in &objects {
        git(&root, &["cat-file", "-e", id]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = root.join(".git/objects").join(&id[..2]).join(&id[2..]);
            let mode = std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o444, "{id}");
        }
    }
    assert_eq!(git(&root, &["show", "HEAD:src/main.rs"]), "fn main() {}");
    assert_clean_and_sound(&root);
}

#[test]
fn loose_compression_follows_git_config() {
    let (_dir, project) = common::new_project_with_config("core.looseCompression", "0");
    let root = project.root().to_owned();
    let contents = "the same line again\n".repeat(500);
    project
        .add_file("big.txt", &contents, "Add big")
        .expect("add");
    let blob = git(&root, &["rev-parse", "HEAD:big.txt"]);
    let size = loose_objects(&root)
        .into_iter()
        .find(|(id, _)| *id == blob)
        .map(|(_, size)| size)
        .expect("the blob is loose");
    // Stored, not compressed: the zlib stream is longer than the contents.
    assert!(size > contents.len() as u64, "{size} bytes");
    assert_clean_and_sound(&root);
}

#[test]
fn a_refused_change_leaves_no_objects_behind() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("a.txt", "a\n", "Add a").expect("add a");
    let before = loose_objects(&root);
    let files = [
        ("ok.txt", "written first\n"),
        ("../escape.txt", "refused\n"),
    ];
    project
        .write_files(&files, "Add both")
        .expect_err("a path is refused");
    assert_eq!(loose_objects(&root), before);
    project.add_file("b.txt", "b\n", "Add b").expect("add b");
    // The blob of ok.txt, kept in memory by the refused call, is not written
    // with the next commit either: only b's blob, a tree and the commit.
    assert_eq!(loose_objects(&root).len(), before.len() + 3);
    assert_clean_and_sound(&root);
}
