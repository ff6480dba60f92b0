//! The `.dot` files an example renders.

use std::path::{Path, PathBuf};

/// The `.dot` files of `dir`, sorted.
pub fn dot_files(dir: &Path) -> Result<Vec<PathBuf>, ondemand_platform::PlatformError> {
    let entries =
        std::fs::read_dir(dir).map_err(|source| ondemand_platform::PlatformError::Io {
            path: dir.to_owned(),
            source,
        })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "dot"))
        .collect();
    files.sort();
    Ok(files)
}
