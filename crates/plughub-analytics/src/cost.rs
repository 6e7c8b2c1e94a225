//! The cost model (docs/analytics.md): what an organisation's executions cost the platform's workers.
//!
//! - CPU-seconds: the worker's run time of each execution (`duration_ms` / 1000). A worker is one Node.js
//!   thread, so its busy CPU time is at most its run's wall time: this is the upper bound.
//! - Memory GiB-seconds: the worker's memory at the end of the run times its run time, summed
//!   (`memory_bytes` / 2^30 × `duration_ms` / 1000).
//! - Cost units: `CPU_SECOND_UNITS` × CPU-seconds + `GIB_SECOND_UNITS` × GiB-seconds. A machine's
//!   vCPU comes with about 4 GiB of memory in common shapes, so a GiB-second weighs a quarter of a
//!   CPU-second; one unit is one CPU-second of a worker.
//!
//! Cache hits ran no worker and cost nothing; failed runs record no duration and are not counted (an
//! underestimate for timeouts, which hold a worker for their whole timeout).

use plughub_store::RollupTotals;
use serde::Serialize;

pub const CPU_SECOND_UNITS: f64 = 1.0;
pub const GIB_SECOND_UNITS: f64 = 0.25;

/// What executions cost, by the model above.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Cost {
    pub cpu_seconds: f64,
    pub memory_gib_seconds: f64,
    pub cost_units: f64,
}

impl Cost {
    pub fn of(totals: &RollupTotals) -> Cost {
        let cpu_seconds = totals.duration_ms / 1000.0;
        let memory_gib_seconds = totals.memory_mib_s / 1024.0;
        Cost {
            cpu_seconds: round(cpu_seconds),
            memory_gib_seconds: round(memory_gib_seconds),
            cost_units: round(
                CPU_SECOND_UNITS * cpu_seconds + GIB_SECOND_UNITS * memory_gib_seconds,
            ),
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_seconds_at_half_a_gib() {
        let totals = RollupTotals {
            duration_ms: 2000.0,
            memory_mib_s: 512.0 * 2.0,
            ..Default::default()
        };
        let cost = Cost::of(&totals);
        assert_eq!(cost.cpu_seconds, 2.0);
        assert_eq!(cost.memory_gib_seconds, 1.0);
        assert_eq!(cost.cost_units, 2.25);
    }
}
