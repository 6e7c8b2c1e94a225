//! Whether an instance may run now: the plan's daily quota (executions of the group since midnight UTC,
//! every server counted through the store) and the per-minute rate of the instance. A run counts once
//! however many attempts it takes, and a cache hit counts: it is a run the caller got.

use crate::{RunError, Runner};
use plughub_lifecycle::ExecutionContext;
use plughub_store::ExecutionScope;

impl Runner {
    pub(crate) async fn check_admission(&self, context: &ExecutionContext) -> Result<(), RunError> {
        let policy = self.policy();
        let now = time::OffsetDateTime::now_utc();
        // In the store's own format: times compare as text.
        let midnight = plughub_store::format_time(now.replace_time(time::Time::MIDNIGHT));
        let minute_ago = plughub_store::format_time(now - time::Duration::minutes(1));
        // A plan without a daily quota, or an operator's rate of 0, needs no count.
        if let Some(limit) = policy.limits(context.plan).executions_per_day {
            let today = self
                .executions_since(ExecutionScope::Group(&context.group_id), &midnight)
                .await?;
            if today as u64 >= limit {
                return Err(RunError::QuotaExceeded {
                    org: context.org.clone(),
                    plan: context.plan,
                    limit,
                });
            }
        }
        if policy.executions_per_minute > 0 {
            let last_minute = self
                .executions_since(ExecutionScope::Instance(&context.instance_id), &minute_ago)
                .await?;
            if last_minute as usize >= policy.executions_per_minute {
                return Err(RunError::ExecutionRate {
                    plugin: context.plugin.clone(),
                    limit: policy.executions_per_minute,
                });
            }
        }
        Ok(())
    }

    /// Executions (successful and failed) of a group or of an instance since a time: one count in SQL
    /// over an index of executions, which never reads a failed run's log.
    async fn executions_since(
        &self,
        scope: ExecutionScope<'_>,
        since: &str,
    ) -> Result<i64, RunError> {
        Ok(self
            .installer()
            .store()
            .count_executions_since(scope, since)
            .await?)
    }
}
