//! What an organisation is told of: the four kinds of event a notification or a webhook carries, read
//! from the event log (so they come from whichever part of plughub recorded them).

use plughub_domain::{EventType, StoredEvent};
use serde::{Deserialize, Serialize};

/// A kind of event people and webhooks are told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    /// A newer version of an installed plugin is in the registry.
    UpdateAvailable,
    /// An installed plugin was suspended after repeated errors.
    PluginSuspended,
    /// An install failed.
    InstallFailed,
    /// A publisher answered a review.
    ReviewAnswered,
}

impl NotifyKind {
    pub const ALL: [NotifyKind; 4] = [
        NotifyKind::UpdateAvailable,
        NotifyKind::PluginSuspended,
        NotifyKind::InstallFailed,
        NotifyKind::ReviewAnswered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyKind::UpdateAvailable => "update_available",
            NotifyKind::PluginSuspended => "plugin_suspended",
            NotifyKind::InstallFailed => "install_failed",
            NotifyKind::ReviewAnswered => "review_answered",
        }
    }

    pub fn parse(text: &str) -> Option<NotifyKind> {
        NotifyKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The kind an event is, if people are told of it.
    pub fn of(event: &StoredEvent) -> Option<NotifyKind> {
        match event.event_type {
            EventType::PluginUpdateAvailable => Some(NotifyKind::UpdateAvailable),
            EventType::ReviewAnswered => Some(NotifyKind::ReviewAnswered),
            EventType::PluginErrorOccurred if event.metadata["suspended"] == true => {
                Some(NotifyKind::PluginSuspended)
            }
            EventType::PluginErrorOccurred if event.metadata["operation"] == "install" => {
                Some(NotifyKind::InstallFailed)
            }
            _ => None,
        }
    }
}

/// The plugin an event is about, as its metadata names it.
pub fn plugin_of(event: &StoredEvent) -> Option<&str> {
    event.metadata["plugin"].as_str()
}

/// One line that says what happened, for a notification.
pub fn summary(kind: NotifyKind, event: &StoredEvent) -> String {
    let plugin = plugin_of(event).unwrap_or("a plugin");
    let text = |key: &str| event.metadata[key].as_str().unwrap_or("?").to_string();
    match kind {
        NotifyKind::UpdateAvailable => format!(
            "{plugin} {} is available (installed: {})",
            text("version"),
            text("installed")
        ),
        NotifyKind::PluginSuspended => {
            format!("{plugin} was suspended after repeated errors; resume it once fixed")
        }
        NotifyKind::InstallFailed => {
            // The installer's whole message may be long (a dependency's output): its start says why.
            let error = text("error");
            let mut why: String = error.chars().take(300).collect();
            if why.len() < error.len() {
                why.push('…');
            }
            format!("Installing {plugin} {} failed: {why}", text("version"))
        }
        NotifyKind::ReviewAnswered => format!("The publisher of {plugin} answered a review"),
    }
}

/// Where in the web UI the notification leads, for the organisation named `org`.
pub fn link(kind: NotifyKind, event: &StoredEvent, org: &str) -> Option<String> {
    let org = url::form_urlencoded::byte_serialize(org.as_bytes()).collect::<String>();
    let plugin = plugin_of(event)?;
    Some(match kind {
        NotifyKind::UpdateAvailable => {
            let plugin =
                url::form_urlencoded::byte_serialize(plugin.as_bytes()).collect::<String>();
            format!("/plugins/changelog?org={org}&plugin={plugin}")
        }
        NotifyKind::PluginSuspended | NotifyKind::InstallFailed => {
            format!("/plugins/installed?org={org}")
        }
        NotifyKind::ReviewAnswered => format!("/plugins/{plugin}"),
    })
}
