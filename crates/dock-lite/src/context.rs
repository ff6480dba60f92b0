//! The build context: the directory's files minus what `.dockerignore`
//! excludes, packed as a tar stream. Excluded files are never opened.
//!
//! `.dockerignore` follows Docker's rules: one pattern per line, `#`
//! comments, paths relative to the context root (a leading `/` is
//! ignored), `*` and `?` within one path component, `**` across any number
//! of them, `!` re-including what an earlier pattern excluded, the last
//! matching pattern winning, and a pattern that matches a directory
//! matching everything under it. The Dockerfile and `.dockerignore` are
//! always sent, as the docker CLI does.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// One line of `.dockerignore`.
struct Pattern {
    matcher: GlobMatcher,
    /// `!pattern`: re-includes.
    exception: bool,
}

/// The rules of a `.dockerignore` file.
pub(crate) struct IgnoreRules {
    patterns: Vec<Pattern>,
}

impl IgnoreRules {
    /// Reads `<context>/.dockerignore`; no file means no rules.
    pub fn load(context: &Path) -> io::Result<IgnoreRules> {
        match std::fs::read_to_string(context.join(".dockerignore")) {
            Ok(text) => IgnoreRules::parse(&text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(IgnoreRules {
                patterns: Vec::new(),
            }),
            Err(err) => Err(err),
        }
    }

    pub fn parse(text: &str) -> io::Result<IgnoreRules> {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, glob) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let glob = clean(glob);
            if glob.is_empty() {
                continue;
            }
            let matcher = GlobBuilder::new(&glob)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|err| {
                    io::Error::new(io::ErrorKind::InvalidData, format!(".dockerignore: {err}"))
                })?
                .compile_matcher();
            patterns.push(Pattern { matcher, exception });
        }
        Ok(IgnoreRules { patterns })
    }

    /// True when some `!` pattern exists: an excluded directory may then
    /// still hold files to send, so it must be walked.
    fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether `path` (relative, `/`-separated) is excluded.
    pub fn is_excluded(&self, path: &str) -> bool {
        let parents: Vec<&str> = path
            .char_indices()
            .filter(|(_, c)| *c == '/')
            .map(|(i, _)| &path[..i])
            .collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // An exclusion cannot change an excluded path, nor an exception
            // an included one: skip them, as Docker does.
            if pattern.exception != excluded {
                continue;
            }
            let matched = pattern.matcher.is_match(path)
                || parents
                    .iter()
                    .any(|parent| pattern.matcher.is_match(parent));
            if matched {
                excluded = !pattern.exception;
            }
        }
        excluded
    }
}

/// Docker cleans each pattern like a path: no leading `/` or `./`, no
/// trailing `/`, `a/../b` resolved.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// Packs the build context into `out` as an uncompressed tar stream.
/// Returns how many files were sent.
pub(crate) fn write_context(
    context: &Path,
    dockerfile: &str,
    out: &mut dyn Write,
) -> io::Result<usize> {
    let rules = IgnoreRules::load(context)?;
    let always_sent = [clean(dockerfile), ".dockerignore".to_owned()];
    let mut archive = tar::Builder::new(out);
    archive.follow_symlinks(false);
    let mut sent = 0;
    let mut pending = vec![PathBuf::new()];
    while let Some(relative_dir) = pending.pop() {
        let mut entries: Vec<_> =
            std::fs::read_dir(context.join(&relative_dir))?.collect::<Result<_, _>>()?;
        // A stable order gives the daemon the same archive for the same files.
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let relative = relative_dir.join(entry.file_name());
            let name = slash_path(&relative);
            let file_type = entry.file_type()?;
            let excluded = rules.is_excluded(&name) && !always_sent.contains(&name);
            if file_type.is_dir() {
                if !excluded {
                    append_entry(&mut archive, &entry.path(), &relative)?;
                }
                if !excluded || rules.has_exceptions() {
                    pending.push(relative);
                }
                continue;
            }
            if excluded {
                continue;
            }
            append_entry(&mut archive, &entry.path(), &relative)?;
            sent += 1;
        }
    }
    archive.finish()?;
    Ok(sent)
}

/// Appends one file, directory or symbolic link with the header fields the
/// docker CLI sends (permission bits only, owner 0:0, no owner names): the
/// daemon's build cache keys on them, so the same context hits the same cache
/// whichever tool sent it.
fn append_entry(
    archive: &mut tar::Builder<&mut dyn Write>,
    path: &Path,
    name: &Path,
) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)?;
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    header.set_mode(meta.permissions().mode() & 0o7777);
    header.set_uid(0);
    header.set_gid(0);
    if meta.file_type().is_symlink() {
        header.set_size(0);
        archive.append_link(&mut header, name, std::fs::read_link(path)?)
    } else if meta.is_dir() {
        header.set_size(0);
        // As Go's archive/tar writes them: directory names end in a slash.
        archive.append_data(&mut header, format!("{}/", slash_path(name)), io::empty())
    } else if meta.is_file() {
        archive.append_data(&mut header, name, std::fs::File::open(path)?)
    } else {
        // Sockets, fifos and devices have no place in a build context.
        Ok(())
    }
}

/// `a/b/c` on every platform.
fn slash_path(path: &Path) -> String {
    path.components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::parse(text).unwrap()
    }

    #[test]
    fn plain_patterns_match_the_path_and_everything_under_a_directory() {
        let r = rules("big\n*.log\n# a comment\n\n/tmp/\n");
        assert!(r.is_excluded("big"));
        assert!(r.is_excluded("big/data.bin"));
        assert!(r.is_excluded("build.log"));
        assert!(
            !r.is_excluded("src/build.log"),
            "* stays within one component"
        );
        assert!(r.is_excluded("tmp/x"));
        assert!(!r.is_excluded("src/main.rs"));
    }

    #[test]
    fn double_star_crosses_directories() {
        let r = rules("**/*.o\nlogs/**\n");
        assert!(r.is_excluded("a.o"));
        assert!(r.is_excluded("deep/er/x.o"));
        assert!(r.is_excluded("logs/2024/01.txt"));
        assert!(!r.is_excluded("src/x.c"));
    }

    #[test]
    fn exceptions_reinclude_and_the_last_match_wins() {
        let r = rules("*.md\n!README.md\ndocs\n!docs/keep.txt\n");
        assert!(r.is_excluded("notes.md"));
        assert!(!r.is_excluded("README.md"));
        assert!(r.is_excluded("docs/other.txt"));
        assert!(!r.is_excluded("docs/keep.txt"));
        let r = rules("!README.md\n*.md\n");
        assert!(r.is_excluded("README.md"), "a later exclusion wins");
    }

    #[test]
    fn question_marks_and_classes_match_one_character() {
        let r = rules("file?.txt\n[ab].bin\n");
        assert!(r.is_excluded("file1.txt"));
        assert!(!r.is_excluded("file10.txt"));
        assert!(r.is_excluded("a.bin"));
        assert!(!r.is_excluded("c.bin"));
    }

    #[test]
    fn patterns_are_cleaned_like_paths() {
        assert_eq!(clean("./a/b/"), "a/b");
        assert_eq!(clean("/a/../b"), "b");
    }
}
