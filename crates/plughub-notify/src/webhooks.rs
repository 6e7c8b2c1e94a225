//! An organisation's webhooks: each a `webhook` thing of the organisation (its URL and the kinds of
//! event it is sent), made and deleted with their events; its signing secret is kept apart and shown
//! once, when it is made.

use crate::NotifyError;
use crate::kinds::NotifyKind;
use crate::notifier::Notifier;
use crate::signature::new_secret;
use crate::target::Target;
use plughub_domain::{EventType, NewEvent, Thing, ThingKind};
use plughub_secrets::{KeyRing, Secret};
use plughub_store::{NewThing, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Statuses of a webhook thing.
pub const ACTIVE: &str = "active";
pub const DELETED: &str = "deleted";

/// A webhook as the API shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// The kinds of event it is sent.
    pub events: Vec<NotifyKind>,
    pub created_at: String,
    /// Who made it (an email, or a token's owner).
    pub created_by: String,
}

/// A webhook just made, with its secret: shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The secret deliveries are signed with (HMAC-SHA256; see docs/webhooks.md). Shown only now.
    pub secret: String,
}

impl Webhook {
    pub fn of(thing: &Thing) -> Option<Webhook> {
        let p = &thing.properties;
        Some(Webhook {
            id: thing.id.clone(),
            url: p["url"].as_str()?.to_string(),
            events: p["events"]
                .as_array()?
                .iter()
                .filter_map(|e| e.as_str().and_then(NotifyKind::parse))
                .collect(),
            created_at: thing.created_at.clone(),
            created_by: p["created_by"].as_str().unwrap_or("").to_string(),
        })
    }

    pub fn wants(&self, kind: NotifyKind) -> bool {
        self.events.contains(&kind)
    }
}

/// The live webhooks of a group.
pub async fn list(store: &Store, group_id: &str) -> Result<Vec<Webhook>, NotifyError> {
    Ok(store
        .things(ThingKind::Webhook, Some(group_id))
        .await?
        .iter()
        .filter(|t| t.status == ACTIVE)
        .filter_map(Webhook::of)
        .collect())
}

/// Makes a webhook for a group: the URL must pass the address policy now (and does again at each
/// delivery), the events must be some of the four kinds.
/// `notifier` gives the address policy and the key ring the secret is sealed with (none on a server
/// that serves the catalogue only: `NoKeyRing`, and nothing is made).
pub async fn create(
    notifier: &Notifier,
    group_id: &str,
    url: &str,
    events: &[NotifyKind],
    actor: &str,
) -> Result<CreatedWebhook, NotifyError> {
    let keys = notifier.keys().ok_or(NotifyError::NoKeyRing)?;
    let (store, policy, resolver) = (notifier.store(), &notifier.policy, notifier.resolver());
    let target = Target::parse(url)?;
    let mut kinds: Vec<NotifyKind> = Vec::new();
    for kind in events {
        if !kinds.contains(kind) {
            kinds.push(*kind);
        }
    }
    if kinds.is_empty() {
        return Err(NotifyError::Invalid(format!(
            "choose at least one event among {}",
            NotifyKind::ALL.map(NotifyKind::as_str).join(", ")
        )));
    }
    target.addresses(policy, resolver).await?;
    let url = target.url.to_string();
    if list(store, group_id).await?.iter().any(|w| w.url == url) {
        return Err(NotifyError::Conflict(format!(
            "a webhook to {url} exists already: delete it first to change its events"
        )));
    }
    let secret = new_secret();
    let kind_names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let properties = json!({ "url": url, "events": kind_names, "created_by": actor });
    // Names are unique in a group and URLs may come back after a delete: a random one, never shown.
    let name = format!("webhook-{}", &new_secret()["whsec_".len()..][..32]);
    let mut tx = store.begin().await?;
    let id = tx
        .insert_thing(
            &NewThing {
                kind: ThingKind::Webhook,
                name: &name,
                group_id: Some(group_id),
                status: ACTIVE,
                properties: &properties.to_string(),
            },
            NewEvent {
                event_type: EventType::WebhookChanged,
                actor: actor.to_string(),
                target: None,
                group_id: Some(group_id.to_string()),
                metadata: json!({ "url": url, "events": kind_names, "change": "created" }),
            },
        )
        .await?;
    let sealed = keys.seal(&secret_place(&id), &Secret::new(secret.as_str()));
    tx.put_sealed_webhook_secret(&id, &sealed).await?;
    tx.commit().await?;
    let thing = store
        .thing(&id)
        .await?
        .ok_or_else(|| NotifyError::NotFound(format!("webhook {id} vanished")))?;
    let webhook = Webhook::of(&thing)
        .ok_or_else(|| NotifyError::NotFound(format!("webhook {id} is unreadable")))?;
    Ok(CreatedWebhook { webhook, secret })
}

/// Where a webhook's secret is sealed for: a sealed value opens only for its own webhook.
pub fn secret_place(webhook_id: &str) -> String {
    format!("webhook/{webhook_id}")
}

/// Opens a webhook's sealed secret, while the webhook exists.
pub async fn open_secret(
    store: &Store,
    keys: &KeyRing,
    webhook_id: &str,
) -> Result<Option<Secret>, NotifyError> {
    let Some(sealed) = store.sealed_webhook_secret(webhook_id).await? else {
        return Ok(None);
    };
    Ok(Some(keys.open(&secret_place(webhook_id), &sealed)?))
}

/// Reseals every webhook secret sealed with an older key under the ring's active key (after
/// `KeyRing::rotate`, before old keys are retired), each with a `webhook_changed` event saying so.
/// Returns how many were resealed. Safe to repeat: a secret sealed with the active key is left alone.
pub async fn reseal_secrets(
    store: &Store,
    keys: &KeyRing,
    actor: &str,
) -> Result<usize, NotifyError> {
    let mut resealed = 0;
    for (id, sealed) in store.sealed_webhook_secrets().await? {
        if !keys.is_stale(&sealed) {
            continue;
        }
        let place = secret_place(&id);
        let again = keys.seal(&place, &keys.open(&place, &sealed)?);
        let group_id = store.thing(&id).await?.and_then(|t| t.group_id);
        let mut tx = store.begin().await?;
        if tx.reseal_webhook_secret(&id, &again).await? {
            tx.append_event(&NewEvent {
                event_type: EventType::WebhookChanged,
                actor: actor.to_string(),
                target: Some(id.clone()),
                group_id,
                metadata: json!({ "change": "resealed", "key": keys.active_key_id() }),
            })
            .await?;
            resealed += 1;
        }
        tx.commit().await?;
    }
    Ok(resealed)
}

/// A live webhook of the group by id.
pub async fn find(store: &Store, group_id: &str, id: &str) -> Result<Webhook, NotifyError> {
    find_in(store, group_id, id, true).await
}

/// A webhook of the group by id, deleted or not: a deleted webhook's delivery log stays readable.
pub async fn find_with_log(
    store: &Store,
    group_id: &str,
    id: &str,
) -> Result<Webhook, NotifyError> {
    find_in(store, group_id, id, false).await
}

async fn find_in(
    store: &Store,
    group_id: &str,
    id: &str,
    live_only: bool,
) -> Result<Webhook, NotifyError> {
    let not_found = || {
        NotifyError::NotFound(format!(
            "no webhook {id} in this organisation: list them with GET /api/orgs/{{org}}/webhooks"
        ))
    };
    let thing = store.thing(id).await?.ok_or_else(not_found)?;
    if thing.kind != ThingKind::Webhook
        || thing.group_id.as_deref() != Some(group_id)
        || (live_only && thing.status != ACTIVE)
    {
        return Err(not_found());
    }
    Webhook::of(&thing).ok_or_else(not_found)
}

/// Deletes a webhook: no more deliveries (those pending end as failed), its secret forgotten, its
/// delivery log kept.
pub async fn delete(
    store: &Store,
    group_id: &str,
    id: &str,
    actor: &str,
) -> Result<(), NotifyError> {
    let webhook = find(store, group_id, id).await?;
    let thing = store
        .thing(id)
        .await?
        .ok_or_else(|| NotifyError::NotFound(format!("no webhook {id}")))?;
    let mut tx = store.begin().await?;
    tx.update_thing(
        id,
        DELETED,
        &thing.properties.to_string(),
        NewEvent {
            event_type: EventType::WebhookDeleted,
            actor: actor.to_string(),
            target: None,
            group_id: Some(group_id.to_string()),
            metadata: json!({ "url": webhook.url }),
        },
    )
    .await?;
    tx.retire_webhook(id).await?;
    tx.commit().await?;
    Ok(())
}
