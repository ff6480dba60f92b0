//! `Project::delete` refuses the home directory. Its own test binary with one
//! test, because it points `HOME` at a throw-away project and no other thread
//! may read the environment meanwhile.

mod common;

use common::new_project;
use repo_lite::{DeleteRefusal, Error, Project};

#[test]
fn delete_of_the_home_directory_or_a_directory_containing_it_is_refused() {
    // A real project, so that only the home check can refuse it, and a
    // throw-away one, so that a bug cannot delete the real home.
    let (dir, project) = new_project();
    let root = project.root().to_owned();
    std::env::set_var("HOME", &root);

    let home = Project::delete(&root).unwrap_err();
    let parent = Project::delete(dir.path()).unwrap_err();

    assert!(
        matches!(
            home,
            Error::DeleteRefused {
                source: DeleteRefusal::Home,
                ..
            }
        ),
        "{home:?}"
    );
    assert!(
        matches!(
            parent,
            Error::DeleteRefused {
                source: DeleteRefusal::Home,
                ..
            }
        ),
        "{parent:?}"
    );
    assert!(root.join(".git").is_dir());
}
