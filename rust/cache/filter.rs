//! The body filter of a request the cache did not answer: labels the response (MISS or
//! BYPASS), invalidates the URI after a successful unsafe method, and tees a storable body
//! to store it once the response completed: one bytes object per stored body (the app's own
//! when it sent one chunk), so what the budget charges is what is held.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::admit::declared_length;
use super::config::{response_tags, CacheConfig, STALE};
use super::entry::{Record, ResponseRecord};
use super::flight::{FlightGuard, Landed};
use super::freshness::{
    age, age_field, shareable, stale_windows, storable, HeadFacts, RequestFacts,
};
use super::key::Key;
use super::redis_store::Put;
use super::request::variant_key;
use super::shared::{entry_bytes, report, Counters, Placement, Shared, Stored};
use crate::http::clock::now_ms;
use crate::http::conditional::kept_in_not_modified;
use crate::http::head::ResponseHead;
use crate::http::http_date::parse_http_date;
use crate::wsgi::filter::{BodyFilter, BodyInfo, Mode, Outcome};

/// How long a store keeps an entry: freshness plus the longer stale window (ms).
fn keep_ms(ttl_ms: u64, (while_revalidate, if_error): (u64, u64)) -> u64 {
    ttl_ms.saturating_add(while_revalidate.max(if_error).saturating_mul(1000))
}

/// A GET miss whose response may be stored.
pub struct StorePlan {
    pub uri: Key,
    pub request: RequestFacts,
    pub environ: Py<PyDict>,
    /// Set when this request leads the single flight for its key.
    pub guard: Option<FlightGuard>,
    /// The key and token of the Redis flight lock this request holds (it leads the flight
    /// across processes sharing the store).
    pub remote_lock: Option<(Key, String)>,
    /// A stale entry within its stale-if-error window: what the client gets if this
    /// refresh answers 5xx or raises before its head.
    pub stale: Option<(Arc<Stored>, i64)>,
    /// Request time (ms since the epoch).
    pub now: i64,
}

/// The response being teed.
struct Tee {
    key: Key,
    vary: Arc<[String]>,
    /// The app's head, before our label.
    head: ResponseHead,
    /// The app's own header tuples by position (`on_app_headers`), reused when storing.
    app_tuples: Vec<Option<Py<PyTuple>>>,
    /// The app's Content-Length.
    declared: Option<u64>,
    /// Hits add `Content-Length` (the app sent none and the status allows one).
    add_length: bool,
    shareable: bool,
    age: u64,
    ttl_ms: u64,
    /// RFC 5861 windows, seconds.
    stale: (u64, u64),
    body: TeeBody,
    size: usize,
}

/// The body seen so far: a body of many chunks is joined as it passes, so a stored entry
/// never keeps one Python object per chunk (2 000 two-byte chunks cost ~100 KiB as objects).
enum TeeBody {
    Empty,
    /// The app's own bytes object: a one-chunk body is stored without a copy.
    One(Py<PyBytes>),
    Joined(Vec<u8>),
}

impl TeeBody {
    fn push(&mut self, chunk: &Bound<'_, PyBytes>) {
        let bytes = chunk.as_bytes();
        if bytes.is_empty() {
            return;
        }
        *self = match std::mem::replace(self, TeeBody::Empty) {
            TeeBody::Empty => TeeBody::One(chunk.clone().unbind()),
            TeeBody::One(first) => {
                let first = first.bind(chunk.py()).as_bytes();
                let mut joined = Vec::with_capacity(first.len().saturating_add(bytes.len()));
                joined.extend_from_slice(first);
                joined.extend_from_slice(bytes);
                TeeBody::Joined(joined)
            }
            TeeBody::Joined(mut joined) => {
                joined.extend_from_slice(bytes);
                TeeBody::Joined(joined)
            }
        };
    }

    /// Bytes that are not a Python object of their own (a fused chain's output): copied.
    fn push_slice(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        *self = match std::mem::replace(self, TeeBody::Empty) {
            TeeBody::Empty => TeeBody::Joined(bytes.to_vec()),
            TeeBody::One(first) => {
                let mut joined = Python::attach(|py| first.bind(py).as_bytes().to_vec());
                joined.extend_from_slice(bytes);
                TeeBody::Joined(joined)
            }
            TeeBody::Joined(mut joined) => {
                joined.extend_from_slice(bytes);
                TeeBody::Joined(joined)
            }
        };
    }

    /// The body a hit returns: no item, or one bytes object.
    fn into_tuple(self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        let tuple = match self {
            TeeBody::Empty => PyTuple::empty(py),
            TeeBody::One(bytes) => PyTuple::new(py, [bytes])?,
            TeeBody::Joined(joined) => PyTuple::new(py, [PyBytes::new(py, &joined)])?,
        };
        Ok(tuple.unbind())
    }
}

pub struct CacheFilter {
    config: Arc<CacheConfig>,
    shared: Arc<Shared>,
    label: &'static str,
    /// An unsafe method: remove this URI's entries if the response is a success; with the
    /// request's environ, whose `wsgi.errors` hears of a store that failed to.
    invalidate: Option<(Key, Py<PyAny>)>,
    plan: Option<StorePlan>,
    tee: Option<Tee>,
    /// The response's tags, read from (and removed from) its `tag_header`.
    tags: Vec<String>,
    /// Set by `StaleOnError` when the app raised and the stale entry answered instead.
    served_stale: Arc<AtomicBool>,
    /// The stale body replacing a 5xx response's (stale-if-error): Transform mode.
    replacement: Option<Vec<u8>>,
    notice: Option<String>,
}

impl CacheFilter {
    pub fn new(
        config: Arc<CacheConfig>,
        shared: Arc<Shared>,
        label: &'static str,
        invalidate: Option<(Key, Py<PyAny>)>,
        plan: Option<StorePlan>,
        served_stale: Arc<AtomicBool>,
    ) -> Self {
        CacheFilter {
            config,
            shared,
            label,
            invalidate,
            plan,
            tee: None,
            tags: Vec::new(),
            served_stale,
            replacement: None,
            notice: None,
        }
    }

    /// stale-if-error for a 5xx: the stale entry's head and body instead of the app's.
    fn replace_with_stale(&mut self, py: Python<'_>, head: &mut ResponseHead) -> bool {
        let Some((stored, stored_at)) = self.plan.as_ref().and_then(|p| p.stale.clone()) else {
            return false;
        };
        let text = |tuple: &Py<PyTuple>| -> Option<(String, String)> {
            tuple.bind(py).extract::<(String, String)>().ok()
        };
        let mut fields: Vec<(String, String)> = stored
            .headers
            .iter()
            .chain(&stored.content_length)
            .filter_map(text)
            .collect();
        let seconds = age(
            stored.age,
            stored_at.div_euclid(1000),
            now_ms().div_euclid(1000),
        );
        fields.push(("Age".to_owned(), seconds.to_string()));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let status = stored.status.bind(py).to_string();
        let app_status = head.status().to_owned();
        if head.replace(&status, &pairs).is_err() {
            return false;
        }
        self.notice = Some(format!(
            "the app answered {app_status}; answered with the stale entry (stale-if-error)"
        ));
        self.replacement = Some(
            stored
                .body
                .bind(py)
                .iter()
                .filter_map(|item| item.cast_into::<PyBytes>().ok())
                .flat_map(|b| b.as_bytes().to_vec())
                .collect(),
        );
        true
    }

    /// Decide whether this response will be stored, and start the tee.
    fn plan_tee(&self, py: Python<'_>, head: &ResponseHead) -> Option<Tee> {
        let plan = self.plan.as_ref()?;
        let facts = HeadFacts::read(head.headers());
        let response = facts.response(head.code());
        let now_seconds = plan.now.div_euclid(1000);
        let ttl = storable(&self.config.policy, &plan.request, &response, now_seconds).ok()?;
        // Several Content-Length fields, or one that is no number: not stored (a hit would
        // send them as they are).
        let declared = declared_length(&facts.content_length).ok()?;
        let max_entry = u64::try_from(self.config.max_entry_bytes).unwrap_or(u64::MAX);
        if declared.is_some_and(|n| n > max_entry) {
            return None;
        }
        let age = facts.age.map_or(0, age_field);
        // Age already spent upstream shortens what is left (RFC 9111 §4.2.3).
        let ttl_ms = ttl.saturating_sub(age).saturating_mul(1000);
        if ttl_ms == 0 {
            return None;
        }
        let mut vary: Vec<String> = facts.vary.iter().map(|v| v.to_ascii_lowercase()).collect();
        vary.sort();
        vary.dedup();
        let key = if vary.is_empty() {
            plan.uri.clone()
        } else {
            variant_key(plan.environ.bind(py), &plan.uri, &vary)
        };
        let cc = &response.cache_control;
        let stale = stale_windows(cc, self.config.stale_defaults);
        Some(Tee {
            key,
            vary: vary.into(),
            head: head.clone(),
            app_tuples: Vec::new(),
            declared,
            // A 204 never carries Content-Length (RFC 9110 §8.6).
            add_length: declared.is_none() && !head.forbids_body(),
            shareable: shareable(cc),
            age,
            ttl_ms,
            stale,
            body: TeeBody::Empty,
            size: 0,
        })
    }

    /// Count `len` more body bytes against `max_entry_bytes` and keep them with `push`, or
    /// stop teeing a body that became too large to store.
    fn tee_chunk(&mut self, len: usize, push: impl FnOnce(&mut TeeBody)) {
        let Some(tee) = self.tee.as_mut() else {
            return;
        };
        tee.size = tee.size.saturating_add(len);
        if tee.size > self.config.max_entry_bytes {
            // Too large to store: stop teeing, the body streams on untouched, and whoever
            // waits for this flight calls the app now.
            self.tee = None;
            Python::attach(|py| self.let_go(py, Landed::Pass));
        } else {
            push(&mut tee.body);
        }
    }

    /// Whether a stored response keeps this header of the app's: not its Age nor our status
    /// header (hits send their own), nor a field a cache does not store (RFC 9111 §3.1).
    fn kept(&self, name: &str) -> bool {
        !self.shared.admission.never_stored(name)
    }

    /// The response is the stale entry (stale-if-error): counted, never stored, and the
    /// flights it led are let go.
    fn answered_stale(&mut self) {
        Counters::bump(&self.shared.counters.stale);
        Python::attach(|py| self.let_go(py, Landed::Failed));
        self.tee = None;
        self.plan = None;
    }

    /// Store on Redis: the record's bytes, written with the GIL released.
    fn put(&mut self, py: Python<'_>, tee: Tee) {
        let Some(plan) = self.plan.as_ref() else {
            return;
        };
        let headers = tee
            .head
            .headers()
            .filter(|(name, _)| self.kept(name))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let body = match tee.body {
            TeeBody::Empty => Vec::new(),
            TeeBody::One(bytes) => bytes.bind(py).as_bytes().to_vec(),
            TeeBody::Joined(joined) => joined,
        };
        let record = Record::Response(ResponseRecord {
            code: tee.head.code(),
            status: tee.head.status().to_owned(),
            stored_at: plan.now,
            ttl_ms: tee.ttl_ms,
            age: tee.age,
            stale_while_revalidate: u32::try_from(tee.stale.0).unwrap_or(u32::MAX),
            stale_if_error: u32::try_from(tee.stale.1).unwrap_or(u32::MAX),
            shareable: tee.shareable,
            add_length: tee.add_length,
            headers,
            tags: self.tags.clone(),
            body,
        });
        let Some([_, host, script, path_info, _]) = plan.uri.uri_parts() else {
            return;
        };
        let path = [script, path_info].concat();
        let put = Put {
            key: tee.key.as_bytes(),
            uri: plan.uri.as_bytes(),
            path: &path,
            host,
            record: record.encode(),
            vary_record: (!tee.vary.is_empty()).then(|| Record::Vary(tee.vary.to_vec()).encode()),
            tags: &self.tags,
            keep_ms: keep_ms(tee.ttl_ms, tee.stale),
            unlock: plan
                .remote_lock
                .as_ref()
                .filter(|(key, _)| *key == tee.key)
                .map(|(_, token)| token.as_str()),
        };
        let unlocked = put.unlock.is_some();
        match self.shared.put(py, &put) {
            Ok(()) if unlocked => {
                if let Some(plan) = self.plan.as_mut() {
                    plan.remote_lock = None;
                }
            }
            Ok(()) => {}
            Err(failure) => report(py, plan.environ.bind(py), &failure),
        }
    }

    /// Land the flights this request leads, in this process and across processes: waiters
    /// look again (`Stored`), call the app at once (`Pass`), or one of them takes the lead
    /// (`Failed`; on Redis also after `Stored`, since the lock is then free: the first to
    /// look again finds the entry, or leads if it was not written).
    fn let_go(&mut self, py: Python<'_>, how: Landed) {
        let Some(plan) = self.plan.as_mut() else {
            return;
        };
        if let Some(guard) = plan.guard.take() {
            guard.land(how);
        }
        let (Some((key, token)), Some(store)) = (plan.remote_lock.take(), self.shared.remote())
        else {
            return;
        };
        let released = py.detach(|| match how {
            Landed::Pass => store.pass(key.as_bytes(), &token),
            Landed::Stored | Landed::Failed => store.unlock(key.as_bytes(), &token),
        });
        if let Err(failure) = released {
            report(py, plan.environ.bind(py), &failure);
        }
    }

    fn store(&mut self, py: Python<'_>, tee: Tee) -> PyResult<()> {
        let Some(plan) = self.plan.as_ref() else {
            return Ok(());
        };
        if !tee.head.forbids_body()
            && tee
                .declared
                .is_some_and(|n| u64::try_from(tee.size).ok() != Some(n))
        {
            // The body did not match the app's Content-Length (the plumbing said so on
            // wsgi.errors): a hit would send that mismatch again.
            return Ok(());
        }
        if self.shared.remote().is_some() {
            self.put(py, tee);
            return Ok(());
        }
        let tuple = |name: &str, value: &str| -> PyResult<Py<PyTuple>> {
            Ok(PyTuple::new(py, [PyString::new(py, name), PyString::new(py, value)])?.unbind())
        };
        let mut header_bytes = 0usize;
        let mut header_count = 0usize;
        let mut headers = Vec::with_capacity(tee.head.len());
        let mut not_modified = Vec::new();
        for (name, value, origin) in tee.head.headers_with_origin() {
            if !self.kept(name) {
                continue;
            }
            header_bytes = header_bytes.saturating_add(name.len() + value.len());
            header_count += 1;
            let reused = origin
                .and_then(|i| tee.app_tuples.get(i))
                .and_then(Option::as_ref);
            let pair = match reused {
                Some(pair) => pair.clone_ref(py),
                None => tuple(name, value)?,
            };
            if kept_in_not_modified(name) {
                not_modified.push(pair.clone_ref(py));
            }
            headers.push(pair);
        }
        let content_length = match tee.add_length {
            true => Some(tuple("Content-Length", &tee.size.to_string())?),
            false => None,
        };
        let stored = Stored {
            status: PyString::new(py, tee.head.status()).unbind(),
            code: tee.head.code(),
            headers,
            content_length,
            not_modified,
            body: tee.body.into_tuple(py)?,
            etag: tee.head.get("etag").map(str::to_owned),
            last_modified: tee.head.get("last-modified").and_then(parse_http_date),
            shareable: tee.shareable,
            age: tee.age,
            tags: self.tags.clone(),
            ttl_ms: tee.ttl_ms,
            stale_while_revalidate: tee.stale.0,
            stale_if_error: tee.stale.1,
        };
        let keep_ms = stored.keep_ms();
        let bytes = entry_bytes(
            tee.size,
            header_bytes,
            header_count + usize::from(tee.add_length),
            tee.key.as_bytes().len(),
        );
        let place = Placement {
            uri: plan.uri.clone(),
            key: tee.key,
            vary: tee.vary,
            bytes,
            keep_ms,
            now: plan.now,
        };
        self.shared.insert(place, stored);
        Ok(())
    }
}

impl BodyFilter for CacheFilter {
    fn on_headers(&mut self, head: &mut ResponseHead, _body: BodyInfo) -> Mode {
        self.replacement = None;
        if self.served_stale.load(Ordering::Acquire) {
            // The app raised and `StaleOnError` answered with the stale entry: labelled
            // already.
            self.answered_stale();
            return Mode::Untouched;
        }
        if head.code() >= 500 && Python::attach(|py| self.replace_with_stale(py, head)) {
            if let Some(name) = &self.config.status_header {
                head.set(name, STALE);
            }
            self.answered_stale();
            return Mode::Transform;
        }
        Python::attach(|py| {
            if let Some((uri, environ)) = &self.invalidate {
                if (200..400).contains(&head.code()) {
                    if let Err(failure) = self.shared.purge_uri(py, uri) {
                        report(py, environ.bind(py), &failure);
                    }
                }
            }
            if let Some(name) = &self.config.tag_header {
                // Tags are for the cache: clients never see them.
                self.tags = response_tags(
                    head.headers()
                        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v),
                );
                head.remove(name);
            }
            // Bodyless responses (a GET's 204) still store: the plumbing drops their body
            // bytes and reports Complete as usual.
            self.tee = self.plan_tee(py, head);
            if self.tee.is_none() {
                // Waiters need not wait for a body that will not be stored. A 5xx is a
                // failing backend: one waiter tries again while the others keep waiting.
                let how = match head.code() {
                    500.. => Landed::Failed,
                    _ => Landed::Pass,
                };
                self.let_go(py, how);
            }
        });
        if let Some(name) = &self.config.status_header {
            head.set(name, self.label);
        }
        if self.tee.is_some() {
            Mode::Observe
        } else {
            Mode::Untouched
        }
    }

    fn on_app_headers(&mut self, headers: &Bound<'_, PyList>) {
        if let Some(tee) = self.tee.as_mut() {
            tee.app_tuples = headers
                .iter()
                .map(|item| item.cast_into::<PyTuple>().ok().map(Bound::unbind))
                .collect();
        }
    }

    fn on_chunk(&mut self, _chunk: &[u8], _out: &mut Vec<u8>) {
        // Transform mode only replaces a 5xx body with the stale one: the app's is dropped.
    }

    fn on_end(&mut self, out: &mut Vec<u8>) {
        if let Some(body) = self.replacement.take() {
            out.extend_from_slice(&body);
        }
    }

    fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    fn on_pass(&mut self, chunk: &[u8]) {
        self.tee_chunk(chunk.len(), |body| body.push_slice(chunk));
    }

    fn on_pass_object(&mut self, chunk: &Bound<'_, PyBytes>) {
        self.tee_chunk(chunk.as_bytes().len(), |body| body.push(chunk));
    }

    fn on_close(&mut self, py: Python<'_>, outcome: Outcome) {
        // Land the flights after the entry is in the store, so waiters find it. A response
        // that raised or stopped early failed: one waiter takes the lead. (A response that
        // was never to be stored let its flights go in `on_headers`.)
        let how = match (outcome, self.tee.take()) {
            (Outcome::Complete, Some(tee)) => {
                if let Err(err) = self.store(py, tee) {
                    // Storing is best effort: the response already reached the client.
                    err.write_unraisable(py, None);
                }
                Landed::Stored
            }
            (Outcome::Complete, None) => Landed::Stored,
            _ => Landed::Failed,
        };
        self.let_go(py, how);
        self.plan = None;
    }
}
