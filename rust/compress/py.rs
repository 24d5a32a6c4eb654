//! The `Gzip` Python class: options, per-request negotiation, wiring into the plumbing.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::config::{GzipConfig, DEFAULT_CONTENT_TYPES, DEFAULT_STREAM_TYPES, MAX_BREACH_PADDING};
use super::encoder::gzip_all;
use super::filter::{GzipFilter, DEFLATE_WORK_PER_BYTE};
use crate::http::accept_encoding::accepts_gzip;
use crate::wsgi::chain::{enter, Chain};
use crate::wsgi::gil::detach_if_large;
use crate::wsgi::layer::Wrapped;
use crate::wsgi::options::media_types;
use crate::wsgi::request::Field;
use crate::wsgi::text::utf8;

crate::int_option!(Level, "Gzip", "level", 0, 9, "zlib level");
crate::int_option!(MinSize, "Gzip", "min_size", 0, usize::MAX, "bytes");
crate::int_option!(
    BreachPadding,
    "Gzip",
    "breach_padding",
    0,
    MAX_BREACH_PADDING,
    "bytes"
);

/// Compress WSGI responses with gzip when the client accepts it, streaming and off the GIL.
///
/// Negotiates Accept-Encoding with q-values (``gzip;q=0`` refuses, ``*`` counts, ``x-gzip``
/// is gzip), adds ``Vary: Accept-Encoding``, weakens strong ETags, keeps Content-Length exact
/// for whole bodies (a list, or a first chunk that reaches the declared Content-Length) and
/// compresses streamed bodies incrementally. Server-sent
/// events are flushed after every chunk so each event reaches the client at once.
///
///     from wsgi_mw import Gzip
///     application = Gzip(app)
///     application = Gzip(Rewrite(app, rules), level=9, min_size=1024)
///
/// Parameters
/// ----------
/// app:
///     The WSGI application to wrap.
/// level:
///     Default 6 (zlib's default: most of level 9's ratio at a fraction of its cost).
///     0 (stored, no compression) to 9.
/// min_size:
///     Default 500. Bodies known to be smaller (from Content-Length, or because the whole
///     body is known) are sent as they are: below this, gzip's 18-byte frame and the CPU
///     cost outweigh the saving. A streamed body of unknown size is compressed from its
///     first chunk.
/// content_types:
///     Media types to compress, ``type/subtype`` or ``type/*``. ``None`` (the default) means
///     ``Gzip.DEFAULT_CONTENT_TYPES``: text/*, JSON, JavaScript, XML and SVG variants.
/// stream_types:
///     ``None`` (the default) means ``("text/event-stream",)``. Compressed with a sync flush
///     after every chunk (no ``min_size``), so each event is decodable as soon as it is sent.
/// breach_padding:
///     Default 0 (off). When N > 0, each compressed response carries 0 to N random bytes in
///     the gzip header's file-name field, so its length varies by up to N bytes: Django's
///     "Heal the BREACH" mitigation against length-based secret extraction. Costs up to N
///     bytes per response; it blurs, not removes, the signal (see docs/gzip.md).
///
/// Left untouched: HEAD, 1xx/204/304, 206 and requests with Range, responses that already
/// have a Content-Encoding or say ``Cache-Control: no-transform``, and other media types.
#[pyclass(module = "wsgi_mw._native", name = "Gzip", frozen)]
pub struct Gzip {
    app: Wrapped,
    config: Arc<GzipConfig>,
}

impl Gzip {
    /// This layer's stage of a request's chain (`__call__`, or a fused layer outside).
    pub fn run<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        start_response: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Py<PyAny>> {
        // A non-dict environ has no fields; the plumbing reports it.
        let accepted = chain
            .request
            .get(Field::AcceptEncoding)
            .as_ref()
            .and_then(|a| utf8(a).ok())
            .is_some_and(|a| accepts_gzip(Some(a)));
        let range_request = chain.request.get(Field::Range).is_some();
        let filter = Box::new(GzipFilter::new(
            self.config.clone(),
            accepted,
            range_request,
        ));
        chain.call(
            py,
            "Gzip",
            self.app.bind(py),
            environ,
            start_response,
            Some(filter),
        )
    }
}

#[pymethods]
impl Gzip {
    #[new]
    #[pyo3(
        signature = (app, *, level = Level(6), min_size = MinSize(500), content_types = None, stream_types = None, breach_padding = BreachPadding(0)),
        text_signature = "(app, *, level=6, min_size=500, content_types=None, stream_types=None, breach_padding=0)"
    )]
    fn new(
        app: &Bound<'_, PyAny>,
        level: Level,
        min_size: MinSize,
        content_types: Option<&Bound<'_, PyAny>>,
        stream_types: Option<&Bound<'_, PyAny>>,
        breach_padding: BreachPadding,
    ) -> PyResult<Self> {
        let config = GzipConfig {
            // 0..=9 was checked when the argument was extracted.
            level: u32::try_from(level.0).unwrap_or(6),
            min_size: min_size.0,
            content_types: media_types(
                "Gzip",
                "content_types",
                content_types,
                &DEFAULT_CONTENT_TYPES,
            )?,
            stream_types: media_types("Gzip", "stream_types", stream_types, &DEFAULT_STREAM_TYPES)?,
            breach_padding: breach_padding.0,
        };
        Ok(Gzip {
            app: Wrapped::new(app, "Gzip")?,
            config: Arc::new(config),
        })
    }

    /// The media types compressed when ``content_types`` is not given.
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
        enter(py, environ, |chain| {
            self.run(py, environ, start_response, chain)
        })
    }

    /// The wrapped WSGI application.
    #[getter]
    fn app(&self, py: Python<'_>) -> Py<PyAny> {
        self.app.get(py)
    }

    /// The zlib compression level, 0 to 9.
    #[getter]
    fn level(&self) -> u32 {
        self.config.level
    }

    /// Bodies known to be smaller than this many bytes are sent uncompressed.
    #[getter]
    fn min_size(&self) -> usize {
        self.config.min_size
    }

    /// The media types compressed, normalised to lowercase.
    #[getter]
    fn content_types(&self) -> Vec<String> {
        self.config.content_types.entries().to_vec()
    }

    /// The media types compressed with a sync flush after every chunk.
    #[getter]
    fn stream_types(&self) -> Vec<String> {
        self.config.stream_types.entries().to_vec()
    }

    /// Most random bytes added to the gzip header against BREACH (0: off).
    #[getter]
    fn breach_padding(&self) -> usize {
        self.config.breach_padding
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.app.traverse(&visit)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Gzip({}, level={}, min_size={}, content_types={}, stream_types={}, breach_padding={})",
            self.app.repr(py)?,
            self.config.level,
            self.config.min_size,
            self.config.content_types.py_tuple_repr(),
            self.config.stream_types.py_tuple_repr(),
            self.config.breach_padding
        ))
    }
}

/// The benchmark floor: gzip `data` with flate2/zlib-rs, no WSGI around it (GIL released).
/// Not public API: benches/bench_gzip.py compares Gzip against it.
#[pyfunction]
#[pyo3(name = "gzip_floor", signature = (data, level = 6))]
pub fn gzip_floor<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    level: u32,
) -> Bound<'py, PyBytes> {
    let bytes = data.as_bytes();
    let mut out = Vec::new();
    // Counted like Gzip counts a whole in-memory body against the GIL threshold.
    detach_if_large(
        py,
        bytes.len().saturating_mul(DEFLATE_WORK_PER_BYTE),
        || gzip_all(bytes, level.min(9), None, &mut out),
    );
    PyBytes::new(py, &out)
}
