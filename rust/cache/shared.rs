//! The state one `Cache` shares across threads: the store (in memory behind a `parking_lot`
//! mutex, or on Redis), the single-flight table and the counters.
//!
//! Lock discipline: the mutex is held only around store operations, never while calling
//! Python. Everything the store removes (Python objects inside) comes back out of the
//! locked section and is dropped after the lock is released. Every Redis operation runs with
//! the GIL released.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use super::admit::{admit, admit_vary, Admission, Refusal};
use super::entry::{Record, ResponseRecord};
use super::flight::Flights;
use super::key::{host_matches, Key};
use super::lookup;
use super::redis_store::{digest, Budget, Failure, Looked as RemoteLooked, Put, RedisStore};
use super::store::{Entry, Found, Store};
use crate::http::conditional::kept_in_not_modified;
use crate::http::http_date::parse_http_date;
use crate::wsgi::errors::write_error_line;

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
    /// The response's tags (`tag_header`), for `purge_tag`.
    pub tags: Vec<String>,
    /// How long it is fresh after `stored_at` (ms).
    pub ttl_ms: u64,
    /// RFC 5861 windows after it went stale, in seconds.
    pub stale_while_revalidate: u64,
    pub stale_if_error: u64,
}

impl Stored {
    /// How long after `stored_at` the entry may still be served, stale windows included (ms).
    pub fn keep_ms(&self) -> u64 {
        let window = self.stale_while_revalidate.max(self.stale_if_error);
        self.ttl_ms.saturating_add(window.saturating_mul(1000))
    }

    /// How long it has been stale at `now` (ms), or None while it is fresh.
    pub fn stale_for(&self, stored_at: i64, now: i64) -> Option<u64> {
        let fresh_until = stored_at.saturating_add(i64::try_from(self.ttl_ms).unwrap_or(i64::MAX));
        (now >= fresh_until).then(|| u64::try_from(now - fresh_until).unwrap_or(0))
    }

    /// The Python objects a hit hands out, from a record read back from a shared store.
    pub fn from_record(py: Python<'_>, record: ResponseRecord) -> PyResult<Stored> {
        let tuple = |name: &str, value: &str| -> PyResult<Py<PyTuple>> {
            Ok(PyTuple::new(py, [PyString::new(py, name), PyString::new(py, value)])?.unbind())
        };
        let mut headers = Vec::with_capacity(record.headers.len());
        let mut not_modified = Vec::new();
        let mut etag = None;
        let mut last_modified = None;
        for (name, value) in &record.headers {
            let pair = tuple(name, value)?;
            if kept_in_not_modified(name) {
                not_modified.push(pair.clone_ref(py));
            }
            if etag.is_none() && name.eq_ignore_ascii_case("etag") {
                etag = Some(value.clone());
            }
            if last_modified.is_none() && name.eq_ignore_ascii_case("last-modified") {
                last_modified = parse_http_date(value);
            }
            headers.push(pair);
        }
        let content_length = match record.add_length {
            true => Some(tuple("Content-Length", &record.body.len().to_string())?),
            false => None,
        };
        let body = if record.body.is_empty() {
            PyTuple::empty(py)
        } else {
            PyTuple::new(py, [PyBytes::new(py, &record.body)])?
        };
        Ok(Stored {
            status: PyString::new(py, &record.status).unbind(),
            code: record.code,
            headers,
            content_length,
            not_modified,
            body: body.unbind(),
            etag,
            last_modified,
            shareable: record.shareable,
            age: record.age,
            tags: record.tags,
            ttl_ms: record.ttl_ms,
            stale_while_revalidate: u64::from(record.stale_while_revalidate),
            stale_if_error: u64::from(record.stale_if_error),
        })
    }
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
    /// How long the store keeps it: freshness plus stale windows ([`Stored::keep_ms`]).
    pub keep_ms: u64,
    /// Milliseconds since the epoch.
    pub now: i64,
}

/// What a lookup under one key found.
pub type Looked = lookup::Looked<Arc<Stored>>;

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
    /// Requests answered from a stale entry (RFC 5861).
    pub stale: AtomicU64,
    /// Records read back from the shared store and refused (admit.rs).
    pub refused_records: AtomicU64,
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
    /// What the in-process store holds now; None for a shared store.
    pub entries: Option<usize>,
    pub bytes: Option<usize>,
    /// Failed operations on a shared store.
    pub store_errors: u64,
    pub stale: u64,
    pub refused_records: u64,
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

/// Where the entries live. One per Cache, never moved: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Memory(Mutex<State>),
    Redis {
        store: RedisStore,
        /// The Vary names of URIs this process saw vary, so that a hit of a variant is one
        /// round trip (the URI's record and the variant together) instead of two. Only a
        /// shortcut: the URI's record is read every time and wins.
        vary_names: Mutex<lru::LruCache<Key, Arc<[String]>>>,
    },
}

/// URIs whose Vary names a process keeps (a few hundred KiB at most).
const KEPT_VARY_NAMES: usize = 4096;

pub struct Shared {
    backend: Backend,
    pub flights: Arc<Flights>,
    pub counters: Counters,
    /// What this Cache stores: the store path keeps to it, and a record read back from a
    /// shared store must meet it.
    pub admission: Admission,
    /// A refusal was reported on a request's `wsgi.errors`: later ones are only counted.
    refusal_reported: AtomicBool,
}

impl Shared {
    /// The in-process store, with its memory budget.
    pub fn new(max_bytes: usize, admission: Admission) -> Self {
        let state = State {
            store: Store::new(max_bytes),
            responses: 0,
        };
        Shared::with(Backend::Memory(Mutex::new(state)), admission)
    }

    /// A shared Redis store.
    pub fn redis(store: RedisStore, admission: Admission) -> Self {
        let capacity =
            std::num::NonZeroUsize::new(KEPT_VARY_NAMES).unwrap_or(std::num::NonZeroUsize::MIN);
        let backend = Backend::Redis {
            store,
            vary_names: Mutex::new(lru::LruCache::new(capacity)),
        };
        Shared::with(backend, admission)
    }

    /// The Vary names last seen for `uri` on the shared store, if any.
    pub fn known_vary(&self, uri: &Key) -> Option<Arc<[String]>> {
        match &self.backend {
            Backend::Redis { vary_names, .. } => vary_names.lock().get(uri).cloned(),
            Backend::Memory(_) => None,
        }
    }

    /// On Redis, a URI and one of its variants in one round trip (the URI's record first).
    pub fn look_pair(
        &self,
        py: Python<'_>,
        budget: &mut Budget,
        uri: &Key,
        variant: &Key,
        now: i64,
    ) -> Result<(Looked, Looked), Failure> {
        let Some(store) = self.remote() else {
            return Ok((
                self.look(py, budget, uri, now)?,
                self.look(py, budget, variant, now)?,
            ));
        };
        let [first, second] =
            py.detach(|| store.get_pair(budget, uri.as_bytes(), variant.as_bytes()))?;
        let first = self.decoded(py, first, now);
        self.remember(uri, &first);
        Ok((first, self.decoded(py, second, now)))
    }

    /// Keep (or forget) what a URI's record says about its variants (Redis only).
    pub fn remember(&self, uri: &Key, looked: &Looked) {
        if let Backend::Redis { vary_names, .. } = &self.backend {
            let mut kept = vary_names.lock();
            match looked {
                Looked::Vary(names) => {
                    kept.put(uri.clone(), names.clone());
                }
                _ => {
                    kept.pop(uri);
                }
            }
        }
    }

    /// A record read back from Redis, as a lookup result. Treated as untrusted (the store
    /// is shared): one that does not decode, or that Cache would never write (admit.rs), is
    /// refused: a miss, counted.
    fn decoded(&self, py: Python<'_>, bytes: Option<Vec<u8>>, now: i64) -> Looked {
        let Some(bytes) = bytes else {
            return Looked::Missing;
        };
        let admitted = match Record::decode(&bytes) {
            Some(Record::Vary(names)) => admit_vary(&names).map(|()| Record::Vary(names)),
            Some(Record::Response(mut record)) => {
                admit(&mut record, &self.admission, now).map(|()| Record::Response(record))
            }
            None => Err(Refusal::Undecodable),
        };
        match admitted {
            Ok(Record::Vary(names)) => Looked::Vary(names.into()),
            Ok(Record::Response(record)) => {
                let stored_at = record.stored_at;
                match Stored::from_record(py, record) {
                    Ok(stored) => Self::servable(Arc::new(stored), stored_at, now),
                    Err(_) => Looked::Missing,
                }
            }
            Err(refusal) => {
                Counters::bump(&self.counters.refused_records);
                Looked::Refused(refusal)
            }
        }
    }

    /// Report a refused record: the first one of this Cache gets one line on the request's
    /// `wsgi.errors`; the rest are only counted (`stats()["refused_records"]`).
    pub fn report_refusal(&self, py: Python<'_>, environ: &Bound<'_, PyAny>, refusal: &Refusal) {
        if self.refusal_reported.swap(true, Ordering::Relaxed) {
            return;
        }
        let line = format!(
            "refused a record read back from the shared store, and let the app answer (its response replaces the record): {refusal}. Cache never writes such a record: something else writes under this key_prefix (another program, another version, a Cache with other options). Later refusals are only counted in stats()['refused_records']"
        );
        write_error_line(py, environ, "Cache", &line);
    }

    fn with(backend: Backend, admission: Admission) -> Self {
        Shared {
            backend,
            flights: Arc::new(Flights::default()),
            counters: Counters::default(),
            admission,
            refusal_reported: AtomicBool::new(false),
        }
    }

    /// What one request may spend on the store's commands (`store_timeout`; unlimited in
    /// memory, where nothing waits).
    pub fn budget(&self) -> Budget {
        match self.remote() {
            Some(store) => store.budget(),
            None => Budget::new(Duration::MAX),
        }
    }

    /// The Redis store, when the entries live there.
    pub fn remote(&self) -> Option<&RedisStore> {
        match &self.backend {
            Backend::Redis { store, .. } => Some(store),
            Backend::Memory(_) => None,
        }
    }

    /// Look `key` up at `now` (ms): in memory, or on Redis with the GIL released. A record
    /// that does not decode, or is no longer servable, is a miss.
    pub fn look(
        &self,
        py: Python<'_>,
        budget: &mut Budget,
        key: &Key,
        now: i64,
    ) -> Result<Looked, Failure> {
        self.look_or_lock(py, budget, key, now, None)
            .map(|(looked, _)| looked)
    }

    /// [`Shared::look`]; on Redis, when nothing is stored and `lock` is given, also take the
    /// key's flight lock in the same round trip (true when taken).
    pub fn look_or_lock(
        &self,
        py: Python<'_>,
        budget: &mut Budget,
        key: &Key,
        now: i64,
        lock: Option<(&str, Duration)>,
    ) -> Result<(Looked, bool), Failure> {
        let state = match &self.backend {
            Backend::Memory(state) => state,
            Backend::Redis { store, .. } => {
                let bytes = match py.detach(|| store.get_or_lock(budget, key.as_bytes(), lock))? {
                    RemoteLooked::Found(bytes) => bytes,
                    RemoteLooked::Locked => return Ok((Looked::Missing, true)),
                    RemoteLooked::Missing => return Ok((Looked::Missing, false)),
                };
                return Ok((self.decoded(py, Some(bytes), now), false));
            }
        };
        Ok((Self::look_memory(state, key, now), false))
    }

    /// A stored response at `now`: fresh, stale within a window, or no longer servable.
    fn servable(stored: Arc<Stored>, stored_at: i64, now: i64) -> Looked {
        let keep = i64::try_from(stored.keep_ms()).unwrap_or(i64::MAX);
        match stored.stale_for(stored_at, now) {
            None => Looked::Fresh { stored, stored_at },
            Some(_) if now >= stored_at.saturating_add(keep) => Looked::Missing,
            Some(stale_ms) => Looked::Stale {
                stored,
                stored_at,
                stale_ms,
            },
        }
    }

    /// An expired entry is taken out and dropped here, after the lock is released.
    fn look_memory(state: &Mutex<State>, key: &Key, now: i64) -> Looked {
        let found = {
            let mut state = state.lock();
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
            } => Self::servable(stored, stored_at, now),
            Found::Fresh {
                value: Cached::Vary(names),
                ..
            } => Looked::Vary(names),
            Found::Expired(_) | Found::Missing => Looked::Missing,
        }
    }

    /// Write a record to the Redis store, GIL released; a no-op in memory (see `insert`).
    pub fn put(&self, py: Python<'_>, put: &Put<'_>) -> Result<(), Failure> {
        match &self.backend {
            Backend::Redis { store, .. } => {
                py.detach(|| store.put(&mut store.budget(), put))?;
                Counters::bump(&self.counters.stores);
                Ok(())
            }
            Backend::Memory(_) => Ok(()),
        }
    }

    /// Store a response in memory; when it varies, also record the Vary names under its URI
    /// key. A no-op for the Redis store (see `put`).
    pub fn insert(&self, place: Placement, stored: Stored) {
        let Backend::Memory(state) = &self.backend else {
            return;
        };
        let Placement {
            uri,
            key,
            vary,
            bytes,
            keep_ms: ttl,
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
            let mut state = state.lock();
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

    /// Remove every stored response for `path` (SCRIPT_NAME + PATH_INFO), on `host` when
    /// given (see [`host_matches`]); the number of responses removed. In memory a scan of the
    /// store; on Redis, the path's index set.
    pub fn purge(&self, py: Python<'_>, path: &str, host: Option<&str>) -> Result<usize, Failure> {
        let state = match &self.backend {
            Backend::Memory(state) => state,
            Backend::Redis { store, .. } => {
                return py.detach(|| {
                    store.purge_path(path.as_bytes(), None, |_, _, key_host| {
                        host.is_none_or(|host| host_matches(key_host, host))
                    })
                })
            }
        };
        let dropped = {
            let mut state = state.lock();
            let purged = state.store.purge(|key| {
                key.uri_parts()
                    .is_some_and(|[_, key_host, script, path_info, _]| {
                        path.len() == script.len() + path_info.len()
                            && path.as_bytes().starts_with(script)
                            && path.as_bytes().ends_with(path_info)
                            && host.is_none_or(|host| host_matches(key_host, host))
                    })
            });
            state.removed(purged)
        };
        Ok(responses(&dropped))
    }

    /// Remove one URI's entries and variants (invalidation after an unsafe request); the
    /// number of responses removed. Found through an index (the store's URI index, the
    /// path's set on Redis), not by a scan.
    pub fn purge_uri(&self, py: Python<'_>, uri: &Key) -> Result<usize, Failure> {
        let state = match &self.backend {
            Backend::Memory(state) => state,
            Backend::Redis { store, .. } => {
                let Some([_, _, script, path_info, _]) = uri.uri_parts() else {
                    return Ok(0);
                };
                let path = [script, path_info].concat();
                let wanted = digest(uri.as_bytes());
                return py.detach(|| {
                    store.purge_path(&path, Some(&wanted), |_, member_uri, _| {
                        member_uri == wanted
                    })
                });
            }
        };
        let dropped = {
            let mut state = state.lock();
            let purged = state.store.purge_uri(uri);
            state.removed(purged)
        };
        Ok(responses(&dropped))
    }

    /// Remove every stored response carrying `tag`; the number removed. In memory a scan of
    /// the store; on Redis, the tag's index set.
    pub fn purge_tag(&self, py: Python<'_>, tag: &str) -> Result<usize, Failure> {
        let state = match &self.backend {
            Backend::Memory(state) => state,
            Backend::Redis { store, .. } => return py.detach(|| store.purge_tag(tag)),
        };
        let dropped = {
            let mut state = state.lock();
            let purged = state.store.purge_values(|value| match value {
                Cached::Response(stored) => stored.tags.iter().any(|t| t == tag),
                Cached::Vary(_) => false,
            });
            state.removed(purged)
        };
        Ok(responses(&dropped))
    }

    /// Remove every stored response: the whole in-process store, or every key under the
    /// prefix on Redis.
    pub fn clear(&self, py: Python<'_>) -> Result<(), Failure> {
        let state = match &self.backend {
            Backend::Memory(state) => state,
            Backend::Redis { store, .. } => return py.detach(|| store.clear().map(drop)),
        };
        let dropped = {
            let mut state = state.lock();
            let cleared = state.store.clear();
            state.removed(cleared)
        };
        drop(dropped);
        Ok(())
    }

    pub fn stats(&self) -> Stats {
        let (evictions, entries, bytes, store_errors) = match &self.backend {
            Backend::Memory(state) => {
                let state = state.lock();
                (
                    state.store.evictions(),
                    Some(state.responses),
                    Some(state.store.bytes()),
                    0,
                )
            }
            // Redis evicts by its own policy; what it holds is shared, not this process's.
            Backend::Redis { store, .. } => (0, None, None, store.errors()),
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
            store_errors,
            stale: load(&self.counters.stale),
            refused_records: load(&self.counters.refused_records),
        }
    }
}

/// How many of the removed values were responses (the rest are Vary records).
fn responses(dropped: &[Cached]) -> usize {
    dropped
        .iter()
        .filter(|v| matches!(v, Cached::Response(_)))
        .count()
}

/// Report a failed store operation: the first failure of an outage gets one line on the
/// request's `wsgi.errors`; the rest are only counted (`stats()["store_errors"]`).
pub fn report(py: Python<'_>, environ: &Bound<'_, PyAny>, failure: &Failure) {
    if let Failure::Failed {
        first: true,
        outage,
        message,
    } = failure
    {
        let line = if *outage {
            format!("the shared store is unreachable, requests bypass the cache until it answers again: {message}")
        } else {
            format!("the shared store answered what Cache did not expect (this request bypassed the cache; later ones are counted in stats()['store_errors']): {message}")
        };
        write_error_line(py, environ, "Cache", &line);
    }
}
