//! Builds the Graphviz image from `dockerfiles/graphviz` with live output,
//! then renders the bundled `examples/graphs/*.dot` to SVG and PNG through
//! a container fed on stdin.
//!
//! ```text
//! cargo run --example graphviz_build [-- --out target/graphs]
//! BASE_IMAGE=debian:bookworm-slim cargo run --example graphviz_build
//! ```

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::graphs::dot_files;
use common::report;
use dock_lite::{BuildOptions, Docker, RunOptions};

/// Build the Graphviz image, then render the example graphs with it.
#[derive(Parser)]
struct Args {
    /// Where the rendered files go.
    #[arg(long, default_value = "target/graphs")]
    out: PathBuf,
    /// The image's tag [default: $GRAPHVIZ_IMAGE, or ondemand-platform/graphviz:latest].
    #[arg(long)]
    tag: Option<String>,
    /// The base image [default: $BASE_IMAGE, else the one `scripts/test-images` makes ready:
    /// the official image of `dockerfiles/images.env`, or its offline Debian fallback].
    #[arg(long)]
    base: Option<String>,
}

fn main() -> ExitCode {
    report(run(&Args::parse()))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tag = args
        .tag
        .clone()
        .or_else(|| std::env::var("GRAPHVIZ_IMAGE").ok())
        .unwrap_or_else(ondemand_platform::images::default_graphviz);
    let base = match args
        .base
        .clone()
        .or_else(|| std::env::var("BASE_IMAGE").ok())
    {
        Some(base) => base,
        None => ondemand_platform::images::Images::prepare(root)?.base,
    };
    let docker = Docker::connect()?;
    docker.ping()?;

    println!("building {tag} on {base}");
    let built = docker.build(
        &BuildOptions::new(root.join("dockerfiles/graphviz"))
            .tag(&tag)
            .build_arg("BASE_IMAGE", &base),
        |line| println!("  | {line}"),
    )?;
    println!("built {}", built.image_id.as_deref().unwrap_or(&tag));

    std::fs::create_dir_all(&args.out)?;
    for graph in dot_files(&root.join("examples/graphs"))? {
        let source = std::fs::read(&graph)?;
        let stem = graph
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for format in ["svg", "png"] {
            let rendered = docker.run(
                &RunOptions::new(&tag)
                    .command([format!("-T{format}")])
                    .stdin(source.clone())
                    .network("none")
                    .timeout(Duration::from_secs(60)),
            )?;
            if !rendered.success() {
                return Err(format!(
                    "dot failed on {}: {}",
                    graph.display(),
                    String::from_utf8_lossy(&rendered.stderr)
                )
                .into());
            }
            let path = args.out.join(format!("{stem}.{format}"));
            std::fs::write(&path, &rendered.stdout)?;
            println!(
                "{} ({} bytes, {:.2?})",
                path.display(),
                rendered.stdout.len(),
                rendered.duration
            );
        }
    }
    Ok(())
}
