//! Walks through a git project's life with repo-lite, printing each step:
//! create it, add a file, update it, show the log, delete it.
//!
//! ```text
//! cargo run --example git_project
//! cargo run --example git_project -- --file notes/todo.md
//! ```

mod common;

use std::process::ExitCode;

use clap::Parser;
use common::report;
use repo_lite::{InitOptions, Outcome, Project, Signature};

/// Create a git project in a temporary directory, change a file twice,
/// print the log and delete the project.
#[derive(Parser)]
struct Args {
    /// The file to add and then update, relative to the work tree.
    #[arg(long, default_value = "hello.txt")]
    file: String,
}

fn main() -> ExitCode {
    report(run(&Args::parse()))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("demo");

    let project = Project::init(&root, &InitOptions::default())?
        .with_signature(Signature::new("Demo", "demo@example.com"));
    println!(
        "created a project at {} on branch {}",
        project.root().display(),
        project.current_branch()?.as_deref().unwrap_or("?")
    );

    let added = project.add_file(&args.file, "hello\n", &format!("Add {}", args.file))?;
    println!("added {}: {}", args.file, describe(&added));

    let updated = project.update_file(&args.file, "hello, world\n", "Greet the world")?;
    println!("updated {}: {}", args.file, describe(&updated));

    let unchanged = project.update_file(&args.file, "hello, world\n", "Same again")?;
    println!("wrote the same content again: {}", describe(&unchanged));

    let content = project.read_file(&args.file)?;
    println!(
        "{} now reads {:?}",
        args.file,
        String::from_utf8_lossy(&content)
    );

    println!("log:");
    for commit in project.log(10)? {
        println!(
            "  {}  {} <{}>  {}",
            &commit.id[..commit.id.len().min(10)],
            commit.author_name,
            commit.author_email,
            commit.message.trim_end()
        );
    }

    drop(project);
    Project::delete(&root)?;
    println!("deleted {} (exists now: {})", root.display(), root.exists());
    Ok(())
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Committed { id } => format!("committed {}", &id[..id.len().min(10)]),
        Outcome::Unchanged => "nothing to commit".to_owned(),
    }
}
