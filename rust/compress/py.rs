//! The `Compress` and `Gzip` Python classes: options, per-request negotiation, wiring into
//! the plumbing.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use super::config::{
    CompressConfig, DEFAULT_CONTENT_TYPES, DEFAULT_ENCODINGS, DEFAULT_STREAM_TYPES,
    MAX_BREACH_PADDING,
};
use super::encoder::work_per_byte;
use super::filter::CompressFilter;
use super::gzip::gzip_all;
use crate::http::accept_encoding::{negotiate, Coding};
use crate::wsgi::chain::Chain;
use crate::wsgi::gil::detach_if_large;
use crate::wsgi::layer::{Layer, Plan, Wrapped};
use crate::wsgi::options::{codings, media_types};
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
    config: Arc<CompressConfig>,
}

/// The plan both classes share: the coding this request gets, and the filter.
fn plan_filter<'py>(config: &Arc<CompressConfig>, chain: &mut Chain<'py>) -> Plan<'py> {
    // A non-dict environ has no fields; the plumbing reports it.
    let accept = chain.request.get(Field::AcceptEncoding);
    let accept = accept.as_ref().and_then(|a| utf8(a).ok());
    let coding = negotiate(accept, &config.encodings);
    let range_request = chain.request.get(Field::Range).is_some();
    let if_none_match = chain.request.get(Field::IfNoneMatch);
    let if_none_match = if_none_match.as_ref().and_then(|v| utf8(v).ok());
    Plan::Filter(Box::new(CompressFilter::new(
        config.clone(),
        coding,
        range_request,
        if_none_match,
    )))
}

impl Layer for Gzip {
    const NAME: &'static str = "Gzip";

    fn wrapped(&self) -> &Wrapped {
        &self.app
    }

    fn plan<'py>(
        &self,
        _py: Python<'py>,
        _environ: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Plan<'py>> {
        Ok(plan_filter(&self.config, chain))
    }
}

crate::layer_methods!(Gzip {
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
        let config = CompressConfig {
            encodings: vec![Coding::Gzip],
            // 0..=9 was checked when the argument was extracted.
            gzip_level: u32::try_from(level.0).unwrap_or(6),
            brotli_quality: 4,
            zstd_level: 3,
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

    /// The zlib compression level, 0 to 9.
    #[getter]
    fn level(&self) -> u32 {
        self.config.gzip_level
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

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Gzip({}, level={}, min_size={}, content_types={}, stream_types={}, breach_padding={})",
            self.app.repr(py)?,
            self.config.gzip_level,
            self.config.min_size,
            self.config.content_types.py_tuple_repr(),
            self.config.stream_types.py_tuple_repr(),
            self.config.breach_padding
        ))
    }
});

/// The benchmark floor: gzip `data` with the encoder Gzip uses for a whole body (libdeflate),
/// no WSGI around it (GIL released). Not public API: benches/bench_gzip.py compares Gzip
/// against it.
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
        bytes.len().saturating_mul(work_per_byte(Coding::Gzip, 6)),
        || gzip_all(bytes, level.min(9), None, &mut out),
    );
    PyBytes::new(py, &out)
}

crate::int_option!(GzipLevel, "Compress", "gzip_level", 0, 9, "zlib level");
crate::int_option!(
    BrotliQuality,
    "Compress",
    "brotli_quality",
    0,
    11,
    "brotli quality"
);
crate::int_option!(ZstdLevel, "Compress", "zstd_level", 1, 22, "zstd level");
crate::int_option!(
    CompressMinSize,
    "Compress",
    "min_size",
    0,
    usize::MAX,
    "bytes"
);
crate::int_option!(
    CompressPadding,
    "Compress",
    "breach_padding",
    0,
    MAX_BREACH_PADDING,
    "bytes"
);

/// Compress WSGI responses with zstd, brotli or gzip, whichever the client prefers, streaming
/// and off the GIL.
///
/// Negotiates Accept-Encoding by RFC 9110: the client's q-values decide, ties go to the order
/// of ``encodings``, ``*`` stands for what the client did not name and ``q=0`` refuses; a
/// malformed element is ignored. Adds ``Vary: Accept-Encoding``, weakens strong ETags. A whole
/// body (a list, or a first chunk that reaches the declared Content-Length) is compressed in
/// one shot, with the GIL released, and gets an exact Content-Length; when the encoded body
/// would not be smaller the original is sent. Streamed bodies are compressed chunk by chunk;
/// ``stream_types`` (server-sent events, NDJSON) are flushed after every chunk.
///
///     from wsgi_mw import Compress
///     application = Compress(app)
///     application = Compress(app, encodings=("br", "gzip"), brotli_quality=5)
///
/// Parameters
/// ----------
/// app:
///     The WSGI application to wrap.
/// encodings:
///     Default ``("zstd", "br", "gzip")``: the codings offered, in the server's order of
///     preference.
/// min_size:
///     Default 500. Bodies known to be smaller are sent as they are.
/// gzip_level:
///     Default 6, 0 to 9.
/// brotli_quality:
///     Default 4, 0 to 11 (11 is for precompressing static files, far too slow per request).
/// zstd_level:
///     Default 3, 1 to 22.
/// content_types:
///     Media types to compress, ``type/subtype``, ``type/*`` or ``type/*+suffix``. ``None``
///     (the default) means ``Compress.DEFAULT_CONTENT_TYPES``: text/*, JSON and XML with their
///     ``+json``/``+xml`` suffixes (JSON:API, HAL, problem details, Atom), JavaScript, NDJSON,
///     WebAssembly and SVG.
/// stream_types:
///     ``None`` (the default) means ``("text/event-stream", "application/x-ndjson")``:
///     flushed after every chunk (no ``min_size``), each event decodable when it arrives.
/// breach_padding:
///     Default 0 (off; see docs/compress.md for why). When N > 0, each compressed response
///     carries 0 to N random bytes the decoder skips: in gzip's file-name field, a zstd
///     skippable frame or a brotli metadata block. The decoded body is unchanged.
///
/// Left untouched: HEAD, 1xx/204/304, 206 and requests with Range, responses that already
/// have a Content-Encoding or say ``Cache-Control: no-transform``, and other media types.
#[pyclass(module = "wsgi_mw._native", name = "Compress", frozen)]
pub struct Compress {
    app: Wrapped,
    config: Arc<CompressConfig>,
}

impl Layer for Compress {
    const NAME: &'static str = "Compress";

    fn wrapped(&self) -> &Wrapped {
        &self.app
    }

    fn plan<'py>(
        &self,
        _py: Python<'py>,
        _environ: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Plan<'py>> {
        Ok(plan_filter(&self.config, chain))
    }
}

crate::layer_methods!(Compress {
    #[new]
    #[pyo3(
        signature = (app, *, encodings = None, min_size = CompressMinSize(500), gzip_level = GzipLevel(6), brotli_quality = BrotliQuality(4), zstd_level = ZstdLevel(3), content_types = None, stream_types = None, breach_padding = CompressPadding(0)),
        text_signature = "(app, *, encodings=('zstd', 'br', 'gzip'), min_size=500, gzip_level=6, brotli_quality=4, zstd_level=3, content_types=None, stream_types=None, breach_padding=0)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        app: &Bound<'_, PyAny>,
        encodings: Option<&Bound<'_, PyAny>>,
        min_size: CompressMinSize,
        gzip_level: GzipLevel,
        brotli_quality: BrotliQuality,
        zstd_level: ZstdLevel,
        content_types: Option<&Bound<'_, PyAny>>,
        stream_types: Option<&Bound<'_, PyAny>>,
        breach_padding: CompressPadding,
    ) -> PyResult<Self> {
        let config = CompressConfig {
            encodings: codings("Compress", encodings, &DEFAULT_ENCODINGS, false)?,
            min_size: min_size.0,
            // The ranges were checked when the arguments were extracted.
            gzip_level: u32::try_from(gzip_level.0).unwrap_or(6),
            brotli_quality: u32::try_from(brotli_quality.0).unwrap_or(4),
            zstd_level: i32::try_from(zstd_level.0).unwrap_or(3),
            content_types: media_types(
                "Compress",
                "content_types",
                content_types,
                &DEFAULT_CONTENT_TYPES,
            )?,
            stream_types: media_types(
                "Compress",
                "stream_types",
                stream_types,
                &DEFAULT_STREAM_TYPES,
            )?,
            breach_padding: breach_padding.0,
        };
        Ok(Compress {
            app: Wrapped::new(app, "Compress")?,
            config: Arc::new(config),
        })
    }

    /// The media types compressed when ``content_types`` is not given.
    #[classattr]
    #[pyo3(name = "DEFAULT_CONTENT_TYPES")]
    fn default_content_types(py: Python<'_>) -> PyResult<Py<PyTuple>> {
        Ok(PyTuple::new(py, DEFAULT_CONTENT_TYPES)?.unbind())
    }

    /// The codings offered, in order of preference.
    #[getter]
    fn encodings(&self) -> Vec<&'static str> {
        self.config.encodings.iter().map(|c| c.token()).collect()
    }

    /// Bodies known to be smaller than this many bytes are sent uncompressed.
    #[getter]
    fn min_size(&self) -> usize {
        self.config.min_size
    }

    #[getter]
    fn gzip_level(&self) -> u32 {
        self.config.gzip_level
    }

    #[getter]
    fn brotli_quality(&self) -> u32 {
        self.config.brotli_quality
    }

    #[getter]
    fn zstd_level(&self) -> i32 {
        self.config.zstd_level
    }

    /// The media types compressed, normalised to lowercase.
    #[getter]
    fn content_types(&self) -> Vec<String> {
        self.config.content_types.entries().to_vec()
    }

    /// The media types compressed with a flush after every chunk.
    #[getter]
    fn stream_types(&self) -> Vec<String> {
        self.config.stream_types.entries().to_vec()
    }

    /// Most random bytes added to a compressed response against BREACH (0: off).
    #[getter]
    fn breach_padding(&self) -> usize {
        self.config.breach_padding
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let names: Vec<String> = self
            .config
            .encodings
            .iter()
            .map(|c| format!("{:?}", c.token()))
            .collect();
        let trailing = if names.len() == 1 { "," } else { "" };
        Ok(format!(
            "Compress({}, encodings=({}{trailing}), min_size={}, gzip_level={}, brotli_quality={}, zstd_level={}, content_types={}, stream_types={}, breach_padding={})",
            self.app.repr(py)?,
            names.join(", "),
            self.config.min_size,
            self.config.gzip_level,
            self.config.brotli_quality,
            self.config.zstd_level,
            self.config.content_types.py_tuple_repr(),
            self.config.stream_types.py_tuple_repr(),
            self.config.breach_padding
        ))
    }
});
