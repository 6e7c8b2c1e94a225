use plughub_lifecycle::LifecycleError;
use std::time::Duration;

/// Why a run did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{kind} {component} of {plugin}: {message}")]
    ComponentFailed {
        kind: String,
        component: String,
        plugin: String,
        message: String,
        cause: FailureCause,
    },
    #[error(
        "{org} has used the {limit} executions a day of its {plan} plan; the quota resets at midnight UTC"
    )]
    QuotaExceeded {
        org: String,
        plan: plughub_domain::Plan,
        limit: u64,
    },
    #[error("{plugin} ran {limit} times in the last minute, its limit; try again in a minute")]
    ExecutionRate { plugin: String, limit: usize },
    #[error(
        "{plugin} failed {failures} times in a row, so its circuit is open: runs are refused until it half-opens at {half_opens_at} (in {} s), when a few trial runs decide whether it closes",
        .half_opens_in.as_secs().max(1)
    )]
    BreakerOpen {
        plugin: String,
        failures: u32,
        half_opens_at: String,
        half_opens_in: Duration,
    },
    #[error("{plugin} did not start: {message}")]
    DidNotStart { plugin: String, message: String },
    #[error("no active model plugin for {model_type} could answer: {}", .reasons.join("; "))]
    NoModel {
        model_type: String,
        reasons: Vec<String>,
    },
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Store(#[from] plughub_store::StoreError),
}

/// How a component that ran failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCause {
    /// The plugin threw, or answered that it failed.
    PluginError,
    /// It did not answer in time; its worker was ended.
    Timeout,
    /// Its worker ended under it.
    WorkerDied,
    /// The plugin has no component of that kind by that name: the caller's mistake.
    NoComponent,
    /// The action's `validate` declined the message, and its handler did not run.
    Declined,
    /// The worker broke the protocol, or could not be reached.
    Other,
}

impl FailureCause {
    pub fn of(error: &plughub_engine::EngineError) -> FailureCause {
        use plughub_engine::EngineError as E;
        match error {
            E::Plugin(_) | E::CallbacksOverCap { .. } => FailureCause::PluginError,
            E::Timeout { .. } => FailureCause::Timeout,
            E::Exited { .. } => FailureCause::WorkerDied,
            E::NoComponent { .. } => FailureCause::NoComponent,
            E::Declined { .. } => FailureCause::Declined,
            _ => FailureCause::Other,
        }
    }

    /// Its name in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCause::PluginError => "plugin_error",
            FailureCause::Timeout => "timeout",
            FailureCause::WorkerDied => "worker_died",
            FailureCause::NoComponent => "no_component",
            FailureCause::Declined => "declined",
            FailureCause::Other => "error",
        }
    }
}

impl RunError {
    /// Its name in metrics: the failure's cause, or what refused the run.
    pub fn outcome_label(&self) -> &'static str {
        use plughub_lifecycle::LifecycleError as L;
        match self {
            RunError::ComponentFailed { cause, .. } => cause.as_str(),
            RunError::QuotaExceeded { .. } => "refused_quota",
            RunError::ExecutionRate { .. } => "refused_rate",
            RunError::BreakerOpen { .. } => "refused_breaker",
            RunError::DidNotStart { .. } => "did_not_start",
            RunError::NoModel { .. } => "no_model",
            RunError::Lifecycle(L::NeedsGrant { .. }) => "refused_permission",
            RunError::Lifecycle(L::NeedsConfig { .. }) => "refused_config",
            RunError::Lifecycle(L::NotRunnable { .. }) => "refused_state",
            RunError::Lifecycle(L::NotInstalled { .. }) => "not_installed",
            RunError::Lifecycle(_) | RunError::Store(_) => "error",
        }
    }
}
