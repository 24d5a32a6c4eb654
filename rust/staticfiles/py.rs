//! The `Static` Python class: options, the index, and each request's answer: a file
//! (through [`respond`]), a redirect to a directory's slash, or the app.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use parking_lot::Mutex;

use super::body::{read_up_to, FileBody, BLOCK};
use super::config::{media_type_entry, normal_prefix};
use super::held::Held;
use super::index::{entry, FileEntry, Index, Looked, TooManyFiles, Variant};
use super::lookup::{after_prefix, find, join, latin1, Found};
use super::path::{check, MAX_SEGMENTS};
use super::respond::{respond, Ask, Body, Options};
use crate::http::accept_encoding::Coding;
use crate::http::clock::now_ms;
use crate::wsgi::answer::{text_headers, Answer, AnswerBody};
use crate::wsgi::chain::Chain;
use crate::wsgi::layer::{py_bool, Layer, Plan, Wrapped};
use crate::wsgi::options::{bool_arg, codings, str_arg, type_name};
use crate::wsgi::request::Field;
use crate::wsgi::text::utf8;

crate::int_option!(MaxAge, "Static", "max_age", 0, 2_147_483_648, "seconds");
crate::int_option!(
    ImmutableMaxAge,
    "Static",
    "immutable_max_age",
    0,
    2_147_483_648,
    "seconds"
);
// At least 1: a Static that may index no file serves nothing.
crate::int_option!(MaxFiles, "Static", "max_files", 1, usize::MAX, "files");

/// The codings whose siblings are served by default, in order of preference.
pub const DEFAULT_ENCODINGS: [Coding; 3] = [Coding::Zstd, Coding::Br, Coding::Gzip];

/// Files up to this size are read in one block into one bytes object (one read; the
/// filters outside see the body whole). Larger ones stream, or go to `wsgi.file_wrapper`.
const SMALL: u64 = BLOCK as u64;

/// Serve static files from Rust: precompressed siblings, ranges, validators, far-future
/// caching for hashed names, and everything else passed to the app.
///
/// A request whose PATH_INFO starts with ``prefix`` and names a file under ``root`` is
/// answered from the file; any other request (another path, a missing file, a name that is
/// refused) goes to ``app`` unchanged. The files are indexed by one scan at construction
/// (off the GIL), or looked up on each request with ``autorefresh=True``. Files up to
/// 64 KiB are read in one read and their bytes kept (up to 32 MiB); larger ones go to the
/// server's ``wsgi.file_wrapper`` when it offers one and no wsgi_mw layer outside needs
/// the body, and are otherwise read in 64 KiB blocks off the GIL, never past a range.
///
///     from wsgi_mw import Static
///     application = Static(app, "static/")
///     application = Static(app, "/srv/site/static", prefix="/assets/", max_age=600)
///
/// Responses carry Content-Type (nginx's table plus ``mimetypes``; text types with
/// ``charset=utf-8``), Content-Length, Last-Modified, a strong ETag made from the file's
/// modification time and size (the same in every process and after a restart),
/// Accept-Ranges and Cache-Control. If-None-Match and If-Modified-Since give 304; one
/// ``Range: bytes=`` range gives 206 (or 416), honouring If-Range. HEAD has no body; any
/// other method on a file gets 405 with ``Allow: GET, HEAD``.
///
/// Precompressed siblings (``app.js.zst``, ``app.js.br``, ``app.js.gz`` next to
/// ``app.js``) are served with Content-Encoding to clients that accept them, chosen by the
/// client's q-values, then by the order of ``encodings``; every response of a file with
/// siblings says ``Vary: Accept-Encoding``. A Range request always gets the file itself.
///
/// Security: nothing outside ``root`` is served. PATH_INFO after the prefix is refused, not
/// cleaned up, when a segment is empty (``/static//etc/passwd``), ``.`` or ``..``, a
/// dotfile, holds a backslash, NUL or control character, or a ``%`` escape of ``/ \ . %``
/// or NUL, or when it is longer than 1024 bytes or 32 segments. Symbolic links under
/// ``root`` are followed (``collectstatic --link`` makes them): whatever the operator put
/// under ``root`` is served.
///
/// Parameters
/// ----------
/// app:
///     The WSGI application for every request Static does not answer.
/// root:
///     The directory served (``str`` or path-like). It must exist: otherwise ValueError.
/// prefix:
///     Default ``"/static/"``. The URL path under which ``root`` is served, normalised to
///     start and end with ``/`` (``"assets"`` is ``"/assets/"``; ``"/"`` serves from the
///     site's root).
/// max_age:
///     Default 60. ``Cache-Control: public, max-age=N`` for files whose name is not hashed.
/// immutable_max_age:
///     Default 31536000 (a year). ``public, max-age=N, immutable`` for hashed names:
///     ``name.<8 or more hex digits>.ext``, as Django's ManifestStaticFilesStorage and
///     bundlers write them.
/// index_file:
///     Default ``False``. When ``True``, ``dir/`` serves ``dir/index.html``, and ``dir``
///     and ``dir/index.html`` redirect (302) to ``dir/``.
/// autorefresh:
///     Default ``False``: the files found by the scan at construction are served, each
///     entry read again at most once a second, so a file changed or deleted since is seen
///     within a second (new files are not). When ``True`` (development) each request looks
///     its file up, so files added later are seen too.
/// encodings:
///     Default ``("zstd", "br", "gzip")``. The precompressed siblings served, in order of
///     preference; ``()`` serves files only as they are.
/// mimetypes:
///     Default ``None``. A dict of extra ``{extension: media type}`` (``{".webp":
///     "image/webp"}``), tried before the built-in table.
/// max_files:
///     Default 1000000, far above any real static tree. The most files the scan at
///     construction indexes (precompressed siblings count, and a file reached by two links
///     counts twice): past it the scan stops and ValueError says to point ``root`` at the
///     static files or raise ``max_files``. It is what ends the scan of a root given by
///     mistake (``/``, a home directory, ``/proc/self``, whose links reach ``/`` over and
///     over). Unused with ``autorefresh``, which scans nothing.
#[pyclass(module = "wsgi_mw._native", name = "Static", frozen)]
pub struct Static {
    app: Wrapped,
    root: PathBuf,
    /// `prefix` as given, normalised, and as the request bytes a server would send for
    /// it (its UTF-8, which PATH_INFO carries as latin-1 code points).
    prefix: String,
    prefix_bytes: Vec<u8>,
    options: Options,
    index_file: bool,
    extra_types: Vec<(String, String)>,
    /// `None` with autorefresh: each request looks its file up.
    index: Option<Index>,
    max_files: usize,
    /// The bytes of small files sent whole, kept after their first request. The lock is
    /// held only to look up or insert (reference counts, never a call into Python).
    held: Mutex<Held<Py<PyBytes>>>,
}

/// Most bytes of small files kept in memory, per Static.
const HELD_BUDGET: u64 = 32 * 1024 * 1024;

impl Static {
    /// The file under the root at `relative`, from the index (read again when due) or,
    /// with autorefresh, from the disk.
    fn file(&self, py: Python<'_>, relative: &[u8]) -> Option<Arc<FileEntry>> {
        let extra = &self.extra_types;
        let Some(index) = &self.index else {
            // `join` refuses what `check` refuses, segment by segment.
            let path = join(&self.root, relative)?;
            return py.detach(|| entry(path, extra)).map(Arc::new);
        };
        // The same refusals as `join`'s (the index holds no such names anyway).
        check(relative).ok()?;
        // The index's lock is held for one lookup or one insert, never across a stat (done
        // before the insert, off the GIL) or a call into Python: taken with the GIL held,
        // it cannot stall the interpreter behind file system work.
        match index.get(relative, now_ms())? {
            Looked::Trusted(entry) => Some(entry),
            Looked::Due(path, held) => {
                py.detach(|| index.recheck(relative, &path, held.as_ref(), extra, now_ms()))
            }
        }
    }

    /// The entry at `relative` read again now (its file changed, or went, since).
    fn reread(
        &self,
        py: Python<'_>,
        relative: &[u8],
        stale: &Arc<FileEntry>,
    ) -> Option<Arc<FileEntry>> {
        let extra = &self.extra_types;
        let path = stale.file.path.clone();
        match &self.index {
            Some(index) => {
                py.detach(|| index.recheck(relative, &path, Some(stale), extra, now_ms()))
            }
            None => py.detach(|| entry(path, extra)).map(Arc::new),
        }
    }

    /// The body of `len` bytes of `variant` from `start`: held bytes, one read, the
    /// server's file_wrapper or a [`FileBody`]. None when the file is not what its entry
    /// says any more.
    fn open<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        chain: &Chain<'py>,
        variant: &Variant,
        start: u64,
        len: u64,
    ) -> PyResult<Option<AnswerBody<'py>>> {
        let whole = start == 0 && len == variant.size;
        if whole && len <= SMALL {
            let held = self.held.lock().get(variant).map(|body| body.clone_ref(py));
            if let Some(body) = held {
                return Ok(Some(AnswerBody::Stored(PyTuple::new(py, [body])?)));
            }
        }
        Ok(match open_part(py, variant, start, len) {
            None => None,
            Some(Opened::Read(data)) => {
                let body = PyBytes::new(py, &data);
                if whole {
                    let let_go = self.held.lock().keep(variant, body.clone().unbind());
                    drop(let_go); // after the lock
                }
                Some(AnswerBody::Stored(PyTuple::new(py, [body])?))
            }
            Some(Opened::Stream(file)) => {
                let body = Bound::new(py, FileBody::new(file, start + len))?.into_any();
                // Only when nothing of ours outside wants the body (a fused filter would
                // iterate the wrapper, losing sendfile anyway), and for the whole file: a
                // server's wrapper may read to EOF.
                let wrapped = if chain.is_bare() && whole {
                    file_wrapper(py, environ, &body)?
                } else {
                    None
                };
                Some(AnswerBody::Stream(wrapped.unwrap_or(body)))
            }
        })
    }
}

/// The header names Static sends, as interned str objects.
fn header_name<'py>(py: Python<'py>, name: &str) -> Bound<'py, PyString> {
    match name {
        "Cache-Control" => intern!(py, "Cache-Control").clone(),
        "ETag" => intern!(py, "ETag").clone(),
        "Last-Modified" => intern!(py, "Last-Modified").clone(),
        "Vary" => intern!(py, "Vary").clone(),
        "Content-Type" => intern!(py, "Content-Type").clone(),
        "Accept-Ranges" => intern!(py, "Accept-Ranges").clone(),
        "Content-Encoding" => intern!(py, "Content-Encoding").clone(),
        "Content-Length" => intern!(py, "Content-Length").clone(),
        "Content-Range" => intern!(py, "Content-Range").clone(),
        "Allow" => intern!(py, "Allow").clone(),
        other => PyString::new(py, other),
    }
}

/// A file opened for its answer.
enum Opened {
    /// A small file's bytes, read in one go.
    Read(Vec<u8>),
    /// A larger file, positioned at the first byte to send.
    Stream(File),
}

/// Open `variant` for `len` bytes from `start`, off the GIL. None when the file is not the
/// version the answer's head describes any more: changed, gone or unreadable.
fn open_part(py: Python<'_>, variant: &Variant, start: u64, len: u64) -> Option<Opened> {
    let path = variant.path.as_path();
    py.detach(|| {
        let mut file = File::open(path).ok()?;
        if !variant.is(&file.metadata().ok()?) {
            return None;
        }
        if start > 0 {
            file.seek(SeekFrom::Start(start)).ok()?;
        }
        if len <= SMALL {
            let data = read_up_to(&mut file, len as usize).ok()?;
            return (data.len() as u64 == len).then_some(Opened::Read(data));
        }
        Some(Opened::Stream(file))
    })
}

/// The server's `wsgi.file_wrapper` around `body`, when it offers one (gunicorn and
/// waitress then send the file with sendfile or their own buffers).
fn file_wrapper<'py>(
    py: Python<'py>,
    environ: &Bound<'py, PyAny>,
    body: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Ok(environ) = environ.cast::<PyDict>() else {
        return Ok(None);
    };
    match environ.get_item(intern!(py, "wsgi.file_wrapper"))? {
        Some(wrapper) if wrapper.is_callable() => Ok(Some(wrapper.call1((body, BLOCK))?)),
        _ => Ok(None),
    }
}

/// `root=`: an existing directory (str or path-like).
fn root_dir(root: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    // PyO3 goes through os.fspath and the file system encoding, so a name that is not
    // UTF-8 (surrogate-escaped) is the same bytes on disk.
    let path: PathBuf = root.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "Static(root=...): root must be a str or path-like, not {}",
            type_name(root)
        ))
    })?;
    if !path.is_dir() {
        let why = if path.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(PyValueError::new_err(format!(
            "Static(root={:?}): root {why}",
            path.to_string_lossy()
        )));
    }
    Ok(path)
}

/// The scan's refusal, naming the root, the bound and the two ways out.
fn too_many_files(root: &Path, too_many: TooManyFiles) -> PyErr {
    let max = too_many.max_files;
    PyValueError::new_err(format!(
        "Static(root={:?}, max_files={max}): root holds more than {max} files (the scan \
         stopped there); point root at the directory of the static files, or raise max_files",
        root.to_string_lossy()
    ))
}

/// `prefix=`: normalised to `/.../` (see `config::normal_prefix`).
fn prefix_arg(prefix: &Bound<'_, PyAny>) -> PyResult<String> {
    let text = str_arg(prefix, "Static(prefix=...): prefix")?;
    normal_prefix(&text)
        .map_err(|why| PyValueError::new_err(format!("Static(prefix={text:?}): {why}")))
}

/// `mimetypes=`: a dict of `{extension: media type}`.
fn mimetypes_arg(given: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(given) = given.filter(|g| !g.is_none()) else {
        return Ok(Vec::new());
    };
    let dict = given.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!(
            "Static(mimetypes=...): mimetypes must be a dict like {{\".webp\": \"image/webp\"}}, not {}",
            type_name(given)
        ))
    })?;
    let mut types = Vec::new();
    for (ext, media_type) in dict.iter() {
        let ext = str_arg(&ext, "Static(mimetypes=...): every extension")?;
        let media_type = str_arg(&media_type, "Static(mimetypes=...): every media type")?;
        let entry = media_type_entry(&ext, &media_type)
            .map_err(|why| PyValueError::new_err(format!("Static(mimetypes=...): {why}")))?;
        types.push(entry);
    }
    Ok(types)
}

impl Layer for Static {
    const NAME: &'static str = "Static";

    fn wrapped(&self) -> &Wrapped {
        &self.app
    }

    fn plan<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Plan<'py>> {
        let path = chain.request.get(Field::PathInfo);
        let relative = path
            .as_ref()
            .and_then(|p| utf8(p).ok())
            .and_then(latin1)
            .and_then(|bytes| after_prefix(bytes, &self.prefix_bytes));
        let found = relative
            .and_then(|relative| find(&relative, self.index_file, |key| self.file(py, key)));
        let Some(found) = found else {
            return Ok(Plan::Pass);
        };
        let method = chain.request.get(Field::Method);
        let method = method.as_ref().and_then(|m| utf8(m).ok()).unwrap_or("");
        let head = method == "HEAD";
        let (key, mut entry) = match found {
            Found::File(key, entry) => (key, entry),
            Found::Redirect(location) => {
                let headers = text_headers(py, b"", Some(("Location", location)))?;
                headers.append((
                    intern!(py, "Cache-Control"),
                    self.options.cache_control.as_str(),
                ))?;
                let made = Answer {
                    status: intern!(py, "302 Found").clone().into_any(),
                    headers,
                    body: AnswerBody::Text(b""),
                    head_request: head,
                };
                return Ok(Plan::Answer(made));
            }
        };
        // Borrowed from the environ's own str objects, which `fields` keeps alive.
        let fields = [
            Field::AcceptEncoding,
            Field::IfNoneMatch,
            Field::IfModifiedSince,
            Field::Range,
            Field::IfRange,
            Field::IfMatch,
            Field::IfUnmodifiedSince,
        ]
        .map(|field| chain.request.get(field));
        let [accept_encoding, if_none_match, if_modified_since, range, if_range, if_match, if_unmodified_since] =
            fields
                .each_ref()
                .map(|f| f.as_ref().and_then(|v| utf8(v).ok()));
        let ask = Ask {
            method,
            accept_encoding,
            if_none_match,
            if_modified_since,
            range,
            if_range,
            if_match,
            if_unmodified_since,
        };
        // At most twice: the file (or its sibling) may have changed or gone since its entry
        // was read; then the entry is read again and the answer made from that.
        let mut reread = false;
        loop {
            let reply = respond(&entry, &ask, &self.options);
            let body = match reply.body {
                Body::None => AnswerBody::Text(b""),
                Body::Text(text) => AnswerBody::Text(text.as_bytes()),
                Body::File {
                    file: variant,
                    start,
                    len,
                } => match self.open(py, environ, chain, variant, start, len)? {
                    Some(body) => body,
                    None if !reread => {
                        reread = true;
                        match self.reread(py, &key, &entry) {
                            Some(fresh) => {
                                entry = fresh;
                                continue;
                            }
                            None => return Ok(Plan::Pass),
                        }
                    }
                    None => return Ok(Plan::Pass),
                },
            };
            let headers = PyList::empty(py);
            for (name, value) in &reply.headers {
                headers.append((header_name(py, name), PyString::new(py, value)))?;
            }
            let made = Answer {
                status: PyString::new(py, reply.status).into_any(),
                headers,
                body,
                head_request: head,
            };
            return Ok(Plan::Answer(made));
        }
    }
}

crate::layer_methods!(Static {
    #[new]
    #[pyo3(
        signature = (
            app,
            root,
            *,
            prefix = None,
            max_age = MaxAge(60),
            immutable_max_age = ImmutableMaxAge(31_536_000),
            index_file = None,
            autorefresh = None,
            encodings = None,
            mimetypes = None,
            max_files = MaxFiles(1_000_000)
        ),
        text_signature = "(app, root, *, prefix='/static/', max_age=60, immutable_max_age=31536000, index_file=False, autorefresh=False, encodings=('zstd', 'br', 'gzip'), mimetypes=None, max_files=1000000)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        app: &Bound<'_, PyAny>,
        root: &Bound<'_, PyAny>,
        prefix: Option<&Bound<'_, PyAny>>,
        max_age: MaxAge,
        immutable_max_age: ImmutableMaxAge,
        index_file: Option<&Bound<'_, PyAny>>,
        autorefresh: Option<&Bound<'_, PyAny>>,
        encodings: Option<&Bound<'_, PyAny>>,
        mimetypes: Option<&Bound<'_, PyAny>>,
        max_files: MaxFiles,
    ) -> PyResult<Self> {
        let app = Wrapped::new(app, "Static")?;
        let root = root_dir(root)?;
        let prefix = match prefix {
            Some(prefix) => prefix_arg(prefix)?,
            None => "/static/".to_owned(),
        };
        let encodings = codings("Static", encodings, &DEFAULT_ENCODINGS, true)?;
        let index_file = bool_arg("Static", "index_file", index_file, false)?;
        let autorefresh = bool_arg("Static", "autorefresh", autorefresh, false)?;
        let extra_types = mimetypes_arg(mimetypes)?;
        let index = if autorefresh {
            None
        } else {
            let (root, extra) = (root.as_path(), extra_types.as_slice());
            let scanned =
                py.detach(|| Index::scan(root, extra, now_ms(), MAX_SEGMENTS, max_files.0));
            Some(scanned.map_err(|too_many| too_many_files(root, too_many))?)
        };
        Ok(Static {
            app,
            root,
            prefix_bytes: prefix.as_bytes().to_vec(),
            prefix,
            options: Options::new(max_age.0 as u64, immutable_max_age.0 as u64, encodings),
            index_file,
            extra_types,
            index,
            max_files: max_files.0,
            held: Mutex::new(Held::new(HELD_BUDGET)),
        })
    }

    /// The directory served, as given (a str; a name that is not UTF-8 as os.fsdecode
    /// gives it).
    #[getter]
    fn root(&self) -> std::ffi::OsString {
        self.root.clone().into_os_string()
    }

    /// The URL path prefix, normalised (``"/static/"``).
    #[getter]
    fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Seconds of ``Cache-Control: public, max-age=N`` for files whose names are not hashed.
    #[getter]
    fn max_age(&self) -> u64 {
        self.options.max_age
    }

    /// Seconds of ``max-age`` (with ``immutable``) for hashed names such as
    /// ``app.3f2a9c1d.js``.
    #[getter]
    fn immutable_max_age(&self) -> u64 {
        self.options.immutable_max_age
    }

    /// Whether ``dir/`` serves ``dir/index.html`` (and ``dir`` redirects to ``dir/``).
    #[getter]
    fn index_file(&self) -> bool {
        self.index_file
    }

    /// Whether each request looks its file up on disk instead of in the index made at
    /// start-up (for development).
    #[getter]
    fn autorefresh(&self) -> bool {
        self.index.is_none()
    }

    /// The codings whose precompressed siblings are served, in order of preference.
    #[getter]
    fn encodings(&self) -> Vec<&'static str> {
        self.options.encodings.iter().map(|c| c.token()).collect()
    }

    /// The extra media types, by extension (lowercase, without the dot).
    #[getter]
    fn mimetypes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (ext, media_type) in &self.extra_types {
            dict.set_item(ext, media_type)?;
        }
        Ok(dict)
    }

    /// The most files the start-up scan indexes before it gives up with a ValueError.
    #[getter]
    fn max_files(&self) -> usize {
        self.max_files
    }

    /// How many files the index holds (``None`` with ``autorefresh``, which has none).
    #[getter]
    fn files(&self) -> Option<usize> {
        self.index.as_ref().map(Index::len)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let app = self.app.repr(py)?;
        let encodings: Vec<String> = self
            .options
            .encodings
            .iter()
            .map(|c| format!("'{}'", c.token()))
            .collect();
        let encodings = match encodings.len() {
            1 => format!("({},)", encodings[0]),
            _ => format!("({})", encodings.join(", ")),
        };
        let root = self.root.as_os_str().into_pyobject(py)?.repr()?;
        let mimetypes = if self.extra_types.is_empty() {
            "None".to_owned()
        } else {
            self.mimetypes(py)?.repr()?.to_string()
        };
        let prefix = PyString::new(py, &self.prefix).repr()?;
        Ok(format!(
            "Static({app}, {root}, prefix={prefix}, max_age={}, immutable_max_age={}, index_file={}, autorefresh={}, encodings={encodings}, mimetypes={mimetypes}, max_files={})",
            self.options.max_age,
            self.options.immutable_max_age,
            py_bool(self.index_file),
            py_bool(self.index.is_none()),
            self.max_files,
        ))
    }
});
