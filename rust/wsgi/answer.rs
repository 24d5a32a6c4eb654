//! The one way a response is made without calling the app: a Cache hit or 304, a Router
//! 404/405/308, a Static file. It applies the rules the plumbing applies to an app's response: a HEAD and a
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
    /// A stored tuple of bytes objects, sent as it is (a Cache hit).
    Stored(Bound<'py, PyTuple>),
    /// A 304: the head of the stored response, no body.
    NotModified,
    /// A body read as it goes out (a Static file): an iterable that is not in memory, so
    /// the filters outside see it through the response iterator, item by item, and the
    /// server gets it as it is when none of them wants the body.
    Stream(Bound<'py, PyAny>),
}

/// A response made without the app.
pub struct Answer<'py> {
    pub status: Bound<'py, PyAny>,
    pub headers: Bound<'py, PyList>,
    pub body: AnswerBody<'py>,
    /// A HEAD gets the same head and no body bytes.
    pub head_request: bool,
}

/// An answer's body items, as a server would get them.
pub enum Items<'py> {
    /// All of it, in memory.
    Memory(Bound<'py, PyTuple>),
    /// Read as it goes out (a file).
    Stream(Bound<'py, PyAny>),
}

impl<'py> Items<'py> {
    pub fn into_any(self) -> Bound<'py, PyAny> {
        match self {
            Items::Memory(items) => items.into_any(),
            Items::Stream(stream) => stream,
        }
    }
}

/// An answer as a server would get it: status, headers, and the body items (`None`: no
/// body, for a HEAD, a 304 or an empty text).
pub struct AnswerParts<'py> {
    pub status: Bound<'py, PyAny>,
    pub headers: Bound<'py, PyList>,
    pub body: Option<Items<'py>>,
}

impl<'py> Answer<'py> {
    /// A short text of our own (Router's 404, 405 and 308): `status`, the head
    /// [`text_headers`] makes with `extra`, and `body`.
    pub fn text(
        py: Python<'py>,
        status: &str,
        extra: Option<(&str, String)>,
        body: &'static [u8],
        head_request: bool,
    ) -> PyResult<Self> {
        Ok(Answer {
            status: PyString::new(py, status).into_any(),
            headers: text_headers(py, body, extra)?,
            body: AnswerBody::Text(body),
            head_request,
        })
    }

    pub fn into_parts(self, py: Python<'py>) -> PyResult<AnswerParts<'py>> {
        let Answer {
            status,
            headers,
            body,
            head_request,
        } = self;
        let (status, body) = match body {
            AnswerBody::NotModified => (intern!(py, "304 Not Modified").clone().into_any(), None),
            AnswerBody::Text(text) if head_request || text.is_empty() => (status, None),
            AnswerBody::Text(text) => (
                status,
                Some(Items::Memory(PyTuple::new(py, [PyBytes::new(py, text)])?)),
            ),
            AnswerBody::Stored(_) | AnswerBody::Stream(_) if head_request => (status, None),
            AnswerBody::Stored(stored) => (status, Some(Items::Memory(stored))),
            AnswerBody::Stream(stream) => (status, Some(Items::Stream(stream))),
        };
        Ok(AnswerParts {
            status,
            headers,
            body,
        })
    }
}

/// Call `start_response` with the head and return the WSGI iterable for the server.
pub fn answer<'py>(
    py: Python<'py>,
    start_response: &Bound<'py, PyAny>,
    made: Answer<'py>,
) -> PyResult<Py<PyAny>> {
    let AnswerParts {
        status,
        headers,
        body,
    } = made.into_parts(py)?;
    start_response.call1((status, headers))?;
    match body {
        Some(body) => Ok(body.into_any().unbind()),
        None => no_body(py),
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
pub fn no_body(py: Python<'_>) -> PyResult<Py<PyAny>> {
    let empty = PyTuple::new(py, [PyBytes::new(py, b"")])?;
    Ok(empty.try_iter()?.into_any().unbind())
}
