//! Rewrite's Python hook: the rule book encodes text rules for a response charset with
//! Python's codecs, which know every charset name an app may use.

use pyo3::exceptions::PyLookupError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::rules::{Codec, EncodeError};

/// Python's `str.encode(charset, "strict")`. Rewrite's py.rs hands it to the filter, which
/// sees only the pure [`Codec`] trait; it attaches to the interpreter when it runs.
pub struct PythonCodecs;

/// The one instance the filters share.
pub static PYTHON_CODECS: PythonCodecs = PythonCodecs;

impl Codec for PythonCodecs {
    fn encode(&self, text: &str, charset: &str) -> Result<Vec<u8>, EncodeError> {
        Python::attach(|py| encode(py, text, charset))
    }
}

fn encode(py: Python<'_>, text: &str, charset: &str) -> Result<Vec<u8>, EncodeError> {
    let failed = |err: PyErr| {
        if err.is_instance_of::<PyLookupError>(py) {
            EncodeError::UnknownCharset
        } else {
            EncodeError::Unencodable
        }
    };
    let encoded = PyString::new(py, text)
        .call_method1("encode", (charset, "strict"))
        .map_err(failed)?;
    encoded
        .cast::<PyBytes>()
        .map(|bytes| bytes.as_bytes().to_vec())
        .map_err(|_| EncodeError::Unencodable)
}
