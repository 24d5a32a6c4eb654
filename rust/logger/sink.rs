//! Logger's Python hook: the sink a rendered line is handed to (a `logging.Logger`, a
//! stream, a callable, or the Rust file appender), and the one report of a failing sink.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::appender::Appender;
use super::config::LoggerConfig;
use super::render::{self, text_value, Fields};
use crate::wsgi::errors::write_error_line;

/// Where lines go.
pub enum Sink {
    /// A `logging.Logger`: `log(level, line)` when `isEnabledFor(level)`.
    Logging(Py<PyAny>),
    /// The default, the `wsgi_mw.access` logger: as `Logging` while a handler anywhere up
    /// its hierarchy would get the line; until then the server's error log (`wsgi.errors`)
    /// gets it, so `Logger(app)` under gunicorn writes lines without any logging setup.
    DefaultLogging(Py<PyAny>, HandlerCheck),
    /// A file written by Rust (see `appender.rs`).
    File(Arc<Appender>),
    /// An object with `write()` (and maybe `flush()`).
    Stream { stream: Py<PyAny>, flush: bool },
    /// A callable receiving the json fields as a dict.
    Callable(Py<PyAny>),
}

/// Whether a logger has a handler (`Logger.hasHandlers()`), asked again once a second: a
/// handler added after start-up (logging configured later) is seen within a second, and a
/// request pays a Python call once a second, not every time.
pub struct HandlerCheck {
    started: Instant,
    /// Milliseconds after `started` of the next question; 0 before the first.
    next_ms: AtomicU64,
    has: AtomicBool,
}

impl HandlerCheck {
    const EVERY_MS: u64 = 1000;

    pub fn new() -> Self {
        HandlerCheck {
            started: Instant::now(),
            next_ms: AtomicU64::new(0),
            has: AtomicBool::new(false),
        }
    }

    fn has_handlers(&self, logger: &Bound<'_, PyAny>) -> Result<bool, String> {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if now < self.next_ms.load(Ordering::Relaxed) {
            return Ok(self.has.load(Ordering::Relaxed));
        }
        let has = logger
            .call_method0(intern!(logger.py(), "hasHandlers"))
            .and_then(|h| h.is_truthy())
            .map_err(|e| describe(logger.py(), &e))?;
        self.has.store(has, Ordering::Relaxed);
        self.next_ms
            .store(now.saturating_add(Self::EVERY_MS), Ordering::Relaxed);
        Ok(has)
    }
}

impl Default for HandlerCheck {
    fn default() -> Self {
        HandlerCheck::new()
    }
}

/// A config with its sink: what a request's filter hands its line to.
pub struct Emitter {
    pub config: LoggerConfig,
    /// The environ key (or response header name) of each lookup, as a str object.
    pub lookup_keys: Vec<Py<PyString>>,
    pub sink: Sink,
    /// The sink is failing; reported once until it works again.
    failing: AtomicBool,
}

impl Emitter {
    pub fn new(config: LoggerConfig, lookup_keys: Vec<Py<PyString>>, sink: Sink) -> Emitter {
        Emitter {
            config,
            lookup_keys,
            sink,
            failing: AtomicBool::new(false),
        }
    }
}

impl Emitter {
    /// Render and write one line; a failing sink is reported once on `wsgi.errors`, never
    /// raised (the response already went out).
    pub fn emit(&self, py: Python<'_>, environ: &Bound<'_, PyDict>, fields: &Fields<'_>) {
        let outcome: Result<(), String> = match &self.sink {
            Sink::File(appender) => {
                let line = self.config.render(fields);
                let report = appender.append(&line, |wait| py.detach(wait));
                // The file's failures come back from the writer thread, already "once".
                if let Some(report) = report {
                    report_failure(py, environ, &report);
                }
                return;
            }
            Sink::Logging(logger) => self.to_logging(py, logger.bind(py), fields),
            Sink::DefaultLogging(logger, check) => {
                let logger = logger.bind(py);
                match check.has_handlers(logger) {
                    Ok(true) => self.to_logging(py, logger, fields),
                    Ok(false) => self.to_errors(py, environ, fields),
                    Err(err) => Err(err),
                }
            }
            Sink::Stream { stream, flush } => {
                let mut line = as_text(self.config.render(fields));
                line.push('\n');
                let stream = stream.bind(py);
                stream
                    .call_method1(intern!(py, "write"), (line,))
                    .and_then(|_| match flush {
                        true => stream.call_method0(intern!(py, "flush")).map(drop),
                        false => Ok(()),
                    })
                    .map_err(|e| describe(py, &e))
            }
            Sink::Callable(callable) => fields_dict(py, fields)
                .and_then(|dict| callable.bind(py).call1((dict,)))
                .map(drop)
                .map_err(|e| describe(py, &e)),
        };
        match outcome {
            Ok(()) => self.failing.store(false, Ordering::Relaxed),
            Err(err) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    report_failure(py, environ, &format!("the log sink failed: {err}"));
                }
            }
        }
    }

    /// The line on the request's `wsgi.errors`, the server's error log.
    fn to_errors(
        &self,
        py: Python<'_>,
        environ: &Bound<'_, PyDict>,
        fields: &Fields<'_>,
    ) -> Result<(), String> {
        let mut line = as_text(self.config.render(fields));
        line.push('\n');
        let errors = environ
            .get_item(intern!(py, "wsgi.errors"))
            .map_err(|e| describe(py, &e))?;
        // PEP 3333 requires the stream; without one there is nowhere to write.
        let Some(errors) = errors else {
            return Ok(());
        };
        errors
            .call_method1(intern!(py, "write"), (line,))
            .map(drop)
            .map_err(|e| describe(py, &e))
    }

    fn to_logging(
        &self,
        py: Python<'_>,
        logger: &Bound<'_, PyAny>,
        fields: &Fields<'_>,
    ) -> Result<(), String> {
        let enabled = logger
            .call_method1(intern!(py, "isEnabledFor"), (self.config.level,))
            .and_then(|e| e.is_truthy())
            .map_err(|e| describe(py, &e))?;
        if !enabled {
            return Ok(());
        }
        // No args: logging does not %-format the message, so a '%' in a line is safe.
        logger
            .call_method1(
                intern!(py, "log"),
                (self.config.level, as_text(self.config.render(fields))),
            )
            .map(drop)
            .map_err(|e| describe(py, &e))
    }
}

/// A rendered line as text: it is ASCII plus the format's own literal text, so always UTF-8.
fn as_text(line: Vec<u8>) -> String {
    String::from_utf8(line).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn describe(py: Python<'_>, err: &PyErr) -> String {
    let kind = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    format!("{kind}: {}", err.value(py))
}

/// One line on the request's `wsgi.errors`.
fn report_failure(py: Python<'_>, environ: &Bound<'_, PyDict>, message: &str) {
    write_error_line(
        py,
        environ.as_any(),
        "Logger",
        &format!("{message}; access log lines are being lost"),
    );
}

/// The json fields as a dict of Python values (what a callable sink receives).
fn fields_dict<'py>(py: Python<'py>, fields: &Fields<'_>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let text = |value: Option<&str>| value.map(|v| text_value(v).into_owned());
    let time = fields.time.map(|t| {
        let mut out = Vec::new();
        t.write_iso(fields.millis, &mut out);
        as_text(out)
    });
    let mut path = Vec::new();
    render::quoted_path(fields, &mut path);
    let path = as_text(path);
    dict.set_item(intern!(py, "time"), time)?;
    dict.set_item(
        intern!(py, "remote_addr"),
        text(fields.remote.filter(|r| !r.is_empty())),
    )?;
    dict.set_item(intern!(py, "method"), text(fields.method))?;
    dict.set_item(intern!(py, "path"), path)?;
    dict.set_item(intern!(py, "query"), text(Some(fields.query)))?;
    dict.set_item(intern!(py, "protocol"), text(fields.protocol))?;
    dict.set_item(intern!(py, "status"), fields.status)?;
    dict.set_item(intern!(py, "bytes"), fields.bytes)?;
    dict.set_item(intern!(py, "duration_us"), fields.duration_us)?;
    dict.set_item(intern!(py, "referer"), text(fields.referer))?;
    dict.set_item(intern!(py, "user_agent"), text(fields.user_agent))?;
    dict.set_item(intern!(py, "route"), text(fields.route))?;
    if let Some(request_id) = fields.request_id {
        dict.set_item(intern!(py, "request_id"), text_value(request_id))?;
    }
    Ok(dict)
}
