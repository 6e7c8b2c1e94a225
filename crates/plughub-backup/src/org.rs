//! An organisation's data, all of it in one document, secret values left out (its deletion is the
//! store's `delete_group`).

use crate::BackupError;
use plughub_domain::{Group, StoredEvent, ThingKind};
use plughub_store::{EventFilter, Store};
use serde::Serialize;
use serde_json::Value;

const FORMAT: &str = "plughub-organisation-v1";

/// Everything an organisation has on plughub, as one document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrgExport {
    /// `plughub-organisation-v1`.
    pub format: &'static str,
    pub exported_at: String,
    pub exported_by: String,
    pub organisation: ExportedOrganisation,
    /// Who holds a role in it.
    pub members: Vec<ExportedMember>,
    /// Its installed plugins as recorded: versions, state, granted permissions, settings; secret
    /// settings by name only (`secrets` lists the names set).
    #[schema(value_type = Vec<Object>)]
    pub instances: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub agents: Vec<Value>,
    /// Its webhooks (their signing secrets are not in it).
    #[schema(value_type = Vec<Object>)]
    pub webhooks: Vec<Value>,
    /// The reviews its members wrote as its members.
    #[schema(value_type = Vec<Object>)]
    pub reviews: Vec<Value>,
    /// Its whole log, oldest first.
    pub events: Vec<StoredEvent>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedOrganisation {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub parent_id: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedMember {
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub since: String,
}

/// The export of `group`, made by `actor`.
pub async fn export_org(
    store: &Store,
    group: &Group,
    actor: &str,
) -> Result<OrgExport, BackupError> {
    let members = store
        .members(&group.id)
        .await?
        .into_iter()
        .map(|m| ExportedMember {
            email: m.email,
            display_name: m.display_name,
            role: m.role.to_string(),
            since: m.since,
        })
        .collect();
    let things = |kind| async move {
        Ok::<_, BackupError>(
            store
                .things(kind, Some(&group.id))
                .await?
                .into_iter()
                .map(|t| {
                    let mut properties = t.properties;
                    without_secret_values(&mut properties);
                    serde_json::json!({
                        "id": t.id,
                        "name": t.name,
                        "status": t.status,
                        "created_at": t.created_at,
                        "updated_at": t.updated_at,
                        "properties": properties,
                    })
                })
                .collect::<Vec<_>>(),
        )
    };
    let reviews = store
        .things(ThingKind::PluginReview, None)
        .await?
        .into_iter()
        .filter(|t| t.properties["org"] == group.id.as_str())
        .map(|t| serde_json::json!({ "id": t.id, "status": t.status, "properties": t.properties }))
        .collect();
    let events = store
        .events(&EventFilter {
            group_id: Some(group.id.clone()),
            ..Default::default()
        })
        .await?;
    Ok(OrgExport {
        format: FORMAT,
        exported_at: plughub_store::now_rfc3339(),
        exported_by: actor.to_string(),
        organisation: ExportedOrganisation {
            id: group.id.clone(),
            name: group.name.clone(),
            plan: group.plan.to_string(),
            parent_id: group.parent_id.clone(),
            created_at: group.created_at.clone(),
        },
        members,
        instances: things(ThingKind::PluginInstance).await?,
        agents: things(ThingKind::Agent).await?,
        webhooks: things(ThingKind::Webhook).await?,
        reviews,
        events,
    })
}

/// Sealed secret values become the list of their names.
fn without_secret_values(properties: &mut Value) {
    if let Some(secrets) = properties.get_mut("secrets")
        && let Some(map) = secrets.as_object()
    {
        let names: Vec<Value> = map.keys().map(|k| Value::String(k.clone())).collect();
        *secrets = Value::Array(names);
    }
}
