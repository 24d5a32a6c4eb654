//! What the cache reads from a request's environ: the method, the URI parts of the key, the
//! request directives and the preconditions. Values are borrowed from the environ's str
//! objects (no copies on the hit path); a value that is not a str counts as absent.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::freshness::RequestFacts;
use super::key::{Key, KeyBuilder};
use super::lookup::{Asked, Method};
use crate::http::cache_control::CacheControl;
use crate::http::http_date::parse_http_date;
use std::borrow::Cow;

use crate::wsgi::request::{Field, RequestView};
use crate::wsgi::text::{code_point_bytes, display_text, environ_str, utf8};

/// The environ key of a request header (`Accept-Encoding` -> `HTTP_ACCEPT_ENCODING`;
/// Content-Type and Content-Length have no `HTTP_` prefix, PEP 3333).
pub fn environ_key(header: &str) -> String {
    let upper = header.trim().to_ascii_uppercase().replace('-', "_");
    match upper.as_str() {
        "CONTENT_TYPE" | "CONTENT_LENGTH" => upper,
        _ => format!("HTTP_{upper}"),
    }
}

pub struct Request<'py> {
    pub method: Method,
    pub facts: RequestFacts,
    pub if_none_match: Option<Bound<'py, PyString>>,
    pub if_modified_since: Option<Bound<'py, PyString>>,
    /// scheme, host, SCRIPT_NAME, PATH_INFO, QUERY_STRING.
    pub uri: Key,
    /// The request asks for a Range: its response is not stored.
    pub has_range: bool,
}

impl<'py> Request<'py> {
    pub fn read(view: &mut RequestView<'py>) -> Self {
        let method = match view.get(Field::Method) {
            Some(m) => match utf8(&m).unwrap_or("") {
                "GET" => Method::Get,
                "HEAD" => Method::Head,
                "OPTIONS" | "TRACE" => Method::OtherSafe,
                _ => Method::Unsafe,
            },
            None => Method::Get,
        };
        let cache_control = view.get(Field::CacheControl);
        let cache_control_text = cache_control.as_ref().and_then(|v| utf8(v).ok());
        let pragma_no_cache = view.get(Field::Pragma).is_some_and(|p| {
            utf8(&p).is_ok_and(|p| {
                p.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
            })
        });
        let facts = RequestFacts {
            cache_control: CacheControl::parse(cache_control_text),
            pragma_no_cache,
            has_cache_control: cache_control.is_some(),
            authorization: view.has(Field::Authorization),
        };
        Request {
            method,
            facts,
            if_none_match: view.get(Field::IfNoneMatch),
            if_modified_since: view.get(Field::IfModifiedSince),
            uri: uri_key(view),
            has_range: view.has(Field::Range),
        }
    }

    /// The request as the lookup sees it.
    pub fn asked(&self) -> Asked<'_> {
        Asked {
            method: self.method,
            facts: self.facts,
            uri: &self.uri,
            conditional: self.is_conditional(),
            has_range: self.has_range,
        }
    }

    /// The request has preconditions the app would answer itself on a miss.
    pub fn is_conditional(&self) -> bool {
        self.if_none_match.is_some() || self.if_modified_since.is_some()
    }

    /// Lossless for display (lone surrogates kept as bytes): such a tag matches no ETag.
    pub fn if_none_match(&self) -> Option<Cow<'_, str>> {
        self.if_none_match.as_ref().map(display_text)
    }

    pub fn if_modified_since(&self) -> Option<i64> {
        self.if_modified_since
            .as_ref()
            .and_then(|v| utf8(v).ok())
            .and_then(parse_http_date)
    }
}

/// The URI part of the key (PEP 3333 URL reconstruction: Host, else the server name with
/// its port unless it is the scheme's default).
fn uri_key(view: &mut RequestView<'_>) -> Key {
    let scheme = view.get(Field::UrlScheme);
    let scheme_bytes = bytes(&scheme);
    // The default port depends on the scheme as text; an unencodable one has none.
    let scheme_text = std::str::from_utf8(&scheme_bytes).unwrap_or("");
    let host = view.host(if scheme.is_some() {
        scheme_text
    } else {
        "http"
    });
    let script = view.get(Field::ScriptName);
    let path = view.get(Field::PathInfo);
    let query = view.get(Field::QueryString);
    let scheme_bytes: &[u8] = if scheme.is_some() {
        &scheme_bytes
    } else {
        b"http"
    };
    KeyBuilder::new(
        scheme_bytes,
        host.as_bytes(),
        bytes(&script),
        bytes(&path),
        bytes(&query),
    )
    .finish()
}

/// An environ str's exact code points; an absent value (or one that is not a str) is "".
fn bytes<'a>(value: &'a Option<Bound<'_, PyString>>) -> Cow<'a, [u8]> {
    value
        .as_ref()
        .map_or(Cow::Borrowed(&[][..]), code_point_bytes)
}

/// The key of one variant: the URI key plus the request's values of the Vary headers.
pub fn variant_key(environ: &Bound<'_, PyDict>, uri: &Key, vary: &[String]) -> Key {
    let mut builder = KeyBuilder::extend(uri);
    let py = environ.py();
    for name in vary {
        // The common one without building its environ key.
        let value = if name == "accept-encoding" {
            environ_str(environ, intern!(py, "HTTP_ACCEPT_ENCODING"))
        } else {
            environ_str(environ, &PyString::new(py, &environ_key(name)))
        };
        builder.vary(name, value.as_ref().map(code_point_bytes).as_deref());
    }
    builder.finish()
}
