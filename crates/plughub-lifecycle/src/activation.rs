//! Agents, and activating an installed plugin for them: a plugin_powers link (instance → agent, with the
//! actions it may use) and a plugin_uses link (agent → instance, with a priority), the plugins it depends
//! on activated for the same agent first. Deactivating removes the links; an instance that powers no agent
//! any more goes back to INSTALLED.

use crate::LifecycleError;
use crate::instance::InstanceRecord;
use crate::service::{Change, InstallOptions, Installer, record_of};
use plughub_domain::lifecycle::{State, Step};
use plughub_domain::{ConnectionKind, EventType, Group, Thing, ThingKind};
use plughub_store::NewThing;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;

/// How a plugin serves an agent.
#[derive(Debug, Clone, Default)]
pub struct ActivateOptions {
    /// The actions the agent may use; all when `None`.
    pub enabled_actions: Option<Vec<String>>,
    /// Higher first, when several plugins offer the same thing.
    pub priority: i64,
    pub actor: String,
}

/// An agent and the plugins it uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentView {
    pub name: String,
    pub plugins: Vec<AgentPlugin>,
    /// Who answers its plugins' `useModel` when the agent itself runs them from its own process
    /// (the agent bridge).
    #[serde(default)]
    pub models: ModelSource,
}

/// Who answers a plugin's `useModel` in a run that an elizaOS agent makes from its own process (the
/// agent bridge): the organisation's model plugins in plughub, or the calling agent's own models. Runs
/// made in plughub itself (the API, the playground) always use plughub's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelSource {
    #[default]
    Plughub,
    Agent,
}

impl ModelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelSource::Plughub => "plughub",
            ModelSource::Agent => "agent",
        }
    }

    /// The choice kept in an agent's properties (plughub's when none was made).
    fn of(agent: &Thing) -> ModelSource {
        serde_json::from_value(agent.properties["models"].clone()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentPlugin {
    pub plugin: String,
    /// The actions the agent may use; `null`: all of them.
    #[schema(value_type = Option<Vec<String>>)]
    pub enabled_actions: Value,
    pub priority: i64,
}

/// One pass of an activation: the agent, the chain of plugins that led here, and whether it only checks.
#[derive(Clone)]
struct Activation<'a> {
    group: &'a Group,
    agent: &'a Thing,
    chain: Vec<String>,
    dry_run: bool,
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, LifecycleError>> + Send + 'a>>;

impl Installer {
    pub async fn create_agent(
        &self,
        org: &str,
        name: &str,
        actor: &str,
    ) -> Result<AgentView, LifecycleError> {
        if !plughub_domain::names::is_usable_name(name) {
            return Err(LifecycleError::BadName {
                what: "agent",
                name: name.into(),
            });
        }
        let group = self.group(org).await?;
        let thing = NewThing {
            kind: ThingKind::Agent,
            name,
            group_id: Some(&group.id),
            status: "active",
            properties: "{}",
        };
        let event = self.event(
            EventType::AgentCreated,
            &group,
            &InstallOptions::by(actor),
            json!({ "agent": name }),
        );
        let mut tx = self.store.begin().await?;
        tx.insert_thing(&thing, event).await?;
        tx.commit().await?;
        Ok(AgentView {
            name: name.into(),
            plugins: Vec::new(),
            models: ModelSource::default(),
        })
    }

    pub async fn agents(&self, org: &str) -> Result<Vec<AgentView>, LifecycleError> {
        let group = self.group(org).await?;
        let mut out = Vec::new();
        for agent in self.store.things(ThingKind::Agent, Some(&group.id)).await? {
            out.push(self.view_of(agent).await?);
        }
        Ok(out)
    }

    /// One agent of `group`, with the plugins it uses.
    pub async fn agent_in(&self, group: &Group, agent: &str) -> Result<AgentView, LifecycleError> {
        let agent = self.agent(group, agent).await?;
        self.view_of(agent).await
    }

    /// Who answers the `useModel` of the plugins `agent` runs from its own process, as the owner
    /// chooses; recorded as an `agent_changed` event.
    pub async fn set_agent_models(
        &self,
        group: &Group,
        agent: &str,
        models: ModelSource,
        actor: &str,
    ) -> Result<AgentView, LifecycleError> {
        let mut thing = self.agent(group, agent).await?;
        if ModelSource::of(&thing) != models {
            thing.properties["models"] = json!(models.as_str());
            let event = self.event(
                EventType::AgentChanged,
                group,
                &InstallOptions::by(actor),
                json!({ "agent": agent, "models": models.as_str() }),
            );
            let mut tx = self.store.begin().await?;
            tx.update_thing(
                &thing.id,
                &thing.status,
                &thing.properties.to_string(),
                event,
            )
            .await?;
            tx.commit().await?;
        }
        self.view_of(thing).await
    }

    async fn view_of(&self, agent: Thing) -> Result<AgentView, LifecycleError> {
        let mut plugins = Vec::new();
        for link in self
            .store
            .connections_from(ConnectionKind::PluginUses, &agent.id)
            .await?
        {
            if let Some(instance) = self.store.thing(&link.to_id).await? {
                plugins.push(AgentPlugin {
                    plugin: instance.name,
                    enabled_actions: link.metadata["enabled_actions"].clone(),
                    priority: link.metadata["priority"].as_i64().unwrap_or(0),
                });
            }
        }
        plugins.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.plugin.cmp(&b.plugin)));
        Ok(AgentView {
            models: ModelSource::of(&agent),
            name: agent.name,
            plugins,
        })
    }

    async fn agent(&self, group: &Group, name: &str) -> Result<Thing, LifecycleError> {
        self.store
            .thing_by_name(ThingKind::Agent, Some(&group.id), name)
            .await?
            .ok_or_else(|| LifecycleError::UnknownAgent {
                agent: name.into(),
                org: group.name.clone(),
            })
    }

    /// Activates an installed plugin for an agent, after the plugins it depends on.
    pub async fn activate(
        &self,
        org: &str,
        plugin: &str,
        agent: &str,
        options: &ActivateOptions,
    ) -> Result<InstanceRecord, LifecycleError> {
        let (group, thing, record) = self.installed_instance(org, plugin).await?;
        let agent = self.agent(&group, agent).await?;
        // Everything is checked first, so that a plugin that cannot be activated leaves none of the
        // plugins it needs half-activated.
        for dry_run in [true, false] {
            let step = Activation {
                group: &group,
                agent: &agent,
                chain: Vec::new(),
                dry_run,
            };
            let done = self
                .activate_for(&step, thing.clone(), record.clone(), options, None)
                .await?;
            if !dry_run {
                return Ok(done);
            }
        }
        unreachable!("the second pass returns")
    }

    /// `needed_by` is set when this activation is for a plugin that depends on this one: being active for
    /// the agent already is then fine.
    fn activate_for<'a>(
        &'a self,
        step: &'a Activation<'a>,
        thing: Thing,
        mut record: InstanceRecord,
        options: &'a ActivateOptions,
        needed_by: Option<&'a str>,
    ) -> Boxed<'a, InstanceRecord> {
        let (group, agent) = (step.group, step.agent);
        Box::pin(async move {
            // A cycle (refused at install, but never trusted here) is not followed twice.
            if step.chain.contains(&thing.id) {
                return Ok(record);
            }
            let powers = self
                .store
                .connections_from(ConnectionKind::PluginPowers, &thing.id)
                .await?;
            if powers.iter().any(|p| p.to_id == agent.id) {
                return match needed_by {
                    Some(_) => Ok(record),
                    None => Err(LifecycleError::AlreadyActive {
                        plugin: record.plugin,
                        agent: agent.name.clone(),
                    }),
                };
            }
            let next = if record.state == State::Active {
                State::Active
            } else {
                record.state.next(Step::Activate)?.next(Step::Activated)?
            };
            let missing = self.missing_settings(&record).await?;
            if !missing.is_empty() {
                return Err(LifecycleError::NeedsConfig {
                    plugin: record.plugin,
                    org: group.name.clone(),
                    missing,
                });
            }
            for link in self
                .store
                .connections_from(ConnectionKind::PluginDependsOn, &thing.id)
                .await?
            {
                let Some(dependency) = self.store.thing(&link.to_id).await? else {
                    continue;
                };
                let Some(dependency_record) = record_of(&dependency) else {
                    continue;
                };
                let for_dependency = ActivateOptions {
                    enabled_actions: None,
                    ..options.clone()
                };
                let mut chain = step.chain.clone();
                chain.push(thing.id.clone());
                let deeper = Activation {
                    chain,
                    ..step.clone()
                };
                self.activate_for(
                    &deeper,
                    dependency,
                    dependency_record,
                    &for_dependency,
                    Some(&record.plugin),
                )
                .await?;
            }
            if step.dry_run {
                return Ok(record);
            }
            record.state = next;
            let actions = json!(options.enabled_actions);
            let event = self.event(
                EventType::PluginActivated,
                group,
                &InstallOptions::by(&options.actor),
                json!({
                    "plugin": record.plugin, "agent": agent.name, "enabled_actions": actions,
                    "priority": options.priority, "needed_by": needed_by,
                }),
            );
            let links = [
                Change::Connect {
                    kind: ConnectionKind::PluginPowers,
                    from: thing.id.clone(),
                    to: agent.id.clone(),
                    group_id: group.id.clone(),
                    metadata: json!({ "enabled_actions": actions }),
                },
                Change::Connect {
                    kind: ConnectionKind::PluginUses,
                    from: agent.id.clone(),
                    to: thing.id.clone(),
                    group_id: group.id.clone(),
                    metadata: json!({ "enabled_actions": actions, "priority": options.priority }),
                },
            ];
            self.save_with(&thing.id, &record, event, &links).await?;
            Ok(record)
        })
    }

    /// Deactivates a plugin for one agent, or for every agent it powers (`agent` None).
    pub async fn deactivate(
        &self,
        org: &str,
        plugin: &str,
        agent: Option<&str>,
        actor: &str,
    ) -> Result<InstanceRecord, LifecycleError> {
        let (group, thing, mut record) = self.installed_instance(org, plugin).await?;
        let powers = self
            .store
            .connections_from(ConnectionKind::PluginPowers, &thing.id)
            .await?;
        let agents: Vec<Thing> = match agent {
            Some(name) => {
                let agent = self.agent(&group, name).await?;
                if !powers.iter().any(|p| p.to_id == agent.id) {
                    return Err(LifecycleError::NotActive {
                        plugin: plugin.into(),
                        agent: name.into(),
                    });
                }
                vec![agent]
            }
            None => {
                let mut all = Vec::new();
                for link in &powers {
                    all.extend(self.store.thing(&link.to_id).await?);
                }
                all
            }
        };
        // A plugin another one needs stays active for the agents that one serves.
        let mut blocking = Vec::new();
        for (dependent, dependent_record, _) in self.dependents(&thing).await? {
            let serves = self
                .store
                .connections_from(ConnectionKind::PluginPowers, &dependent.id)
                .await?;
            if serves
                .iter()
                .any(|s| agents.iter().any(|a| a.id == s.to_id))
            {
                blocking.push(dependent_record.plugin);
            }
        }
        if !blocking.is_empty() {
            return Err(LifecycleError::HasDependents {
                plugin: plugin.into(),
                org: org.into(),
                dependents: blocking,
                what: "deactivate",
            });
        }
        if agents.len() == powers.len() {
            record.state = record
                .state
                .next(Step::Deactivate)?
                .next(Step::Deactivated)?;
        }
        let mut links = Vec::new();
        for agent in &agents {
            links.push(Change::Disconnect {
                kind: ConnectionKind::PluginPowers,
                from: thing.id.clone(),
                to: Some(agent.id.clone()),
            });
            links.push(Change::Disconnect {
                kind: ConnectionKind::PluginUses,
                from: agent.id.clone(),
                to: Some(thing.id.clone()),
            });
        }
        let names: Vec<&str> = agents.iter().map(|a| a.name.as_str()).collect();
        let event = self.event(
            EventType::PluginDeactivated,
            &group,
            &InstallOptions::by(actor),
            json!({ "plugin": plugin, "agents": names, "state": record.state }),
        );
        self.save_with(&thing.id, &record, event, &links).await?;
        Ok(record)
    }
}
