//! The state one `Cache` shares across threads: the store behind a `parking_lot` mutex, the
//! single-flight table and the counters.
//!
//! Lock discipline: the mutex is held only around store operations, never while calling
//! Python. Everything the store removes (Python objects inside) comes back out of the
//! locked section and is dropped after the lock is released.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use super::flight::Flights;
use super::key::Key;
use super::store::{Entry, Found, Store};

/// A stored response, as the Python objects a hit hands to the server.
pub struct Stored {
    pub status: Py<PyString>,
    /// The status code: preconditions are evaluated only for 2xx (RFC 9110 §13.2.1).
    pub code: u16,
    /// The app's headers, without its Age and status header: `(name, value)` tuples.
    pub headers: Vec<Py<PyTuple>>,
    /// `("Content-Length", n)` when the app did not send one.
    pub content_length: Option<Py<PyTuple>>,
    /// The headers a 304 keeps (RFC 9110 §15.4.5).
    pub not_modified: Vec<Py<PyTuple>>,
    /// No item, or the whole body as one bytes object.
    pub body: Py<PyTuple>,
    pub etag: Option<String>,
    pub last_modified: Option<i64>,
    /// public, s-maxage or must-revalidate: may answer requests with Authorization (§3.5).
    pub shareable: bool,
    /// The app's Age when stored, in seconds.
    pub age: u64,
}

/// What the store keeps under a key.
#[derive(Clone)]
pub enum Cached {
    Response(Arc<Stored>),
    /// Under a URI key: the response varies on these request headers (lowercase, sorted),
    /// so its variants live under the URI key extended with their values (Django-style).
    Vary(Arc<[String]>),
}

/// Where and for how long a response is stored.
pub struct Placement {
    pub uri: Key,
    /// `uri`, or a variant of it when the response varies.
    pub key: Key,
    /// The response's Vary names (lowercase, sorted); empty when it does not vary.
    pub vary: Arc<[String]>,
    /// Charged against the budget: [`entry_bytes`].
    pub bytes: usize,
    pub ttl_ms: u64,
    /// Milliseconds since the epoch.
    pub now: i64,
}

/// What a lookup under one key found.
pub enum Looked {
    Fresh { stored: Arc<Stored>, stored_at: i64 },
    Vary(Arc<[String]>),
    Missing,
}

struct State {
    store: Store<Cached>,
    /// Stored responses (the store also holds Vary records).
    responses: usize,
}

impl State {
    /// Account for removed values; returns them to be dropped after the lock.
    fn removed(&mut self, values: Vec<Cached>) -> Vec<Cached> {
        let responses = values
            .iter()
            .filter(|v| matches!(v, Cached::Response(_)))
            .count();
        self.responses = self.responses.saturating_sub(responses);
        values
    }
}

#[derive(Default)]
pub struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub bypasses: AtomicU64,
    pub stores: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub bypasses: u64,
    pub stores: u64,
    pub evictions: u64,
    pub entries: usize,
    pub bytes: usize,
}

/// Per-entry bookkeeping charged on top of the body, header and key bytes: the `Stored`
/// record and its `Arc`, the status string, the body's tuple and bytes object headers, the
/// store's LRU node and hash slot, the URI index's slots, allocator rounding. So a budget of
/// many tiny entries stays honest.
pub const ENTRY_OVERHEAD: usize = 512;

/// Per stored header on top of its name and value bytes: the `(name, value)` tuple (72
/// bytes with its GC header), two str objects (about 50 bytes each plus rounding), and the
/// pointers in `headers` and `not_modified`.
pub const HEADER_OVERHEAD: usize = 200;

/// What one stored response is charged against `max_bytes`: what it really holds, as near
/// as can be counted. The key is held three times (the LRU map and the URI index's two
/// levels).
pub fn entry_bytes(body: usize, header_bytes: usize, headers: usize, key: usize) -> usize {
    ENTRY_OVERHEAD
        .saturating_add(body)
        .saturating_add(header_bytes)
        .saturating_add(headers.saturating_mul(HEADER_OVERHEAD))
        .saturating_add(key.saturating_mul(3))
}

pub struct Shared {
    state: Mutex<State>,
    pub flights: Arc<Flights>,
    pub counters: Counters,
}

impl Shared {
    pub fn new(max_bytes: usize) -> Self {
        Shared {
            state: Mutex::new(State {
                store: Store::new(max_bytes),
                responses: 0,
            }),
            flights: Arc::new(Flights::default()),
            counters: Counters::default(),
        }
    }

    /// Look `key` up at `now` (ms). An expired entry is taken out and dropped here, after the
    /// lock is released.
    pub fn look(&self, key: &Key, now: i64) -> Looked {
        let found = {
            let mut state = self.state.lock();
            let found = state.store.get(key, now);
            if let Found::Expired(Cached::Response(_)) = &found {
                state.responses = state.responses.saturating_sub(1);
            }
            found
        };
        match found {
            Found::Fresh {
                value: Cached::Response(stored),
                stored_at,
            } => Looked::Fresh { stored, stored_at },
            Found::Fresh {
                value: Cached::Vary(names),
                ..
            } => Looked::Vary(names),
            Found::Expired(_) | Found::Missing => Looked::Missing,
        }
    }

    /// Store a response; when it varies, also record the Vary names under its URI key.
    pub fn insert(&self, place: Placement, stored: Stored) {
        let Placement {
            uri,
            key,
            vary,
            bytes,
            ttl_ms: ttl,
            now,
        } = place;
        let stored = Cached::Response(Arc::new(stored));
        let record = (!vary.is_empty()).then(|| {
            // Each name is a String in the record: 24 bytes plus its heap block.
            let names = vary.iter().map(|name| name.len().saturating_add(48)).sum();
            let bytes = entry_bytes(0, names, 0, uri.as_bytes().len());
            (Cached::Vary(vary), bytes)
        });
        let entry = |value, bytes| Entry {
            value,
            bytes,
            stored_at: now,
            ttl,
        };
        let dropped = {
            let mut state = self.state.lock();
            if bytes > state.store.max_bytes() {
                // It could never fit (the store would hand it straight back).
                return;
            }
            let mut dropped = Vec::new();
            if let Some((record, record_bytes)) = record {
                dropped.extend(state.store.insert(uri, entry(record, record_bytes), now));
            }
            dropped.extend(state.store.insert(key, entry(stored, bytes), now));
            state.responses = state.responses.saturating_add(1);
            state.removed(dropped)
        };
        Counters::bump(&self.counters.stores);
        drop(dropped);
    }

    /// Remove every entry (responses and Vary records) whose key matches; the number of
    /// responses removed.
    pub fn purge(&self, matches: impl Fn(&Key) -> bool) -> usize {
        let dropped = {
            let mut state = self.state.lock();
            let purged = state.store.purge(matches);
            state.removed(purged)
        };
        dropped
            .iter()
            .filter(|v| matches!(v, Cached::Response(_)))
            .count()
    }

    /// Remove one URI's entries and variants (invalidation after an unsafe request); the
    /// number of responses removed. Looked up in the store's URI index, not scanned.
    pub fn purge_uri(&self, uri: &Key) -> usize {
        let dropped = {
            let mut state = self.state.lock();
            let purged = state.store.purge_uri(uri);
            state.removed(purged)
        };
        dropped
            .iter()
            .filter(|v| matches!(v, Cached::Response(_)))
            .count()
    }

    pub fn clear(&self) {
        let dropped = {
            let mut state = self.state.lock();
            let cleared = state.store.clear();
            state.removed(cleared)
        };
        drop(dropped);
    }

    pub fn stats(&self) -> Stats {
        let (evictions, entries, bytes) = {
            let state = self.state.lock();
            (
                state.store.evictions(),
                state.responses,
                state.store.bytes(),
            )
        };
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            hits: load(&self.counters.hits),
            misses: load(&self.counters.misses),
            bypasses: load(&self.counters.bypasses),
            stores: load(&self.counters.stores),
            evictions,
            entries,
            bytes,
        }
    }
}
