//! The result cache (product spec: LRU, 1,000 entries, 5 minutes), keyed by plugin, version, component
//! and parameters; only for components declared cacheable; cleared for a plugin when it is updated.
//! The time is passed in, so expiry is tested without waiting.

use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The instance: a result computed with one organisation's settings is never served to another.
    pub instance: String,
    pub plugin: String,
    pub version: String,
    pub component: String,
    /// The parameters as canonical JSON text.
    pub params: String,
}

impl CacheKey {
    pub fn new(
        instance: &str,
        plugin: &str,
        version: &str,
        component: &str,
        params: &Value,
    ) -> CacheKey {
        CacheKey {
            instance: instance.into(),
            plugin: plugin.into(),
            version: version.into(),
            component: component.into(),
            // serde_json keeps object keys sorted, so equal parameters give equal text.
            params: params.to_string(),
        }
    }
}

pub struct ResultCache {
    capacity: usize,
    ttl_ms: u64,
    entries: HashMap<CacheKey, (Value, u64)>,
    /// Least recently used first.
    order: VecDeque<CacheKey>,
}

impl ResultCache {
    pub fn new(capacity: usize, ttl: Duration) -> ResultCache {
        ResultCache {
            capacity,
            ttl_ms: ttl.as_millis() as u64,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn get(&mut self, key: &CacheKey, now_ms: u64) -> Option<Value> {
        let (value, stored) = self.entries.get(key)?;
        if now_ms.saturating_sub(*stored) >= self.ttl_ms {
            self.remove(key);
            return None;
        }
        let value = value.clone();
        self.touch(key);
        Some(value)
    }

    pub fn put(&mut self, key: CacheKey, value: Value, now_ms: u64) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.insert(key.clone(), (value, now_ms)).is_some() {
            self.touch(&key);
            return;
        }
        self.order.push_back(key);
        while self.entries.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.entries.remove(&oldest);
            }
        }
    }

    /// Forgets every result of a plugin (all versions): called when it is updated or rolled back.
    pub fn clear_plugin(&mut self, plugin: &str) {
        self.entries.retain(|k, _| k.plugin != plugin);
        self.order.retain(|k| k.plugin != plugin);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn touch(&mut self, key: &CacheKey) {
        if let Some(i) = self.order.iter().position(|k| k == key) {
            let key = self.order.remove(i).expect("present");
            self.order.push_back(key);
        }
    }

    fn remove(&mut self, key: &CacheKey) {
        self.entries.remove(key);
        self.order.retain(|k| k != key);
    }
}

impl Default for ResultCache {
    fn default() -> ResultCache {
        ResultCache::new(1_000, Duration::from_secs(300))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(component: &str, n: i64) -> CacheKey {
        CacheKey::new("i1", "@a/plugin-x", "1.0.0", component, &json!({ "n": n }))
    }

    #[test]
    fn least_recently_used_goes_first_and_entries_expire() {
        let mut cache = ResultCache::new(2, Duration::from_secs(300));
        cache.put(key("A", 1), json!(1), 0);
        cache.put(key("A", 2), json!(2), 0);
        assert_eq!(
            cache.get(&key("A", 1), 10),
            Some(json!(1)),
            "touched: now the newest"
        );
        cache.put(key("A", 3), json!(3), 20);
        assert_eq!(
            cache.get(&key("A", 2), 30),
            None,
            "the least recently used went"
        );
        assert_eq!(cache.get(&key("A", 1), 30), Some(json!(1)));
        assert_eq!(cache.get(&key("A", 1), 300_000), None, "five minutes later");
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn parameters_are_part_of_the_key_and_updates_clear_a_plugin() {
        let mut cache = ResultCache::default();
        cache.put(key("A", 1), json!("one"), 0);
        assert_eq!(cache.get(&key("A", 2), 1), None);
        let other = CacheKey::new("i2", "@a/plugin-y", "1.0.0", "A", &json!({ "n": 1 }));
        let elsewhere = CacheKey::new("i3", "@a/plugin-x", "1.0.0", "A", &json!({ "n": 1 }));
        assert_eq!(
            cache.get(&elsewhere, 1),
            None,
            "another instance's result is not served"
        );
        cache.put(other.clone(), json!("y"), 0);
        cache.clear_plugin("@a/plugin-x");
        assert_eq!(cache.get(&key("A", 1), 1), None);
        assert_eq!(cache.get(&other, 1), Some(json!("y")));
    }
}
