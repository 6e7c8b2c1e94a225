//! `Runner::execute`: one run of a component under every rule of the execution policy, in this order:
//! 1. the instance read from the store (runnable, configured, granted, its breaker);
//! 2. the plan's daily quota and the instance's rate (a run counts once, a cache hit too);
//! 3. the result cache, for components the plugin declares cacheable: a hit is recorded
//!    (`cache_hit: true`) and answered without a worker, even while the circuit is open;
//! 4. the circuit breaker: while open, refused at once, saying when it half-opens;
//! 5. one of the plan's concurrency slots (what was read is read again after a wait);
//! 6. attempts on a warm worker: each gets the run's timeout; a failure marked retryable (its worker died
//!    or it timed out, for a provider or a component declared idempotent) is tried again after the
//!    policy's backoff (1 s, doubling, 10 s at most), at most `retries` times, and only while the wait and
//!    a whole attempt still end within the policy's maximum time from the run's start. Every failed
//!    attempt is seen by the error streak and the breaker; the run is recorded once, when it ends.

use crate::cache::CacheKey;
use crate::error::FailureCause;
use crate::invoke::Recorded;
use crate::warm::{MIN_TIMEOUT, fingerprint};
use crate::{Component, ExecutionRequest, Outcome, RunError, Runner};
use plughub_domain::execution_policy::{ComponentKind, ExecutionHints};
use plughub_engine::EngineError;
use plughub_lifecycle::{ExecutionContext, unix_ms};
use std::time::{Duration, Instant};

impl Component {
    pub fn component_kind(&self) -> ComponentKind {
        match self {
            Component::Action(_) => ComponentKind::Action,
            Component::Provider(_) => ComponentKind::Provider,
            Component::Evaluator(_) => ComponentKind::Evaluator,
        }
    }
}

impl Runner {
    /// Runs `request` and records it; counted in the metrics whatever the outcome.
    pub async fn execute(&self, request: ExecutionRequest) -> Result<Outcome, RunError> {
        let started = Instant::now();
        // Every log line of the run carries its id (in `--log-format json`), within the request's.
        let span = tracing::info_span!(
            "execution",
            execution_id = %uuid::Uuid::now_v7(),
            plugin = %request.plugin,
            component = %format!("{}:{}", request.component.kind(), request.component.name()),
        );
        let result = tracing::Instrument::instrument(self.run(&request), span.clone()).await;
        let outcome = match &result {
            Ok(o) if o.cache_hit => "cache_hit",
            Ok(_) => "ok",
            Err(e) => e.outcome_label(),
        };
        let seconds = started.elapsed().as_secs_f64();
        span.in_scope(|| tracing::info!(outcome, seconds, "execution ended"));
        self.metrics().execution(
            &request.plugin,
            request.component.kind(),
            outcome,
            Some(seconds),
        );
        result
    }

    async fn run(&self, request: &ExecutionRequest) -> Result<Outcome, RunError> {
        let started = Instant::now();
        // Read for this execution alone (its success may then be recorded without a second read).
        let context_now = || async {
            self.installer()
                .execution_context_in(request.group.clone(), &request.plugin, self.keys())
                .await
                .map(ExecutionContext::for_one_execution)
        };
        let mut context = context_now().await?;
        self.check_admission(&context).await?;
        let (kind, name) = (request.component.kind(), request.component.name());
        let hints = self.hints().of(&context.package_dir);
        // A calling agent's run answers from its conversation, which the key does not hold: never cached.
        let cacheable = hints.is_cacheable(name) && request.caller.is_none();
        let cache_key = cacheable.then(|| CacheKey {
            instance_id: context.instance_id.clone(),
            version: context.version.clone(),
            component: format!("{kind}:{name}"),
            params: serde_json::json!([request.agent, request.text]).to_string(),
            fingerprint: fingerprint(&context),
        });
        let record = |context, log, attempts| Recorded {
            context,
            kind,
            component: name,
            log,
            actor: &request.actor,
            attempts,
            agent_failed: request
                .caller
                .as_ref()
                .is_some_and(|c| c.failed_on_its_side()),
        };
        if let Some(hit) = cache_key.as_ref().and_then(|key| self.cache().get(key)) {
            record(&context, Vec::new(), 0)
                .write_cache_hit(self, &hit)
                .await?;
            return Ok(Outcome {
                cache_hit: true,
                attempts: 0,
                duration_ms: 0.0,
                ..hit
            });
        }
        self.check_breaker(&context)?;

        let limit = self.policy().limits(context.plan).concurrent_executions;
        let waiting = Instant::now();
        let (_turn, waited) = self.slots().take(&context.group_id, limit).await?;
        if waited {
            self.metrics().slot_waits.inc();
            self.metrics()
                .slot_wait_seconds
                .observe(waiting.elapsed().as_secs_f64());
            // Waited for a turn: what was read may be stale (settings, grants, others' runs).
            context = context_now().await?;
            self.check_admission(&context).await?;
            self.check_breaker(&context)?;
        }
        let timeout = self
            .policy()
            .timeout(context.plan, request.timeout)
            .max(MIN_TIMEOUT);
        let deadline = started + self.policy().max_timeout.max(timeout);
        let mut attempts = 1;
        loop {
            let launched = self.warm_worker(&context, &request.agent, timeout).await?;
            let worker = launched.plugin.worker();
            let mark = worker.log_mark();
            let watching = request.log_stream.clone().map(|out| {
                let mut lines = worker.watch_log();
                let context = context.clone();
                let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
                let forward = move |line: &plughub_engine::LogLine| {
                    let text = format!("[{}] {}", line.stream, line.text);
                    !matches!(
                        out.try_send(context.redact(&text)),
                        Err(tokio::sync::mpsc::error::TrySendError::Closed(_))
                    )
                };
                let task = tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            biased;
                            line = lines.recv() => match line {
                                Some(line) if forward(&line) => {}
                                _ => return,
                            },
                            _ = &mut stopped => {
                                // What the run logged before it answered is sent; later lines are not its.
                                while let Ok(line) = lines.try_recv() {
                                    if !forward(&line) {
                                        return;
                                    }
                                }
                                return;
                            }
                        }
                    }
                });
                (stop, task)
            });
            let outcome = launched
                .invoke_within(
                    &request.component,
                    &request.text,
                    &request.agent,
                    request.caller.as_ref(),
                    request.stream.clone(),
                    timeout,
                )
                .await;
            if let Some((stop, task)) = watching {
                // The worker may serve others after this run: its lines from now on are theirs.
                let _ = stop.send(());
                let _ = task.await;
            }
            let log = launched.log_lines(worker.log_since(mark));
            let recorded = record(&context, log, attempts);
            if let Err(error) = &outcome {
                let wait = self.policy().backoff(attempts);
                let in_time = Instant::now() + wait + timeout <= deadline;
                // A calling agent's run is not tried again: the agent would be asked its calls (a
                // new memory among them) twice, and sent its callbacks twice.
                if attempts <= self.policy().retries
                    && request.caller.is_none()
                    && in_time
                    && retryable(error, &hints, &request.component)
                {
                    let suspended = recorded.write_retried(self, error).await?;
                    if !suspended {
                        self.metrics().retries.inc();
                        tokio::time::sleep(wait).await;
                        attempts += 1;
                        continue;
                    }
                }
            }
            let ran = recorded.write(self, outcome).await;
            if let (Ok(ran), Some(key)) = (&ran, cache_key) {
                self.cache().put(key, ran.clone());
            }
            return ran;
        }
    }

    /// Refuses a run while the instance's circuit is open, saying when it half-opens.
    fn check_breaker(&self, context: &ExecutionContext) -> Result<(), RunError> {
        let policy = self.policy();
        let mut breaker = context.breaker.clone();
        let now = unix_ms();
        match breaker.allow(now, policy) {
            Ok(()) => Ok(()),
            Err(wait) => {
                let at = time::OffsetDateTime::UNIX_EPOCH
                    + Duration::from_millis(now + wait.as_millis() as u64);
                Err(RunError::BreakerOpen {
                    plugin: context.plugin.clone(),
                    failures: context.error_streak().max(policy.breaker_failures),
                    half_opens_at: plughub_store::format_time(at),
                    half_opens_in: wait,
                })
            }
        }
    }
}

/// Whether a failed attempt may be tried again: its worker died or it timed out (a thrown error is the
/// plugin's answer, and would come again), and the component may run twice without harm.
fn retryable(error: &EngineError, hints: &ExecutionHints, component: &Component) -> bool {
    matches!(
        FailureCause::of(error),
        FailureCause::WorkerDied | FailureCause::Timeout
    ) && hints.may_retry(component.component_kind(), component.name())
}
