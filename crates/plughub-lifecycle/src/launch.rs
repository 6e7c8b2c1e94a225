//! Starting an installed instance for an agent: a worker under the plan's limits, the instance's settings
//! with its secrets opened for it alone, a runtime kept in the store whose `useModel` reaches the group's
//! model plugins, the true manifest recorded once `init` has run, and the plugin's services started. The
//! CLI runs components on what this starts; a model call of another plugin starts its model plugin the
//! same way.

use crate::models::ModelRouter;
use crate::{ExecutionContext, Installer, LifecycleError, StoreRuntime};
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_domain::{EventType, NewEvent};
use plughub_engine::{
    Admission, AdmitFuture, EgressHooks, EgressPolicy, EgressRecord, LoadedPlugin, PluginSpec,
    SandboxPolicy, Settings, WorkerSpec,
};
use plughub_secrets::KeyRing;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// The egress proxy's figures (rate, byte budget, trusted addresses); each plugin's domains are its
    /// `network.external` grant.
    pub egress: EgressPolicy,
}

/// Starts installed instances. Cheap to clone: model routers keep one to start model plugins.
#[derive(Clone)]
pub struct Launcher(Arc<Inner>);

struct Inner {
    installer: Installer,
    keys: KeyRing,
    config: LaunchConfig,
    warm: crate::warm::WarmPool,
    slots: crate::slots::Slots,
}

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
}

/// The task writing a worker's network requests as events. Requests are reported when their tunnel
/// closes, so the last ones come when the worker ends: `flush` after dropping the plugin waits for them.
pub struct NetworkLog(Option<tokio::task::JoinHandle<()>>);

impl NetworkLog {
    /// Waits (a few seconds at most: an upstream that never closes cannot hold the caller) until every
    /// request of the ended worker is recorded.
    pub async fn flush(mut self) {
        if let Some(task) = self.0.take() {
            let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
        }
    }
}

impl Launcher {
    pub fn new(installer: Installer, keys: KeyRing, config: LaunchConfig) -> Launcher {
        let slots = crate::slots::Slots::new(installer.store().clone());
        Launcher(Arc::new(Inner {
            installer,
            keys,
            config,
            warm: Default::default(),
            slots,
        }))
    }

    pub(crate) fn slots(&self) -> &crate::slots::Slots {
        &self.0.slots
    }

    pub(crate) fn warm(&self) -> &crate::warm::WarmPool {
        &self.0.warm
    }

    pub fn installer(&self) -> &Installer {
        &self.0.installer
    }

    /// The keys that open the instances' secrets.
    pub fn keys(&self) -> &KeyRing {
        &self.0.keys
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
        let context = context.kept();
        let policy = self.policy();
        let timeout = policy.timeout(context.plan, timeout);
        let (reporter, network_log) = self.egress_events(&context, agent);
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
                // The granted domains, or no way out at all.
                egress: context.granted.network.as_ref().map(|_| EgressPolicy {
                    domains: context.granted.domains(),
                    ..self.0.config.egress.clone()
                }),
                egress_hooks: Some(reporter),
                caps: Default::default(),
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
                    network_log,
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

impl Launcher {
    /// Records each request through the egress proxy as a `plugin_network_request` event: plugin, host,
    /// method, status, bytes, and why it was refused. The proxy reports synchronously; a task writes.
    fn egress_events(&self, context: &ExecutionContext, agent: &str) -> (EgressHooks, NetworkLog) {
        // Bounded: a plugin flooding the proxy with refused requests cannot grow plughub's memory; what
        // does not fit is counted in the log instead of recorded one by one.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<EgressRecord>(256);
        let store = self.installer().store().clone();
        let (plugin, instance, group) = (
            context.plugin.clone(),
            context.instance_id.clone(),
            context.group_id.clone(),
        );
        let agent = agent.to_string();
        let admission = Arc::new(StoreAdmission {
            store: store.clone(),
            instance_id: instance.clone(),
            in_flight: Arc::new(AtomicUsize::new(0)),
        });
        let in_flight = admission.in_flight.clone();
        let task = tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                let event = NewEvent {
                    event_type: EventType::PluginNetworkRequest,
                    actor: "egress".into(),
                    target: Some(instance.clone()),
                    group_id: Some(group.clone()),
                    metadata: json!({ "plugin": plugin, "agent": agent, "host": r.host,
                                      "port": r.port, "method": r.method, "status": r.status,
                                      "bytes_up": r.bytes_up, "bytes_down": r.bytes_down,
                                      "refused": r.refusal, "admitted": r.admitted }),
                };
                if let Err(e) = crate::runtime::append(&store, &event).await {
                    tracing::warn!(error = %e, "could not record a network request");
                }
                if r.admitted {
                    // Counted by its event from now on.
                    let _ = in_flight
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
                }
            }
        });
        let hooks = EgressHooks {
            report: Arc::new(move |r: &EgressRecord| {
                if tx.try_send(r.clone()).is_err() {
                    tracing::warn!(host = %r.host, status = r.status, "network request not recorded: too many at once");
                }
            }),
            admission: Some(admission),
        };
        (hooks, NetworkLog(Some(task)))
    }
}

/// The plugin's network rate across all its workers, on every machine: the requests the store recorded
/// in the last minute, and this worker's admitted ones not recorded yet (a request is recorded when its
/// tunnel closes).
struct StoreAdmission {
    store: plughub_store::Store,
    instance_id: String,
    in_flight: Arc<AtomicUsize>,
}

impl Admission for StoreAdmission {
    fn admit(&self, requests_per_minute: usize) -> AdmitFuture {
        let (store, instance, in_flight) = (
            self.store.clone(),
            self.instance_id.clone(),
            self.in_flight.clone(),
        );
        Box::pin(async move {
            let minute_ago = plughub_store::format_time(
                time::OffsetDateTime::now_utc() - time::Duration::minutes(1),
            );
            let filter = plughub_store::EventFilter {
                event_type: Some(EventType::PluginNetworkRequest),
                target: Some(instance),
                since: Some(minute_ago),
                ..Default::default()
            };
            let Ok(recorded) = store.count_events(&filter).await else {
                // The store cannot say: refuse rather than let an unmetered request out.
                return false;
            };
            let recorded = recorded.max(0) as usize;
            // Taken before it is checked, so two requests of this worker at once cannot both slip in.
            let before = in_flight.fetch_add(1, Ordering::Relaxed);
            if recorded + before >= requests_per_minute {
                in_flight.fetch_sub(1, Ordering::Relaxed);
                return false;
            }
            true
        })
    }
}
