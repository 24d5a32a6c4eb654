//! The `Logger` Python class: options, the sinks, and `flush()` / `reopen()`.

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::appender::Appender;
use super::config::{compile_format, LoggerConfig, Needs};
use super::filter::LogFilter;
use super::proxies::{Network, Trusted};
use super::sink::{Emitter, HandlerCheck, Sink};
use crate::wsgi::chain::Chain;
use crate::wsgi::layer::{Layer, Plan, Wrapped};
use crate::wsgi::options::type_name;

/// Access logs for any WSGI app, written when the response really ended: Apache common or
/// combined, any Apache ``LogFormat``, or JSON lines.
///
/// One line per request, written when the server closes the response (or the app raised):
/// the status that went out (500 when the app failed before its headers), the body bytes
/// handed to the server (so far, when the client went away), and the time from the call to
/// the close. Every value a client controls is escaped the way Apache does it (``\"``,
/// ``\\``, ``\xhh``), so no request can forge or break a line; JSON lines are always valid.
///
///     from wsgi_mw import Logger
///     application = Logger(app)                                  # logging "wsgi_mw.access"
///     application = Logger(app, sink="/var/log/app/access.log")  # written off the GIL
///     application = Logger(app, format="json", sink=sys.stdout)
///
/// Put it outermost (``Logger(Gzip(Cache(app)))``) so it times everything and counts the
/// bytes that really went out.
///
/// Parameters
/// ----------
/// app:
///     The WSGI application to wrap.
/// format:
///     ``"combined"`` (default), ``"common"``, ``"json"``, or an Apache ``LogFormat`` string
///     using ``%h %a %l %u %t %r %s %>s %<s %b %B %D %T %m %U %q %H %{X}i %{X}o %{X}e %%``.
///     Compiled once; an unknown directive raises ValueError naming it.
/// sink:
///     Where lines go. ``None`` (default): the ``logging`` logger ``"wsgi_mw.access"`` at
///     ``level``, so the app's logging configuration decides (no handler is added); while
///     no handler anywhere up its hierarchy would get a line (logging not configured, as
///     under gunicorn by default), each line goes to ``wsgi.errors``, the server's error
///     log, instead (checked again once a second). A
///     ``logging.Logger``: that logger. A path (``str`` or ``os.PathLike``): a file appended
///     to by a background thread without the GIL, flushed at least every second and at exit,
///     reopened when rotated. An object with ``write()`` (``sys.stdout``): one ``write(line +
///     "\n")`` and ``flush()`` per request. Another callable: called with a dict of the json
///     fields.
/// trusted_proxies:
///     IP addresses or networks (``"10.0.0.0/8"``, ``ipaddress`` objects) of reverse proxies
///     whose ``X-Forwarded-For`` is believed: when REMOTE_ADDR is one of them, the client is
///     the right-most address in the header that is not a trusted proxy.
/// level:
///     Default ``logging.INFO``. The level of the records of the logging sinks (an int or a
///     level name).
#[pyclass(module = "wsgi_mw._native", name = "Logger", frozen)]
pub struct Logger {
    app: Wrapped,
    format: String,
    /// The sink as given (None for the default logging sink).
    sink_given: Py<PyAny>,
    emitter: Arc<Emitter>,
}

/// `Logger(format=...)`: a str (checked when extracted, so None is refused too).
pub struct FormatArg(String);

impl<'a, 'py> FromPyObject<'a, 'py> for FormatArg {
    type Error = PyErr;

    fn extract(value: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let text = value.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "Logger(format=...): format must be a str (\"common\", \"combined\", \"json\" or an Apache LogFormat), not {}",
                type_name(&value)
            ))
        })?;
        Ok(FormatArg(text.to_cow()?.into_owned()))
    }
}

/// `Logger(level=...)`: an int or a level name.
pub struct LevelArg(i32);

impl<'a, 'py> FromPyObject<'a, 'py> for LevelArg {
    type Error = PyErr;

    fn extract(value: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        level(&value).map(LevelArg)
    }
}

fn trusted_proxies(given: Option<&Bound<'_, PyAny>>) -> PyResult<Trusted> {
    let Some(given) = given.filter(|g| !g.is_none()) else {
        return Ok(Trusted::default());
    };
    let py = given.py();
    if given.is_instance_of::<PyString>() || given.is_instance_of::<pyo3::types::PyBytes>() {
        return Err(PyTypeError::new_err(
            "Logger(trusted_proxies=...): expected an iterable of IP addresses or networks, not a single str (write [\"10.0.0.1\"])",
        ));
    }
    let iter = given.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "Logger(trusted_proxies=...): expected an iterable of IP addresses or networks, not {}",
            type_name(given)
        ))
    })?;
    let ipaddress = py.import(intern!(py, "ipaddress"))?;
    let kinds = PyTuple::new(
        py,
        [
            ipaddress.getattr("IPv4Address")?,
            ipaddress.getattr("IPv6Address")?,
            ipaddress.getattr("IPv4Network")?,
            ipaddress.getattr("IPv6Network")?,
        ],
    )?;
    let mut networks = Vec::new();
    for entry in iter {
        let entry = entry?;
        let text = if entry.is_instance_of::<PyString>() || entry.is_instance(&kinds)? {
            entry.str()?.to_cow()?.into_owned()
        } else {
            return Err(PyTypeError::new_err(format!(
                "Logger(trusted_proxies=...): entries must be str or ipaddress addresses/networks, not {}",
                type_name(&entry)
            )));
        };
        let network = Network::parse(&text)
            .map_err(|e| PyValueError::new_err(format!("Logger(trusted_proxies=...): {e}")))?;
        networks.push(network);
    }
    Ok(Trusted::new(networks))
}

fn level(given: &Bound<'_, PyAny>) -> PyResult<i32> {
    let py = given.py();
    if given.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "Logger(level=...): level must be an int or a level name, not bool",
        ));
    }
    if given.is_instance_of::<PyInt>() {
        return given
            .extract::<i32>()
            .map_err(|_| PyValueError::new_err("Logger(level=...): level is out of range"));
    }
    if let Ok(name) = given.cast::<PyString>() {
        let upper = name.call_method0(intern!(py, "upper"))?;
        let level = py
            .import(intern!(py, "logging"))?
            .call_method1(intern!(py, "getLevelName"), (upper,))?;
        return level.extract::<i32>().map_err(|_| {
            PyValueError::new_err(format!(
                "Logger(level={}): unknown level name (use DEBUG, INFO, WARNING, ERROR, CRITICAL or an int)",
                given.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        });
    }
    Err(PyTypeError::new_err(format!(
        "Logger(level=...): level must be an int or a level name, not {}",
        type_name(given)
    )))
}

fn open_error(py: Python<'_>, path: &std::path::Path, err: &std::io::Error) -> PyErr {
    let shown = path.display().to_string();
    match err.raw_os_error() {
        // OSError(errno, strerror, filename) picks the subclass (FileNotFoundError, ...).
        Some(code) => {
            let reason = py
                .import(intern!(py, "os"))
                .and_then(|os| os.call_method1(intern!(py, "strerror"), (code,)))
                .map(|r| r.to_string())
                .unwrap_or_else(|_| err.to_string());
            PyOSError::new_err((code, format!("Logger(sink=...): {reason}"), shown))
        }
        None => PyOSError::new_err(format!("Logger(sink={shown:?}): {err}")),
    }
}

fn sink(py: Python<'_>, given: &Bound<'_, PyAny>) -> PyResult<Sink> {
    let logging = py.import(intern!(py, "logging"))?;
    if given.is_none() {
        let logger = logging.call_method1(intern!(py, "getLogger"), ("wsgi_mw.access",))?;
        return Ok(Sink::DefaultLogging(logger.unbind(), HandlerCheck::new()));
    }
    if given.is_instance(&logging.getattr(intern!(py, "Logger"))?)? {
        return Ok(Sink::Logging(given.clone().unbind()));
    }
    let os = py.import(intern!(py, "os"))?;
    if given.is_instance_of::<PyString>() || given.is_instance(&os.getattr("PathLike")?)? {
        let path: String = os
            .call_method1(
                intern!(py, "fsdecode"),
                (os.call_method1("fspath", (given,))?,),
            )?
            .extract()?;
        if path.is_empty() {
            return Err(PyValueError::new_err(
                "Logger(sink=''): an empty path; give a file path, a stream or a callable",
            ));
        }
        let path = PathBuf::from(path);
        let appender =
            Arc::new(Appender::open(path.clone()).map_err(|e| open_error(py, &path, &e))?);
        // Interpreter exit writes what is still buffered. The hook holds a weak reference,
        // so it does not keep the Logger's file open.
        let hook = Py::new(
            py,
            FlushAtExit {
                appender: Arc::downgrade(&appender),
            },
        )?;
        py.import(intern!(py, "atexit"))?
            .call_method1(intern!(py, "register"), (hook,))?;
        return Ok(Sink::File(appender));
    }
    if given.hasattr(intern!(py, "write"))? {
        let io = py.import(intern!(py, "io"))?;
        let binary = PyTuple::new(
            py,
            [io.getattr("RawIOBase")?, io.getattr("BufferedIOBase")?],
        )?;
        if given.is_instance(&binary)? {
            return Err(PyTypeError::new_err(format!(
                "Logger(sink=...): {} is a binary stream; lines are text: pass a text stream or a file path",
                type_name(given)
            )));
        }
        let flush = given.hasattr(intern!(py, "flush"))?;
        return Ok(Sink::Stream {
            stream: given.clone().unbind(),
            flush,
        });
    }
    if given.is_callable() {
        return Ok(Sink::Callable(given.clone().unbind()));
    }
    Err(PyTypeError::new_err(format!(
        "Logger(sink=...): expected None, a logging.Logger, a file path, an object with write() or a callable, not {}",
        type_name(given)
    )))
}

impl Layer for Logger {
    const NAME: &'static str = "Logger";

    fn wrapped(&self) -> &Wrapped {
        &self.app
    }

    fn plan<'py>(
        &self,
        py: Python<'py>,
        _environ: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Plan<'py>> {
        let filter = LogFilter::new(py, Arc::clone(&self.emitter), &mut chain.request);
        Ok(Plan::Filter(Box::new(filter)))
    }

    fn traverse_more(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.sink_given)?;
        match &self.emitter.sink {
            Sink::Logging(obj)
            | Sink::DefaultLogging(obj, _)
            | Sink::Callable(obj)
            | Sink::Stream { stream: obj, .. } => visit.call(obj),
            Sink::File(_) => Ok(()),
        }
    }
}

crate::layer_methods!(Logger {
    #[new]
    #[pyo3(
        signature = (app, *, format = FormatArg("combined".to_owned()), sink = None, trusted_proxies = None, level = LevelArg(20)),
        text_signature = "(app, *, format='combined', sink=None, trusted_proxies=(), level=20)"
    )]
    fn new(
        py: Python<'_>,
        app: &Bound<'_, PyAny>,
        format: FormatArg,
        sink: Option<&Bound<'_, PyAny>>,
        trusted_proxies: Option<&Bound<'_, PyAny>>,
        level: LevelArg,
    ) -> PyResult<Self> {
        let (format, style, lookups, needs) =
            compile_format(format.0).map_err(PyValueError::new_err)?;
        let level = level.0;
        let trusted = self::trusted_proxies(trusted_proxies)?;
        let none = py.None().into_bound(py);
        let sink_given = sink.unwrap_or(&none);
        let sink = self::sink(py, sink_given)?;
        let lookup_keys = lookups
            .iter()
            .map(|lookup| PyString::new(py, &lookup.key).unbind())
            .collect();
        // A callable sink receives the json fields whatever the format.
        let needs = match sink {
            Sink::Callable(_) => Needs::all(),
            _ => needs,
        };
        Ok(Logger {
            app: Wrapped::new(app, "Logger")?,
            format,
            sink_given: sink_given.clone().unbind(),
            emitter: Arc::new(Emitter::new(
                LoggerConfig {
                    style,
                    lookups,
                    needs,
                    trusted,
                    level,
                },
                lookup_keys,
                sink,
            )),
        })
    }

    /// Write buffered lines now. File sink: blocks (without the GIL) until the lines are in
    /// the file; a stream sink: calls its ``flush()``; other sinks: nothing to do.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        match &self.emitter.sink {
            Sink::File(appender) => appender
                .flush(false, |work| py.detach(work))
                .map_err(|e| PyOSError::new_err(format!("Logger.flush(): {e}"))),
            Sink::Stream {
                stream,
                flush: true,
            } => stream.call_method0(py, intern!(py, "flush")).map(drop),
            _ => Ok(()),
        }
    }

    /// File sink: write what is buffered, then close and reopen the path (after a log
    /// rotation moved the file away). Moved or deleted files are also noticed by themselves
    /// at the next write. Other sinks: nothing to do.
    fn reopen(&self, py: Python<'_>) -> PyResult<()> {
        match &self.emitter.sink {
            Sink::File(appender) => appender
                .flush(true, |work| py.detach(work))
                .map_err(|e| PyOSError::new_err(format!("Logger.reopen(): {e}"))),
            _ => Ok(()),
        }
    }

    /// The format as given (``"combined"``, ``"json"``, a LogFormat string).
    #[getter]
    fn format(&self) -> &str {
        &self.format
    }

    /// The sink as given (None: the ``"wsgi_mw.access"`` logger).
    #[getter]
    fn sink(&self, py: Python<'_>) -> Py<PyAny> {
        self.sink_given.clone_ref(py)
    }

    /// The trusted proxies as networks (``("10.0.0.0/8", "192.0.2.1/32")``).
    #[getter]
    fn trusted_proxies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(
            py,
            self.emitter
                .config
                .trusted
                .networks()
                .iter()
                .map(|n| n.to_string()),
        )
    }

    /// The level of the logging sinks' records.
    #[getter]
    fn level(&self) -> i32 {
        self.emitter.config.level
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Logger({}, format={}, sink={}, trusted_proxies={}, level={})",
            self.app.repr(py)?,
            PyString::new(py, &self.format).repr()?,
            self.sink_given.bind(py).repr()?,
            self.trusted_proxies(py)?.repr()?,
            self.emitter.config.level,
        ))
    }

});

/// Registered with `atexit` for a file sink: writes what is still buffered.
#[pyclass(module = "wsgi_mw._native", name = "_LogFlushAtExit", frozen)]
pub struct FlushAtExit {
    appender: Weak<Appender>,
}

#[pymethods]
impl FlushAtExit {
    fn __call__(&self, py: Python<'_>) {
        if let Some(appender) = self.appender.upgrade() {
            // At exit there is nobody to tell about a failure but stderr.
            if let Err(err) = appender.flush(false, |work| py.detach(work)) {
                eprintln!(
                    "wsgi_mw.Logger: flushing {} at exit: {err}",
                    appender.path().display()
                );
            }
        }
    }

    fn __repr__(&self) -> String {
        match self.appender.upgrade() {
            Some(appender) => format!("<flush {} at exit>", appender.path().display()),
            None => "<flush a closed log at exit>".into(),
        }
    }
}
