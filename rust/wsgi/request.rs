//! The request view (DESIGN.md): what the stages read from the environ, read once per request
//! and shared by every fused stage. A field is looked up the first time a stage asks for it
//! and kept for the rest of the chain, so `Logger(Cache(Gzip(Router(app))))` reads
//! `REQUEST_METHOD` once, not four times.
//!
//! Values stay the environ's own str objects (no copies). A value that is not a str reads as
//! absent, as each stage treated it before. A stage that changes the environ for the stages
//! inside it (Router's mount: SCRIPT_NAME and PATH_INFO) writes through [`RequestView::set`],
//! so the view and the environ never disagree. A foreign layer ends the chain; the layer
//! below it starts a new view from the environ it was given.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::text::{utf8, Host};

/// The environ keys the stages read before calling the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Method,
    ScriptName,
    PathInfo,
    QueryString,
    Protocol,
    UrlScheme,
    Host,
    ServerName,
    ServerPort,
    RemoteAddr,
    ForwardedFor,
    AcceptEncoding,
    Range,
    CacheControl,
    Pragma,
    Authorization,
    IfNoneMatch,
    IfModifiedSince,
    IfRange,
    IfMatch,
    IfUnmodifiedSince,
}

const FIELDS: usize = Field::IfUnmodifiedSince as usize + 1;

fn key<'py>(py: Python<'py>, field: Field) -> &'py Bound<'py, PyString> {
    match field {
        Field::Method => intern!(py, "REQUEST_METHOD"),
        Field::ScriptName => intern!(py, "SCRIPT_NAME"),
        Field::PathInfo => intern!(py, "PATH_INFO"),
        Field::QueryString => intern!(py, "QUERY_STRING"),
        Field::Protocol => intern!(py, "SERVER_PROTOCOL"),
        Field::UrlScheme => intern!(py, "wsgi.url_scheme"),
        Field::Host => intern!(py, "HTTP_HOST"),
        Field::ServerName => intern!(py, "SERVER_NAME"),
        Field::ServerPort => intern!(py, "SERVER_PORT"),
        Field::RemoteAddr => intern!(py, "REMOTE_ADDR"),
        Field::ForwardedFor => intern!(py, "HTTP_X_FORWARDED_FOR"),
        Field::AcceptEncoding => intern!(py, "HTTP_ACCEPT_ENCODING"),
        Field::Range => intern!(py, "HTTP_RANGE"),
        Field::CacheControl => intern!(py, "HTTP_CACHE_CONTROL"),
        Field::Pragma => intern!(py, "HTTP_PRAGMA"),
        Field::Authorization => intern!(py, "HTTP_AUTHORIZATION"),
        Field::IfNoneMatch => intern!(py, "HTTP_IF_NONE_MATCH"),
        Field::IfModifiedSince => intern!(py, "HTTP_IF_MODIFIED_SINCE"),
        Field::IfRange => intern!(py, "HTTP_IF_RANGE"),
        Field::IfMatch => intern!(py, "HTTP_IF_MATCH"),
        Field::IfUnmodifiedSince => intern!(py, "HTTP_IF_UNMODIFIED_SINCE"),
    }
}

/// One request's environ, as the stages of one chain read it.
pub struct RequestView<'py> {
    environ: Option<Bound<'py, PyDict>>,
    /// `None`: not read yet; `Some(None)`: absent (or not a str).
    read: [Option<Option<Bound<'py, PyString>>>; FIELDS],
    /// Fields present with a value that is not a str (bit per field).
    not_str: u32,
    head: Option<bool>,
}

impl<'py> RequestView<'py> {
    /// A view of `environ`. An environ that is not a dict has no fields (the plumbing
    /// refuses it with PEP 3333's wording when a stage goes on to the app).
    pub fn new(environ: &Bound<'py, PyAny>) -> Self {
        RequestView {
            environ: environ.cast::<PyDict>().ok().cloned(),
            read: [const { None }; FIELDS],
            not_str: 0,
            head: None,
        }
    }

    /// The environ itself, for what only one stage reads (Vary'd headers, Logger's `%{X}e`).
    pub fn environ(&self) -> Option<&Bound<'py, PyDict>> {
        self.environ.as_ref()
    }

    /// The field's str, read from the environ the first time it is asked for.
    pub fn get(&mut self, field: Field) -> Option<Bound<'py, PyString>> {
        if let Some(value) = &self.read[field as usize] {
            return value.clone();
        }
        let item = self
            .environ
            .as_ref()
            .and_then(|environ| environ.get_item(key(environ.py(), field)).ok().flatten());
        let value = match item.map(|item| item.cast_into::<PyString>()) {
            Some(Ok(text)) => Some(text),
            Some(Err(_)) => {
                self.not_str |= 1 << field as u32;
                None
            }
            None => None,
        };
        self.read[field as usize] = Some(value.clone());
        value
    }

    /// Whether the request has the field at all (any value, even one that is not a str).
    pub fn has(&mut self, field: Field) -> bool {
        self.get(field).is_some() || self.not_str & (1 << field as u32) != 0
    }

    /// Set a field in the environ (for the app and the stages inside) and in the view.
    pub fn set(&mut self, field: Field, value: Bound<'py, PyString>) -> PyResult<()> {
        if let Some(environ) = &self.environ {
            environ.set_item(key(environ.py(), field), &value)?;
        }
        self.read[field as usize] = Some(Some(value));
        Ok(())
    }

    /// The request's host as PEP 3333's URL reconstruction gives it: the Host header, else
    /// SERVER_NAME with SERVER_PORT unless that is `scheme`'s default port.
    pub fn host(&mut self, scheme: &str) -> Host<'py> {
        if let Some(host) = self
            .get(Field::Host)
            .filter(|h| h.len().is_ok_and(|n| n > 0))
        {
            return Host::Header(host);
        }
        let name = self.get(Field::ServerName);
        let port = self.get(Field::ServerPort);
        let name = name.as_ref().and_then(|n| utf8(n).ok()).unwrap_or("");
        let port = port.as_ref().and_then(|p| utf8(p).ok()).unwrap_or("");
        let default = matches!((scheme, port), ("http", "80") | ("https", "443"));
        Host::Built(if port.is_empty() || default {
            name.to_owned()
        } else {
            format!("{name}:{port}")
        })
    }

    /// The request is a HEAD (PEP 3333: the server sends no body; a response made without
    /// the app sends none either).
    pub fn is_head(&mut self) -> bool {
        if let Some(head) = self.head {
            return head;
        }
        let head = self
            .get(Field::Method)
            .is_some_and(|m| utf8(&m).is_ok_and(|m| m == "HEAD"));
        self.head = Some(head);
        head
    }
}
