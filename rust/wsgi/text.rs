//! Zero-copy access to the UTF-8 text of Python `str` objects.
//!
//! pyo3 only offers `PyString::to_str` (borrowed) on the stable ABI from Python 3.10, because
//! `PyUnicode_AsUTF8AndSize` joined the *limited API* then. The function itself has been part
//! of CPython's exported API since 3.3, so an abi3 wheel built for 3.9 can call it on every
//! CPython it loads into. It returns the UTF-8 form cached inside the str object (for ASCII
//! strings, their own storage): no allocation, which matters for header validation on every
//! request (the owned alternative cost ~70 ns per string, measured in docs/benchmarks.md).

use std::os::raw::c_char;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

extern "C" {
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut ffi::PyObject,
        size: *mut ffi::Py_ssize_t,
    ) -> *const c_char;
}

/// The text of `s` as `&str`, borrowed from the object. Fails (UnicodeEncodeError) on lone
/// surrogates, which have no UTF-8 form.
pub fn utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    let mut size: ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str object (we hold a reference for 'a). On success CPython
    // returns a pointer to `size` bytes of valid UTF-8 owned by the object and kept until it is
    // deallocated, so borrowing it for 'a is sound; on failure it returns NULL with an
    // exception set.
    unsafe {
        let data = PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size);
        if data.is_null() {
            return Err(PyErr::take(s.py()).unwrap_or_else(|| {
                pyo3::exceptions::PyValueError::new_err("str has no UTF-8 form")
            }));
        }
        let len = usize::try_from(size).unwrap_or(0);
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len);
        Ok(std::str::from_utf8_unchecked(bytes))
    }
}

/// An environ value as a str object, if it is one (a missing key or another type: None).
pub fn environ_str<'py>(
    environ: &Bound<'py, PyDict>,
    key: &Bound<'py, PyString>,
) -> Option<Bound<'py, PyString>> {
    environ.get_item(key).ok()??.cast_into::<PyString>().ok()
}

/// The request's host as PEP 3333's URL reconstruction gives it: the Host header, else
/// SERVER_NAME with SERVER_PORT unless that is the scheme's default port.
pub enum Host<'py> {
    Header(Bound<'py, PyString>),
    Built(String),
}

impl Host<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            Host::Header(host) => utf8(host).unwrap_or(""),
            Host::Built(host) => host,
        }
    }
}

pub fn request_host<'py>(environ: &Bound<'py, PyDict>, scheme: &str) -> Host<'py> {
    let py = environ.py();
    let header = environ_str(environ, pyo3::intern!(py, "HTTP_HOST"));
    if let Some(host) = header.filter(|h| utf8(h).is_ok_and(|h| !h.is_empty())) {
        return Host::Header(host);
    }
    let name = environ_str(environ, pyo3::intern!(py, "SERVER_NAME"));
    let port = environ_str(environ, pyo3::intern!(py, "SERVER_PORT"));
    let name = name.as_ref().and_then(|n| utf8(n).ok()).unwrap_or("");
    let port = port.as_ref().and_then(|p| utf8(p).ok()).unwrap_or("");
    let default = matches!((scheme, port), ("http", "80") | ("https", "443"));
    Host::Built(if port.is_empty() || default {
        name.to_owned()
    } else {
        format!("{name}:{port}")
    })
}
