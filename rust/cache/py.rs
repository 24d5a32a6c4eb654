//! The `Cache` Python class: options, the per-request decision (hit, miss, bypass), hits
//! answered without the app, and the purge/clear/stats methods.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyConnectionError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::admit::Admission;
use super::config::{
    check_entry_size, check_key_prefix, check_store_url, CacheConfig, DEFAULT_KEY_PREFIX,
    DEFAULT_STATUSES, DEFAULT_STORE_TIMEOUT, DEFAULT_TAG_HEADER, MISS, STALE,
};
use super::filter::{CacheFilter, StorePlan};
use super::freshness::{age, Policy, RequestDirectives, MAX_STALE_WINDOW};
use super::hit::{sends, Sends, Validators};
use super::key::purge_target;
use super::lookup::{route, Forward, Method, Route};
use super::lookup_port::Hooks;
use super::redis_store::{Failure, RedisStore};
use super::request::Request;
use super::shared::{Counters, Shared, Stored};
use super::stale::StaleOnError;
use crate::http::clock::now_ms;
use crate::http::head::check_header;
use crate::wsgi::answer::{Answer, AnswerBody};
use crate::wsgi::chain::Chain;
use crate::wsgi::layer::{py_bool, Layer, Plan, Wrapped};
use crate::wsgi::options::{bool_arg, str_arg, type_name};

crate::int_option!(MaxBytes, "Cache", "max_bytes", 1, usize::MAX, "bytes");
crate::int_option!(
    MaxEntryBytes,
    "Cache",
    "max_entry_bytes",
    0,
    usize::MAX,
    "bytes"
);
crate::int_option!(
    StaleWhileRevalidate,
    "Cache",
    "stale_while_revalidate",
    0,
    MAX_STALE_WINDOW as usize,
    "seconds"
);
crate::int_option!(
    StaleIfError,
    "Cache",
    "stale_if_error",
    0,
    MAX_STALE_WINDOW as usize,
    "seconds"
);
crate::int_option!(
    DefaultTtl,
    "Cache",
    "default_ttl",
    0,
    u32::MAX as usize,
    "seconds"
);

/// An HTTP cache for WSGI apps (RFC 9111, shared-cache rules), in this process's memory or
/// on a Redis store every process shares: hits are answered without calling the app (in
/// memory, from one stored bytes object per body: the app's own when it sent one chunk).
///
/// Stores complete GET responses that may be shared: never those with Set-Cookie,
/// ``Cache-Control: no-store``, ``private`` or ``no-cache``, ``Vary: *``, a status outside
/// ``statuses``, or a body over ``max_entry_bytes``. The key is the full URL (scheme, host,
/// SCRIPT_NAME, PATH_INFO, query string) plus the request headers the response's ``Vary``
/// names. Freshness comes from ``s-maxage``, ``max-age`` or ``Expires``, else ``default_ttl``.
/// HEAD is answered from the GET entry, conditional requests get a 304 from the cache, and a
/// successful POST/PUT/PATCH/DELETE removes the entries of its URL. Concurrent misses for one
/// URL call the app once (single-flight). Stale entries answer within their RFC 5861
/// windows, and responses tagged in ``Surrogate-Key`` can be purged by tag.
///
///     from wsgi_mw import Cache
///     application = Cache(app)
///     application = Cache(Gzip(app), default_ttl=300)  # hits served already compressed
///
/// Without ``store``, each process has its own store: under a pre-fork server every worker
/// caches on its own. With ``store="redis://..."`` every worker and machine shares one:
/// a miss in one is a hit in all, single-flight and purges reach across processes, and when
/// Redis is down or slow the app answers (``X-Cache: BYPASS``, one line on ``wsgi.errors``
/// per outage) until it is back.
///
///     application = Cache(app, store="redis://127.0.0.1:6379/0")
///
/// What is read back from Redis is untrusted (other programs may write there): a record
/// that does not decode, or that this Cache would never write (a 1xx or a status outside
/// ``statuses``, a Set-Cookie, Age, ``status_header``, hop-by-hop or ``Proxy-*`` field, a
/// Content-Length that is not the body's, a body over ``max_entry_bytes``, lifetimes past
/// what it writes, bad Vary names), is a miss whose response replaces it: counted in
/// ``stats()["refused_records"]``, the first one said on ``wsgi.errors``.
///
/// Parameters
/// ----------
/// app:
///     The WSGI application to wrap.
/// store:
///     Default None: this process's memory. ``"redis://host:port/db"``, ``"rediss://..."``
///     (TLS) or ``"unix:///path/redis.sock?db=N"``: a shared Redis store. Construction never
///     connects. Entries are a versioned binary format (never pickle) under SHA-256 digests
///     of their keys, and expire in Redis when they stop being servable.
/// key_prefix:
///     Default ``"wsgi_mw:"``. What every Redis key of this cache starts with; ``clear()``
///     deletes exactly those (found with SCAN).
/// store_timeout:
///     Default 0.25. Seconds a request may wait on Redis in all, connecting and every
///     command together; slower is an outage: requests bypass the cache, retried with
///     backoff (0.5 s doubling to 30 s). Each batch of a purge has a whole store_timeout.
/// stale_while_revalidate:
///     Default 0. Seconds past its freshness a response still answers, labelled ``STALE``,
///     while one request refreshes it (RFC 5861), for responses whose Cache-Control does not
///     say; ``must-revalidate`` forbids it, and for this default ``s-maxage`` too.
/// stale_if_error:
///     Default 0. Seconds past its freshness a response still answers when its refresh
///     answers 5xx or raises before its head, for responses that do not say.
/// tag_header:
///     Default ``"Surrogate-Key"`` (Fastly's). A response's space-separated tags in this
///     header are stored with it and removed from what clients see; ``purge_tag(tag)``
///     removes every response that carried the tag. ``None``: no tags, the header passes.
/// max_bytes:
///     Default 64 MiB. The memory budget of the in-process store (Redis has its own,
///     ``maxmemory``): bodies, headers and per-entry
///     bookkeeping. Expired entries go first, then the least recently used.
/// max_entry_bytes:
///     Default 1 MiB. Larger bodies are streamed through and not stored (the copy kept for
///     the store is dropped as soon as the body passes this size). At most ``max_bytes``.
/// default_ttl:
///     Default 60. Seconds a response without explicit freshness (``s-maxage``, ``max-age``,
///     ``Expires``) stays fresh; 0 stores only responses that declare their freshness.
/// statuses:
///     The statuses that may be stored. Default: RFC 9110's heuristically cacheable ones,
///     (200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501).
/// status_header:
///     Default ``"X-Cache"``. Response header telling ``HIT``, ``MISS``, ``BYPASS`` or
///     ``STALE`` (a stale entry answered, within its RFC 5861 windows); ``None`` adds
///     nothing.
/// single_flight:
///     Default True. Concurrent misses for the same key wait for the first one's response
///     instead of all calling the app.
/// single_flight_timeout:
///     Default 10.0. Seconds a flight's leader is trusted. When it fails (raises, answers
///     5xx, stops early) or runs longer, exactly one waiter takes the lead and the others
///     wait for it; a request waits for flights twice this at most, then calls the app.
/// request_directives:
///     Default ``"ignore"``: as CDNs and Varnish do, a client's ``Cache-Control: no-cache``,
///     ``max-age`` or ``Pragma: no-cache`` gets the stored entry, so no client can replace a
///     shared entry on demand; its ``no-store`` keeps only its own response out of the
///     store. ``"honor"``: RFC 9111 request directives (no-cache and max-age=0 refresh the
///     entry, coalesced by single-flight; max-age=N takes nothing older; no-store bypasses).
#[pyclass(module = "wsgi_mw._native", name = "Cache", frozen)]
pub struct Cache {
    app: Wrapped,
    config: Arc<CacheConfig>,
    shared: Arc<Shared>,
    /// `(status_header, "HIT")`, one tuple shared by every hit (tuples are immutable).
    hit_header: Option<Py<PyTuple>>,
    /// `("Age", n)` for small n, made on first use.
    ages: Box<[PyOnceLock<Py<PyTuple>>]>,
}

/// Ages (seconds) whose header tuple is kept: covers the default TTL many times over.
const KEPT_AGES: usize = 600;

/// The Python error for a purge or clear the shared store did not carry out.
fn store_error(method: &str, failure: &Failure) -> PyErr {
    let why = match failure {
        Failure::Down => "the shared store is unreachable (retrying with backoff)".to_owned(),
        Failure::Failed { message, .. } => format!("the shared store failed: {message}"),
    };
    PyConnectionError::new_err(format!("Cache.{method}(): {why}"))
}

fn statuses(given: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u16>> {
    let Some(given) = given else {
        return Ok(DEFAULT_STATUSES.to_vec());
    };
    let not_iterable = || {
        PyTypeError::new_err(format!(
            "Cache(statuses=...): expected an iterable of int status codes like (200, 404), not {}",
            type_name(given)
        ))
    };
    if given.is_instance_of::<PyString>() || given.is_instance_of::<PyBytes>() {
        return Err(not_iterable());
    }
    let mut codes = Vec::new();
    for item in given.try_iter().map_err(|_| not_iterable())? {
        let item = item?;
        if item.is_instance_of::<PyBool>() || !item.is_instance_of::<PyInt>() {
            return Err(PyTypeError::new_err(format!(
                "Cache(statuses=...): every status must be an int like 200, not {}",
                type_name(&item)
            )));
        }
        match item.extract::<u16>() {
            Ok(code) if (100..=599).contains(&code) => codes.push(code),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "Cache(statuses=...): {item} is not an HTTP status code (100 to 599)"
                )))
            }
        }
    }
    codes.sort_unstable();
    codes.dedup();
    Ok(codes)
}

/// A header-name option: a valid field name, or None for no header.
fn header_option(given: &Borrowed<'_, '_, PyAny>, param: &str) -> PyResult<Option<String>> {
    if given.is_none() {
        return Ok(None);
    }
    let name = given.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "Cache({param}=...): {param} must be a header name (str) or None, not {}",
            type_name(given)
        ))
    })?;
    let name = name.to_cow()?.into_owned();
    check_header(&name, "HIT").map_err(|e| {
        PyValueError::new_err(format!(
            "Cache({param}={name:?}): {param} is not a valid header name: {}",
            e.0
        ))
    })?;
    Ok(Some(name))
}

/// `status_header=`: a header name, or None for no header.
struct StatusHeader(Option<String>);

impl<'a, 'py> FromPyObject<'a, 'py> for StatusHeader {
    type Error = PyErr;

    fn extract(given: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        header_option(&given, "status_header").map(StatusHeader)
    }
}

/// `tag_header=`: the header tags come in, or None for no tags.
struct TagHeader(Option<String>);

impl<'a, 'py> FromPyObject<'a, 'py> for TagHeader {
    type Error = PyErr;

    fn extract(given: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        header_option(&given, "tag_header").map(TagHeader)
    }
}

/// `single_flight=`: True or False (not any truthy object: a typo'd value should not pass).
struct Flag(bool);

impl<'a, 'py> FromPyObject<'a, 'py> for Flag {
    type Error = PyErr;

    fn extract(given: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        bool_arg("Cache", "single_flight", Some(&*given), false).map(Flag)
    }
}

/// `request_directives=`: "ignore" or "honor".
struct Directives(RequestDirectives);

impl<'a, 'py> FromPyObject<'a, 'py> for Directives {
    type Error = PyErr;

    fn extract(given: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let text = given.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "Cache(request_directives=...): request_directives must be \"ignore\" or \"honor\", not {}",
                type_name(&given)
            ))
        })?;
        match text.to_cow()?.as_ref() {
            "ignore" => Ok(Directives(RequestDirectives::Ignore)),
            "honor" => Ok(Directives(RequestDirectives::Honor)),
            other => Err(PyValueError::new_err(format!(
                "Cache(request_directives={other:?}): request_directives must be \"ignore\" or \"honor\""
            ))),
        }
    }
}

/// A duration option in seconds: a number more than 0 and at most `max`.
fn seconds(given: &Bound<'_, PyAny>, param: &str, max: f64) -> PyResult<Duration> {
    if given.is_instance_of::<PyBool>()
        || !(given.is_instance_of::<PyInt>() || given.is_instance_of::<PyFloat>())
    {
        return Err(PyTypeError::new_err(format!(
            "Cache({param}=...): {param} must be a number of seconds, not {}",
            type_name(given)
        )));
    }
    let value: f64 = given.extract()?;
    if !(value.is_finite() && value > 0.0 && value <= max) {
        return Err(PyValueError::new_err(format!(
            "Cache({param}={value}): {param} must be more than 0 and at most {max} seconds"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

/// `store=`: None (this process's memory) or the URL of a Redis store.
fn store_option(
    given: Option<&Bound<'_, PyAny>>,
    key_prefix: &str,
    timeout: Duration,
) -> PyResult<Option<(String, RedisStore)>> {
    let Some(given) = given.filter(|g| !g.is_none()) else {
        return Ok(None);
    };
    let url = str_arg(given, "Cache(store=...): store")?;
    check_store_url(&url)
        .map_err(|e| PyValueError::new_err(format!("Cache(store={url:?}): {e}")))?;
    let store = RedisStore::new(&url, key_prefix, timeout).map_err(|e| {
        PyValueError::new_err(format!(
            "Cache(store={url:?}): store is not a usable Redis URL: {e}"
        ))
    })?;
    Ok(Some((url, store)))
}

impl Cache {
    /// Call the app for a request the cache does not answer.
    fn forward<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        forward: Forward<StorePlan>,
    ) -> PyResult<Plan<'py>> {
        let Forward {
            label,
            invalidate,
            store: mut plan,
        } = forward;
        let counter = match label {
            MISS => &self.shared.counters.misses,
            _ => &self.shared.counters.bypasses,
        };
        Counters::bump(counter);
        let app = self.app.bind(py);
        if plan.is_none()
            && invalidate.is_none()
            && self.config.status_header.is_none()
            && self.config.tag_header.is_none()
        {
            // Nothing to label, store or invalidate: stay out of the way entirely.
            return Ok(Plan::Pass);
        }
        // A refresh that may answer with a stale entry when the app raises before its head.
        let served_stale = Arc::new(AtomicBool::new(false));
        let fallback = match plan.as_mut().and_then(|plan| plan.stale.clone()) {
            Some((stored, stored_at)) => {
                let seconds = age(
                    stored.age,
                    stored_at.div_euclid(1000),
                    now_ms().div_euclid(1000),
                );
                let mut extra = vec![self.age_header(py, seconds)?.unbind()];
                if let Some(name) = &self.config.status_header {
                    extra.push(PyTuple::new(py, [name.as_str(), STALE])?.unbind());
                }
                let wrapper =
                    StaleOnError::new(app.clone().unbind(), stored, extra, served_stale.clone());
                Some(Bound::new(py, wrapper)?.into_any())
            }
            None => None,
        };
        let filter = CacheFilter::new(
            self.config.clone(),
            self.shared.clone(),
            label,
            invalidate.map(|uri| (uri, environ.clone().unbind())),
            plan,
            served_stale,
        );
        let filter = Box::new(filter);
        Ok(match fallback {
            Some(wrapper) => Plan::Dispatch(wrapper, Some(filter)),
            None => Plan::Filter(filter),
        })
    }

    /// Answer from the store: the stored head (or a 304) and the stored bytes objects.
    fn serve<'py>(
        &self,
        py: Python<'py>,
        request: &Request<'_>,
        stored: &Stored,
        (seconds, label): (u64, &'static str),
    ) -> PyResult<Plan<'py>> {
        // A stale answer is a hit (the app is not called), counted in `stale` as well.
        Counters::bump(&self.shared.counters.hits);
        let status_header = if label == STALE {
            Counters::bump(&self.shared.counters.stale);
            match &self.config.status_header {
                Some(name) => Some(PyTuple::new(py, [name.as_str(), STALE])?.unbind()),
                None => None,
            }
        } else {
            self.hit_header.as_ref().map(|h| h.clone_ref(py))
        };
        let age = self.age_header(py, seconds)?;
        let validators = Validators {
            code: stored.code,
            etag: stored.etag.as_deref(),
            last_modified: stored.last_modified,
        };
        let sends = sends(request.is_conditional(), &validators, || {
            (request.if_none_match(), request.if_modified_since())
        });
        let (fields, length, body) = match sends {
            Sends::Stored => (
                &stored.headers,
                stored.content_length.as_ref(),
                AnswerBody::Stored(stored.body.bind(py).clone()),
            ),
            Sends::NotModified => (&stored.not_modified, None, AnswerBody::NotModified),
        };
        let headers = PyList::new(
            py,
            fields
                .iter()
                .map(|f| f.bind(py))
                .chain(std::iter::once(&age))
                .chain(status_header.iter().map(|h| h.bind(py)))
                .chain(length.map(|l| l.bind(py))),
        )?;
        let head_request = request.method == Method::Head;
        let made = Answer {
            status: stored.status.bind(py).clone().into_any(),
            headers,
            body,
            head_request,
        };
        Ok(Plan::Answer(made))
    }

    /// The `("Age", "<seconds>")` header; the first few hundred are made once and reused.
    fn age_header<'py>(&self, py: Python<'py>, seconds: u64) -> PyResult<Bound<'py, PyTuple>> {
        let make = || {
            PyTuple::new(
                py,
                [
                    intern!(py, "Age").clone(),
                    PyString::new(py, &seconds.to_string()),
                ],
            )
        };
        match usize::try_from(seconds).ok().and_then(|s| self.ages.get(s)) {
            Some(cell) => Ok(cell
                .get_or_try_init(py, || make().map(Bound::unbind))?
                .bind(py)
                .clone()),
            None => make(),
        }
    }
}

/// The garbage collector visits the app alone (the default `traverse_more`): stored
/// responses hold only str, bytes and tuples of them, with no cycles to find.
impl Layer for Cache {
    const NAME: &'static str = "Cache";

    fn wrapped(&self) -> &Wrapped {
        &self.app
    }

    fn plan<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Plan<'py>> {
        let Some(dict) = chain.request.environ().cloned() else {
            // The plumbing reports the broken environ with the PEP 3333 wording.
            return self.forward(py, environ, Forward::bypass());
        };
        let request = Request::read(&mut chain.request);
        let hooks = Hooks {
            py,
            environ: &dict,
            shared: &self.shared,
        };
        match route(&hooks, &self.shared.flights, &self.config, &request.asked()) {
            Route::Serve {
                stored,
                seconds,
                label,
            } => self.serve(py, &request, &stored, (seconds, label)),
            Route::App(forward) => {
                let forward = forward.map(|store| StorePlan {
                    uri: request.uri.clone(),
                    request: request.facts,
                    environ: dict.clone().unbind(),
                    guard: store.guard,
                    remote_lock: store.remote_lock,
                    stale: store.stale,
                    now: store.now,
                });
                self.forward(py, environ, forward)
            }
        }
    }
}

crate::layer_methods!(Cache {
    #[new]
    #[pyo3(
        signature = (app, *, store = None, key_prefix = None, store_timeout = None, stale_while_revalidate = StaleWhileRevalidate(0), stale_if_error = StaleIfError(0), tag_header = TagHeader(Some(DEFAULT_TAG_HEADER.to_owned())), max_bytes = MaxBytes(64 * 1024 * 1024), max_entry_bytes = MaxEntryBytes(1024 * 1024), default_ttl = DefaultTtl(60), statuses = None, status_header = StatusHeader(Some("X-Cache".to_owned())), single_flight = Flag(true), single_flight_timeout = None, request_directives = Directives(RequestDirectives::Ignore)),
        text_signature = "(app, *, store=None, key_prefix='wsgi_mw:', store_timeout=0.25, stale_while_revalidate=0, stale_if_error=0, tag_header='Surrogate-Key', max_bytes=67108864, max_entry_bytes=1048576, default_ttl=60, statuses=(200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501), status_header='X-Cache', single_flight=True, single_flight_timeout=10.0, request_directives='ignore')"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        app: &Bound<'_, PyAny>,
        store: Option<&Bound<'_, PyAny>>,
        key_prefix: Option<&Bound<'_, PyAny>>,
        store_timeout: Option<&Bound<'_, PyAny>>,
        stale_while_revalidate: StaleWhileRevalidate,
        stale_if_error: StaleIfError,
        tag_header: TagHeader,
        max_bytes: MaxBytes,
        max_entry_bytes: MaxEntryBytes,
        default_ttl: DefaultTtl,
        statuses: Option<&Bound<'_, PyAny>>,
        status_header: StatusHeader,
        single_flight: Flag,
        single_flight_timeout: Option<&Bound<'_, PyAny>>,
        request_directives: Directives,
    ) -> PyResult<Self> {
        let single_flight_timeout = match single_flight_timeout {
            Some(given) => seconds(given, "single_flight_timeout", 86_400.0)?,
            None => Duration::from_secs(10),
        };
        let store_timeout = match store_timeout {
            Some(given) => seconds(given, "store_timeout", 60.0)?,
            None => DEFAULT_STORE_TIMEOUT,
        };
        let key_prefix = match key_prefix {
            Some(given) => {
                let prefix = str_arg(given, "Cache(key_prefix=...): key_prefix")?;
                check_key_prefix(&prefix).map_err(|e| {
                    PyValueError::new_err(format!("Cache(key_prefix={prefix:?}): {e}"))
                })?;
                prefix
            }
            None => DEFAULT_KEY_PREFIX.to_owned(),
        };
        let store = store_option(store, &key_prefix, store_timeout)?;
        check_entry_size(max_entry_bytes.0, max_bytes.0).map_err(|e| {
            PyValueError::new_err(format!("Cache(max_entry_bytes={}): {e}", max_entry_bytes.0))
        })?;
        let (status_header, single_flight) = (status_header.0, single_flight.0);
        let hit_header = match &status_header {
            Some(name) => Some(
                PyTuple::new(py, [PyString::new(py, name), PyString::intern(py, "HIT")])?.unbind(),
            ),
            None => None,
        };
        let config = CacheConfig {
            policy: Policy {
                statuses: self::statuses(statuses)?,
                default_ttl: u64::try_from(default_ttl.0).unwrap_or(60),
            },
            max_bytes: max_bytes.0,
            max_entry_bytes: max_entry_bytes.0,
            status_header,
            single_flight,
            single_flight_timeout,
            request_directives: request_directives.0,
            store_url: store.as_ref().map(|(url, _)| url.clone()),
            key_prefix,
            store_timeout,
            tag_header: tag_header.0,
            stale_defaults: (
                u64::try_from(stale_while_revalidate.0).unwrap_or(0),
                u64::try_from(stale_if_error.0).unwrap_or(0),
            ),
        };
        let admission = Admission::new(&config);
        let shared = match store {
            Some((_, store)) => Shared::redis(store, admission),
            None => Shared::new(config.max_bytes, admission),
        };
        Ok(Cache {
            app: Wrapped::new(app, "Cache")?,
            shared: Arc::new(shared),
            config: Arc::new(config),
            hit_header,
            ages: (0..KEPT_AGES).map(|_| PyOnceLock::new()).collect(),
        })
    }

    /// Remove every stored response for a path: ``"/blog/post"`` (SCRIPT_NAME + PATH_INFO)
    /// or a URL, ``"https://example.com/blog/post"`` (its host then limits the purge, and
    /// its query string is ignored): all query strings, schemes and Vary variants. ``host``
    /// (e.g. ``"example.com"``) limits it to one host; without a port it matches every port.
    /// Returns the number of responses removed. With a shared store (``store=``), the purge
    /// reaches every process and machine sharing it; when the store cannot be reached,
    /// ``ConnectionError`` is raised (a purge that did not happen is never silent).
    #[pyo3(signature = (url_or_path, *, host = None))]
    fn purge(
        &self,
        py: Python<'_>,
        url_or_path: &Bound<'_, PyAny>,
        host: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let text = |value: &Bound<'_, PyAny>, param: &str| {
            str_arg(value, &format!("Cache.purge({param}=...): {param}"))
        };
        let target = text(url_or_path, "url_or_path")?;
        let (url_host, path) = purge_target(&target).map_err(|e| {
            PyValueError::new_err(format!("Cache.purge(url_or_path={target:?}): {e}"))
        })?;
        let host = match host.filter(|h| !h.is_none()) {
            Some(host) => Some(text(host, "host")?.to_ascii_lowercase()),
            None => url_host,
        };
        self.shared
            .purge(py, &path, host.as_deref())
            .map_err(|failure| store_error("purge", &failure))
    }

    /// Remove every stored response whose ``tag_header`` (``Surrogate-Key`` by default)
    /// named ``tag``; returns the number removed. With a shared store, on every process
    /// and machine sharing it (``ConnectionError`` when it cannot be reached).
    fn purge_tag(&self, py: Python<'_>, tag: &Bound<'_, PyAny>) -> PyResult<usize> {
        let tag = str_arg(tag, "Cache.purge_tag(tag=...): tag")?;
        if tag.is_empty() || tag.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(PyValueError::new_err(format!(
                "Cache.purge_tag(tag={tag:?}): tag must be one non-empty word (tags are space-separated)"
            )));
        }
        self.shared
            .purge_tag(py, &tag)
            .map_err(|failure| store_error("purge_tag", &failure))
    }

    /// Remove every stored response. With a shared store, every key under ``key_prefix``
    /// (found with SCAN; nothing else in the Redis database is touched); ``ConnectionError``
    /// when the store cannot be reached. Counters are kept.
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        self.shared
            .clear(py)
            .map_err(|failure| store_error("clear", &failure))
    }

    /// Counters since construction and the store's current size: ``hits``, ``misses``,
    /// ``bypasses`` (requests answered each way; they add up to all requests), ``stores``
    /// (responses stored), ``evictions`` (entries removed to make room), ``entries`` and
    /// ``bytes`` (what is stored now, bytes as charged against ``max_bytes``),
    /// ``store_errors`` (failed operations on a shared store), ``stale`` (answers from a
    /// stale entry), ``refused_records`` (records read back from a shared store that Cache
    /// would never write, answered by the app instead).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.shared.stats();
        let dict = PyDict::new(py);
        dict.set_item("hits", stats.hits)?;
        dict.set_item("misses", stats.misses)?;
        dict.set_item("bypasses", stats.bypasses)?;
        dict.set_item("stores", stats.stores)?;
        dict.set_item("evictions", stats.evictions)?;
        dict.set_item("entries", stats.entries)?;
        dict.set_item("bytes", stats.bytes)?;
        dict.set_item("store_errors", stats.store_errors)?;
        dict.set_item("stale", stats.stale)?;
        dict.set_item("refused_records", stats.refused_records)?;
        Ok(dict)
    }

    /// The shared store's URL, or None for this process's memory.
    #[getter]
    fn store(&self) -> Option<String> {
        self.config.store_url.clone()
    }

    /// Seconds a stale entry answers while one request refreshes it, for responses that do
    /// not say (``Cache-Control: stale-while-revalidate``).
    #[getter]
    fn stale_while_revalidate(&self) -> u64 {
        self.config.stale_defaults.0
    }

    /// Seconds a stale entry answers when its refresh fails, for responses that do not say
    /// (``Cache-Control: stale-if-error``).
    #[getter]
    fn stale_if_error(&self) -> u64 {
        self.config.stale_defaults.1
    }

    /// The response header tags are read from (and removed), or None.
    #[getter]
    fn tag_header(&self) -> Option<String> {
        self.config.tag_header.clone()
    }

    /// What every key this cache writes to a shared store starts with.
    #[getter]
    fn key_prefix(&self) -> String {
        self.config.key_prefix.clone()
    }

    /// Seconds a shared store has to connect or answer one command.
    #[getter]
    fn store_timeout(&self) -> f64 {
        self.config.store_timeout.as_secs_f64()
    }

    /// The store's memory budget in bytes.
    #[getter]
    fn max_bytes(&self) -> usize {
        self.config.max_bytes
    }

    /// Bodies larger than this many bytes are not stored.
    #[getter]
    fn max_entry_bytes(&self) -> usize {
        self.config.max_entry_bytes
    }

    /// Seconds of freshness for responses that do not declare any.
    #[getter]
    fn default_ttl(&self) -> u64 {
        self.config.policy.default_ttl
    }

    /// The statuses that may be stored, sorted.
    #[getter]
    fn statuses<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.config.policy.statuses)
    }

    /// The name of the HIT/MISS/BYPASS response header, or None.
    #[getter]
    fn status_header(&self) -> Option<String> {
        self.config.status_header.clone()
    }

    /// Whether concurrent misses for one key call the app once.
    #[getter]
    fn single_flight(&self) -> bool {
        self.config.single_flight
    }

    /// Seconds a request waits at most for another request's response.
    #[getter]
    fn single_flight_timeout(&self) -> f64 {
        self.config.single_flight_timeout.as_secs_f64()
    }

    /// ``"ignore"`` or ``"honor"``: what a client's own Cache-Control and Pragma can do.
    #[getter]
    fn request_directives(&self) -> &'static str {
        self.config.request_directives.name()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let statuses: Vec<String> = self
            .config
            .policy
            .statuses
            .iter()
            .map(u16::to_string)
            .collect();
        Ok(format!(
            "Cache({}, {}max_bytes={}, max_entry_bytes={}, default_ttl={}, statuses=({}{}), status_header={}, single_flight={}, single_flight_timeout={}, request_directives='{}', tag_header={})",
            self.app.repr(py)?,
            match &self.config.store_url {
                Some(url) => format!(
                    "store={}, key_prefix={}, store_timeout={}, ",
                    PyString::new(py, url).repr()?,
                    PyString::new(py, &self.config.key_prefix).repr()?,
                    PyFloat::new(py, self.config.store_timeout.as_secs_f64()).repr()?
                ),
                None => String::new(),
            },
            self.config.max_bytes,
            self.config.max_entry_bytes,
            self.config.policy.default_ttl,
            statuses.join(", "),
            if statuses.len() == 1 { "," } else { "" },
            match &self.config.status_header {
                Some(name) => PyString::new(py, name).repr()?.to_string(),
                None => "None".to_owned(),
            },
            py_bool(self.config.single_flight),
            PyFloat::new(py, self.config.single_flight_timeout.as_secs_f64()).repr()?,
            self.config.request_directives.name(),
            match &self.config.tag_header {
                Some(name) => PyString::new(py, name).repr()?.to_string(),
                None => "None".to_owned(),
            },
        ))
    }
});
