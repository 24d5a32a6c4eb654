//! The captured response head and how it goes upstream, shared by the `start_response`
//! capture (which may send it at once, on the fast path) and the response iterator (which
//! sends it otherwise): the flow a filter chose and the one way a head is handed to the server.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use super::filter::{BodyFilter, BodyInfo, Mode};
use crate::http::head::ResponseHead;

/// A head the app gave, with the original Python objects so an unedited head can be handed
/// upstream without rebuilding a list.
pub(crate) struct Captured {
    pub head: ResponseHead,
    pub status: Py<PyAny>,
    pub headers: Py<PyAny>,
    /// Set when the filter already decided this head (at `start_response` time).
    pub flow: Option<Flow>,
    /// Status, list, tuples and strings are all of the exact built-in types. We accept
    /// subclasses, but servers such as wsgiref insist on `type(x) is str`, so otherwise the
    /// head is rebuilt from our validated copy before it goes upstream.
    pub exact: bool,
}

/// What happens to body chunks, once the head is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Forward the app's bytes objects.
    Pass,
    /// Forward them and show each to the filter.
    Observe,
    /// The filter produces the body.
    Transform,
    /// HEAD, 1xx, 204, 304: no body leaves, whatever the app yields (rule 8).
    Drop,
}

/// Show a head to the filter and turn its answer into what the plumbing does with the body.
pub(crate) fn decide(
    filter: &mut dyn BodyFilter,
    head: &mut ResponseHead,
    head_request: bool,
) -> Flow {
    let bodyless = head_request || head.forbids_body();
    let info = BodyInfo {
        bodyless,
        head_request,
    };
    match filter.on_headers(head, info) {
        _ if bodyless => Flow::Drop,
        Mode::Untouched => Flow::Pass,
        Mode::Observe => Flow::Observe,
        Mode::Transform => Flow::Transform,
    }
}

/// Call the upstream start_response with a head: the app's own status and headers objects
/// when no filter edited them, new ones otherwise. Returns the upstream `write`.
pub(crate) fn send_head<'py>(
    py: Python<'py>,
    upstream: &Bound<'py, PyAny>,
    captured: &Captured,
    exc_info: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (status, headers) = if captured.head.edited() || !captured.exact {
        // Filters edit headers, not the status line: the app's status object is reused (as
        // are its header tuples, by position) unless it was a str subclass, or a filter
        // replaced the whole response.
        let status = if captured.exact && !captured.head.replaced() {
            captured.status.clone_ref(py)
        } else {
            PyString::new(py, captured.head.status())
                .into_any()
                .unbind()
        };
        let original = captured.exact.then(|| captured.headers.bind(py));
        (
            status,
            head_to_list(py, &captured.head, original)?
                .into_any()
                .unbind(),
        )
    } else {
        (
            captured.status.clone_ref(py),
            captured.headers.clone_ref(py),
        )
    };
    match exc_info {
        Some(exc_info) => upstream.call1((status, headers, exc_info)),
        None => upstream.call1((status, headers)),
    }
}

/// The head as a new header list; unchanged headers reuse the app's own tuples.
fn head_to_list<'py>(
    py: Python<'py>,
    head: &ResponseHead,
    original: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let original = original.and_then(|list| list.cast::<PyList>().ok());
    let list = PyList::empty(py);
    for (name, value, origin) in head.headers_with_origin() {
        let reused = match (origin, original) {
            (Some(i), Some(original)) => original.get_item(i).ok(),
            _ => None,
        };
        match reused {
            Some(tuple) => list.append(tuple)?,
            None => list.append((PyString::new(py, name), PyString::new(py, value)))?,
        }
    }
    Ok(list)
}
