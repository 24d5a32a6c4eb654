//! stale-if-error (RFC 5861 §4) for an app that raises before its head: the refresh of a
//! stale entry calls the app through [`StaleOnError`], which answers with the entry instead
//! of letting the exception through, as PEP 3333 allows while no head was sent:
//! `start_response(status, headers, exc_info)` replaces a head not yet sent, and re-raises
//! the app's exception when one already went out.
//!
//! The 5xx case needs no wrapper: the Cache filter replaces such a response's head and body
//! (`CacheFilter::on_headers`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use super::shared::Stored;
use crate::wsgi::errors::write_error_line;

/// The app of a refresh that may fall back on a stale entry. Lives for one request.
#[pyclass(module = "wsgi_mw._native", name = "_StaleOnError", frozen)]
pub struct StaleOnError {
    app: Py<PyAny>,
    stored: Arc<Stored>,
    /// `("Age", n)` and the status header's `(name, "STALE")`, added to the stored headers.
    extra: Vec<Py<PyTuple>>,
    /// Set when the stale entry answered: the Cache filter then labels the response and
    /// does not store it.
    pub served: Arc<AtomicBool>,
}

impl StaleOnError {
    pub fn new(
        app: Py<PyAny>,
        stored: Arc<Stored>,
        extra: Vec<Py<PyTuple>>,
        served: Arc<AtomicBool>,
    ) -> Self {
        StaleOnError {
            app,
            stored,
            extra,
            served,
        }
    }
}

#[pymethods]
impl StaleOnError {
    fn __call__(
        &self,
        py: Python<'_>,
        environ: &Bound<'_, PyAny>,
        start_response: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let err = match self.app.bind(py).call1((environ, start_response)) {
            Ok(result) => return Ok(result.unbind()),
            Err(err) => err,
        };
        let stored = &self.stored;
        let headers = PyList::new(
            py,
            stored
                .headers
                .iter()
                .chain(&stored.content_length)
                .chain(&self.extra)
                .map(|h| h.bind(py)),
        )?;
        let exc_info = PyTuple::new(
            py,
            [
                err.get_type(py).into_any(),
                err.value(py).clone().into_any(),
                err.traceback(py)
                    .map_or_else(|| py.None().into_bound(py), |t| t.into_any()),
            ],
        )?;
        // Before start_response: the Cache filter sees this head as the stale answer.
        self.served.store(true, Ordering::Release);
        let status: &Bound<'_, PyString> = stored.status.bind(py);
        if let Err(raised) = start_response.call1((status, headers, exc_info)) {
            // The head already went out: the app's exception is what the server gets.
            self.served.store(false, Ordering::Release);
            return Err(raised);
        }
        write_error_line(
            py,
            environ,
            "Cache",
            &format!(
                "the app raised {}: {}; answered with the stale entry (stale-if-error)",
                err.get_type(py)
                    .name()
                    .map_or_else(|_| "an exception".to_owned(), |n| n.to_string()),
                err.value(py)
            ),
        );
        Ok(stored.body.clone_ref(py).into_any())
    }
}
