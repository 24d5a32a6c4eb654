//! The `start_response` a middleware passes to the app it wraps: validates status and
//! headers (PEP 3333 rule 6), applies the `exc_info` rules (rule 5) and returns the `write()`
//! callable (rule 3). The response iterator (`response.rs`) reads what it captured.

use std::collections::VecDeque;

use pyo3::exceptions::{PyAssertionError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::head::{check_header, parse_status, ResponseHead};

/// A head the app gave, with the original Python objects so an unedited head can be handed
/// upstream without rebuilding a list.
pub(crate) struct Captured {
    pub head: ResponseHead,
    pub status: Py<PyAny>,
    pub headers: Py<PyAny>,
}

/// Once the plumbing handed the app's iterable straight back to the server, later calls
/// (an `exc_info` replacement, `write()`) go straight to the server's own callables.
struct Forward {
    start_response: Py<PyAny>,
    write: Py<PyAny>,
}

#[pyclass(module = "wsgi_mw._native", name = "StartResponse")]
pub struct StartResponse {
    middleware: &'static str,
    captured: Option<Captured>,
    /// Bumped on every accepted call, so the iterator notices an `exc_info` replacement.
    generation: u64,
    /// `exc_info` of the latest replacement, to be passed on when the head is re-sent upstream.
    exc_info: Option<Py<PyAny>>,
    /// `write()` data not yet taken by the iterator, in order.
    writes: VecDeque<Py<PyAny>>,
    /// A non-empty body chunk left the middleware: from now on `exc_info` re-raises.
    body_started: bool,
    forward: Option<Forward>,
}

impl StartResponse {
    pub(crate) fn new(middleware: &'static str) -> Self {
        StartResponse {
            middleware,
            captured: None,
            generation: 0,
            exc_info: None,
            writes: VecDeque::new(),
            body_started: false,
            forward: None,
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn has_head(&self) -> bool {
        self.captured.is_some()
    }

    pub(crate) fn has_writes(&self) -> bool {
        !self.writes.is_empty()
    }

    /// A copy of the current head plus the `exc_info` that came with it (taken: passed once).
    pub(crate) fn snapshot(&mut self, py: Python<'_>) -> Option<(Captured, Option<Py<PyAny>>)> {
        let captured = self.captured.as_ref()?;
        let copy = Captured {
            head: captured.head.clone(),
            status: captured.status.clone_ref(py),
            headers: captured.headers.clone_ref(py),
        };
        Some((copy, self.exc_info.take()))
    }

    pub(crate) fn pop_write(&mut self) -> Option<Py<PyAny>> {
        self.writes.pop_front()
    }

    pub(crate) fn mark_body_started(&mut self) {
        self.body_started = true;
    }

    pub(crate) fn forward_to(&mut self, start_response: Py<PyAny>, write: Py<PyAny>) {
        self.forward = Some(Forward {
            start_response,
            write,
        });
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

fn str_of(obj: &Bound<'_, PyAny>) -> Option<String> {
    obj.cast::<PyString>()
        .ok()
        .and_then(|s| s.to_cow().ok())
        .map(|s| s.into_owned())
}

/// Validate the arguments of a `start_response` call (PEP 3333 rule 6).
fn capture(
    middleware: &str,
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
) -> PyResult<Captured> {
    let status_text = if status.is_instance_of::<PyString>() {
        str_of(status).ok_or_else(|| {
            PyValueError::new_err(format!(
                "{middleware}: start_response() status {status} is not encodable text"
            ))
        })?
    } else {
        return Err(PyTypeError::new_err(format!(
            "{middleware}: start_response() status must be a str like '200 OK', not {}",
            type_name(status)
        )));
    };
    let code = parse_status(&status_text)
        .map_err(|e| PyValueError::new_err(format!("{middleware}: start_response() {}", e.0)))?;
    let list = headers.cast::<PyList>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{middleware}: start_response() headers must be a list of (name, value) tuples, not {}",
            type_name(headers)
        ))
    })?;
    let mut parsed = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let pair = item.cast::<PyTuple>().ok().filter(|t| t.len() == 2);
        let strings = pair.and_then(|t| {
            let name = t.get_item(0).ok()?;
            let value = t.get_item(1).ok()?;
            if !(name.is_instance_of::<PyString>() && value.is_instance_of::<PyString>()) {
                return None;
            }
            Some((str_of(&name), str_of(&value)))
        });
        let (name, value) = match strings {
            Some((Some(name), Some(value))) => (name, value),
            Some(_) => {
                return Err(PyValueError::new_err(format!(
                    "{middleware}: start_response() header {i} ({item}) is not encodable text"
                )))
            }
            None => {
                return Err(PyTypeError::new_err(format!(
                    "{middleware}: start_response() header {i} must be a (name, value) tuple of str, got {}",
                    item.repr().map(|r| r.to_string()).unwrap_or_else(|_| type_name(&item))
                )))
            }
        };
        check_header(&name, &value).map_err(|e| {
            PyValueError::new_err(format!("{middleware}: start_response() {}", e.0))
        })?;
        parsed.push((name, value));
    }
    Ok(Captured {
        head: ResponseHead::new(status_text, code, parsed),
        status: status.clone().unbind(),
        headers: headers.clone().unbind(),
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
            Some(e) if e.is_truthy()? => Some(e),
            _ => None,
        };
        let middleware = slf.try_borrow()?.middleware;
        let captured = capture(middleware, status, headers)?;

        let forward = {
            let this = slf.try_borrow()?;
            this.forward
                .as_ref()
                .map(|f| f.start_response.clone_ref(py))
        };
        if let Some(upstream) = forward {
            // The server owns the response now: it applies the exc_info rules itself.
            let args = match exc_info {
                Some(e) => upstream.call1(py, (status, headers, e))?,
                None => {
                    let this = slf.try_borrow()?;
                    if this.captured.is_some() {
                        return Err(already_set(middleware));
                    }
                    drop(this);
                    upstream.call1(py, (status, headers))?
                }
            };
            return Ok(args);
        }

        let mut this = slf.try_borrow_mut()?;
        match exc_info {
            Some(e) if this.body_started => return Err(reraise(e)),
            Some(e) => this.exc_info = Some(e.clone().unbind()),
            None if this.captured.is_some() => return Err(already_set(middleware)),
            None => {}
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
        if let Some(captured) = &self.captured {
            visit.call(&captured.status)?;
            visit.call(&captured.headers)?;
        }
        visit.call(&self.exc_info)?;
        for data in &self.writes {
            visit.call(data)?;
        }
        if let Some(forward) = &self.forward {
            visit.call(&forward.start_response)?;
            visit.call(&forward.write)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.captured = None;
        self.exc_info = None;
        self.writes.clear();
        self.forward = None;
    }
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
            match &this.forward {
                Some(f) => Some(f.write.clone_ref(py)),
                None => {
                    if this.captured.is_none() {
                        return Err(PyAssertionError::new_err(format!(
                            "{middleware}: write() called before start_response()"
                        )));
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
