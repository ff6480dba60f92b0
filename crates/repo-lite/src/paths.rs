//! Checks on the file paths handed to repo-lite, made before anything is
//! written, so that a path can never reach outside the work tree or into the
//! repository's own `.git` directory.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use gix::bstr::BString;

use crate::error::{Error, Result};

/// Why a file path was refused (the source of
/// [`Error::InvalidPath`](crate::Error::InvalidPath)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path is empty, or names the work tree itself (such as `.` or
    /// `a/..`).
    #[error("the path is empty or names the work tree itself")]
    Empty,
    /// The path is absolute; paths are relative to the work tree.
    #[error("the path is absolute, not relative to the work tree")]
    Absolute,
    /// The path contains a NUL byte, which git cannot store.
    #[error("the path contains a NUL byte")]
    Nul,
    /// A `..` component climbs above the top of the work tree.
    #[error("the path leaves the work tree through `..`")]
    EscapesWorktree,
    /// A component is a name that git or a common file system treats as
    /// `.git`: in any letter case (case-insensitive file systems), the NTFS
    /// short name `git~1`, with trailing dots or spaces or an alternate data
    /// stream (`.git::$INDEX_ALLOCATION`), or with code points HFS+ ignores
    /// (`.g\u{200c}it`). The same names git's own `verify_path` refuses.
    #[error("the path goes through a `.git` directory")]
    GitDir,
    /// An existing part of the path, `link` (relative to the work tree), is a
    /// symbolic link that leads out of the work tree, or nowhere.
    #[error("{link:?} is a symbolic link leading out of the work tree")]
    SymlinkEscapes {
        /// The symbolic link, relative to the work tree.
        link: PathBuf,
    },
    /// An existing part of the path, `link` (relative to the work tree), is a
    /// symbolic link inside the work tree. Git does not follow symbolic links
    /// in paths, so writing through one would leave the work tree and the
    /// commit disagreeing.
    #[error("{link:?} is a symbolic link, which git does not follow")]
    Symlink {
        /// The symbolic link, relative to the work tree.
        link: PathBuf,
    },
    /// An existing entry of the work tree, `entry` (relative to the work
    /// tree), is in the way: a directory or special file (FIFO, socket,
    /// device) where the file is to be, or a file where a parent directory
    /// is needed. Special files are never opened, so this is immediate.
    #[error("{entry:?} is a {kind} in the work tree, in the way of the file")]
    InTheWay {
        /// The entry, relative to the work tree.
        entry: PathBuf,
        /// What it is.
        kind: FileKind,
    },
    /// Another path of the same commit, `other`, is this path's parent
    /// directory or lies below it: both cannot exist at once.
    #[error("another path of the same commit, {other:?}, is this one's parent or child")]
    Overlaps {
        /// The other path, as given.
        other: PathBuf,
    },
}

/// What kind of file system entry was found in the way (see
/// [`PathError::InTheWay`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A regular file, where a directory is needed.
    File,
    /// A directory, where a regular file is needed.
    Directory,
    /// A named pipe, which would block whoever opens it.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A block or character device.
    Device,
    /// Anything else the platform knows.
    Other,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::File => "regular file",
            FileKind::Directory => "directory",
            FileKind::Fifo => "FIFO",
            FileKind::Socket => "socket",
            FileKind::Device => "device",
            FileKind::Other => "special file",
        })
    }
}

/// A path checked by [`normalize`]: relative, free of `.` and `..`, never
/// empty, never touching `.git`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoPath {
    parts: Vec<BString>,
    native: PathBuf,
}

impl RepoPath {
    /// The path as git stores it: components joined by `/`.
    pub(crate) fn to_bstring(&self) -> BString {
        let mut out = BString::default();
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(part);
        }
        out
    }

    /// Whether the path names a `.gitattributes` file, which git reads
    /// attributes from.
    pub(crate) fn is_attributes_file(&self) -> bool {
        self.parts
            .last()
            .is_some_and(|name| name.as_slice() == b".gitattributes")
    }

    /// The path's components, for tree lookups.
    pub(crate) fn components(&self) -> impl Iterator<Item = &[u8]> {
        self.parts.iter().map(|part| part.as_slice())
    }

    /// The path relative to the work tree, with the platform's separators.
    pub(crate) fn as_path(&self) -> &Path {
        &self.native
    }
}

/// Checks `path` on its own (no file system access) and returns it cleaned
/// of `.` and inner `..` components.
pub(crate) fn normalize(path: &Path) -> Result<RepoPath, PathError> {
    let bytes = path.as_os_str().as_encoded_bytes();
    if bytes.is_empty() {
        return Err(PathError::Empty);
    }
    if bytes.contains(&0) {
        return Err(PathError::Nul);
    }
    let mut names: Vec<&OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => return Err(PathError::Absolute),
            Component::CurDir => {}
            Component::ParentDir => {
                if names.pop().is_none() {
                    return Err(PathError::EscapesWorktree);
                }
            }
            Component::Normal(name) => {
                // Checked even if a later `..` drops it: such a path is a
                // probe, not a mistake.
                check_component(name)?;
                names.push(name);
            }
        }
    }
    if names.is_empty() {
        return Err(PathError::Empty);
    }
    Ok(RepoPath {
        parts: names
            .iter()
            .map(|name| BString::from(name.as_encoded_bytes()))
            .collect(),
        native: names.iter().collect(),
    })
}

/// What git's `verify_path` checks of one component, with both
/// `core.protectNTFS` and `core.protectHFS` on whatever the platform (a work
/// tree may be shared with, or cloned to, either): `.git` in any case, its
/// NTFS short name `git~1`, with trailing dots, spaces or an alternate data
/// stream (`.git::$INDEX_ALLOCATION`), and with the code points HFS+
/// ignores (`.g\u{200c}it`). Windows' other reserved names stay allowed,
/// as git allows them off Windows.
fn check_component(name: &OsStr) -> Result<(), PathError> {
    let options = gix::validate::path::component::Options {
        protect_windows: false,
        protect_hfs: true,
        protect_ntfs: true,
    };
    // `.` and `..` never get here, nor `/`; what is left to refuse is the
    // names that are `.git` to some file system.
    gix::validate::path::component(name.as_encoded_bytes().into(), None, options)
        .map(drop)
        .map_err(|_| PathError::GitDir)
}

/// Refuses two paths of one commit where one is the other's parent: a file
/// and a directory cannot share a name. `paths` pairs each checked path with
/// the path as given.
pub(crate) fn check_overlaps(paths: &[(&RepoPath, &Path)]) -> Result<()> {
    let mut sorted: Vec<&(&RepoPath, &Path)> = paths.iter().collect();
    sorted.sort_by(|a, b| a.0.parts.cmp(&b.0.parts));
    // In component order, a path's descendants follow it directly.
    for pair in sorted.windows(2) {
        let (parent, child) = (pair[0], pair[1]);
        if child.0.parts.len() > parent.0.parts.len() && child.0.parts.starts_with(&parent.0.parts)
        {
            return Err(Error::InvalidPath {
                path: child.1.to_owned(),
                source: PathError::Overlaps {
                    other: parent.1.to_owned(),
                },
            });
        }
    }
    Ok(())
}

/// The kind of a file system entry, for [`PathError::InTheWay`].
fn kind_of(file_type: fs::FileType) -> FileKind {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return FileKind::Fifo;
        }
        if file_type.is_socket() {
            return FileKind::Socket;
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return FileKind::Device;
        }
    }
    if file_type.is_dir() {
        FileKind::Directory
    } else if file_type.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    }
}

/// Checks `path` against the work tree at `canonical_root` (its canonical
/// path, so that a work tree reached through a symbolic link is still
/// recognised as the ancestor of its own files), with `lstat` only (never
/// opening anything, so a FIFO cannot block): no existing part of it may be
/// a symbolic link, its existing parents must be directories, the path
/// itself a regular file if it exists, and the `.gitattributes` files that
/// git would read for it regular files. `given` is the path as the caller
/// wrote it, for the error. Returns the metadata of the file at `path`, if
/// there is one.
pub(crate) fn check_worktree(
    canonical_root: &Path,
    path: &RepoPath,
    given: &Path,
) -> Result<Option<fs::Metadata>> {
    let worktree_error = |at: &Path, err: io::Error| Error::Worktree {
        path: at.to_owned(),
        source: Box::new(err),
    };
    let refuse = |source: PathError| Error::InvalidPath {
        path: given.to_owned(),
        source,
    };
    let mut current = canonical_root.to_owned();
    let mut relative = PathBuf::new();
    let count = path.parts.len();
    for (position, name) in path.as_path().components().enumerate() {
        check_attributes_file(&current, &relative).map_err(|err| match err {
            Ok(source) => refuse(source),
            Err((at, err)) => worktree_error(&at, err),
        })?;
        current.push(name);
        relative.push(name);
        let is_leaf = position + 1 == count;
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let inside = current
                    .canonicalize()
                    .is_ok_and(|target| target.starts_with(canonical_root));
                let source = if inside {
                    PathError::Symlink { link: relative }
                } else {
                    PathError::SymlinkEscapes { link: relative }
                };
                return Err(Error::InvalidPath {
                    path: given.to_owned(),
                    source,
                });
            }
            Ok(meta) if is_leaf && meta.is_file() => return Ok(Some(meta)),
            Ok(meta) if is_leaf || !meta.is_dir() => {
                return Err(refuse(PathError::InTheWay {
                    entry: relative,
                    kind: kind_of(meta.file_type()),
                }))
            }
            Ok(_) => {}
            // Nothing below a missing directory can exist either.
            Err(err) if err.kind() == io::ErrorKind::NotFound => break,
            Err(err) => return Err(worktree_error(&current, err)),
        }
    }
    Ok(None)
}

/// Refuses a `.gitattributes` in `directory` (`relative` to the work tree)
/// that is not a regular file or a symbolic link: reading a FIFO would
/// block. `Ok(refusal)` or `Err(io error)` as the error.
fn check_attributes_file(
    directory: &Path,
    relative: &Path,
) -> std::result::Result<(), std::result::Result<PathError, (PathBuf, io::Error)>> {
    let file = directory.join(".gitattributes");
    match fs::symlink_metadata(&file) {
        Ok(meta) if meta.is_file() || meta.file_type().is_symlink() => Ok(()),
        Ok(meta) => Err(Ok(PathError::InTheWay {
            entry: relative.join(".gitattributes"),
            kind: kind_of(meta.file_type()),
        })),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Err((file, err))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(path: &str) -> PathError {
        normalize(Path::new(path)).expect_err(path)
    }

    #[test]
    fn relative_paths_are_cleaned_of_dot_and_inner_dot_dot() {
        let path = normalize(Path::new("./a/b/../c.txt")).unwrap();
        assert_eq!(path.to_bstring(), "a/c.txt");
        assert_eq!(path.as_path(), Path::new("a/c.txt"));
        assert_eq!(path.components().count(), 2);
    }

    #[test]
    fn an_empty_path_or_the_worktree_itself_is_refused() {
        assert_eq!(refusal(""), PathError::Empty);
        assert_eq!(refusal("."), PathError::Empty);
        assert_eq!(refusal("a/.."), PathError::Empty);
    }

    #[test]
    fn an_absolute_path_is_refused() {
        assert_eq!(refusal("/etc/passwd"), PathError::Absolute);
    }

    #[test]
    fn dot_dot_escaping_the_worktree_is_refused() {
        assert_eq!(refusal(".."), PathError::EscapesWorktree);
        assert_eq!(refusal("../x"), PathError::EscapesWorktree);
        assert_eq!(refusal("a/../../x"), PathError::EscapesWorktree);
    }

    #[test]
    fn a_dot_git_component_in_any_case_is_refused() {
        for path in [".git", ".git/config", "a/.GIT/hooks/x", ".Git", ".git/../a"] {
            assert_eq!(refusal(path), PathError::GitDir, "{path}");
        }
        assert!(normalize(Path::new(".gitignore")).is_ok());
        assert!(normalize(Path::new("a.git")).is_ok());
    }

    #[test]
    fn a_nul_byte_is_refused() {
        assert_eq!(refusal("a\0b"), PathError::Nul);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_parent_leading_out_of_the_worktree_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        let path = normalize(Path::new("out/file")).unwrap();
        let err = check_worktree(
            &root.path().canonicalize().unwrap(),
            &path,
            Path::new("out/file"),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPath { source: PathError::SymlinkEscapes { link }, .. } if link == Path::new("out")),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_inside_the_worktree_is_refused_too() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", root.path().join("link")).unwrap();
        let path = normalize(Path::new("link/file")).unwrap();
        let err = check_worktree(
            &root.path().canonicalize().unwrap(),
            &path,
            Path::new("link/file"),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPath { source: PathError::Symlink { link }, .. } if link == Path::new("link")),
            "{err:?}"
        );
    }

    #[test]
    fn missing_and_plain_parents_pass() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("dir")).unwrap();
        for given in ["dir/new/file", "new/file", "file"] {
            let path = normalize(Path::new(given)).unwrap();
            check_worktree(
                &root.path().canonicalize().unwrap(),
                &path,
                Path::new(given),
            )
            .expect(given);
        }
    }
}

/// Property tests: `normalize` against a small model of what it must do.
#[cfg(test)]
mod properties {
    use std::path::Path;

    use proptest::prelude::*;

    use super::{normalize, PathError};

    /// Components a path is built from: ordinary names, `.`, `..`, `.git`
    /// in several letter cases, and names that merely look like `.git`.
    fn component() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-z0-9_-]{1,8}".prop_map(String::from),
            2 => Just("..".to_owned()),
            1 => Just(".".to_owned()),
            1 => prop::sample::select(vec![".git", ".GIT", ".Git", ".gIt"]).prop_map(String::from),
            1 => prop::sample::select(vec![".gitignore", "git", ".git-x", "x.git"]).prop_map(String::from),
        ]
    }

    /// What `normalize` must answer, computed the plain way.
    fn model(parts: &[String]) -> Result<Vec<String>, PathError> {
        let mut kept: Vec<String> = Vec::new();
        for part in parts {
            match part.as_str() {
                "." => {}
                ".." => {
                    if kept.pop().is_none() {
                        return Err(PathError::EscapesWorktree);
                    }
                }
                name if name.eq_ignore_ascii_case(".git") => return Err(PathError::GitDir),
                name => kept.push(name.to_owned()),
            }
        }
        if kept.is_empty() {
            return Err(PathError::Empty);
        }
        Ok(kept)
    }

    proptest! {
        #[test]
        fn relative_paths_follow_the_model(parts in prop::collection::vec(component(), 1..8)) {
            let path = parts.join("/");
            let got = normalize(Path::new(&path)).map(|p| p.to_bstring().to_string());
            prop_assert_eq!(got, model(&parts).map(|kept| kept.join("/")));
        }

        #[test]
        fn absolute_paths_are_always_refused(parts in prop::collection::vec(component(), 0..6)) {
            let path = format!("/{}", parts.join("/"));
            prop_assert_eq!(normalize(Path::new(&path)).unwrap_err(), PathError::Absolute);
        }

        #[test]
        fn a_nul_byte_anywhere_is_refused(before in "[a-z/]{0,10}", after in "[a-z/]{0,10}") {
            let path = format!("{before}\0{after}");
            prop_assert_eq!(normalize(Path::new(&path)).unwrap_err(), PathError::Nul);
        }

        #[test]
        fn accepted_paths_never_keep_dot_components_or_leave_the_tree(path in "[a-zA-Z0-9./_-]{0,40}") {
            if let Ok(checked) = normalize(Path::new(&path)) {
                let text = checked.to_bstring().to_string();
                prop_assert!(!text.starts_with('/'));
                for part in text.split('/') {
                    prop_assert!(!part.is_empty() && part != "." && part != "..", "{text}");
                    prop_assert!(!part.eq_ignore_ascii_case(".git"), "{text}");
                }
            }
        }
    }
}
