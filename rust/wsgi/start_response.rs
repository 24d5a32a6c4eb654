//! The `start_response` a middleware passes to the app it wraps: validates status and
//! headers (PEP 3333 rule 6), applies the `exc_info` rules (rule 5) and returns the `write()`
//! callable (rule 3). The response iterator (`response.rs`) reads what it captured.
//!
//! While the app is still being called the capture owns the request's filter, so a head given
//! then is decided at once; when the filter leaves the response untouched the head goes to the
//! server right away and the app gets the server's own `write` (the fast path: no iterator,
//! no extra objects).

use std::collections::VecDeque;

use pyo3::exceptions::{PyAssertionError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::filter::BodyFilter;
use super::head_out::{decide, send_head, Captured, Flow};
use super::options::type_name;
use super::text::utf8;
use crate::http::head::{parse_status, ResponseHead};

/// Where the app's head stands with the server.
enum Head {
    /// Nothing sent: the app may still give its head, or replace it (with `exc_info`).
    Open,
    /// The iterator sent the head, or non-empty `write()` data was accepted (PEP 3333: write()
    /// transmits): from now on `exc_info` re-raises. Servers such as wsgiref send the headers
    /// on the first item even when it is `b""`, so "went upstream" is the safe line.
    Sent,
    /// The fast path: the head went to the server inside start_response and the app's
    /// iterable goes straight back to it, so later calls (an `exc_info` replacement,
    /// `write()`) go straight to the server's own callables.
    Forwarded {
        start_response: Py<PyAny>,
        write: Py<PyAny>,
    },
}

#[pyclass(module = "wsgi_mw._native", name = "StartResponse")]
pub struct StartResponse {
    middleware: &'static str,
    /// The server's (or the next middleware's) start_response.
    upstream: Py<PyAny>,
    head_request: bool,
    /// The request's filter while the app is being called; `call_app` takes it back after.
    filter: Option<Box<dyn BodyFilter>>,
    /// The newest head, until the iterator takes it.
    captured: Option<Captured>,
    /// Bumped on every accepted call, so the iterator notices an `exc_info` replacement
    /// (0: start_response was not called yet).
    generation: u64,
    /// `exc_info` that came with the newest head, passed upstream with it.
    exc_info: Option<Py<PyAny>>,
    /// `write()` data not yet taken by the iterator, in order.
    writes: VecDeque<Py<PyAny>>,
    head: Head,
    /// The app's iterable was exhausted or closed: a `write()` now could never be sent.
    ended: bool,
}

impl StartResponse {
    pub(crate) fn new(
        middleware: &'static str,
        upstream: Py<PyAny>,
        head_request: bool,
        filter: Box<dyn BodyFilter>,
    ) -> Self {
        StartResponse {
            middleware,
            upstream,
            head_request,
            filter: Some(filter),
            captured: None,
            generation: 0,
            exc_info: None,
            writes: VecDeque::new(),
            head: Head::Open,
            ended: false,
        }
    }

    /// A capture whose head was already shown to the filter (an answer made without the
    /// app, see `call_app`): as if the app had called start_response with it and returned.
    pub(crate) fn decided(
        middleware: &'static str,
        upstream: Py<PyAny>,
        head_request: bool,
        filter: Box<dyn BodyFilter>,
        captured: Captured,
    ) -> Self {
        let mut capture = StartResponse::new(middleware, upstream, head_request, filter);
        capture.captured = Some(captured);
        capture.generation = 1;
        capture
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// start_response was called (successfully) at least once.
    fn head_set(&self) -> bool {
        self.generation > 0
    }

    /// The newest head plus the `exc_info` that came with it, moved out (the iterator owns it
    /// from now on; `head_set` stays true).
    pub(crate) fn take_head(&mut self) -> Option<(Captured, Option<Py<PyAny>>)> {
        let captured = self.captured.take()?;
        Some((captured, self.exc_info.take()))
    }

    /// write() data is waiting for the iterator.
    pub(crate) fn has_writes(&self) -> bool {
        !self.writes.is_empty()
    }

    pub(crate) fn pop_write(&mut self) -> Option<Py<PyAny>> {
        self.writes.pop_front()
    }

    pub(crate) fn mark_head_sent(&mut self) {
        self.head = Head::Sent;
    }

    pub(crate) fn mark_ended(&mut self) {
        self.ended = true;
    }

    pub(crate) fn take_filter(&mut self) -> Option<Box<dyn BodyFilter>> {
        self.filter.take()
    }

    /// The head already went to the server on the fast path.
    pub(crate) fn forwarded(&self) -> bool {
        matches!(self.head, Head::Forwarded { .. })
    }
}

/// Validate the arguments of a `start_response` call (PEP 3333 rule 6).
pub(crate) fn capture(
    middleware: &str,
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
) -> PyResult<Captured> {
    let not_text = |what: String| {
        PyValueError::new_err(format!(
            "{middleware}: start_response() {what} is not encodable text (lone surrogate?)"
        ))
    };
    let status_text = match status.cast::<PyString>() {
        Ok(s) => utf8(s).map_err(|_| not_text(format!("status {status}")))?,
        Err(_) => {
            return Err(PyTypeError::new_err(format!(
                "{middleware}: start_response() status must be a str like '200 OK', not {}",
                type_name(status)
            )))
        }
    };
    let code = parse_status(status_text)
        .map_err(|e| PyValueError::new_err(format!("{middleware}: start_response() {}", e.0)))?;
    let list = headers.cast::<PyList>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{middleware}: start_response() headers must be a list of (name, value) tuples, not {}",
            type_name(headers)
        ))
    })?;
    let mut exact =
        status.is_exact_instance_of::<PyString>() && headers.is_exact_instance_of::<PyList>();
    let mut head = ResponseHead::new(status_text.to_owned(), code, list.len());
    for (i, item) in list.iter().enumerate() {
        let pair = item.cast::<PyTuple>().ok().filter(|t| t.len() == 2);
        let strings = pair.and_then(|t| {
            let name = t.get_item(0).ok()?.cast_into::<PyString>().ok()?;
            let value = t.get_item(1).ok()?.cast_into::<PyString>().ok()?;
            Some((name, value))
        });
        let Some((name, value)) = strings else {
            return Err(PyTypeError::new_err(format!(
                "{middleware}: start_response() header {i} must be a (name, value) tuple of str, got {}",
                item.repr().map(|r| r.to_string()).unwrap_or_else(|_| type_name(&item))
            )));
        };
        exact &= item.is_exact_instance_of::<PyTuple>()
            && name.is_exact_instance_of::<PyString>()
            && value.is_exact_instance_of::<PyString>();
        let (Ok(name), Ok(value)) = (utf8(&name), utf8(&value)) else {
            return Err(not_text(format!("header {i} ({item})")));
        };
        head.push_checked(name, value, i).map_err(|e| {
            PyValueError::new_err(format!("{middleware}: start_response() {}", e.0))
        })?;
    }
    Ok(Captured {
        head,
        status: status.clone().unbind(),
        headers: headers.clone().unbind(),
        flow: None,
        exact,
    })
}

/// Re-raise the exception described by an `exc_info` triple, with its traceback.
fn reraise(exc_info: &Bound<'_, PyAny>) -> PyErr {
    let value = match exc_info.get_item(1) {
        Ok(value) => value,
        Err(e) => return e,
    };
    let with_tb = exc_info
        .get_item(2)
        .and_then(|tb| value.call_method1("with_traceback", (tb,)));
    match with_tb {
        Ok(v) => PyErr::from_value(v),
        Err(_) => PyErr::from_value(value),
    }
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, headers, exc_info = None))]
    fn __call__(
        slf: &Bound<'_, Self>,
        status: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        exc_info: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        // PEP 3333 tests exc_info for truth, like wsgiref does.
        let exc_info = match exc_info {
            Some(e) if !e.is_none() && e.is_truthy()? => Some(e),
            _ => None,
        };
        // One look at our state; the filter is taken out so no borrow is held while it runs
        // (it may call Python, e.g. to encode rules for a charset).
        let (middleware, forward, state_error, filter, head_request, upstream) = {
            let mut this = slf.try_borrow_mut()?;
            let forward = match &this.head {
                Head::Forwarded { start_response, .. } => Some(start_response.clone_ref(py)),
                Head::Open | Head::Sent => None,
            };
            // Only flags here: building the re-raised exception runs Python, outside the borrow.
            let state_error = match exc_info {
                Some(_) if matches!(this.head, Head::Sent) => Some(StateError::Reraise),
                None if this.head_set() => Some(StateError::AlreadySet),
                _ => None,
            };
            let filter = if state_error.is_none() {
                this.filter.take()
            } else {
                None
            };
            let upstream = filter.as_ref().map(|_| this.upstream.clone_ref(py));
            (
                this.middleware,
                forward,
                state_error,
                filter,
                this.head_request,
                upstream,
            )
        };
        match (state_error, exc_info) {
            (Some(StateError::Reraise), Some(e)) => return Err(reraise(e)),
            (Some(_), _) => return Err(already_set(middleware)),
            (None, _) => {}
        }
        let mut captured = match capture(middleware, status, headers) {
            Ok(captured) => captured,
            Err(err) => {
                if let Some(filter) = filter {
                    slf.try_borrow_mut()?.filter = Some(filter);
                }
                return Err(err);
            }
        };
        if let Some(upstream) = forward {
            // The server owns the response now: it applies the exc_info rules itself (a call
            // without exc_info was refused above as "headers already set"). The app's iterable
            // goes to the server untouched whatever the filter now says, but while the app
            // is still running the filter still sees the replacement head and may edit it
            // (Cache labels it): its answer beyond that is moot, and its `on_close` will say
            // `HandedBack`.
            let Some(mut filter) = filter else {
                return upstream.call1(py, (status, headers, exc_info));
            };
            decide(filter.as_mut(), &mut captured.head, head_request);
            slf.try_borrow_mut()?.filter = Some(filter);
            let exc_info = exc_info.map(|e| e.clone().unbind());
            return Ok(send_head(py, upstream.bind(py), &captured, exc_info)?.unbind());
        }

        // Decide now while the app is still running (the filter is ours until it returns).
        if let (Some(mut filter), Some(upstream)) = (filter, upstream) {
            let flow = decide(filter.as_mut(), &mut captured.head, head_request);
            if flow == Flow::Pass {
                // The fast path: the server gets the head now and the app the server's write.
                // exc_info goes along: legal on a first call, and needed when an earlier
                // attempt reached the server before failing.
                let exc_info = exc_info.map(|e| e.clone().unbind());
                let sent = send_head(py, upstream.bind(py), &captured, exc_info);
                let mut this = slf.try_borrow_mut()?;
                this.filter = Some(filter);
                let write = sent?;
                this.generation += 1;
                this.head = Head::Forwarded {
                    start_response: upstream,
                    write: write.clone().unbind(),
                };
                return Ok(write.unbind());
            }
            if flow == Flow::Observe && captured.exact {
                if let Ok(list) = captured.headers.bind(py).cast::<PyList>() {
                    filter.on_app_headers(list);
                }
            }
            captured.flow = Some(flow);
            slf.try_borrow_mut()?.filter = Some(filter);
        }
        // We stay in the loop: keep our own copy of the header list, so an app that changes
        // its list after start_response cannot slip unvalidated headers (or a stale
        // Content-Length) past the filter.
        let snapshot = captured
            .headers
            .bind(py)
            .cast::<PyList>()?
            .get_slice(0, usize::MAX);
        captured.headers = snapshot.into_any().unbind();

        let mut this = slf.try_borrow_mut()?;
        if let Some(e) = exc_info {
            this.exc_info = Some(e.clone().unbind());
        }
        this.captured = Some(captured);
        this.generation += 1;
        drop(this);
        let write = Write {
            start_response: slf.clone().unbind(),
        };
        Ok(Py::new(py, write)?.into_any())
    }

    fn __repr__(&self) -> String {
        format!("<start_response of wsgi_mw.{}>", self.middleware)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.upstream)?;
        if let Some(captured) = &self.captured {
            visit.call(&captured.status)?;
            visit.call(&captured.headers)?;
        }
        visit.call(&self.exc_info)?;
        for data in &self.writes {
            visit.call(data)?;
        }
        if let Head::Forwarded {
            start_response,
            write,
        } = &self.head
        {
            visit.call(start_response)?;
            visit.call(write)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.captured = None;
        self.exc_info = None;
        self.writes.clear();
        self.head = Head::Open;
    }
}

enum StateError {
    Reraise,
    AlreadySet,
}

fn already_set(middleware: &str) -> PyErr {
    PyAssertionError::new_err(format!(
        "{middleware}: start_response() was called a second time without exc_info (headers already set)"
    ))
}

/// The `write()` callable returned by [`StartResponse`]: its data is queued for the response
/// iterator, ahead of the iterable's (PEP 3333 rule 3).
#[pyclass(module = "wsgi_mw._native", name = "Write")]
pub struct Write {
    start_response: Py<StartResponse>,
}

#[pymethods]
impl Write {
    fn __call__(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let capture = self.start_response.bind(py);
        let middleware = capture.try_borrow()?.middleware;
        if !data.is_instance_of::<PyBytes>() {
            return Err(PyTypeError::new_err(format!(
                "{middleware}: write() argument must be bytes, not {}",
                type_name(data)
            )));
        }
        let upstream_write = {
            let mut this = capture.try_borrow_mut()?;
            match &this.head {
                Head::Forwarded { write, .. } => Some(write.clone_ref(py)),
                Head::Open | Head::Sent => {
                    if !this.head_set() {
                        return Err(PyAssertionError::new_err(format!(
                            "{middleware}: write() called before start_response()"
                        )));
                    }
                    if this.ended {
                        // wsgiref raises here too: the data would be lost without a word.
                        return Err(PyAssertionError::new_err(format!(
                            "{middleware}: write() called after the response ended (its \
                             iterable was exhausted or closed)"
                        )));
                    }
                    if !data.cast::<PyBytes>()?.as_bytes().is_empty() {
                        this.head = Head::Sent;
                    }
                    this.writes.push_back(data.clone().unbind());
                    None
                }
            }
        };
        if let Some(write) = upstream_write {
            write.call1(py, (data,))?;
        }
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.start_response)
    }
}
