//! What the benchmarks' command lines and `main`s share.

/// The error type of a benchmark's own code: anything, boxed, with a message
/// that says what failed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The Python of `bench/.venv`, which the run scripts create and fill with
/// the peers' libraries (`bench/support/lib.sh`): the default of every
/// `--python` flag.
pub const DEFAULT_PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");

/// Ends a benchmark: on an error, prints `program: error` to stderr and
/// exits with status 1.
pub fn exit_on_error(program: &str, result: Result<(), BoxError>) {
    if let Err(err) = result {
        eprintln!("{program}: {err}");
        std::process::exit(1);
    }
}

/// The items of `all` that `only` names, in `all`'s order and once each; all
/// of them when `only` is empty (no `--workload`/`--fs` flag given).
pub fn selected<T: Copy + PartialEq>(all: &[T], only: &[T]) -> Vec<T> {
    all.iter()
        .copied()
        .filter(|item| only.is_empty() || only.contains(item))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_selected_means_all() {
        assert_eq!(selected(&[1, 2, 3], &[]), [1, 2, 3]);
    }

    #[test]
    fn a_selection_keeps_the_canonical_order_once_each() {
        assert_eq!(selected(&[1, 2, 3], &[3, 1, 3]), [1, 3]);
    }

    #[test]
    fn the_default_python_is_the_benchmarks_venv() {
        assert!(DEFAULT_PYTHON.ends_with("bench/support/../.venv/bin/python"));
    }
}
