//! Starting an installed instance for an agent: a worker under the plan's limits, the instance's settings
//! with its secrets opened for it alone, a runtime kept in the store whose `useModel` reaches the group's
//! model plugins, the true manifest recorded once `init` has run, and the plugin's services started. The
//! CLI runs components on what this starts; a model call of another plugin starts its model plugin the
//! same way.

use crate::models::ModelRouter;
use crate::{ExecutionContext, Installer, LifecycleError, StoreRuntime};
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_engine::{LoadedPlugin, PluginSpec, SandboxPolicy, Settings, WorkerSpec};
use plughub_secrets::KeyRing;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where workers come from and the figures they run under.
#[derive(Debug, Clone)]
pub struct LaunchConfig {
    /// The Node.js that runs workers.
    pub node: PathBuf,
    /// Where the host script and the workers' sockets go (owner-only).
    pub run_dir: PathBuf,
    pub policy: ExecutionPolicy,
    /// The OS sandbox workers start in (its memory limit is the plan's); `None` runs them as plain
    /// processes, which only an operator's explicit choice does.
    pub sandbox: Option<SandboxPolicy>,
}

/// Starts installed instances. Cheap to clone: model routers keep one to start model plugins.
#[derive(Clone)]
pub struct Launcher(Arc<Inner>);

struct Inner {
    installer: Installer,
    keys: KeyRing,
    config: LaunchConfig,
}

/// An instance running for an agent, initialised, its manifest recorded.
pub struct Launched {
    pub context: ExecutionContext,
    pub plugin: LoadedPlugin,
    /// The time each execution gets: the one asked for, within the plan's bounds.
    pub timeout: Duration,
    /// The plugin's services that failed to start, each with why.
    pub service_errors: Vec<String>,
}

impl Launcher {
    pub fn new(installer: Installer, keys: KeyRing, config: LaunchConfig) -> Launcher {
        Launcher(Arc::new(Inner {
            installer,
            keys,
            config,
        }))
    }

    pub fn installer(&self) -> &Installer {
        &self.0.installer
    }

    pub fn policy(&self) -> &ExecutionPolicy {
        &self.0.config.policy
    }

    /// `plugin` of `org` started for `agent`, once the group's quota and the instance's rate allow an
    /// execution. A plugin that does not start leaves a `plugin_error_occurred` event saying why.
    pub async fn launch(
        &self,
        org: &str,
        plugin: &str,
        agent: &str,
        timeout: Option<Duration>,
    ) -> Result<Launched, LifecycleError> {
        let context = self.context(org, plugin).await?;
        self.installer()
            .check_execution_allowed(&context, self.policy())
            .await?;
        self.start(context, agent, timeout, 0).await
    }

    pub(crate) async fn context(
        &self,
        org: &str,
        plugin: &str,
    ) -> Result<ExecutionContext, LifecycleError> {
        self.installer()
            .execution_context(org, plugin, &self.0.keys)
            .await
    }

    /// Starts the instance of `context`; `depth` counts the model calls that led here.
    pub(crate) async fn start(
        &self,
        context: ExecutionContext,
        agent: &str,
        timeout: Option<Duration>,
        depth: usize,
    ) -> Result<Launched, LifecycleError> {
        let policy = self.policy();
        let timeout = policy.timeout(context.plan, timeout);
        let spec = PluginSpec {
            worker: WorkerSpec {
                node: self.0.config.node.clone(),
                package_dir: context.package_dir.clone(),
                run_dir: self.0.config.run_dir.clone(),
                env: vec![("NODE_ENV".into(), "production".into())],
                start_timeout: timeout,
                memory_mb: Some(policy.limits(context.plan).memory_mb),
                sandbox: self.0.config.sandbox.clone().map(|mut sandbox| {
                    sandbox.memory_mb = u64::from(policy.limits(context.plan).memory_mb);
                    sandbox
                }),
                // No grants yet (permissions come with the grant model): a sandboxed plugin has no way
                // out.
                egress: None,
            },
            settings: Settings {
                values: context.settings.clone(),
                agent_id: agent.to_string(),
                character: json!({ "name": agent }),
            },
            init_timeout: timeout,
        };
        let models = ModelRouter::new(self.clone(), &context, agent, depth);
        let runtime = StoreRuntime::new(self.installer().store().clone(), &context, agent)
            .with_models(models);
        match LoadedPlugin::load(&spec, Arc::new(runtime)).await {
            Ok(plugin) => {
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
                Ok(Launched {
                    context,
                    plugin,
                    timeout,
                    service_errors,
                })
            }
            Err(e) => {
                let message = context.redact(&e.to_string());
                self.installer()
                    .record_execution(
                        &context,
                        false,
                        json!({ "operation": "init", "plugin": context.plugin, "agent": agent,
                                "error": message }),
                        "engine",
                    )
                    .await?;
                Err(LifecycleError::DidNotStart {
                    plugin: context.plugin,
                    message,
                })
            }
        }
    }
}
