//! What a plugin has as it runs for an agent: its true manifest, the components its `init` registered
//! included, read from the worker that serves the agent (started, and kept warm, when none runs yet).

use crate::warm::MIN_TIMEOUT;
use crate::{RunError, Runner};
use plughub_protocol::Manifest;

impl Runner {
    /// The version and manifest of `plugin` of `group` as it runs for `agent`. The worker it starts is
    /// the one the agent's next execution gets: an agent asking what it can use warms what it will use.
    pub async fn manifest_for(
        &self,
        group: plughub_domain::Group,
        plugin: &str,
        agent: &str,
    ) -> Result<(String, Manifest), RunError> {
        let context = self
            .installer()
            .execution_context_in(group, plugin, self.keys())
            .await?;
        let timeout = self.policy().timeout(context.plan, None).max(MIN_TIMEOUT);
        let launched = self.warm_worker(&context, agent, timeout).await?;
        // What `init` registered may be built from the settings: the secrets are cut out of it, as out
        // of everything else the plugin says.
        let said = serde_json::to_value(launched.plugin.manifest()).unwrap_or_default();
        let manifest = serde_json::from_value(context.redact_value(&said)).unwrap_or_default();
        Ok((context.version.clone(), manifest))
    }
}
