//! Latency percentiles from the rollups' fixed-bucket histogram.

use plughub_store::{BUCKETS, LATENCY_BUCKETS_MS};
use serde::Serialize;

/// p50, p95 and p99 of the executions' durations (ms), and how many durations they are taken from.
/// `None` when there is none.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Latency {
    pub samples: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Latency {
    pub fn of(buckets: &[i64; BUCKETS]) -> Latency {
        Latency {
            samples: buckets.iter().sum(),
            p50_ms: percentile(buckets, 0.50),
            p95_ms: percentile(buckets, 0.95),
            p99_ms: percentile(buckets, 0.99),
        }
    }
}

/// The duration below which a share `p` of the histogram's durations fall: the bucket holding the
/// rank `ceil(p·n)`, interpolated linearly inside it (durations spread evenly across a bucket). So the
/// answer is always inside the bucket of the true percentile; its error is at most that bucket's width.
/// The last bucket has no upper bound: a percentile that falls in it is reported as its lower bound
/// (60 s, more than any run's timeout allows).
pub fn percentile(buckets: &[i64; BUCKETS], p: f64) -> Option<f64> {
    let total: i64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p * total as f64).ceil() as i64).clamp(1, total);
    let mut below = 0;
    for (i, &count) in buckets.iter().enumerate() {
        if count > 0 && below + count >= rank {
            let lower = if i == 0 {
                0.0
            } else {
                LATENCY_BUCKETS_MS[i - 1]
            };
            let Some(&upper) = LATENCY_BUCKETS_MS.get(i) else {
                return Some(lower);
            };
            let share = (rank - below) as f64 / count as f64;
            return Some(round(lower + (upper - lower) * share));
        }
        below += count;
    }
    None
}

fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(durations: &[f64]) -> [i64; BUCKETS] {
        let mut buckets = [0; BUCKETS];
        for d in durations {
            let i = LATENCY_BUCKETS_MS
                .iter()
                .position(|upper| d <= upper)
                .unwrap_or(BUCKETS - 1);
            buckets[i] += 1;
        }
        buckets
    }

    #[test]
    fn a_percentile_falls_in_the_bucket_of_the_true_one() {
        // 1 ms to 1000 ms: the true p50 is 500 (bucket 250–500), p95 950 and p99 990 (500–1000).
        let durations: Vec<f64> = (1..=1000).map(f64::from).collect();
        let latency = Latency::of(&histogram(&durations));
        assert_eq!(latency.samples, 1000);
        let p50 = latency.p50_ms.unwrap();
        assert!((250.0..=500.0).contains(&p50), "{p50}");
        let p95 = latency.p95_ms.unwrap();
        assert!((500.0..=1000.0).contains(&p95), "{p95}");
        assert!(latency.p99_ms.unwrap() >= p95);
    }

    #[test]
    fn no_durations_no_percentiles_and_the_open_bucket_is_its_floor() {
        assert_eq!(Latency::of(&[0; BUCKETS]).p50_ms, None);
        let latency = Latency::of(&histogram(&[90_000.0]));
        assert_eq!(latency.p99_ms, Some(60_000.0));
    }
}
