//! How the harness's reports compute their figures, once for all of them: the bench and the
//! chaos runs read the same latencies the same way, so a p95 in one report means what it means
//! in the other.

use std::collections::BTreeMap;

/// The nearest-rank percentile `p` (0 to 1) of `sorted` (ascending): the smallest value with at
/// least a share `p` of the values at or below it, that is the value of rank `ceil(p * n)`
/// (1-based, at least 1). It is always one of the values measured, never an interpolation, so a
/// p95 of 20 checkouts is the 19th slowest, and the p50 of an even count is the lower middle.
/// 0 when there are no values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // `p * n` computed in floating point can land a hair above a whole number (0.1 x 30 is
    // 3.0000000000000004), which `ceil` would push to the next rank.
    let rank = (p * sorted.len() as f64 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `values` sorted ascending (NaN last), ready for [`percentile`].
pub fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// How many times each of `items` occurs (`{"429 rate_limited": 12, ...}`).
pub fn tally<S: Into<String>>(items: impl IntoIterator<Item = S>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item.into()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        // Nearest rank: the 19th of 20 (an index of floor(p * n) would say 20, the maximum).
        assert_eq!(percentile(&v, 0.95), 19.0);
        // The lower middle of an even count (an index of round((n - 1) p) would say 11).
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.99), 20.0);
        assert_eq!(percentile(&v, 1.0), 20.0);
        assert_eq!(percentile(&v, 0.0), 1.0, "the first rank at least");
        let thirty: Vec<f64> = (1..=30).map(f64::from).collect();
        assert_eq!(percentile(&thirty, 0.1), 3.0, "0.1 x 30 is rank 3, not 4");
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.0);
        assert_eq!(percentile(&[7.5], 0.95), 7.5);
        assert_eq!(percentile(&[], 0.95), 0.0);
    }

    #[test]
    fn sorted_and_tallied() {
        assert_eq!(sorted(vec![3.0, 1.0, 2.0]), vec![1.0, 2.0, 3.0]);
        let counts = tally(["429 rate_limited", "201", "429 rate_limited"]);
        assert_eq!(counts.get("429 rate_limited"), Some(&2));
        assert_eq!(counts.get("201"), Some(&1));
    }
}
