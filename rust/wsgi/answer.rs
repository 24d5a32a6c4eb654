//! The one way a response is made without calling the app: a Cache hit or 304, a Router
//! 404/405/308. It applies the rules the plumbing applies to an app's response: a HEAD and a
//! 304 carry no body, and servers send their heads as they are.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

/// The media type of the answers wsgi_mw writes itself (wsgiref.validate wants one even on an
/// empty redirect body).
pub const PLAIN_TEXT: &str = "text/plain; charset=utf-8";

/// What an answer carries after its head.
pub enum AnswerBody<'py> {
    /// A body of our own (Router's short texts).
    Text(&'static [u8]),
    /// A stored iterable of bytes objects, sent as it is (a Cache hit).
    Stored(Bound<'py, PyAny>),
    /// A 304: the head of the stored response, no body.
    NotModified,
}

/// A response made without the app.
pub struct Answer<'py> {
    pub status: Bound<'py, PyAny>,
    pub headers: Bound<'py, PyList>,
    pub body: AnswerBody<'py>,
    /// A HEAD gets the same head and no body bytes.
    pub head_request: bool,
}

/// Call `start_response` with the head and return the WSGI iterable for the server (or for
/// the fused layers outside, whose capture `start_response` then is).
pub fn answer<'py>(
    py: Python<'py>,
    start_response: &Bound<'py, PyAny>,
    made: Answer<'py>,
) -> PyResult<Py<PyAny>> {
    let Answer {
        status,
        headers,
        body,
        head_request,
    } = made;
    match body {
        AnswerBody::NotModified => {
            start_response.call1((intern!(py, "304 Not Modified"), headers))?;
            no_body(py)
        }
        AnswerBody::Text(text) => {
            start_response.call1((&status, headers))?;
            if head_request || text.is_empty() {
                return no_body(py);
            }
            Ok(PyTuple::new(py, [PyBytes::new(py, text)])?
                .into_any()
                .unbind())
        }
        AnswerBody::Stored(stored) => {
            start_response.call1((&status, headers))?;
            if head_request {
                return no_body(py);
            }
            Ok(stored.unbind())
        }
    }
}

/// The head of an answer of our own: Content-Type, an exact Content-Length, and `extra`.
pub fn text_headers<'py>(
    py: Python<'py>,
    body: &[u8],
    extra: Option<(&str, String)>,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    list.append((intern!(py, "Content-Type"), PyString::new(py, PLAIN_TEXT)))?;
    list.append((intern!(py, "Content-Length"), body.len().to_string()))?;
    if let Some((name, value)) = extra {
        list.append((name, value))?;
    }
    Ok(list)
}

/// One empty item and no len(): servers send the head as it is, without adding a
/// "Content-Length: 0" that would misstate the representation (RFC 9110 §8.6, §9.3.2).
fn no_body(py: Python<'_>) -> PyResult<Py<PyAny>> {
    let empty = PyTuple::new(py, [PyBytes::new(py, b"")])?;
    Ok(empty.try_iter()?.into_any().unbind())
}
