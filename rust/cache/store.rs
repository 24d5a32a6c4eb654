//! The byte-budgeted LRU store. Generic over the stored value so it stays pure: the middleware
//! will keep `Arc`s of Python objects here (zero-copy hits), and tests keep plain bytes.
//!
//! Lock discipline for the caller (a `parking_lot::Mutex` around the store): every operation
//! that drops entries hands them back instead (`insert`, `get` of an expired entry, `purge`,
//! `clear`), so Python objects inside are released after the lock is let go, never under it.

use lru::LruCache;

use super::key::Key;

pub struct Entry<V> {
    pub value: V,
    /// Bytes charged against the budget (body and headers).
    pub bytes: usize,
    pub stored_at: i64,
    pub ttl: u64,
}

impl<V> Entry<V> {
    fn expired(&self, now: i64) -> bool {
        now.saturating_sub(self.stored_at) >= i64::try_from(self.ttl).unwrap_or(i64::MAX)
    }
}

pub struct Store<V> {
    entries: LruCache<Key, Entry<V>>,
    bytes: usize,
    max_bytes: usize,
    /// Entries removed to make room (expired or least recently used), ever.
    evictions: u64,
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
            bytes: 0,
            max_bytes,
            evictions: 0,
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
            Some(_) => self.entries.pop(key),
        };
        match expired {
            Some(entry) => {
                self.bytes = self.bytes.saturating_sub(entry.bytes);
                Found::Expired(entry.value)
            }
            None => Found::Missing,
        }
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
        if let Some(old) = self.entries.pop(&key) {
            self.bytes = self.bytes.saturating_sub(old.bytes);
            dropped.push(old.value);
        }
        let kept = dropped.len();
        if self.bytes.saturating_add(entry.bytes) > self.max_bytes {
            dropped.extend(self.remove_where(|_, e| e.expired(now)));
        }
        while self.bytes.saturating_add(entry.bytes) > self.max_bytes {
            match self.entries.pop_lru() {
                Some((_, old)) => {
                    self.bytes = self.bytes.saturating_sub(old.bytes);
                    dropped.push(old.value);
                }
                None => break,
            }
        }
        self.evictions = self
            .evictions
            .saturating_add(u64::try_from(dropped.len().saturating_sub(kept)).unwrap_or(u64::MAX));
        self.bytes = self.bytes.saturating_add(entry.bytes);
        self.entries.put(key, entry);
        dropped
    }

    /// Remove every entry whose key matches (`purge`, invalidation by unsafe methods).
    pub fn purge(&mut self, matches: impl Fn(&Key) -> bool) -> Vec<V> {
        self.remove_where(|key, _| matches(key))
    }

    pub fn clear(&mut self) -> Vec<V> {
        self.bytes = 0;
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
            if let Some(entry) = self.entries.pop(&key) {
                self.bytes = self.bytes.saturating_sub(entry.bytes);
                dropped.push(entry.value);
            }
        }
        dropped
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
