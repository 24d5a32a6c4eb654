//! The per-request observer: notes the request when the call starts, the status and the
//! response headers the format needs, counts the bytes handed to the server, and writes the
//! line when the response ends (`on_close`), however it ends.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::clock;
use super::format::Source;
use super::render::Fields;
use super::sink::Emitter;
use crate::http::head::ResponseHead;
use crate::wsgi::filter::{BodyFilter, BodyInfo, Mode, Outcome};
use crate::wsgi::request::{Field, RequestView};
use crate::wsgi::text::{display_text, environ_str};

/// Request facts read when the call starts (an app that rewrites them later does not change
/// the log). Only what the format uses is read.
#[derive(Default)]
struct Request {
    method: Option<Py<PyString>>,
    script_name: Option<Py<PyString>>,
    path_info: Option<Py<PyString>>,
    query: Option<Py<PyString>>,
    protocol: Option<Py<PyString>>,
    remote: Option<Py<PyString>>,
    forwarded_for: Option<Py<PyString>>,
}

pub struct LogFilter {
    emitter: Arc<Emitter>,
    environ: Py<PyDict>,
    request: Request,
    started: Instant,
    /// Unix time of the call, in microseconds.
    wall_us: i64,
    /// The status of the app's current head, and the status that reached the server.
    status: Option<u16>,
    sent: Option<u16>,
    /// Values of the format's `%{X}o` lookups (by slot) from the current head.
    response_values: Vec<Option<String>>,
    response_request_id: Option<String>,
    bytes: u64,
}

impl LogFilter {
    pub fn new<'py>(
        py: Python<'py>,
        emitter: Arc<Emitter>,
        view: &mut RequestView<'py>,
    ) -> LogFilter {
        let mut take = |field| view.get(field).map(Bound::unbind);
        let wall_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let needs = &emitter.config.needs;
        let mut request = Request::default();
        if needs.request_line {
            request.method = take(Field::Method);
            request.script_name = take(Field::ScriptName);
            request.path_info = take(Field::PathInfo);
            request.query = take(Field::QueryString);
            request.protocol = take(Field::Protocol);
        }
        if needs.remote {
            request.remote = take(Field::RemoteAddr);
            if !emitter.config.trusted.is_empty() {
                request.forwarded_for = take(Field::ForwardedFor);
            }
        }
        // A non-dict environ: the plumbing refuses it with the PEP 3333 wording before
        // anything runs, so this filter is never asked to log.
        let environ = match view.environ() {
            Some(environ) => environ.clone(),
            None => PyDict::new(py),
        };
        LogFilter {
            environ: environ.unbind(),
            request,
            started: Instant::now(),
            wall_us,
            status: None,
            sent: None,
            response_values: Vec::new(),
            response_request_id: None,
            bytes: 0,
            emitter,
        }
    }
}

/// Borrow the text of an optional str (a lone surrogate reads as absent).
/// A value's text; a str with lone surrogates is kept (as bytes, escaped when written), never
/// logged as absent.
fn text<'a>(value: &'a Option<Bound<'_, PyString>>) -> Option<Cow<'a, str>> {
    value.as_ref().map(display_text)
}

/// All values of response header `name`, joined as a list.
fn header_values(head: &ResponseHead, name: &str) -> Option<String> {
    let mut joined: Option<String> = None;
    for (field, value) in head.headers() {
        if field.eq_ignore_ascii_case(name) {
            match joined.as_mut() {
                Some(joined) => {
                    joined.push_str(", ");
                    joined.push_str(value);
                }
                None => joined = Some(value.to_owned()),
            }
        }
    }
    joined
}

impl BodyFilter for LogFilter {
    fn on_headers(&mut self, head: &mut ResponseHead, _body: BodyInfo) -> Mode {
        self.status = Some(head.code());
        self.response_values = self
            .emitter
            .config
            .lookups
            .iter()
            .map(|lookup| match lookup.source {
                Source::ResponseHeader => header_values(head, &lookup.key),
                Source::RequestHeader | Source::Environ => None,
            })
            .collect();
        if self.emitter.config.needs.json {
            self.response_request_id = header_values(head, "X-Request-ID");
        }
        Mode::Observe
    }

    fn on_pass(&mut self, chunk: &[u8]) {
        let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        self.bytes = self.bytes.saturating_add(len);
    }

    fn on_head_sent(&mut self) {
        self.sent = self.status;
    }

    fn on_close(&mut self, py: Python<'_>, outcome: Outcome) {
        let duration = self.started.elapsed();
        let status = match (self.sent, outcome) {
            (Some(sent), _) => Some(sent),
            // The server answers a failure before the first item with its own 500 (it
            // transmits the head only with the first item).
            (None, Outcome::Failed) => Some(500),
            (None, _) => self.status,
        };
        let environ = self.environ.bind(py);
        let emitter = Arc::clone(&self.emitter);
        let needs = &emitter.config.needs;
        let bind = |value: &Option<Py<PyString>>| value.as_ref().map(|v| v.bind(py).clone());
        let method = bind(&self.request.method);
        let script_name = bind(&self.request.script_name);
        let path_info = bind(&self.request.path_info);
        let query = bind(&self.request.query);
        let protocol = bind(&self.request.protocol);
        let remote = bind(&self.request.remote);
        let forwarded_for = bind(&self.request.forwarded_for);
        let user = needs
            .user
            .then(|| environ_str(environ, intern!(py, "REMOTE_USER")))
            .flatten();
        let (referer, user_agent, route, request_id) = if needs.json {
            (
                environ_str(environ, intern!(py, "HTTP_REFERER")),
                environ_str(environ, intern!(py, "HTTP_USER_AGENT")),
                environ_str(environ, intern!(py, "wsgi_mw.route")),
                environ_str(environ, intern!(py, "HTTP_X_REQUEST_ID")),
            )
        } else {
            (None, None, None, None)
        };
        // %{X}i and %{X}e: read now (an inner Router sets wsgi_mw.route during the call).
        let looked: Vec<Option<Bound<'_, PyString>>> = emitter
            .config
            .lookups
            .iter()
            .zip(emitter.lookup_keys.iter())
            .map(|(lookup, key)| match lookup.source {
                Source::ResponseHeader => None,
                Source::RequestHeader | Source::Environ => {
                    let value = environ.get_item(key.bind(py)).ok().flatten()?;
                    match value.cast_into::<PyString>() {
                        Ok(s) => Some(s),
                        Err(other) => other.into_inner().str().ok(),
                    }
                }
            })
            .collect();
        let lookups = looked
            .iter()
            .zip(
                self.response_values
                    .iter()
                    .map(Some)
                    .chain(std::iter::repeat(None)),
            )
            .map(|(value, response)| match value {
                Some(value) => Some(display_text(value)),
                None => response.and_then(|r| r.as_deref()).map(Cow::Borrowed),
            })
            .collect();
        let remote_text = text(&remote);
        let forwarded_text = text(&forwarded_for);
        let client = match remote_text.as_deref() {
            Some(remote) if !emitter.config.trusted.is_empty() => Some(
                emitter
                    .config
                    .trusted
                    .client(remote, forwarded_text.as_deref()),
            ),
            other => other,
        };
        let (user, method, protocol) = (text(&user), text(&method), text(&protocol));
        let (script_name, path_info, query) = (text(&script_name), text(&path_info), text(&query));
        let (referer, user_agent) = (text(&referer), text(&user_agent));
        let (route, request_id) = (text(&route), text(&request_id));
        let secs = self.wall_us.div_euclid(1_000_000);
        let fields = Fields {
            time: needs.time.then(|| clock::local(secs)),
            millis: u32::try_from(self.wall_us.rem_euclid(1_000_000) / 1000).unwrap_or(0),
            remote: client,
            user: user.as_deref(),
            method: method.as_deref(),
            script_name: script_name.as_deref().unwrap_or(""),
            path_info: path_info.as_deref().unwrap_or(""),
            query: query.as_deref().unwrap_or(""),
            protocol: protocol.as_deref(),
            status,
            bytes: self.bytes,
            duration_us: u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
            lookups,
            referer: referer.as_deref(),
            user_agent: user_agent.as_deref(),
            route: route.as_deref(),
            request_id: request_id
                .as_deref()
                .or(self.response_request_id.as_deref()),
        };
        emitter.emit(py, environ, &fields);
    }
}
