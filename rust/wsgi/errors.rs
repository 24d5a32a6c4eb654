//! The one writer for `wsgi.errors`: every line a middleware reports goes through here.

use pyo3::intern;
use pyo3::prelude::*;

/// Write `wsgi_mw.<middleware>: <message>` and a newline to the request's `wsgi.errors`.
/// A broken error stream never breaks the response being reported on: the
/// failure goes to `sys.unraisablehook` instead.
pub fn write_error_line(
    py: Python<'_>,
    environ: &Bound<'_, PyAny>,
    middleware: &str,
    message: &str,
) {
    let line = format!("wsgi_mw.{middleware}: {message}\n");
    let key = intern!(py, "wsgi.errors");
    // An environ without the stream (PEP 3333 requires it) has nowhere to report to.
    if !environ.contains(key).unwrap_or(false) {
        return;
    }
    let written = environ
        .get_item(key)
        .and_then(|errors| errors.call_method1(intern!(py, "write"), (line,)));
    if let Err(err) = written {
        err.write_unraisable(py, Some(environ));
    }
}
