//! Rewrite's Python hook: the rule book encodes text rules for a response charset with
//! Python's codecs, which know every charset name an app may use.

use pyo3::exceptions::PyLookupError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::rules::{Codec, EncodeError};

/// Python's `str.encode(charset, "strict")`.
pub struct PythonCodecs<'py>(pub Python<'py>);

impl Codec for PythonCodecs<'_> {
    fn encode(&self, text: &str, charset: &str) -> Result<Vec<u8>, EncodeError> {
        let py = self.0;
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
}
