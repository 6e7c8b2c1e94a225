//! What each permission lets a plugin do, said for the people who grant it.

use plughub_domain::permissions::Permissions;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct PermissionLine {
    /// As the API names it (`network.external`).
    pub key: &'static str,
    pub label: &'static str,
    pub explanation: &'static str,
    /// The domains or secrets it names, if any.
    pub items: Vec<String>,
}

/// The permissions of `p`, each explained.
pub fn explain(p: &Permissions) -> Vec<PermissionLine> {
    let mut lines = Vec::new();
    if let Some(domains) = &p.network {
        lines.push(PermissionLine {
            key: "network.external",
            label: "Reach the network",
            explanation: "It may send requests to these domains, and to nothing else. Without it the plugin has no network at all.",
            items: if domains.is_empty() {
                vec!["(no domain named: the grant must name them)".into()]
            } else {
                domains.iter().cloned().collect()
            },
        });
    }
    if let Some(programs) = &p.programs {
        lines.push(PermissionLine {
            key: "process.spawn",
            label: "Run programs",
            explanation: "It may execute these programs, and no other, inside its sandbox (no network but its granted domains, its own files only). A name is fixed to the program it names on this server when granted.",
            items: if programs.is_empty() {
                vec!["(no program named: the grant must name them)".into()]
            } else {
                programs.iter().cloned().collect()
            },
        });
    }
    if !p.secrets.is_empty() {
        lines.push(PermissionLine {
            key: "secrets.access",
            label: "Read secrets",
            explanation: "getSetting gives it these secret settings (sealed at rest, never shown back). Without it they read as unset.",
            items: p.secrets.iter().cloned().collect(),
        });
    }
    let flags = [
        (
            p.storage_read,
            "storage.read",
            "Read its storage",
            "It may read the files and cache entries it stored for this organisation.",
        ),
        (
            p.storage_write,
            "storage.write",
            "Write its storage",
            "It may store files and cache entries for this organisation, within the plan's quota.",
        ),
        (
            p.events_publish,
            "events.publish",
            "Publish events",
            "It may emit events that other plugins of the organisation's agents receive.",
        ),
        (
            p.knowledge_query,
            "knowledge.query",
            "Query knowledge",
            "It may search the memories and documents of the agents it serves.",
        ),
        (
            p.native_addons,
            "native.addons",
            "Load native code",
            "It may load compiled addons (.node files) from its package. They run inside its sandbox, which still confines them: its own files only, no network but its granted domains, its memory and process limits.",
        ),
    ];
    for (asked, key, label, explanation) in flags {
        if asked {
            lines.push(PermissionLine {
                key,
                label,
                explanation,
                items: vec![],
            });
        }
    }
    lines
}
