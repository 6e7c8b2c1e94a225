//! The result cache (product spec: LRU, 1,000 entries, 5 minutes), for the components a plugin declares
//! cacheable. A key names the instance (a result computed with one organisation's settings is never
//! served to another), the version, the component, its parameters (the message and the agent) and a
//! digest of what the worker runs with (settings, grants, package, plan): a change made on any server
//! misses, even before this server clears the instance's entries.

use crate::Outcome;
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept at most.
pub const CACHE_CAPACITY: usize = 1_000;
/// How long an entry serves.
pub const CACHE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub instance_id: String,
    pub version: String,
    /// `kind:name`.
    pub component: String,
    /// The agent and the message's text.
    pub params: String,
    /// What the worker would run with (see `warm::fingerprint`).
    pub fingerprint: [u8; 32],
}

pub(crate) struct ResultCache {
    entries: Mutex<LruCache<CacheKey, (Instant, Outcome)>>,
    ttl: Duration,
}

impl Default for ResultCache {
    fn default() -> ResultCache {
        ResultCache::new(CACHE_CAPACITY, CACHE_TTL)
    }
}

impl ResultCache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> ResultCache {
        ResultCache {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity.max(1)).expect("at least one"),
            )),
            ttl,
        }
    }

    /// The answer kept for `key`, if still fresh (a stale one is dropped).
    pub(crate) fn get(&self, key: &CacheKey) -> Option<Outcome> {
        let mut entries = self.entries.lock().expect("not poisoned");
        match entries.get(key) {
            Some((at, outcome)) if at.elapsed() < self.ttl => Some(outcome.clone()),
            Some(_) => {
                entries.pop(key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn put(&self, key: CacheKey, outcome: Outcome) {
        self.entries
            .lock()
            .expect("not poisoned")
            .put(key, (Instant::now(), outcome));
    }

    /// Drops every entry of an instance (after a change of it on this server).
    pub(crate) fn clear_instance(&self, instance_id: &str) {
        let mut entries = self.entries.lock().expect("not poisoned");
        let gone: Vec<CacheKey> = entries
            .iter()
            .filter(|(k, _)| k.instance_id == instance_id)
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            entries.pop(&key);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().expect("not poisoned").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(instance: &str, params: &str) -> CacheKey {
        CacheKey {
            instance_id: instance.into(),
            version: "1.0.0".into(),
            component: "provider:PRICE".into(),
            params: params.into(),
            fingerprint: [0; 32],
        }
    }

    fn outcome(text: &str) -> Outcome {
        Outcome {
            result: serde_json::json!({ "text": text }),
            callbacks: Vec::new(),
            duration_ms: 1.0,
            memory_bytes: None,
            cache_hit: false,
            attempts: 1,
        }
    }

    #[test]
    fn least_recently_used_goes_first_and_entries_expire() {
        let cache = ResultCache::new(2, Duration::from_secs(300));
        cache.put(key("a", "1"), outcome("one"));
        cache.put(key("a", "2"), outcome("two"));
        assert!(cache.get(&key("a", "1")).is_some(), "used: now the newest");
        cache.put(key("a", "3"), outcome("three"));
        assert!(
            cache.get(&key("a", "2")).is_none(),
            "the least recently used went"
        );
        assert!(cache.get(&key("a", "1")).is_some());
        assert!(
            cache.get(&key("b", "1")).is_none(),
            "another instance's key misses"
        );

        let brief = ResultCache::new(10, Duration::from_millis(0));
        brief.put(key("a", "1"), outcome("one"));
        assert!(brief.get(&key("a", "1")).is_none(), "expired");
        assert_eq!(brief.len(), 0, "and dropped");
    }

    #[test]
    fn clearing_an_instance_keeps_the_others() {
        let cache = ResultCache::default();
        cache.put(key("a", "1"), outcome("one"));
        cache.put(key("b", "1"), outcome("one"));
        cache.clear_instance("a");
        assert!(cache.get(&key("a", "1")).is_none());
        assert!(cache.get(&key("b", "1")).is_some());
    }
}
