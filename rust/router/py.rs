//! The `Router` Python class: building the table, dispatching requests, answering 404, 405
//! and slash redirects itself, and building URLs.

use std::borrow::Cow;
use std::collections::HashMap;

use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyInt, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::build_url::{build_url, Arg, UrlError};
use super::pattern::{Converter, Pattern, Segment};
use super::routes::Builder;
use super::table::{Match, Methods, Table};
use super::url::{
    decode_path, is_authority, is_scheme, longest_prefix, quote_latin1, quote_query, wsgi_path,
};
use crate::wsgi::answer::{text_headers, Answer, AnswerBody};
use crate::wsgi::chain::{enter, Chain};
use crate::wsgi::layer::py_bool;
use crate::wsgi::options::{bool_arg, str_arg, type_name, wsgi_app};
use crate::wsgi::request::{Field, RequestView};
use crate::wsgi::text::{display_text, utf8};

/// What one matched route needs at dispatch time, as ready Python objects.
struct Target {
    app: Py<PyAny>,
    template: Py<PyString>,
    /// Parameter names in path order, and whether each converts to int.
    params: Vec<(Py<PyString>, bool)>,
}

struct Compiled {
    table: Table,
    targets: Vec<Target>,
    mounts: HashMap<String, Py<PyAny>, lru::DefaultHasher>,
    /// The length of the longest mount prefix (as PATH_INFO text).
    longest_mount: usize,
}

/// Dispatch requests by method and path to WSGI apps, with prefix mounts.
///
/// Patterns: static segments, ``{name}`` (one segment), ``{name:int}`` (1 to 4300 digits,
/// as many as CPython's int() converts, passed as int), ``{name:re:REGEX}`` (one segment REGEX matches entirely) and ``{name:path}`` (the rest
/// of the path, last segment only). Static beats int beats re beats ``{name}`` beats path,
/// segment by segment. Matched parameters go to the app in ``environ["wsgiorg.routing_args"]``
/// and the route's template in ``environ["wsgi_mw.route"]``.
///
///     from wsgi_mw import Router
///     router = Router(default=legacy_app)
///     router.add("GET", "/", home)
///     router.add(["GET", "POST"], "/users/{id:int}", user)
///     router.mount("/api", api_app)
///
///     @router.route("/about", name="about")
///     def about(environ, start_response): ...
///
/// A path that matches with another method gets 405 with ``Allow``; HEAD is served by GET
/// routes. No match goes to ``default``, else 404. Routes are compiled on the first request
/// and cannot change after it.
///
/// Parameters
/// ----------
/// routes:
///     An iterable of ``(methods, path, app)`` tuples, added in order as by ``add``.
/// default:
///     The WSGI app for requests no route or mount matches (Router as a middleware in front
///     of an existing app). None: 404.
/// redirect_slashes:
///     Default True. ``/dir`` when only ``/dir/`` exists (or the reverse) gets a 308 to the
///     other form, query string kept.
#[pyclass(module = "wsgi_mw._native", name = "Router", frozen)]
pub struct Router {
    builder: Mutex<Builder<Py<PyAny>>>,
    compiled: PyOnceLock<Compiled>,
    default: Option<Py<PyAny>>,
    redirect_slashes: bool,
}

fn methods(value: &Bound<'_, PyAny>) -> PyResult<Methods> {
    let not_methods = || {
        PyTypeError::new_err(format!(
            "Router.add(methods=...): methods must be a str like \"GET\", an iterable of str or \"*\", not {}",
            type_name(value)
        ))
    };
    let list: Vec<String> = if value.is_instance_of::<PyString>() {
        vec![str_arg(value, "methods")?]
    } else {
        let mut list = Vec::new();
        for item in value.try_iter().map_err(|_| not_methods())? {
            let item = item?;
            if !item.is_instance_of::<PyString>() {
                return Err(not_methods());
            }
            list.push(str_arg(&item, "methods")?);
        }
        list
    };
    Methods::new(list).map_err(|e| PyValueError::new_err(format!("Router.add(methods=...): {e}")))
}

/// A ready response of the router's own: 404, 405, 308.
fn respond<'py>(
    py: Python<'py>,
    status: &str,
    extra: Option<(&str, String)>,
    body: &'static [u8],
    head: bool,
) -> PyResult<Answer<'py>> {
    Ok(Answer {
        status: PyString::new(py, status).into_any(),
        headers: text_headers(py, body, extra)?,
        body: AnswerBody::Text(body),
        head_request: head,
    })
}

impl Router {
    fn change(&self, what: &str) -> PyResult<parking_lot::MutexGuard<'_, Builder<Py<PyAny>>>> {
        let builder = self.builder.lock();
        builder.check_open(what).map_err(PyRuntimeError::new_err)?;
        Ok(builder)
    }

    fn add_route(
        &self,
        methods: Methods,
        path: String,
        app: Py<PyAny>,
        name: Option<String>,
    ) -> PyResult<()> {
        let pattern = Pattern::parse(&path)
            .map_err(|e| PyValueError::new_err(format!("Router.add(path={path:?}): {e}")))?;
        let mut builder = self.change("add")?;
        builder
            .add(&path, pattern, methods, app, name)
            .map_err(PyValueError::new_err)
    }

    fn compile(&self, py: Python<'_>) -> Compiled {
        let mut builder = self.builder.lock();
        builder.frozen = true;
        let table = Table::new(
            builder
                .routes
                .iter()
                .map(|r| (r.pattern.clone(), r.methods.clone()))
                .collect(),
        );
        let targets = builder
            .routes
            .iter()
            .map(|r| Target {
                app: r.app.clone_ref(py),
                template: PyString::intern(py, &r.pattern.template).unbind(),
                params: r
                    .pattern
                    .segments
                    .iter()
                    .filter_map(|s| match s {
                        Segment::Param { name, converter } => Some((
                            PyString::intern(py, name).unbind(),
                            matches!(converter, Converter::Int),
                        )),
                        Segment::Static(_) => None,
                    })
                    .collect(),
            })
            .collect();
        let mounts: HashMap<String, Py<PyAny>, lru::DefaultHasher> = builder
            .mounts
            .iter()
            .map(|(prefix, app)| (wsgi_path(prefix).into_owned(), app.clone_ref(py)))
            .collect();
        let longest_mount = mounts.keys().map(String::len).max().unwrap_or(0);
        Compiled {
            table,
            targets,
            mounts,
            longest_mount,
        }
    }

    /// This layer's stage of a request's chain (`__call__`, or a fused layer outside).
    pub fn run<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        start_response: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Py<PyAny>> {
        let compiled = self.compiled.get_or_init(py, || self.compile(py));
        let Some(environ) = chain.request.environ().cloned() else {
            return Err(PyTypeError::new_err(format!(
                "Router: environ must be a dict (PEP 3333), not {}",
                type_name(environ)
            )));
        };
        let environ = &environ;
        let method = chain.request.get(Field::Method);
        // A method with lone surrogates is no method a route names.
        let method = method.as_ref().map_or(Ok("GET"), |m| utf8(m)).unwrap_or("");
        let head = method == "HEAD";
        // Every response Router makes itself goes out through the fused layers outside.
        let refuse = |chain: &mut Chain<'py>, status, header, body: &'static [u8]| {
            let made = respond(py, status, header, body, head)?;
            chain.answer(py, environ.as_any(), start_response, made)
        };
        // A mount or the default app: the chain goes on there (a route goes through
        // `dispatch`, which sets the routing args first).
        let go = |chain: &mut Chain<'py>, app: &Py<PyAny>| {
            chain.call(
                py,
                "Router",
                app.bind(py),
                environ.as_any(),
                start_response,
                None,
            )
        };
        let not_found = |chain: &mut Chain<'py>| match &self.default {
            Some(app) => go(chain, app),
            None => refuse(chain, "404 Not Found", None, b"Not Found\n"),
        };
        let raw = chain.request.get(Field::PathInfo);
        let script = chain.request.get(Field::ScriptName);
        let (Ok(raw), Ok(script)) = (
            raw.as_ref().map_or(Ok(""), |p| utf8(p)),
            script.as_ref().map_or(Ok(""), |s| utf8(s)),
        ) else {
            // Lone surrogates (no PEP 3333 server sends them): no route or mount can match,
            // and no URL can be built from them.
            return not_found(chain);
        };
        if !compiled.mounts.is_empty() {
            if let Some((app, split)) = longest_prefix(raw, compiled.longest_mount, |prefix| {
                compiled.mounts.get(prefix)
            }) {
                let prefix = raw.get(..split).unwrap_or("");
                let rest = raw.get(split..).unwrap_or("");
                let script_name = PyString::new(py, &format!("{script}{prefix}"));
                chain.request.set(Field::ScriptName, script_name)?;
                chain
                    .request
                    .set(Field::PathInfo, PyString::new(py, rest))?;
                return go(chain, app);
            }
        }
        let path = decode_path(raw);
        match compiled.table.find(&path, method) {
            Match::Found { route, values } => {
                let Some(target) = compiled.targets.get(route) else {
                    return refuse(chain, "404 Not Found", None, b"Not Found\n");
                };
                let dispatched =
                    self.dispatch(py, target, &values, environ, start_response, chain)?;
                return match dispatched {
                    Some(response) => Ok(response),
                    // An int this interpreter will not convert: no route, as in Werkzeug.
                    None => not_found(chain),
                };
            }
            Match::WrongMethod(allowed) => {
                let allow = Some(("Allow", allowed.join(", ")));
                return refuse(
                    chain,
                    "405 Method Not Allowed",
                    allow,
                    b"Method Not Allowed\n",
                );
            }
            Match::NotFound => {}
        }
        if self.redirect_slashes && raw.len() > 1 {
            let toggled = match raw.strip_suffix('/') {
                Some(without) => without.to_owned(),
                None => format!("{raw}/"),
            };
            if let Match::Found { .. } = compiled.table.find(&decode_path(&toggled), method) {
                let location = Self::location(&mut chain.request, script, &toggled);
                return refuse(
                    chain,
                    "308 Permanent Redirect",
                    Some(("Location", location)),
                    b"",
                );
            }
        }
        not_found(chain)
    }

    /// Call the route's app with the routing args set; None when an `{name:int}` value is
    /// longer than this interpreter converts (`sys.set_int_max_str_digits` below the default
    /// the matcher allows): nothing was changed, and the request is not found.
    #[allow(clippy::too_many_arguments)]
    fn dispatch<'py>(
        &self,
        py: Python<'py>,
        target: &Target,
        values: &[&str],
        environ: &Bound<'py, PyDict>,
        start_response: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let mut converted = Vec::with_capacity(values.len());
        for ((name, is_int), value) in target.params.iter().zip(values) {
            let value = if *is_int {
                // Digits only (checked by the matcher): u64 in Rust when it fits, else
                // Python's int(), within the interpreter's limit on digits.
                match value.parse::<u64>() {
                    Ok(number) => number.into_pyobject(py)?.into_any(),
                    Err(_) => match py.get_type::<PyInt>().call1((*value,)) {
                        Ok(number) => number,
                        Err(err) if err.is_instance_of::<PyValueError>(py) => return Ok(None),
                        Err(err) => return Err(err),
                    },
                }
            } else {
                PyString::new(py, value).into_any()
            };
            converted.push((name.bind(py), value));
        }
        let key = intern!(py, "wsgiorg.routing_args");
        let existing = environ
            .get_item(key)?
            .and_then(|args| args.cast_into::<PyTuple>().ok())
            .filter(|args| args.len() == 2);
        let (positional, named) = match existing {
            Some(args) => {
                let named = args
                    .get_item(1)
                    .ok()
                    .and_then(|n| n.cast_into::<PyDict>().ok())
                    .map(|n| n.copy())
                    .transpose()?
                    .unwrap_or_else(|| PyDict::new(py));
                (args.get_item(0)?, named)
            }
            None => (PyTuple::empty(py).into_any(), PyDict::new(py)),
        };
        for (name, value) in converted {
            named.set_item(name, value)?;
        }
        environ.set_item(key, (positional, named))?;
        environ.set_item(intern!(py, "wsgi_mw.route"), target.template.bind(py))?;
        chain
            .call(
                py,
                "Router",
                target.app.bind(py),
                environ.as_any(),
                start_response,
                None,
            )
            .map(Some)
    }

    /// The absolute URL of `path` (raw PATH_INFO text) for a redirect (PEP 3333 URL
    /// reconstruction).
    ///
    /// Nothing from the request reaches the header raw: the path and query are
    /// percent-encoded, and a scheme or Host that is not URL syntax (CR, LF, NUL, spaces,
    /// "/", "@", non-ASCII...) gives a relative Location (RFC 9110 §10.2.2 allows one).
    fn location(request: &mut RequestView<'_>, script: &str, path: &str) -> String {
        let scheme = request.get(Field::UrlScheme);
        let scheme = scheme.as_ref().map_or(Cow::Borrowed("http"), display_text);
        let host = request.host(&scheme);
        let host = host.as_bytes();
        let target = format!("{}{}", quote_latin1(script), quote_latin1(path));
        let mut url = match std::str::from_utf8(&host) {
            Ok(host) if is_scheme(&scheme) && is_authority(host.as_bytes()) => {
                format!("{scheme}://{host}{target}")
            }
            // "//x" alone would name another host: "/./" keeps it a path on this one.
            _ if target.starts_with("//") => format!("/.{target}"),
            _ => target,
        };
        let query = request.get(Field::QueryString);
        if let Some(query) = query.as_ref().map(display_text).filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(&quote_query(&query));
        }
        url
    }
}

/// What `@router.route(...)` returns: registers the function it decorates.
#[pyclass(module = "wsgi_mw._native", name = "RouteDecorator", frozen)]
pub struct RouteDecorator {
    router: Py<Router>,
    methods: Methods,
    path: String,
    name: Option<String>,
}

#[pymethods]
impl RouteDecorator {
    fn __call__(&self, py: Python<'_>, app: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let target = wsgi_app(app, "Router.route(...) decorated object")?;
        self.router.get().add_route(
            self.methods.clone(),
            self.path.clone(),
            target.clone_ref(py),
            self.name.clone(),
        )?;
        Ok(target)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.router)
    }
}

#[pymethods]
impl Router {
    #[new]
    #[pyo3(
        signature = (routes = None, *, default = None, redirect_slashes = None),
        text_signature = "(routes=None, *, default=None, redirect_slashes=True)"
    )]
    fn new(
        routes: Option<&Bound<'_, PyAny>>,
        default: Option<&Bound<'_, PyAny>>,
        redirect_slashes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let default = match default.filter(|d| !d.is_none()) {
            Some(app) => Some(wsgi_app(app, "Router(default=...): default")?),
            None => None,
        };
        let redirect_slashes = bool_arg("Router", "redirect_slashes", redirect_slashes, true)?;
        let router = Router {
            builder: Mutex::new(Builder::default()),
            compiled: PyOnceLock::new(),
            default,
            redirect_slashes,
        };
        if let Some(routes) = routes.filter(|r| !r.is_none()) {
            let not_routes = |got: &Bound<'_, PyAny>| {
                PyTypeError::new_err(format!(
                    "Router(routes=...): routes must be an iterable of (methods, path, app) tuples, got {}",
                    type_name(got)
                ))
            };
            for item in routes.try_iter().map_err(|_| not_routes(routes))? {
                let item = item?;
                let tuple = item
                    .cast::<PyTuple>()
                    .ok()
                    .filter(|t| t.len() == 3)
                    .ok_or_else(|| not_routes(&item))?;
                router.add(
                    &tuple.get_item(0)?,
                    &tuple.get_item(1)?,
                    &tuple.get_item(2)?,
                    None,
                )?;
            }
        }
        Ok(router)
    }

    /// Add a route: ``methods`` is ``"GET"``, a list like ``["GET", "POST"]`` or ``"*"``;
    /// ``path`` a pattern like ``"/users/{id:int}"``; ``app`` the WSGI app to call;
    /// ``name`` a name for ``url_for``. Raises ValueError when the same pattern already has
    /// one of these methods.
    #[pyo3(signature = (methods, path, app, *, name = None))]
    fn add(
        &self,
        methods: &Bound<'_, PyAny>,
        path: &Bound<'_, PyAny>,
        app: &Bound<'_, PyAny>,
        name: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let methods = self::methods(methods)?;
        let path = str_arg(path, "Router.add(path=...): path")?;
        let app = wsgi_app(app, "Router.add(app=...): app")?;
        let name = match name.filter(|n| !n.is_none()) {
            Some(name) => Some(str_arg(name, "Router.add(name=...): name")?),
            None => None,
        };
        self.add_route(methods, path, app, name)
    }

    /// Decorator form of ``add``: ``@router.route("/about", methods=("GET",), name="about")``.
    /// Returns the decorated function unchanged.
    #[pyo3(signature = (path, *, methods = None, name = None))]
    fn route(
        slf: &Bound<'_, Self>,
        path: &Bound<'_, PyAny>,
        methods: Option<&Bound<'_, PyAny>>,
        name: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<RouteDecorator> {
        let methods = match methods {
            Some(m) => self::methods(m)?,
            None => Methods::new(["GET".to_owned()]).map_err(PyValueError::new_err)?,
        };
        let path = str_arg(path, "Router.route(path=...): path")?;
        Pattern::parse(&path)
            .map_err(|e| PyValueError::new_err(format!("Router.route(path={path:?}): {e}")))?;
        let name = match name.filter(|n| !n.is_none()) {
            Some(name) => Some(str_arg(name, "Router.route(name=...): name")?),
            None => None,
        };
        Ok(RouteDecorator {
            router: slf.clone().unbind(),
            methods,
            path,
            name,
        })
    }

    /// Send every request under ``prefix`` (e.g. ``"/api"``) to ``app``, exactly as
    /// Werkzeug's DispatcherMiddleware: SCRIPT_NAME gains the prefix, PATH_INFO keeps the
    /// rest. The longest matching prefix wins; mounts are tried before routes.
    fn mount(&self, prefix: &Bound<'_, PyAny>, app: &Bound<'_, PyAny>) -> PyResult<()> {
        let prefix = str_arg(prefix, "Router.mount(prefix=...): prefix")?;
        let app = wsgi_app(app, "Router.mount(app=...): app")?;
        let mut builder = self.change("mount")?;
        builder.mount(prefix, app).map_err(PyValueError::new_err)
    }

    /// The path (relative to SCRIPT_NAME) of the route called ``name``, with ``params``
    /// filled in and percent-encoded; parameters the route does not have become the query
    /// string.
    #[pyo3(signature = (name, /, **params))]
    fn url_for(&self, name: &str, params: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
        fn text(value: &Bound<'_, PyAny>) -> PyResult<String> {
            Ok(value.str()?.to_cow()?.into_owned())
        }
        // Python runs below (str() of the values): the lock is released first.
        let pattern = self.builder.lock().pattern_named(name);
        let pattern = pattern.map_err(PyValueError::new_err)?;
        let arg = |param: &str, int: bool| -> PyResult<Option<Arg>> {
            let Some(value) = params.map(|p| p.get_item(param)).transpose()?.flatten() else {
                return Ok(None);
            };
            if int && (value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>()) {
                return Ok(Some(Arg::NotInt(type_name(&value))));
            }
            Ok(Some(Arg::Text(text(&value)?)))
        };
        let query = |used: &dyn Fn(&str) -> bool| -> PyResult<Vec<(String, String)>> {
            let mut pairs = Vec::new();
            for (key, value) in params.iter().flat_map(|p| p.iter()) {
                let key = text(&key)?;
                if !used(&key) {
                    pairs.push((key, text(&value)?));
                }
            }
            Ok(pairs)
        };
        build_url(name, &pattern, arg, query).map_err(|e| match e {
            UrlError::Type(message) => PyTypeError::new_err(message),
            UrlError::Value(message) => PyValueError::new_err(message),
            UrlError::Arg(err) => err,
        })
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

    /// The app for requests nothing matches (None: 404).
    #[getter]
    fn default(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.default.as_ref().map(|d| d.clone_ref(py))
    }

    /// Whether ``/dir`` and ``/dir/`` redirect to each other when only one exists.
    #[getter]
    fn redirect_slashes(&self) -> bool {
        self.redirect_slashes
    }

    fn __len__(&self) -> usize {
        self.builder.lock().routes.len()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        // The default app's repr may run Python: take the counts first, never holding the
        // lock while Python runs.
        let (routes, mounts) = {
            let builder = self.builder.lock();
            (builder.routes.len(), builder.mounts.len())
        };
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let default = match &self.default {
            Some(app) => app.bind(py).repr()?.to_string(),
            None => "None".to_owned(),
        };
        Ok(format!(
            "<wsgi_mw.Router: {}, {}, default={default}, redirect_slashes={}>",
            plural(routes, "route"),
            plural(mounts, "mount"),
            py_bool(self.redirect_slashes),
        ))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.default)?;
        // Never block in the collector: a builder being changed right now is skipped.
        if let Some(builder) = self.builder.try_lock() {
            for route in &builder.routes {
                visit.call(&route.app)?;
            }
            for (_, app) in &builder.mounts {
                visit.call(app)?;
            }
        }
        // The compiled table holds new references to the same apps; not reporting them only
        // makes the collector more conservative.
        Ok(())
    }
}
