//! Every figure measured, by key, and what the tables take from them.

use std::collections::BTreeMap;

use crate::stats::{median, Spread};

/// Every figure measured (seconds, msgs/s, ...), by key: a tool, or a tool
/// and a workload, or whatever a benchmark's cells are. Figures are kept in
/// the order recorded.
#[derive(Debug, Clone)]
pub struct Samples<K> {
    figures: BTreeMap<K, Vec<f64>>,
}

impl<K: Ord> Default for Samples<K> {
    fn default() -> Self {
        Samples {
            figures: BTreeMap::new(),
        }
    }
}

impl<K: Ord> Samples<K> {
    /// Adds one figure of `key`.
    pub fn record(&mut self, key: K, figure: f64) {
        self.figures.entry(key).or_default().push(figure);
    }

    /// The figures of `key` in the order recorded; empty when never measured.
    pub fn values(&self, key: &K) -> &[f64] {
        self.figures.get(key).map_or(&[], Vec::as_slice)
    }

    /// The median of `key`; NaN when never measured.
    pub fn median(&self, key: &K) -> f64 {
        median(self.values(key))
    }

    /// The smallest and largest figure of `key`.
    pub fn spread(&self, key: &K) -> Spread {
        Spread::of(self.values(key))
    }

    /// The median of `ours` over the median of `peer`: below 1 for seconds
    /// means ours is faster, above 1 for rates means ours is faster. NaN when
    /// either was never measured.
    pub fn ratio(&self, ours: &K, peer: &K) -> f64 {
        self.median(ours) / self.median(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_kept_by_key_in_the_order_recorded() {
        let mut samples = Samples::default();
        samples.record(("a", 1), 3.0);
        samples.record(("b", 1), 9.0);
        samples.record(("a", 1), 1.0);
        assert_eq!(samples.values(&("a", 1)), [3.0, 1.0]);
        assert_eq!(samples.median(&("a", 1)), 2.0);
        assert_eq!(samples.spread(&("a", 1)), Spread { min: 1.0, max: 3.0 });
    }

    #[test]
    fn ratio_is_our_median_over_the_peers() {
        let mut samples = Samples::default();
        for (tool, seconds) in [("ours", 1.0), ("peer", 4.0), ("ours", 3.0), ("peer", 4.0)] {
            samples.record(tool, seconds);
        }
        assert_eq!(samples.ratio(&"ours", &"peer"), 0.5);
        assert!(samples.ratio(&"ours", &"never").is_nan());
        assert!(samples.values(&"never").is_empty());
    }
}
