//! The notifier: follows the event log and tells each organisation's members (notifications in the app)
//! and its webhooks (a queued delivery each) of what concerns them; then sends the deliveries that are
//! due, signed, each attempt logged, retried with exponential backoff for up to a day. Its place in the
//! log and its queue are in the store, so a restart (or another server on the same store) goes on
//! where it was; every step is idempotent (one notification per person per event, one delivery per
//! webhook per event), so reading an event twice tells nobody twice.

use crate::NotifyError;
use crate::kinds::{self, NotifyKind};
use crate::signature;
use crate::target::{Target, WebhookPolicy};
use crate::webhooks::{self, Webhook};
use plughub_domain::StoredEvent;
use plughub_egress::{Resolver, SystemResolver};
use plughub_secrets::KeyRing;
use plughub_store::{
    AttemptRecord, DeliveryOutcome, DeliveryRecord, EventCursor, NewNotification, Store,
    format_time,
};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Mutex;

/// The name of the notifier's place in the event log.
const CURSOR: &str = "notifier";
/// Where the log ended when notifications came (migration 0014): what is at or below it is history,
/// never told of.
const FLOOR: &str = "notifier_floor";
/// Events read at once.
const PAGE: i64 = 500;
/// Deliveries sent in one round.
const DELIVERIES_PER_ROUND: i64 = 50;

/// How deliveries are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The wait after the first failure; each next one doubles, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// No attempt is made once this long has passed since the event.
    pub give_up_after: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// 30 s, 1 min, 2 min, … up to an hour between attempts, for a day: about 30 attempts.
    fn default() -> RetryPolicy {
        RetryPolicy {
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failures` failed attempts (1 for the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// The notifier of one server.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    pub policy: WebhookPolicy,
    pub retry: RetryPolicy,
    resolver: Arc<dyn Resolver>,
    /// Where this server has read the log (events seen already are skipped; see `EventCursor`).
    cursor: Arc<Mutex<Option<EventCursor>>>,
    /// The key ring webhook secrets are sealed with: the one the server's plugins' secrets are sealed
    /// with. `None` on a server that serves the catalogue only: it makes no webhooks and sends no
    /// deliveries (a server that runs plugins, on the same store, sends them).
    keys: Option<Arc<KeyRing>>,
}

impl Notifier {
    pub fn new(store: Store) -> Notifier {
        Notifier {
            store,
            policy: WebhookPolicy::default(),
            retry: RetryPolicy::default(),
            resolver: Arc::new(SystemResolver),
            cursor: Default::default(),
            keys: None,
        }
    }

    /// The same, sealing and opening webhook secrets with `keys`.
    pub fn with_keys(mut self, keys: Arc<KeyRing>) -> Notifier {
        self.keys = Some(keys);
        self
    }

    /// The key ring webhook secrets are sealed with, when this server has one.
    pub fn keys(&self) -> Option<&KeyRing> {
        self.keys.as_deref()
    }

    pub fn with_policy(mut self, policy: WebhookPolicy) -> Notifier {
        self.policy = policy;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Notifier {
        self.retry = retry;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn resolver(&self) -> &dyn Resolver {
        self.resolver.as_ref()
    }

    /// One round: tell of the new events, then send what is due.
    pub async fn run_once(&self) -> Result<(), NotifyError> {
        self.dispatch().await?;
        self.deliver_due().await?;
        Ok(())
    }

    /// Runs a round every `every`, for as long as the runtime runs.
    pub fn spawn(self, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(e) = self.run_once().await {
                    tracing::warn!(error = %e, "notifier round failed; will try again");
                }
            }
        })
    }

    /// Reads the events after the notifier's place and makes their notifications and deliveries.
    /// Returns how many events were told of.
    pub async fn dispatch(&self) -> Result<usize, NotifyError> {
        let mut guard = self.cursor.lock().await;
        if guard.is_none() {
            // Back by the look-back window: what another server's late commit put below the place.
            let saved = self.store.notify_cursor(CURSOR).await?;
            let floor = self.store.notify_cursor(FLOOR).await?;
            *guard = Some(EventCursor::after(
                (saved - EventCursor::LOOK_BACK).max(floor),
            ));
        }
        let cursor = guard.as_mut().expect("set above");
        let result = self.dispatch_from(cursor).await;
        if result.is_err() {
            // The cursor marks a page seen before its events are told: forget it, so the next round
            // reads again from the saved place (telling is idempotent: notifications and deliveries
            // are unique per event).
            *guard = None;
        }
        result
    }

    async fn dispatch_from(&self, cursor: &mut EventCursor) -> Result<usize, NotifyError> {
        let mut told = 0;
        let mut groups: Option<HashMap<String, String>> = None;
        let mut from = cursor.read_from();
        loop {
            let read = self.store.notable_events(from, PAGE).await?;
            let full = read.len() as i64 == PAGE;
            let last = read.last().map(|e| e.seq);
            let fresh = cursor.fresh(read);
            if !fresh.is_empty() && groups.is_none() {
                groups = Some(
                    self.store
                        .groups()
                        .await?
                        .into_iter()
                        .map(|g| (g.id, g.name))
                        .collect(),
                );
            }
            for event in &fresh {
                let names = groups.as_ref().expect("read above");
                if self.tell(event, names).await? {
                    told += 1;
                }
            }
            match last {
                Some(last) if full => {
                    self.store.set_notify_cursor(CURSOR, last).await?;
                    from = last;
                }
                Some(last) => {
                    self.store.set_notify_cursor(CURSOR, last).await?;
                    break;
                }
                None => break,
            }
        }
        Ok(told)
    }

    /// Makes the notifications and deliveries of one event; false when it concerns nobody.
    async fn tell(
        &self,
        event: &StoredEvent,
        groups: &HashMap<String, String>,
    ) -> Result<bool, NotifyError> {
        let Some(kind) = NotifyKind::of(event) else {
            return Ok(false);
        };
        let Some((group_id, event)) = self.concerned(kind, event).await? else {
            return Ok(false);
        };
        let (group_id, event) = (group_id.as_str(), &event);
        let org = groups.get(group_id).map(String::as_str).unwrap_or("");
        let summary = kinds::summary(kind, event);
        let link = kinds::link(kind, event, org);
        for member in self.store.members(group_id).await? {
            // Customers are members without a view of the organisation: its news is not theirs.
            if !plughub_domain::access::role_allows(
                member.role,
                plughub_domain::access::Action::ViewGroup,
            ) {
                continue;
            }
            self.store
                .insert_notification(&NewNotification {
                    person_id: &member.person_id,
                    group_id,
                    event_id: &event.id,
                    kind: kind.as_str(),
                    summary: &summary,
                    link: link.as_deref(),
                    created_at: &event.time,
                })
                .await?;
        }
        let payload = json!({
            "id": event.id,
            "type": kind,
            "event": event.event_type,
            "organisation": org,
            "time": event.time,
            "summary": summary,
            "data": event.metadata,
        })
        .to_string();
        for webhook in webhooks::list(&self.store, group_id).await? {
            if webhook.wants(kind) {
                self.store
                    .enqueue_delivery(&webhook.id, &event.id, kind.as_str(), &payload)
                    .await?;
            }
        }
        Ok(true)
    }

    /// The organisation an event concerns, and the event with what its notification says (the plugin).
    /// An answered review is recorded on the review (a `plugin_review` thing of no organisation): it
    /// concerns the organisation whose install qualified the review, and names the review's plugin.
    async fn concerned(
        &self,
        kind: NotifyKind,
        event: &StoredEvent,
    ) -> Result<Option<(String, StoredEvent)>, NotifyError> {
        if let Some(group_id) = &event.group_id {
            return Ok(Some((group_id.clone(), event.clone())));
        }
        if kind != NotifyKind::ReviewAnswered {
            return Ok(None);
        }
        let Some(review_id) = &event.target else {
            return Ok(None);
        };
        let Some(review) = self.store.thing(review_id).await? else {
            return Ok(None);
        };
        // A review hidden or deleted since is no news to anybody (the statuses the reviews give).
        if matches!(review.status.as_str(), "hidden" | "deleted") {
            return Ok(None);
        }
        // The organisation as the event recorded it when the review was answered, else the review's.
        let Some(org) = event.metadata["org"]
            .as_str()
            .or_else(|| review.properties["org"].as_str())
        else {
            return Ok(None);
        };
        let mut event = event.clone();
        if !event.metadata.is_object() {
            event.metadata = json!({});
        }
        event.metadata["review"] = json!(review_id);
        if event.metadata.get("plugin").is_none() {
            event.metadata["plugin"] = review.properties["plugin"].clone();
        }
        Ok(Some((org.to_string(), event)))
    }

    /// Sends the deliveries that are due; returns how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, NotifyError> {
        if self.keys.is_none() {
            // Without the key ring no delivery can be signed: leave them to a server that has it.
            return Ok(0);
        }
        let now = OffsetDateTime::now_utc();
        let due = self
            .store
            .due_deliveries(&format_time(now), DELIVERIES_PER_ROUND)
            .await?;
        let mut attempted = 0;
        for delivery in due {
            // One delivery's trouble with the store is logged; the others are still sent.
            match self.claim_and_attempt(&delivery).await {
                Ok(true) => attempted += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(delivery = %delivery.id, error = %e, "webhook delivery not recorded; it is tried again once its lease ends");
                }
            }
        }
        Ok(attempted)
    }

    /// Claims a delivery and attempts it; false when another server holds it.
    async fn claim_and_attempt(&self, delivery: &DeliveryRecord) -> Result<bool, NotifyError> {
        // The lease, from the moment of the claim: no other server sends it until this attempt (its
        // address lookup and its request, each bounded by the timeout) has had its time.
        let lease = format_time(
            OffsetDateTime::now_utc() + self.retry.timeout * 2 + Duration::from_secs(30),
        );
        if !self.store.claim_delivery(delivery, &lease).await? {
            return Ok(false);
        }
        self.attempt(delivery, &lease).await?;
        Ok(true)
    }

    /// One attempt at a delivery, logged with what became of it.
    async fn attempt(&self, delivery: &DeliveryRecord, lease: &str) -> Result<(), NotifyError> {
        let started = Instant::now();
        let attempted_at = OffsetDateTime::now_utc();
        let sent = self.send(delivery).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let (status_code, error) = match &sent {
            Ok(status) if (200..300).contains(status) => (Some(*status as i64), None),
            Ok(status) => (
                Some(*status as i64),
                Some(format!("the receiver answered {status}")),
            ),
            Err(e) => (None, Some(e.clone())),
        };
        let outcome = if error.is_none() {
            DeliveryOutcome::Delivered
        } else {
            let failures = delivery.attempts as u32 + 1;
            let next = OffsetDateTime::now_utc() + self.retry.delay(failures);
            // The retry window counts from the event's time; a time that cannot be read gives up
            // rather than retrying for ever.
            let happened = serde_json::from_str::<serde_json::Value>(&delivery.payload)
                .ok()
                .and_then(|p| p["time"].as_str().map(str::to_string))
                .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok());
            if happened.is_none_or(|at| next > at + self.retry.give_up_after)
                || self
                    .store
                    .sealed_webhook_secret(&delivery.webhook_id)
                    .await?
                    .is_none()
            {
                DeliveryOutcome::Failed
            } else {
                DeliveryOutcome::RetryAt(format_time(next))
            }
        };
        let recorded = self
            .store
            .record_attempt(
                &AttemptRecord {
                    delivery_id: delivery.id.clone(),
                    attempted_at: format_time(attempted_at),
                    status_code,
                    duration_ms,
                    error,
                },
                &outcome,
                lease,
            )
            .await?;
        if !recorded {
            tracing::warn!(delivery = %delivery.id, "webhook attempt outlived its lease; another server has the delivery, this attempt is not logged");
        }
        Ok(())
    }

    /// Sends a delivery once: the receiver's status, or why there was none.
    async fn send(&self, delivery: &DeliveryRecord) -> Result<u16, String> {
        let store_error =
            |e: plughub_store::StoreError| format!("plughub could not read the webhook: {e}");
        let keys = self
            .keys()
            .ok_or("this server holds no key ring to sign with")?;
        let secret = match webhooks::open_secret(&self.store, keys, &delivery.webhook_id).await {
            Ok(Some(secret)) => secret,
            Ok(None) => return Err("the webhook was deleted".into()),
            Err(NotifyError::Store(e)) => return Err(store_error(e)),
            Err(e) => {
                return Err(format!(
                    "plughub could not open the webhook's secret ({e}): was the key file replaced?"
                ));
            }
        };
        let webhook = self
            .store
            .thing(&delivery.webhook_id)
            .await
            .map_err(store_error)?
            .as_ref()
            .and_then(Webhook::of)
            .ok_or("the webhook was deleted")?;
        let target = Target::parse(&webhook.url).map_err(|e| e.to_string())?;
        // Checked again at each attempt: a name may resolve elsewhere now.
        let addresses = tokio::time::timeout(
            self.retry.timeout,
            target.addresses(&self.policy, self.resolver.as_ref()),
        )
        .await
        .map_err(|_| {
            format!(
                "looking up '{}' took longer than {:?}",
                target.host(),
                self.retry.timeout
            )
        })?
        .map_err(|e| e.to_string())?;
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // No proxy from the environment: the request goes to the address checked above, or not.
            .no_proxy()
            .timeout(self.retry.timeout)
            .user_agent("plughub-webhooks");
        if target.url.domain().is_some() {
            client = client.resolve_to_addrs(&target.host(), &addresses);
        }
        let client = client.build().map_err(|e| e.to_string())?;
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let body = delivery.payload.as_bytes().to_vec();
        let response = client
            .post(target.url.clone())
            .header("content-type", "application/json")
            .header(
                signature::HEADER,
                signature::sign(secret.expose(), timestamp, &body),
            )
            .header("X-Plughub-Event", &delivery.event_type)
            .header("X-Plughub-Delivery", &delivery.id)
            .body(body)
            .send()
            .await
            .map_err(|e| plughub_npm::describe_reqwest(&e))?;
        Ok(response.status().as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_ceiling() {
        let r = RetryPolicy::default();
        assert_eq!(r.delay(1), Duration::from_secs(30));
        assert_eq!(r.delay(2), Duration::from_secs(60));
        assert_eq!(r.delay(5), Duration::from_secs(480));
        assert_eq!(r.delay(40), Duration::from_secs(3600));
    }
}
