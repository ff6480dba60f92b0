//! Goals: the bound a ratio of medians is held to, and how many were met.

use std::fmt;

/// The bound a ratio (ours over a peer's, see
/// [`Samples::ratio`](crate::Samples::ratio)) must keep for its goal to be
/// met: at least some speed-up for rates, at most some share for times.
/// Displays as `>= 1.30x` or `<= 0.60x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// Met when the ratio is this or more (rates: higher is faster).
    AtLeast(f64),
    /// Met when the ratio is this or less (times: lower is faster).
    AtMost(f64),
}

impl Goal {
    /// Whether `ratio` meets the goal. A ratio that is not a number (a cell
    /// never measured) meets none.
    pub fn met(self, ratio: f64) -> bool {
        match self {
            Goal::AtLeast(bound) => ratio >= bound,
            Goal::AtMost(bound) => ratio <= bound,
        }
    }

    /// `met`, or `MISSED` in capitals so that it stands out in a table.
    pub fn verdict(self, ratio: f64) -> &'static str {
        if self.met(ratio) {
            "met"
        } else {
            "MISSED"
        }
    }
}

impl fmt::Display for Goal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Goal::AtLeast(bound) => write!(f, ">= {bound:.2}x"),
            Goal::AtMost(bound) => write!(f, "<= {bound:.2}x"),
        }
    }
}

/// A goal for one comparison: ours against `peer` on `workload` (each
/// benchmark's own types), held to `goal`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target<W, P> {
    /// The workload compared on.
    pub workload: W,
    /// The peer compared with.
    pub peer: P,
    /// The bound on ours over the peer's.
    pub goal: Goal,
}

impl<W, P> Target<W, P> {
    /// Ours at most `max` times the peer's (seconds: at most that share).
    pub const fn at_most(workload: W, peer: P, max: f64) -> Target<W, P> {
        Target {
            workload,
            peer,
            goal: Goal::AtMost(max),
        }
    }

    /// Ours at least `min` times the peer's (rates: at least that speed-up).
    pub const fn at_least(workload: W, peer: P, min: f64) -> Target<W, P> {
        Target {
            workload,
            peer,
            goal: Goal::AtLeast(min),
        }
    }
}

/// How many goals were met out of how many judged; displays as `3/5`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Goals met.
    pub met: usize,
    /// Goals judged.
    pub total: usize,
}

impl Tally {
    /// Counts one goal, met or not.
    pub fn add(&mut self, met: bool) {
        self.met += usize::from(met);
        self.total += 1;
    }

    /// Whether every goal judged was met (true when none was judged).
    pub fn all_met(&self) -> bool {
        self.met == self.total
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.met, self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_goal_is_met_on_its_bound_and_on_its_side_of_it() {
        assert!(Goal::AtLeast(1.3).met(1.3));
        assert!(Goal::AtLeast(1.3).met(2.0));
        assert!(!Goal::AtLeast(1.3).met(1.29));
        assert!(Goal::AtMost(0.6).met(0.6));
        assert!(!Goal::AtMost(0.6).met(0.61));
    }

    #[test]
    fn an_unmeasured_ratio_meets_no_goal() {
        assert!(!Goal::AtLeast(0.0).met(f64::NAN));
        assert!(!Goal::AtMost(f64::INFINITY).met(f64::NAN));
        assert_eq!(Goal::AtMost(1.0).verdict(f64::NAN), "MISSED");
    }

    #[test]
    fn goals_print_their_bound_with_two_decimals() {
        assert_eq!(Goal::AtLeast(1.3).to_string(), ">= 1.30x");
        assert_eq!(Goal::AtMost(0.07).to_string(), "<= 0.07x");
        assert_eq!(Goal::AtMost(0.6).verdict(0.5), "met");
        assert_eq!(Goal::AtMost(0.6).verdict(0.7), "MISSED");
    }

    #[test]
    fn a_target_holds_its_workload_peer_and_bound() {
        const TARGET: Target<&str, &str> = Target::at_most("clone", "git", 0.6);
        assert_eq!(TARGET.goal, Goal::AtMost(0.6));
        assert_eq!(
            Target::at_least("get", "pika", 1.5).goal,
            Goal::AtLeast(1.5)
        );
        assert_eq!((TARGET.workload, TARGET.peer), ("clone", "git"));
    }

    #[test]
    fn a_tally_counts_goals_met_out_of_judged() {
        let mut tally = Tally::default();
        assert!(tally.all_met());
        tally.add(true);
        tally.add(false);
        tally.add(true);
        assert_eq!(tally.to_string(), "2/3");
        assert!(!tally.all_met());
    }
}
