//! Deleting a project, and every refusal of `Project::delete`.

mod common;

use std::fs;
use std::path::Path;

use common::{git, new_project};
use repo_lite::{DeleteRefusal, Error, Project};

fn refusal(path: &Path) -> DeleteRefusal {
    match Project::delete(path) {
        Err(Error::DeleteRefused {
            path: given,
            source,
        }) => {
            assert_eq!(given, path);
            source
        }
        other => panic!("{path:?}: expected DeleteRefused, got {other:?}"),
    }
}

#[test]
fn delete_of_a_real_project_removes_its_whole_directory() {
    let (dir, project) = new_project();
    let root = project.root().to_owned();
    project.add_file("a/b.txt", "x", "Add").unwrap();
    drop(project);

    Project::delete(&root).unwrap();

    assert!(!root.exists());
    assert!(dir.path().exists(), "only the project goes");
}

#[test]
fn delete_of_the_file_system_root_is_refused() {
    assert_eq!(refusal(Path::new("/")), DeleteRefusal::Root);
}

#[cfg(unix)]
#[test]
fn delete_of_a_symlink_to_a_project_is_refused() {
    let (dir, project) = new_project();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(project.root(), &link).unwrap();

    assert_eq!(refusal(&link), DeleteRefusal::Symlink);
    // Spelled with a trailing slash, the OS would follow it: still refused.
    let slashed = Path::new(link.to_str().unwrap()).join("");
    assert_eq!(refusal(&slashed), DeleteRefusal::Symlink);
    assert!(project.root().join(".git").is_dir());
}

#[test]
fn delete_of_a_directory_that_is_not_a_repository_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("keep.txt"), "x").unwrap();

    assert_eq!(refusal(dir.path()), DeleteRefusal::NotARepository);
    assert!(dir.path().join("keep.txt").exists());

    let file = dir.path().join("keep.txt");
    assert_eq!(refusal(&file), DeleteRefusal::NotARepository);
}

#[test]
fn delete_of_a_subdirectory_of_a_project_is_refused() {
    let (_dir, project) = new_project();
    project.add_file("sub/file.txt", "x", "Add").unwrap();
    let sub = project.root().join("sub");

    match refusal(&sub) {
        DeleteRefusal::NotTopLevel { top_level } => assert_eq!(
            top_level.canonicalize().unwrap(),
            project.root().canonicalize().unwrap()
        ),
        other => panic!("expected NotTopLevel, got {other:?}"),
    }
    assert!(matches!(
        refusal(&project.root().join(".git")),
        DeleteRefusal::NotTopLevel { .. }
    ));
    assert!(sub.join("file.txt").exists());
}

#[test]
fn a_bare_repository_is_deleted_but_not_a_directory_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "--bare", "bare.git"]);
    let bare = dir.path().join("bare.git");

    assert_eq!(
        refusal(&bare.join("objects")),
        DeleteRefusal::NotARepository
    );
    assert!(bare.join("HEAD").exists());
    Project::delete(&bare).unwrap();
    assert!(!bare.exists());
}

#[test]
fn delete_of_a_missing_path_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Project::delete(dir.path().join("missing")).unwrap_err();
    assert!(matches!(err, Error::Delete { .. }), "{err:?}");
}
