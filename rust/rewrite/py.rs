//! The `Rewrite` Python class: argument validation, rules compiled per response charset,
//! and the wiring of [`RewriteFilter`] into the plumbing.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use pyo3::exceptions::{PyLookupError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFrozenSet, PySet, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::filter::RewriteFilter;
use super::literal::LiteralRules;
use super::regex_rules::{RegexPattern, RegexRules};
use crate::wsgi::media_type::MediaTypes;
use crate::wsgi::options::{media_types, type_name, wsgi_app};
use crate::wsgi::response::call_app;

const DEFAULT_CONTENT_TYPES: [&str; 8] = [
    "text/html",
    "text/plain",
    "text/css",
    "text/xml",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/xhtml+xml",
];

const DEFAULT_MAX_BUFFER: usize = 8 * 1024 * 1024;

/// Charsets seen in the wild are few; past this many distinct ones, rules for a new charset
/// are compiled per response instead of cached, so a misbehaving app cannot grow memory.
const MAX_CACHED_CHARSETS: usize = 32;

/// One side of a rule as the user gave it.
#[derive(Clone)]
enum Side {
    Text(String),
    Bytes(Vec<u8>),
}

/// Rules compiled for one response charset.
#[derive(Clone)]
pub enum Compiled {
    Literal(Arc<LiteralRules>),
    Regex(Arc<RegexRules>),
    /// No rule applies to this charset: responses in it pass through untouched.
    Nothing,
}

/// The immutable configuration of one `Rewrite` instance, shared by all its responses, plus
/// the per-charset compiled rules (compiled once, then read under a lock never held while
/// Python runs).
pub struct RuleBook {
    rules: Vec<(Side, Side)>,
    regex: bool,
    content_types: MediaTypes,
    max_buffer: usize,
    /// The rules for UTF-8 (and charset-less) responses, compiled at construction: the common
    /// case needs no lock and no map lookup.
    utf8: Compiled,
    by_charset: RwLock<HashMap<String, Compiled>>,
}

fn is_utf8_label(charset: &str) -> bool {
    matches!(charset, "utf-8" | "utf8" | "utf_8")
}

fn is_ascii_label(charset: &str) -> bool {
    matches!(charset, "us-ascii" | "ascii")
}

impl RuleBook {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn content_types(&self) -> &MediaTypes {
        &self.content_types
    }

    pub fn max_buffer(&self) -> usize {
        self.max_buffer
    }

    /// The rules for a response in `charset`, and a one-line notice when some could not apply.
    pub fn compiled_for(&self, py: Python<'_>, charset: &str) -> (Compiled, Option<String>) {
        if is_utf8_label(charset) {
            return (self.utf8.clone(), None);
        }
        if let Some(compiled) = self.by_charset.read().get(charset) {
            return (compiled.clone(), None);
        }
        // Compile without holding the lock: encoding calls into Python.
        let (compiled, notice) = if self.regex {
            self.compile_regex(charset)
        } else {
            self.compile_literal(py, charset)
        };
        let mut cache = self.by_charset.write();
        if cache.len() < MAX_CACHED_CHARSETS {
            cache.insert(charset.to_owned(), compiled.clone());
        }
        (compiled, notice)
    }

    fn compile_literal(&self, py: Python<'_>, charset: &str) -> (Compiled, Option<String>) {
        let mut skipped = Vec::new();
        let mut pairs = Vec::with_capacity(self.rules.len());
        // utf-16, utf-32 and utf-8-sig start every encoded string with a byte order mark,
        // which occurs once at the start of a body, never before each match.
        let bom = byte_order_mark(py, charset);
        for (i, (old, new)) in self.rules.iter().enumerate() {
            match (
                encode(py, old, charset, &bom),
                encode(py, new, charset, &bom),
            ) {
                (Ok(old), Ok(new)) => pairs.push((old, new)),
                (Err(e), _) | (_, Err(e)) => {
                    if e.is_instance_of::<PyLookupError>(py) {
                        let compiled = bytes_only_literal(&self.rules);
                        let notice = format!(
                            "unknown charset {charset:?}: only bytes rules are applied to these responses"
                        );
                        return (compiled, Some(notice));
                    }
                    skipped.push(i);
                }
            }
        }
        let notice = (!skipped.is_empty()).then(|| {
            format!("rules {skipped:?} cannot be encoded in charset {charset:?} and are not applied to these responses")
        });
        (literal(pairs), notice)
    }

    fn compile_regex(&self, charset: &str) -> (Compiled, Option<String>) {
        let text_ok = is_utf8_label(charset) || is_ascii_label(charset);
        let mut skipped = Vec::new();
        let mut pairs = Vec::new();
        for (i, (old, new)) in self.rules.iter().enumerate() {
            match (old, new) {
                (Side::Bytes(p), Side::Bytes(r)) => {
                    pairs.push((RegexPattern::Bytes(p.clone()), r.clone()))
                }
                _ if !text_ok => skipped.push(i),
                (old, new) => pairs.push((regex_pattern(old), utf8_side(new))),
            }
        }
        let notice = (!skipped.is_empty()).then(|| {
            format!("regex rules {skipped:?} are text and apply to UTF-8 responses only, not charset {charset:?}")
        });
        let compiled = match RegexRules::new(pairs) {
            Ok(rules) => Compiled::Regex(Arc::new(rules)),
            // Every rule compiled at construction, so this does not happen; if it did, the
            // response would pass through rather than fail.
            Err(_) => Compiled::Nothing,
        };
        (compiled, notice)
    }
}

fn regex_pattern(side: &Side) -> RegexPattern {
    match side {
        Side::Text(t) => RegexPattern::Text(t.clone()),
        Side::Bytes(b) => RegexPattern::Bytes(b.clone()),
    }
}

fn utf8_side(side: &Side) -> Vec<u8> {
    match side {
        Side::Text(t) => t.as_bytes().to_vec(),
        Side::Bytes(b) => b.clone(),
    }
}

/// Patterns were validated non-empty at construction and encoding keeps them non-empty, so
/// compilation does not fail; if it did, the response would pass through rather than fail.
fn literal(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Compiled {
    match LiteralRules::new(pairs) {
        Ok(rules) => Compiled::Literal(Arc::new(rules)),
        Err(_) => Compiled::Nothing,
    }
}

fn bytes_only_literal(rules: &[(Side, Side)]) -> Compiled {
    literal(
        rules
            .iter()
            .filter_map(|(old, new)| match (old, new) {
                (Side::Bytes(o), Side::Bytes(n)) => Some((o.clone(), n.clone())),
                _ => None,
            })
            .collect(),
    )
}

/// What `charset` puts before any encoded text ("" for most; a BOM for utf-16 and the like).
fn byte_order_mark(py: Python<'_>, charset: &str) -> Vec<u8> {
    PyString::new(py, "")
        .call_method1("encode", (charset, "strict"))
        .ok()
        .and_then(|b| b.cast::<PyBytes>().ok().map(|b| b.as_bytes().to_vec()))
        .unwrap_or_default()
}

/// Encode one side of a rule for a response charset (Python's codecs know every charset name
/// an app may use), without the charset's byte order mark.
fn encode(py: Python<'_>, side: &Side, charset: &str, bom: &[u8]) -> PyResult<Vec<u8>> {
    match side {
        Side::Bytes(b) => Ok(b.clone()),
        Side::Text(t) if is_utf8_label(charset) => Ok(t.as_bytes().to_vec()),
        Side::Text(t) => {
            let encoded = PyString::new(py, t).call_method1("encode", (charset, "strict"))?;
            let bytes = encoded.cast::<PyBytes>()?.as_bytes();
            Ok(bytes.strip_prefix(bom).unwrap_or(bytes).to_vec())
        }
    }
}

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
/// Content-Length when the app returned a list (the whole body is known before the headers
/// go out), none when it streams; a strong ETag becomes weak when the body may have changed.
#[pyclass(module = "wsgi_mw._native", name = "Rewrite", frozen)]
pub struct Rewrite {
    app: Py<PyAny>,
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

#[pymethods]
impl Rewrite {
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
        wsgi_app(app, "Rewrite(app=...): app")?;
        let (parsed, shown) = parse_rules(rules)?;
        let content_types = media_types(
            "Rewrite",
            "content_types",
            content_types,
            &DEFAULT_CONTENT_TYPES,
        )?;
        let MaxBuffer(max_buffer) = max_buffer;
        // Compile the UTF-8 rules now: the common case is ready before the first request and
        // every bad pattern is reported here, not at request time.
        let utf8 = if regex {
            let pairs = parsed
                .iter()
                .map(|(old, new)| (regex_pattern(old), utf8_side(new)))
                .collect();
            let rules = RegexRules::new(pairs).map_err(|e| {
                PyValueError::new_err(format!(
                    "Rewrite(rules=...): rules[{}]: {}",
                    e.index, e.message
                ))
            })?;
            Compiled::Regex(Arc::new(rules))
        } else {
            let pairs = parsed
                .iter()
                .map(|(old, new)| (utf8_side(old), utf8_side(new)))
                .collect();
            let rules = LiteralRules::new(pairs).map_err(|e| {
                PyValueError::new_err(format!(
                    "Rewrite(rules=...): rules[{}]: {}",
                    e.index, e.message
                ))
            })?;
            Compiled::Literal(Arc::new(rules))
        };
        let book = RuleBook {
            rules: parsed,
            regex,
            content_types,
            max_buffer,
            utf8,
            by_charset: RwLock::new(HashMap::new()),
        };
        Ok(Rewrite {
            app: app.clone().unbind(),
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

    fn __call__(
        &self,
        py: Python<'_>,
        environ: &Bound<'_, PyAny>,
        start_response: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let filter = Box::new(RewriteFilter::new(self.book.clone()));
        call_app(
            py,
            "Rewrite",
            self.app.bind(py),
            environ,
            start_response,
            filter,
        )
    }

    /// The wrapped WSGI application.
    #[getter]
    fn app(&self, py: Python<'_>) -> Py<PyAny> {
        self.app.clone_ref(py)
    }

    /// The rules as given, as a tuple of ``(old, new)`` pairs.
    #[getter]
    fn rules(&self, py: Python<'_>) -> Py<PyAny> {
        self.rules.clone_ref(py)
    }

    /// Whether the patterns are regular expressions.
    #[getter]
    fn regex(&self) -> bool {
        self.book.regex
    }

    /// The media types that are rewritten, normalised to lowercase.
    #[getter]
    fn content_types(&self) -> Vec<String> {
        self.book.content_types.entries().to_vec()
    }

    /// Regex mode: the most body bytes buffered to apply the rules.
    #[getter]
    fn max_buffer(&self) -> usize {
        self.book.max_buffer
    }

    // `app.wsgi_app = Rewrite(app.wsgi_app, ...)` (Flask) is a cycle through us: let the
    // garbage collector see it.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.app)?;
        visit.call(&self.rules)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let app = self.app.bind(py).repr()?;
        let rules = self.rules.bind(py).repr()?;
        Ok(format!(
            "Rewrite({app}, rules={rules}, regex={}, content_types={}, max_buffer={})",
            if self.book.regex { "True" } else { "False" },
            self.book.content_types.py_tuple_repr(),
            self.book.max_buffer
        ))
    }
}
