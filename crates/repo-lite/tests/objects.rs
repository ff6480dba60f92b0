//! The objects a commit writes: loose files git reads, compressed as git
//! config says, and none left behind by a refused change.

mod common;

use std::path::Path;

use common::{assert_clean_and_sound, git, new_project};

/// Every file under `.git/objects` but in `info` and `pack`, as a path
/// relative to it (`xx/<38 hex>` for a loose object), with its size.
fn files_in_objects(root: &Path) -> Vec<(String, u64)> {
    let objects = root.join(".git/objects");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&objects).expect("objects directory") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.metadata().expect("metadata");
        if !meta.is_dir() {
            found.push((name, meta.len()));
            continue;
        }
        if name == "info" || name == "pack" {
            continue;
        }
        for file in std::fs::read_dir(entry.path()).expect("fan-out directory") {
            let file = file.expect("entry");
            let size = file.metadata().expect("metadata").len();
            found.push((
                format!("{name}/{}", file.file_name().to_string_lossy()),
                size,
            ));
        }
    }
    found.sort();
    found
}

/// Whether `relative` (from [`files_in_objects`]) names a loose object.
fn is_loose_object(relative: &str) -> bool {
    relative.len() == 41
        && relative.as_bytes()[2] == b'/'
        && relative
            .bytes()
            .filter(|&b| b != b'/')
            .all(|b| b.is_ascii_hexdigit())
}

/// The loose objects under `.git/objects`, as ids, with their file sizes.
fn loose_objects(root: &Path) -> Vec<(String, u64)> {
    files_in_objects(root)
        .into_iter()
        .filter(|(relative, _)| is_loose_object(relative))
        .map(|(relative, size)| (relative.replace('/', ""), size))
        .collect()
}

/// The other files there: what a crash can leave.
fn stray_object_files(root: &Path) -> Vec<String> {
    files_in_objects(root)
        .into_iter()
        .map(|(relative, _)| relative)
        .filter(|relative| !is_loose_object(relative))
        .collect()
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

/// Runs `git args...` in `dir` with `input` on its stdin; its trimmed stdout.
fn git_with_input(dir: &Path, args: &[&str], input: &[u8]) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the git CLI runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write to git");
    let output = child.wait_with_output().expect("git's output");
    assert!(output.status.success(), "git {args:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The file of the loose object `id`.
fn object_file(root: &Path, id: &str) -> std::path::PathBuf {
    root.join(".git/objects").join(&id[..2]).join(&id[2..])
}

/// As git does (`write_object_file` freshens an object it finds rather than
/// writing it again), a blob and a tree that git already wrote keep their
/// files, and only their modification time moves to now, so that a
/// concurrent `git gc` does not prune them as old just as the commit names
/// them.
#[cfg(unix)]
#[test]
fn objects_already_on_disk_are_freshened_not_written_again() {
    use std::os::unix::fs::MetadataExt;
    use std::time::{Duration, SystemTime};

    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    let blob = git_with_input(&root, &["hash-object", "-w", "--stdin"], b"shared\n");
    let tree = git_with_input(
        &root,
        &["mktree"],
        format!("100644 blob {blob}\tshared.txt\n").as_bytes(),
    );
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let mut inodes = Vec::new();
    for id in [&blob, &tree] {
        let file = std::fs::File::open(object_file(&root, id)).expect("the object file");
        file.set_modified(old).expect("backdate the object");
        inodes.push(file.metadata().expect("metadata").ino());
    }
    let before_commit = SystemTime::now() - Duration::from_secs(1);

    project
        .add_file("shared.txt", "shared\n", "Add shared")
        .expect("add");

    assert_eq!(git(&root, &["rev-parse", "HEAD^{tree}"]), tree);
    for (id, inode) in [&blob, &tree].into_iter().zip(inodes) {
        let meta = std::fs::metadata(object_file(&root, id)).expect("metadata");
        assert_eq!(meta.ino(), inode, "{id} was written again");
        let modified = meta.modified().expect("mtime");
        assert!(
            modified >= before_commit,
            "{id} not freshened: {modified:?}"
        );
    }
    assert_clean_and_sound(&root);
}

/// Incompressible bytes: the object file is as large as the contents.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// The child half: a file size limit of 1 MiB, with SIGXFSZ's default
/// action, kills the process while it writes a 4 MiB object, as a crash
/// would. What is left is a `tmp_obj_*` file, which `git prune` removes.
#[cfg(unix)]
#[test]
fn an_object_write_killed_midway_leaves_only_a_file_git_prune_removes() {
    use std::os::unix::process::ExitStatusExt;

    if common::in_child() {
        let root = std::env::var("REPO_LITE_TEST_ROOT").unwrap();
        let project = repo_lite::Project::open(&root)
            .unwrap()
            .with_signature(common::tester());
        let result = project.add_file("random.bin", random_bytes(4 << 20), "Add random");
        println!("NOT KILLED: {result:?}");
        return;
    }
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("keep.txt", "keep\n", "Add keep").unwrap();
    let before = common::git_state(&root);

    let output = common::run_in_child(
        "an_object_write_killed_midway_leaves_only_a_file_git_prune_removes",
        "ulimit -f 2048;",
        &[("REPO_LITE_TEST_ROOT", root.to_str().unwrap())],
        std::time::Duration::from_secs(60),
    );

    const SIGXFSZ: i32 = 25;
    assert_eq!(
        output.status.signal(),
        Some(SIGXFSZ),
        "child: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let strays = stray_object_files(&root);
    assert_eq!(strays.len(), 1, "{strays:?}");
    let (fan_out, name) = strays[0].split_once('/').expect("in a fan-out directory");
    assert_eq!(fan_out.len(), 2, "{strays:?}");
    assert!(name.starts_with("tmp_obj_"), "{strays:?}");
    assert_eq!(common::git_state(&root), before);

    git(&root, &["prune", "--expire=now"]);

    assert_eq!(stray_object_files(&root), Vec::<String>::new());
    assert_clean_and_sound(&root);
}
