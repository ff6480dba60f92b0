//! The statistics the tables show: medians and spreads.

/// The middle value, or the mean of the middle two for an even count; NaN
/// for none (a cell never measured prints as `n/a`, see [`fixed`](crate::fixed)).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let upper = sorted.len() / 2;
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 0 => (sorted[upper - 1] + sorted[upper]) / 2.0,
        _ => sorted[upper],
    }
}

/// The smallest and the largest of some samples: how noisy a cell was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The smallest value; NaN when there were none.
    pub min: f64,
    /// The largest value; NaN when there were none.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; both ends NaN when it is empty.
    pub fn of(values: &[f64]) -> Spread {
        if values.is_empty() {
            return Spread {
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        Spread {
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_takes_the_middle_value_or_the_mean_of_the_middle_two() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn median_of_nothing_is_nan() {
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn spread_is_the_smallest_and_largest_sample() {
        assert_eq!(Spread::of(&[0.3, 0.1, 0.2]), Spread { min: 0.1, max: 0.3 });
        let none = Spread::of(&[]);
        assert!(none.min.is_nan() && none.max.is_nan());
    }
}
