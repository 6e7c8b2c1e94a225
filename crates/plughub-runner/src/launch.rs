//! Starting an installed instance for an agent: a worker under the plan's limits, the instance's settings
//! with its secrets opened for it alone, a runtime kept in the store whose `useModel` reaches the group's
//! model plugins, the true manifest recorded once `init` has run, and the plugin's services started.
//! Executions start workers through here (kept warm, `warm.rs`); the command line's `inspect` and
//! `route` start one for a single use; a model call of another plugin starts its model plugin the same way.

use crate::egress::NetworkLog;
use crate::models::ModelRouter;
use crate::{RunError, Runner, StoreRuntime};
use plughub_engine::{EgressPolicy, LoadedPlugin, PluginSpec, Settings, Urgency, WorkerSpec};
use plughub_lifecycle::ExecutionContext;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// An instance running for an agent, initialised, its manifest recorded.
pub struct Launched {
    pub context: ExecutionContext,
    pub plugin: LoadedPlugin,
    /// The time each execution gets: the one asked for, within the plan's bounds.
    pub timeout: Duration,
    /// The plugin's services that failed to start, each with why.
    pub service_errors: Vec<String>,
    /// The writer of its network requests' events.
    pub network_log: NetworkLog,
    /// The runtime its plugin sees, kept in the store: a calling agent's run answers through it what
    /// the agent does not.
    pub(crate) runtime: Arc<StoreRuntime>,
}

impl Runner {
    /// `plugin` of `org` started for `agent`, once the group's quota and the instance's rate allow an
    /// execution. A plugin that does not start leaves a `plugin_error_occurred` event saying why.
    pub async fn launch(
        &self,
        org: &str,
        plugin: &str,
        agent: &str,
        timeout: Option<Duration>,
    ) -> Result<Launched, RunError> {
        let context = self.context(org, plugin).await?;
        self.check_admission(&context).await?;
        self.start(context, agent, timeout, 0).await
    }

    pub(crate) async fn context(
        &self,
        org: &str,
        plugin: &str,
    ) -> Result<ExecutionContext, RunError> {
        Ok(self
            .installer()
            .execution_context(org, plugin, self.keys())
            .await?)
    }

    /// Starts the instance of `context` for a run that waits for it; `depth` counts the model calls
    /// that led here.
    pub(crate) async fn start(
        &self,
        context: ExecutionContext,
        agent: &str,
        timeout: Option<Duration>,
        depth: usize,
    ) -> Result<Launched, RunError> {
        self.start_with(context, agent, timeout, depth, Urgency::Now)
            .await
    }

    /// Starts the instance of `context`; `urgency` says whether a run waits for it (see
    /// `plughub_engine::Urgency`).
    pub(crate) async fn start_with(
        &self,
        context: ExecutionContext,
        agent: &str,
        timeout: Option<Duration>,
        depth: usize,
        urgency: Urgency,
    ) -> Result<Launched, RunError> {
        let context = context.kept();
        let policy = self.policy();
        let timeout = policy.timeout(context.plan, timeout);
        let (reporter, network_log) = self.egress_events(&context, agent);
        let spec = PluginSpec {
            worker: WorkerSpec {
                node: self.config().node.clone(),
                package_dir: context.package_dir.clone(),
                run_dir: self.config().run_dir.clone(),
                env: std::iter::once(("NODE_ENV".to_string(), "production".to_string()))
                    .chain(self.dev().map(|d| d.env.clone()).unwrap_or_default())
                    .collect(),
                start_timeout: timeout,
                memory_mb: Some(policy.limits(context.plan).memory_mb),
                // The plan's memory, and what its grants lift: Node's addon gate, the programs it may
                // execute (resolved to real paths when granted). Every OS layer stays either way.
                sandbox: self.config().sandbox.clone().map(|mut sandbox| {
                    sandbox.memory_mb = u64::from(policy.limits(context.plan).memory_mb);
                    sandbox.native_addons = context.granted.native_addons;
                    sandbox.programs = context
                        .granted
                        .program_paths()
                        .into_iter()
                        .map(Into::into)
                        .collect();
                    sandbox
                }),
                // The granted domains, or no way out at all. With domains mapped to stubs (an
                // operator's, `plughub dev test`'s), with no name resolved (a compatibility run), and
                // in a development run, a worker always goes through the proxy, with no domain when
                // none is granted: unsandboxed, a worker without a proxy would reach the open network.
                egress: (context.granted.network.is_some()
                    || !self.config().egress.mapped.is_empty()
                    || !self.config().egress.resolve_names
                    || self.dev().is_some())
                .then(|| EgressPolicy {
                    domains: context.granted.domains(),
                    ..self.config().egress.clone()
                }),
                egress_hooks: Some(reporter),
                caps: Default::default(),
                pool: self.booted_workers(),
                urgency,
            },
            settings: Settings {
                values: context.settings.clone(),
                agent_id: agent.to_string(),
                character: json!({ "name": agent }),
            },
            init_timeout: timeout,
        };
        let models = ModelRouter::new(self.clone(), &context, agent, depth);
        let runtime = Arc::new(
            StoreRuntime::new(self.installer().store().clone(), &context, agent)
                .with_models(models)
                .with_storage_mb(self.policy().limits(context.plan).storage_mb),
        );
        let starting = std::time::Instant::now();
        match LoadedPlugin::load(&spec, runtime.clone()).await {
            Ok(plugin) => {
                self.metrics().workers_started.inc();
                self.installer()
                    .record_manifest(&context, plugin.manifest())
                    .await?;
                // As an agent starting with the plugin does: its services start after `init`. One that
                // fails is reported and the plugin runs on without it, as in elizaOS.
                let mut service_errors = Vec::new();
                for service in &plugin.manifest().services {
                    let name = &service.service_type;
                    if let Err(e) = plugin.service(name, true, timeout).await {
                        service_errors.push(format!(
                            "service {name} did not start: {}",
                            context.redact(&e.to_string())
                        ));
                    }
                }
                self.metrics()
                    .cold_start_seconds
                    .observe(starting.elapsed().as_secs_f64());
                Ok(Launched {
                    context,
                    plugin,
                    timeout,
                    service_errors,
                    network_log,
                    runtime,
                })
            }
            Err(e) => {
                let message = context.redact(&e.to_string());
                self.installer()
                    .record_execution(
                        &context,
                        plughub_lifecycle::Attempt::Failed,
                        json!({ "operation": "init", "plugin": context.plugin, "agent": agent,
                                "error": message }),
                        "engine",
                        self.policy(),
                    )
                    .await?;
                Err(RunError::DidNotStart {
                    plugin: context.plugin,
                    message,
                })
            }
        }
    }
}
