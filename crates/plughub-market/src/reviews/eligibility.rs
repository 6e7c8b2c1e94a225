//! Who may review a plugin: members of an organisation that has it installed, or had it within the last
//! 90 days. Read from the store: the organisation's `plugin_instance` thing, and when it is archived
//! (uninstalled), its latest `plugin_uninstalled` event. Only an install that finished counts: an
//! instance still installing, or whose install failed, gives no right to review, and neither does the
//! uninstall of one that never finished installing.

use super::{ReviewError, Reviews};
use plughub_domain::lifecycle::State;
use plughub_domain::{EventType, Group, ThingKind};
use plughub_store::EventFilter;

/// How long after an uninstall its organisation's members may still review the plugin.
pub const INSTALL_WINDOW_DAYS: i64 = 90;

/// The status of an instance's thing once uninstalled (`State::Uninstalled.thing_status()`).
const UNINSTALLED: &str = "archived";

impl Reviews {
    /// The version of `plugin` that `group` has installed, or had when it uninstalled it within the
    /// window; `None` when it gives no right to review.
    pub async fn version_used(
        &self,
        group: &Group,
        plugin: &str,
    ) -> Result<Option<String>, ReviewError> {
        let Some(instance) = self
            .store
            .thing_by_name(ThingKind::PluginInstance, Some(&group.id), plugin)
            .await?
        else {
            return Ok(None);
        };
        let installed = instance
            .properties
            .get("version")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        if instance.status != UNINSTALLED {
            let state = instance
                .properties
                .get("state")
                .and_then(|s| serde_json::from_value::<State>(s.clone()).ok());
            return Ok(if state.is_some_and(is_installed) {
                installed
            } else {
                None
            });
        }
        let uninstalls = self
            .store
            .events(&EventFilter {
                event_type: Some(EventType::PluginUninstalled),
                target: Some(instance.id.clone()),
                newest_first: true,
                limit: Some(1),
                ..Default::default()
            })
            .await?;
        let Some(last) = uninstalls.first() else {
            return Ok(None);
        };
        let cutoff = plughub_store::format_time(
            time::OffsetDateTime::now_utc() - time::Duration::days(INSTALL_WINDOW_DAYS),
        );
        if last.time < cutoff {
            return Ok(None);
        }
        // The instance had been installed before that uninstall: an install that finished records a
        // `plugin_installed` event in its `installed` phase (one that failed, only `started`).
        let installs = self
            .store
            .events(&EventFilter {
                event_type: Some(EventType::PluginInstalled),
                target: Some(instance.id.clone()),
                ..Default::default()
            })
            .await?;
        if !installs
            .iter()
            .any(|e| e.metadata["phase"] == "installed" && e.time <= last.time)
        {
            return Ok(None);
        }
        let version = last
            .metadata
            .get("version")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        Ok(version.or(installed))
    }
}

/// Whether an instance in this state has its plugin installed (not still installing, nor failed to,
/// nor gone).
fn is_installed(state: State) -> bool {
    !matches!(
        state,
        State::Discovered | State::Installing | State::Failed | State::Uninstalled
    )
}
