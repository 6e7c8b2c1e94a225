//! Server-sent events: an execution's callbacks as they come, then its result; and an organisation's
//! executions as any node records them. Every stream checks its caller's leave again while it is open
//! (`Access::stream_recheck`) and ends, with an `error` event saying why, once it is gone: a revoked
//! token or a removed role stops an open stream.

use crate::auth::Grant;
use crate::error::ApiError;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use plughub_store::{EventCursor, EventFilter, Store};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often the live log asks the store for new executions: the store is shared by every node, so
/// asking it is what makes another node's executions show.
pub const LIVE_POLL: Duration = Duration::from_millis(500);

/// Whether the client asked for an event stream rather than one JSON answer.
pub fn wants_events(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

/// The events of `rx` until it ends, or until `grant` no longer holds: then one `error` event (the
/// refusal's body) and the end. Dropping `rx` tells the producer that nobody listens any more.
fn stream_of(
    rx: mpsc::Receiver<Event>,
    grant: Grant,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let every = grant.recheck_every();
    let checks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    futures::stream::unfold(Some((rx, grant, checks)), |open| async move {
        let (mut rx, grant, mut checks) = open?;
        loop {
            tokio::select! {
                event = rx.recv() => return event.map(|e| (Ok(e), Some((rx, grant, checks)))),
                _ = checks.tick() => {
                    if let Err(refused) = grant.still_holds().await {
                        return Some((Ok(json_event("error", &refused.body())), None));
                    }
                }
            }
        }
    })
}

fn json_event(name: &str, data: &impl serde::Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event(name))
}

/// `callback` events while an action runs and `log` events as its worker logs, then one `result` (the recorded run) or one `error` (the
/// API's error body). The execution goes on to its end and is recorded even if the client leaves or
/// its leave ends the stream.
pub fn run_streamed(
    runner: plughub_runner::Runner,
    mut request: plughub_runner::ExecutionRequest,
    grant: Grant,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (events, rx) = mpsc::channel::<Event>(64);
    // Its log lines keep the request's id.
    tokio::spawn(tracing::Instrument::in_current_span(async move {
        let (callbacks, mut incoming) = mpsc::unbounded_channel();
        let forward = {
            let events = events.clone();
            tokio::spawn(async move {
                while let Some(callback) = incoming.recv().await {
                    let _ = events.send(json_event("callback", &callback)).await;
                }
            })
        };
        // Bounded, as the worker's own watch is: a chatty plugin and a slow reader lose lines, not memory.
        let (log, mut logged) = mpsc::channel::<String>(256);
        let forward_log = {
            let events = events.clone();
            tokio::spawn(async move {
                while let Some(line) = logged.recv().await {
                    let _ = events.send(json_event("log", &line)).await;
                }
            })
        };
        request.stream = Some(callbacks);
        request.log_stream = Some(log);
        let outcome = runner.execute(request).await;
        let _ = forward.await;
        let _ = forward_log.await;
        let last = match outcome {
            Ok(ran) => json_event("result", &ran),
            Err(e) => json_event("error", &ApiError::from(e).body()),
        };
        let _ = events.send(last).await;
    }));
    Sse::new(stream_of(rx, grant)).keep_alive(KeepAlive::default())
}

/// An `execution` event for each execution of the group recorded from now on, by any node; the stream
/// ends when the client leaves, its leave ends, or the server shuts down (`closing`).
pub fn executions_of(
    store: Store,
    group_id: String,
    grant: Grant,
    mut closing: tokio::sync::watch::Receiver<bool>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (events, rx) = mpsc::channel::<Event>(64);
    tokio::spawn(async move {
        // On PostgreSQL the store says when the group's log grew, on whichever server; on SQLite (one
        // server, and commands writing beside it) it is read every `LIVE_POLL`. Heard from before the
        // cursor is read, so that nothing falls between.
        let mut changes = store.changes();
        let newest = EventFilter {
            group_id: Some(group_id.clone()),
            ..Default::default()
        };
        // Only what comes after the stream opened.
        let mut cursor = match store.last_event_seq(&newest).await {
            Ok(seq) => EventCursor::after(seq),
            Err(e) => {
                let _ = events
                    .send(json_event("error", &ApiError::from(e).body()))
                    .await;
                return;
            }
        };
        loop {
            let news = async {
                match changes.as_mut() {
                    Some(changes) => loop {
                        match changes.recv().await {
                            Ok(plughub_store::Change::Appended { group, .. })
                                if group.as_deref() != Some(group_id.as_str()) => {}
                            // This group's, or a resync: what was missed is read from the cursor.
                            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                                break;
                            }
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                std::future::pending::<()>().await
                            }
                        }
                    },
                    None => tokio::time::sleep(LIVE_POLL).await,
                }
            };
            tokio::select! {
                _ = events.closed() => return,
                Ok(_) = closing.wait_for(|c| *c) => return,
                () = news => {}
            }
            let filter = EventFilter {
                after_seq: Some(cursor.read_from()),
                ..newest.clone()
            };
            let Ok(read) = store.events(&filter).await else {
                continue;
            };
            for event in cursor.fresh(read) {
                if event.is_execution()
                    && events.send(json_event("execution", &event)).await.is_err()
                {
                    return;
                }
            }
        }
    });
    Sse::new(stream_of(rx, grant)).keep_alive(KeepAlive::default())
}
