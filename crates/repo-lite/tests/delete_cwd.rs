//! `Project::delete` refuses the current directory and its ancestors, as
//! `rm -rf .` does. Its own test binary with one test, because it changes
//! the process's current directory.

mod common;

use common::new_project;
use repo_lite::{DeleteRefusal, Error, Project};

#[test]
fn delete_of_the_current_directory_or_an_ancestor_of_it_is_refused() {
    let (_dir, project) = new_project();
    let root = project.root().to_owned();
    std::fs::create_dir(root.join("sub")).unwrap();
    drop(project);

    std::env::set_current_dir(&root).unwrap();
    let itself = Project::delete(&root).unwrap_err();
    let dot = Project::delete(".").unwrap_err();
    std::env::set_current_dir(root.join("sub")).unwrap();
    let ancestor = Project::delete(&root).unwrap_err();
    std::env::set_current_dir("/").unwrap();

    for err in [&itself, &dot, &ancestor] {
        assert!(
            matches!(
                err,
                Error::DeleteRefused {
                    source: DeleteRefusal::CurrentDirectory,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert!(root.join(".git").is_dir());
    Project::delete(&root).expect("deletable once the process has left it");
    assert!(!root.exists());
}
