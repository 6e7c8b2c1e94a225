//! What a worker's network requests leave: each request through the egress proxy recorded as a
//! `plugin_network_request` event and counted in the metrics, and the plugin's rate counted across all
//! its workers on every server.

use crate::Runner;
use plughub_domain::{EventType, NewEvent};
use plughub_engine::{Admission, AdmitFuture, EgressHooks, EgressRecord};
use plughub_lifecycle::ExecutionContext;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

impl Runner {
    /// Records each request through the egress proxy as a `plugin_network_request` event: plugin, host,
    /// method, status, bytes, and why it was refused. The proxy reports synchronously; a task writes.
    pub(crate) fn egress_events(
        &self,
        context: &ExecutionContext,
        agent: &str,
    ) -> (EgressHooks, NetworkLog) {
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
                if let Err(e) = store.append_event(&event).await {
                    tracing::warn!(error = %e, "could not record a network request");
                }
                if r.admitted {
                    // Counted by its event from now on.
                    let _ = in_flight
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
                }
            }
        });
        let (metrics, counted_as) = (self.metrics().clone(), context.plugin.clone());
        let hooks = EgressHooks {
            report: Arc::new(move |r: &EgressRecord| {
                // Counted here, as the proxy reports: a request the bounded queue drops is still seen.
                metrics.egress(&counted_as, r);
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
