//! The latency of the store's statements, for `GET /metrics`. Every statement goes through one of two
//! executors, the pool or a connection already held (a transaction's, or one taken for an event batch);
//! both are wrapped in `Timed`, which observes the time from the call to the end of the answer. On the
//! pool that includes the wait for one of its connections (what a busy store costs its callers). Labelled
//! by the statement's first word only: the label's values are a fixed few, never the SQL. An `Instant`
//! and a histogram observation per statement (about 0.1 µs): nothing next to the round trip itself.

use futures::Stream;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::{Any, Describe, Either, Execute, Executor};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// What a statement does, by its first word; `begin` and `commit` time a transaction's ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Select,
    Insert,
    Update,
    Delete,
    Other,
    Begin,
    Commit,
    Rollback,
}

const KINDS: [Kind; 8] = [
    Kind::Select,
    Kind::Insert,
    Kind::Update,
    Kind::Delete,
    Kind::Other,
    Kind::Begin,
    Kind::Commit,
    Kind::Rollback,
];

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Select => "select",
            Kind::Insert => "insert",
            Kind::Update => "update",
            Kind::Delete => "delete",
            Kind::Other => "other",
            Kind::Begin => "begin",
            Kind::Commit => "commit",
            Kind::Rollback => "rollback",
        }
    }

    fn of(sql: &str) -> Kind {
        let word = sql
            .trim_start()
            .split(|c: char| c.is_ascii_whitespace() || c == '(')
            .next()
            .unwrap_or_default();
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        if is("select") {
            Kind::Select
        } else if is("insert") {
            Kind::Insert
        } else if is("update") {
            Kind::Update
        } else if is("delete") {
            Kind::Delete
        } else {
            Kind::Other
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatementLabels {
    statement: &'static str,
}

/// The store's series: statement latency by kind. Shared by every clone of a `Store`.
#[derive(Debug)]
pub struct StoreMetrics {
    family: Family<StatementLabels, Histogram>,
    /// The family's histograms, made once: a statement observes without a lookup by label.
    by_kind: [Histogram; KINDS.len()],
}

impl Default for StoreMetrics {
    fn default() -> StoreMetrics {
        let family = Family::<StatementLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5, 10.0,
            ])
        });
        let by_kind = KINDS.map(|kind| {
            family
                .get_or_create(&StatementLabels {
                    statement: kind.as_str(),
                })
                .clone()
        });
        StoreMetrics { family, by_kind }
    }
}

impl StoreMetrics {
    /// Adds the store's series to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "store_statement_duration_seconds",
            "Time of the store's statements, from the call to the end of the answer (on the pool, the \
             wait for a connection included), by the statement's first word; begin, commit and \
             rollback time a transaction's ends",
            self.family.clone(),
        );
    }

    pub(crate) fn observe(&self, kind: Kind, since: Instant) {
        self.by_kind[kind as usize].observe(since.elapsed().as_secs_f64());
    }
}

/// An executor whose statements are timed into `metrics`.
#[derive(Debug)]
pub(crate) struct Timed<'m, E> {
    pub inner: E,
    pub metrics: &'m StoreMetrics,
}

/// Observes when dropped: a statement's stream ends when it is read to the end, or given up.
struct Timer<'m> {
    metrics: &'m StoreMetrics,
    kind: Kind,
    started: Instant,
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        self.metrics.observe(self.kind, self.started);
    }
}

struct TimedStream<'e, T> {
    inner: BoxStream<'e, T>,
    _timer: Timer<'e>,
}

impl<T> Stream for TimedStream<'_, T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().inner.as_mut().poll_next(cx)
    }
}

impl<'c, 'm: 'c, X> Executor<'c> for Timed<'m, X>
where
    X: Executor<'c, Database = Any>,
{
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let timer = Timer {
            metrics: self.metrics,
            kind: Kind::of(query.sql()),
            started: Instant::now(),
        };
        Box::pin(TimedStream {
            inner: self.inner.fetch_many(query),
            _timer: timer,
        })
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let (metrics, kind, started) = (self.metrics, Kind::of(query.sql()), Instant::now());
        let answer = self.inner.fetch_optional(query);
        Box::pin(async move {
            let answer = answer.await;
            metrics.observe(kind, started);
            answer
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.inner.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.inner.describe(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn statements_are_known_by_their_first_word() {
        assert_eq!(Kind::of("SELECT 1"), Kind::Select);
        assert_eq!(Kind::of("  select\n*"), Kind::Select);
        assert_eq!(Kind::of("INSERT INTO t VALUES ($1)"), Kind::Insert);
        assert_eq!(Kind::of("update t SET a = 1"), Kind::Update);
        assert_eq!(Kind::of("DELETE FROM t"), Kind::Delete);
        assert_eq!(
            Kind::of("WITH x AS (SELECT 1) SELECT * FROM x"),
            Kind::Other
        );
        assert_eq!(Kind::of("(SELECT 1)"), Kind::Other);
        assert_eq!(Kind::of(""), Kind::Other);
    }
}
