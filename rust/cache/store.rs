//! The byte-budgeted LRU store. Generic over the stored value so it stays pure: the middleware
//! will keep `Arc`s of Python objects here (hits hand them out without a copy), and tests keep plain bytes.
//!
//! Lock discipline for the caller (a `parking_lot::Mutex` around the store): every operation
//! that drops entries hands them back instead (`insert`, `get` of an expired entry, `purge`,
//! `clear`), so Python objects inside are released after the lock is let go, never under it.

use std::collections::{HashMap, HashSet};

use lru::LruCache;

use super::key::Key;

/// The full sweep for expired entries (a scan of the whole store) runs at most this often
/// (ms), and only once some entry may have expired, so a full store does not scan itself on
/// every insert. An expired entry not yet swept is never served (`get` checks), it is only
/// evicted in LRU order like any other.
const SWEEP_INTERVAL_MS: i64 = 1000;

pub struct Entry<V> {
    pub value: V,
    /// Bytes charged against the budget (body and headers).
    pub bytes: usize,
    pub stored_at: i64,
    pub ttl: u64,
}

impl<V> Entry<V> {
    fn expires_at(&self) -> i64 {
        self.stored_at
            .saturating_add(i64::try_from(self.ttl).unwrap_or(i64::MAX))
    }

    fn expired(&self, now: i64) -> bool {
        now >= self.expires_at()
    }
}

pub struct Store<V> {
    entries: LruCache<Key, Entry<V>>,
    /// Every key under its URI key ([`Key::uri`]), so one URI's entries are found without a
    /// scan (invalidation after an unsafe request).
    by_uri: HashMap<Key, HashSet<Key>>,
    bytes: usize,
    max_bytes: usize,
    /// Entries removed to make room (expired or least recently used), ever.
    evictions: u64,
    /// No entry expires before this (ms), as far as the store knows.
    earliest_expiry: i64,
    /// When the last full sweep for expired entries ran (ms).
    swept_at: i64,
}

/// What `get` found.
pub enum Found<V> {
    Fresh {
        value: V,
        stored_at: i64,
    },
    /// The entry had expired; it was removed and is handed back to be dropped by the caller.
    Expired(V),
    Missing,
}

impl<V: Clone> Store<V> {
    pub fn new(max_bytes: usize) -> Self {
        Store {
            entries: LruCache::unbounded(),
            by_uri: HashMap::new(),
            bytes: 0,
            max_bytes,
            evictions: 0,
            earliest_expiry: i64::MAX,
            swept_at: i64::MIN,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// How many entries `insert` has removed to make room, expired or not.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// A fresh entry (marked most recently used), or the expired one taken out.
    pub fn get(&mut self, key: &Key, now: i64) -> Found<V> {
        let expired = match self.entries.get(key) {
            None => return Found::Missing,
            Some(entry) if !entry.expired(now) => {
                return Found::Fresh {
                    value: entry.value.clone(),
                    stored_at: entry.stored_at,
                }
            }
            Some(_) => self.take(key),
        };
        match expired {
            Some(entry) => Found::Expired(entry.value),
            None => Found::Missing,
        }
    }

    /// Take one entry out, with its index and byte accounting.
    fn take(&mut self, key: &Key) -> Option<Entry<V>> {
        let entry = self.entries.pop(key)?;
        self.forget(key, &entry);
        Some(entry)
    }

    fn forget(&mut self, key: &Key, entry: &Entry<V>) {
        self.bytes = self.bytes.saturating_sub(entry.bytes);
        let uri = key.uri();
        if let Some(keys) = self.by_uri.get_mut(&uri) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_uri.remove(&uri);
            }
        }
    }

    fn pop_lru(&mut self) -> Option<Entry<V>> {
        let (key, entry) = self.entries.pop_lru()?;
        self.forget(&key, &entry);
        Some(entry)
    }

    /// Store an entry, making room by dropping expired entries first, then the least recently
    /// used. Returns what was dropped (including a replaced entry for the same key), or the
    /// value itself when it can never fit.
    pub fn insert(&mut self, key: Key, entry: Entry<V>, now: i64) -> Vec<V> {
        let mut dropped = Vec::new();
        if entry.bytes > self.max_bytes {
            dropped.push(entry.value);
            return dropped;
        }
        if let Some(old) = self.take(&key) {
            dropped.push(old.value);
        }
        let kept = dropped.len();
        if self.bytes.saturating_add(entry.bytes) > self.max_bytes
            && now >= self.earliest_expiry
            && now >= self.swept_at.saturating_add(SWEEP_INTERVAL_MS)
        {
            self.swept_at = now;
            dropped.extend(self.remove_where(|_, e| e.expired(now)));
            self.earliest_expiry = self
                .entries
                .iter()
                .map(|(_, e)| e.expires_at())
                .min()
                .unwrap_or(i64::MAX);
        }
        while self.bytes.saturating_add(entry.bytes) > self.max_bytes {
            match self.pop_lru() {
                Some(old) => dropped.push(old.value),
                None => break,
            }
        }
        self.evictions = self
            .evictions
            .saturating_add(u64::try_from(dropped.len().saturating_sub(kept)).unwrap_or(u64::MAX));
        self.bytes = self.bytes.saturating_add(entry.bytes);
        self.earliest_expiry = self.earliest_expiry.min(entry.expires_at());
        self.by_uri
            .entry(key.uri())
            .or_default()
            .insert(key.clone());
        self.entries.put(key, entry);
        dropped
    }

    /// Remove every entry whose key matches (`Cache.purge`): a scan of the whole store.
    pub fn purge(&mut self, matches: impl Fn(&Key) -> bool) -> Vec<V> {
        self.remove_where(|key, _| matches(key))
    }

    /// Remove every entry whose value matches (`Cache.purge_tag`): a scan of the whole store.
    pub fn purge_values(&mut self, matches: impl Fn(&V) -> bool) -> Vec<V> {
        self.remove_where(|_, entry| matches(&entry.value))
    }

    /// Remove the entries of one URI key and its variants (invalidation by unsafe methods),
    /// through the index: the cost is the number of those entries, not the store's size.
    pub fn purge_uri(&mut self, uri: &Key) -> Vec<V> {
        let keys = self.by_uri.remove(&uri.uri()).unwrap_or_default();
        let mut dropped = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(entry) = self.entries.pop(&key) {
                self.bytes = self.bytes.saturating_sub(entry.bytes);
                dropped.push(entry.value);
            }
        }
        dropped
    }

    pub fn clear(&mut self) -> Vec<V> {
        self.bytes = 0;
        self.by_uri.clear();
        self.earliest_expiry = i64::MAX;
        let mut dropped = Vec::with_capacity(self.entries.len());
        while let Some((_, entry)) = self.entries.pop_lru() {
            dropped.push(entry.value);
        }
        dropped
    }

    fn remove_where(&mut self, doomed: impl Fn(&Key, &Entry<V>) -> bool) -> Vec<V> {
        let keys: Vec<Key> = self
            .entries
            .iter()
            .filter(|(key, entry)| doomed(key, entry))
            .map(|(key, _)| key.clone())
            .collect();
        let mut dropped = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(entry) = self.take(&key) {
                dropped.push(entry.value);
            }
        }
        dropped
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
