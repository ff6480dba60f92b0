//! The runs of a benchmark and the order of the tools in each.
//!
//! Every benchmark interleaves: each run goes through every tool (and every
//! workload) rather than taking all samples of one tool in a row, and the
//! tool that goes first turns from run to run. A noisy moment on the machine,
//! or the cost of following another tool's clean-up, then falls on every tool
//! alike instead of on one.

use std::fmt;

/// One run: its number, from 1, and how many there are. Displays as
/// `run 2/5`, the start of every per-run line the benchmarks print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// This run's number, from 1.
    pub number: u32,
    /// How many runs there are.
    pub of: u32,
}

/// Runs 1 to `count`.
pub fn runs(count: u32) -> impl Iterator<Item = Run> {
    (1..=count).map(move |number| Run { number, of: count })
}

impl Run {
    /// `items` in this run's order: run 1 takes them as given, each later run
    /// starts one further along (wrapping), so that each leads in turn.
    pub fn rotated<T: Copy>(&self, items: &[T]) -> Vec<T> {
        let mut order = items.to_vec();
        if !order.is_empty() {
            let start = self.number.saturating_sub(1) as usize % order.len();
            order.rotate_left(start);
        }
        order
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run {}/{}", self.number, self.of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_numbered_from_one_and_know_their_count() {
        let all: Vec<Run> = runs(3).collect();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0], Run { number: 1, of: 3 });
        assert_eq!(all[2].to_string(), "run 3/3");
        assert_eq!(runs(0).count(), 0);
    }

    #[test]
    fn each_tool_leads_in_turn_starting_with_the_first() {
        let order: Vec<Vec<char>> = runs(4).map(|run| run.rotated(&['a', 'b', 'c'])).collect();
        assert_eq!(
            order,
            [
                vec!['a', 'b', 'c'],
                vec!['b', 'c', 'a'],
                vec!['c', 'a', 'b'],
                vec!['a', 'b', 'c']
            ]
        );
    }

    #[test]
    fn rotating_nothing_or_one_item_keeps_it() {
        let run = Run { number: 2, of: 2 };
        assert!(run.rotated::<u8>(&[]).is_empty());
        assert_eq!(run.rotated(&[7]), [7]);
    }
}
