//! The `Rewrite` Python class: argument validation, rules compiled per response charset,
//! and the wiring of [`RewriteFilter`] into the plumbing.

use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFrozenSet, PySet, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::codecs::PYTHON_CODECS;
use super::filter::RewriteFilter;
use super::rules::{RuleBook, Side, DEFAULT_CONTENT_TYPES, DEFAULT_MAX_BUFFER};
use crate::wsgi::chain::Chain;
use crate::wsgi::layer::{py_bool, Layer, Plan, Wrapped};
use crate::wsgi::options::{media_types, type_name};

/// Replace text in WSGI response bodies, literal or regex, streaming.
///
/// Literal rules run in one left-to-right pass (leftmost match wins, longest on ties, like
/// nginx ``sub_filter`` with several pairs) and stream: a match split across chunks is found,
/// and memory stays bounded by the longest pattern, not the body.
///
///     from wsgi_mw import Rewrite
///     application = Rewrite(app, [("Hello", "Goodbye")])
///     application = Rewrite(app, {r"v(\d+)": "version $1"}, regex=True)
///
/// Parameters
/// ----------
/// app:
///     The WSGI application to wrap.
/// rules:
///     A dict ``{old: new}`` or a sequence of ``(old, new)`` pairs (any ordered iterable,
///     not a set: among identical patterns the first wins); each side ``str`` or ``bytes``. ``str`` sides are encoded with the response's charset (the Content-Type
///     ``charset`` parameter, UTF-8 when absent); a rule that cannot be encoded in it is not
///     applied (one line on ``wsgi.errors`` says so). Empty patterns are rejected.
/// regex:
///     Default ``False``. When ``True`` the patterns are regular expressions in the Rust
///     ``regex`` crate's syntax and replacements may use ``$1`` / ``${name}`` (``$$`` for a
///     dollar; write ``${1}`` when a letter, digit or ``_`` follows, since ``$1lo`` names a
///     group ``1lo``; naming a group the pattern lacks is a ValueError). Rules then apply one
///     after another over the whole body, which is buffered up to ``max_buffer``. Text regex
///     rules apply to UTF-8 responses; use bytes rules for others.
/// content_types:
///     Media types to rewrite, ``type/subtype`` or ``type/*``; parameters and case are ignored.
///     ``None`` (the default) means text/html, text/plain, text/css, text/xml,
///     application/json, application/javascript, application/xml, application/xhtml+xml.
/// max_buffer:
///     Default 8388608 (8 MiB). Regex mode only: the most body bytes held to run the rules;
///     a larger body passes through unchanged and one line on ``wsgi.errors`` explains it.
///
/// Responses are left alone when they are HEAD, 1xx/204/304, or carry a Content-Encoding
/// other than identity (so put Rewrite *inside* Gzip). A rewritten body gets an exact
/// Content-Length when the whole body is known before the headers go out (a list, or a first
/// chunk that reaches the declared Content-Length), none when it streams; a strong ETag becomes weak when the body may have changed.
#[pyclass(module = "wsgi_mw._native", name = "Rewrite", frozen)]
pub struct Rewrite {
    app: Wrapped,
    rules: Py<PyAny>,
    book: Arc<RuleBook>,
}

fn side_from(obj: &Bound<'_, PyAny>, at: &str) -> PyResult<Side> {
    if let Ok(text) = obj.cast::<PyString>() {
        let text = text.to_cow().map_err(|_| {
            PyValueError::new_err(format!(
                "Rewrite(rules=...): {at} is not encodable text (lone surrogate?)"
            ))
        })?;
        Ok(Side::Text(text.into_owned()))
    } else if let Ok(bytes) = obj.cast::<PyBytes>() {
        Ok(Side::Bytes(bytes.as_bytes().to_vec()))
    } else {
        Err(PyTypeError::new_err(format!(
            "Rewrite(rules=...): {at} must be str or bytes, not {}",
            type_name(obj)
        )))
    }
}

/// The rules as parsed, and as given (a tuple of pairs, for `repr` and the `rules` attribute).
type ParsedRules = (Vec<(Side, Side)>, Py<PyAny>);

fn parse_rules(rules: &Bound<'_, PyAny>) -> PyResult<ParsedRules> {
    let py = rules.py();
    if rules.is_instance_of::<PyString>() || rules.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!(
            "Rewrite(rules=...): rules must be a dict or a sequence of (old, new) pairs, not a single {}",
            type_name(rules)
        )));
    }
    // Order decides which of two identical patterns wins: a set has none.
    if rules.is_instance_of::<PySet>() || rules.is_instance_of::<PyFrozenSet>() {
        return Err(PyTypeError::new_err(format!(
            "Rewrite(rules=...): rules must be a dict or a sequence of (old, new) pairs, not a {} (rules are ordered)",
            type_name(rules)
        )));
    }
    let items = if let Ok(dict) = rules.cast::<PyDict>() {
        dict.items().into_any()
    } else {
        rules.clone()
    };
    let iter = items.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "Rewrite(rules=...): rules must be a dict or a sequence of (old, new) pairs, not {}",
            type_name(rules)
        ))
    })?;
    let mut parsed = Vec::new();
    let mut shown = Vec::new();
    for (i, item) in iter.enumerate() {
        let item = item?;
        let pair_error = || {
            PyTypeError::new_err(format!(
                "Rewrite(rules=...): rules[{i}] must be an (old, new) pair, got {}",
                item.repr()
                    .map(|r| r.to_string())
                    .unwrap_or_else(|_| type_name(&item))
            ))
        };
        if item.is_instance_of::<PyString>() || item.is_instance_of::<PyBytes>() {
            return Err(pair_error());
        }
        let sides: Vec<Bound<'_, PyAny>> = match item.try_iter() {
            Ok(it) => it.collect::<PyResult<_>>().map_err(|_| pair_error())?,
            Err(_) => return Err(pair_error()),
        };
        let [old, new] = sides.as_slice() else {
            return Err(pair_error());
        };
        let old_side = side_from(old, &format!("rules[{i}][0] (the pattern)"))?;
        let new_side = side_from(new, &format!("rules[{i}][1] (the replacement)"))?;
        let empty = match &old_side {
            Side::Text(t) => t.is_empty(),
            Side::Bytes(b) => b.is_empty(),
        };
        if empty {
            return Err(PyValueError::new_err(format!(
                "Rewrite(rules=...): rules[{i}] has an empty pattern, which would match everywhere"
            )));
        }
        parsed.push((old_side, new_side));
        shown.push(PyTuple::new(py, [old, new])?);
    }
    Ok((parsed, PyTuple::new(py, shown)?.into_any().unbind()))
}

crate::int_option!(MaxBuffer, "Rewrite", "max_buffer", 0, usize::MAX, "bytes");

impl Layer for Rewrite {
    const NAME: &'static str = "Rewrite";

    fn wrapped(&self) -> &Wrapped {
        &self.app
    }

    fn plan<'py>(
        &self,
        _py: Python<'py>,
        _environ: &Bound<'py, PyAny>,
        _chain: &mut Chain<'py>,
    ) -> PyResult<Plan<'py>> {
        let filter = RewriteFilter::new(self.book.clone(), &PYTHON_CODECS);
        Ok(Plan::Filter(Box::new(filter)))
    }

    fn traverse_more(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.rules)
    }
}

crate::layer_methods!(Rewrite {
    #[new]
    #[pyo3(
        signature = (app, rules, *, regex = false, content_types = None, max_buffer = MaxBuffer(DEFAULT_MAX_BUFFER)),
        text_signature = "(app, rules, *, regex=False, content_types=None, max_buffer=8388608)"
    )]
    fn new(
        app: &Bound<'_, PyAny>,
        rules: &Bound<'_, PyAny>,
        regex: bool,
        content_types: Option<&Bound<'_, PyAny>>,
        max_buffer: MaxBuffer,
    ) -> PyResult<Self> {
        let (parsed, shown) = parse_rules(rules)?;
        let content_types = media_types(
            "Rewrite",
            "content_types",
            content_types,
            &DEFAULT_CONTENT_TYPES,
        )?;
        let MaxBuffer(max_buffer) = max_buffer;
        let book = RuleBook::new(parsed, regex, content_types, max_buffer)
            .map_err(PyValueError::new_err)?;
        Ok(Rewrite {
            app: Wrapped::new(app, "Rewrite")?,
            rules: shown,
            book: Arc::new(book),
        })
    }

    /// The media types rewritten when ``content_types`` is not given; extend them with
    /// ``content_types=(*Rewrite.DEFAULT_CONTENT_TYPES, "text/csv")``.
    #[classattr]
    #[pyo3(name = "DEFAULT_CONTENT_TYPES")]
    fn default_content_types(py: Python<'_>) -> PyResult<Py<PyTuple>> {
        Ok(PyTuple::new(py, DEFAULT_CONTENT_TYPES)?.unbind())
    }

    /// The rules as given, as a tuple of ``(old, new)`` pairs.
    #[getter]
    fn rules(&self, py: Python<'_>) -> Py<PyAny> {
        self.rules.clone_ref(py)
    }

    /// Whether the patterns are regular expressions.
    #[getter]
    fn regex(&self) -> bool {
        self.book.regex()
    }

    /// The media types that are rewritten, normalised to lowercase.
    #[getter]
    fn content_types(&self) -> Vec<String> {
        self.book.content_types().entries().to_vec()
    }

    /// Regex mode: the most body bytes buffered to apply the rules.
    #[getter]
    fn max_buffer(&self) -> usize {
        self.book.max_buffer()
    }

    // `app.wsgi_app = Rewrite(app.wsgi_app, ...)` (Flask) is a cycle through us: let the
    // garbage collector see it.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let app = self.app.repr(py)?;
        let rules = self.rules.bind(py).repr()?;
        Ok(format!(
            "Rewrite({app}, rules={rules}, regex={}, content_types={}, max_buffer={})",
            py_bool(self.book.regex()),
            self.book.content_types().py_tuple_repr(),
            self.book.max_buffer()
        ))
    }
});
