//! Zero-copy access to the UTF-8 text of Python `str` objects.
//!
//! pyo3 only offers `PyString::to_str` (borrowed) on the stable ABI from Python 3.10, because
//! `PyUnicode_AsUTF8AndSize` joined the *limited API* then. The function itself has been part
//! of CPython's exported API since 3.3, so an abi3 wheel built for 3.9 can call it on every
//! CPython it loads into. It returns the UTF-8 form cached inside the str object (for ASCII
//! strings, their own storage): no allocation, which matters for header validation on every
//! request (the owned alternative cost ~70 ns per string, measured in docs/benchmarks.md).

use std::borrow::Cow;
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

/// The exact code points of `s` as bytes: its UTF-8 form, borrowed; or, for a str holding
/// lone surrogates (which have no UTF-8 form), its "surrogatepass" encoding. Each str gives
/// its own byte string (surrogates encode to sequences no valid UTF-8 contains), so keys
/// built from these never merge two different values.
pub fn code_point_bytes<'a>(s: &'a Bound<'_, PyString>) -> Cow<'a, [u8]> {
    if let Ok(text) = utf8(s) {
        return Cow::Borrowed(text.as_bytes());
    }
    let encoded = s
        .call_method1(pyo3::intern!(s.py(), "encode"), ("utf-8", "surrogatepass"))
        .and_then(|b| Ok(b.cast_into::<pyo3::types::PyBytes>()?.as_bytes().to_vec()));
    // Every str encodes with surrogatepass; should that ever fail, a marker that no
    // UTF-8 text can equal keeps the value distinct from "".
    Cow::Owned(encoded.unwrap_or_else(|_| vec![0xFF]))
}

/// The text of `s` for display, never lost: its UTF-8 form, or for a str holding lone
/// surrogates, PEP 3333 "bytes as latin-1" text where U+DC80..U+DCFF (Python's
/// surrogateescape of an undecodable byte) is that byte and any other surrogate its three
/// "surrogatepass" bytes, so an escaping writer shows them as `\xhh`.
pub fn display_text<'a>(s: &'a Bound<'_, PyString>) -> Cow<'a, str> {
    if let Ok(text) = utf8(s) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(wtf8_to_latin1_text(&code_point_bytes(s)))
}

/// See [`display_text`]: decode WTF-8 (UTF-8 that may encode surrogates).
fn wtf8_to_latin1_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                break;
            }
            Err(err) => {
                let (valid, tail) = rest.split_at(err.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or(""));
                // A surrogate: ED A0..BF 80..BF. Anything else (not expected) byte by byte.
                let take = match tail {
                    [0xED, b1 @ 0xA0..=0xBF, b2 @ 0x80..=0xBF, ..] => {
                        let point = 0xD000 | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F);
                        match u8::try_from(point.wrapping_sub(0xDC00)) {
                            Ok(byte) if point >= 0xDC80 => out.push(char::from(byte)),
                            _ => tail.iter().take(3).for_each(|&b| out.push(char::from(b))),
                        }
                        3
                    }
                    [byte, ..] => {
                        out.push(char::from(*byte));
                        1
                    }
                    [] => 0,
                };
                rest = tail.get(take..).unwrap_or_default();
            }
        }
    }
    out
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
    /// The host as UTF-8 text; "" when the Host header has lone surrogates (use
    /// [`Host::as_bytes`] where the exact value matters).
    pub fn as_str(&self) -> &str {
        match self {
            Host::Header(host) => utf8(host).unwrap_or(""),
            Host::Built(host) => host,
        }
    }

    /// The host's exact code points (see [`code_point_bytes`]).
    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Host::Header(host) => code_point_bytes(host),
            Host::Built(host) => Cow::Borrowed(host.as_bytes()),
        }
    }
}
