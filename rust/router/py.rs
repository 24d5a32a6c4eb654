//! The `Router` Python class: arguments, getters and repr, and the call into the decision
//! per request (`dispatch.rs`, carried out by `compiled.rs`) and into `build_url.rs`.

use std::borrow::Cow;

use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyInt, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::build_url::{build_url, Arg, UrlError};
use super::compiled::Compiled;
use super::dispatch::{FieldText, Origin, Request};
use super::pattern::Pattern;
use super::routes::Builder;
use super::table::Methods;
use crate::wsgi::chain::{enter, Chain};
use crate::wsgi::layer::{carry_out, py_bool, Plan, Stage};
use crate::wsgi::options::{bool_arg, str_arg, type_name, wsgi_app};
use crate::wsgi::request::Field;
use crate::wsgi::text::{display_text, utf8};

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

/// An environ field's text as the decision takes it (lone surrogates: `Err`).
fn field_text<'a>(field: &'a Option<Bound<'_, PyString>>) -> FieldText<'a> {
    field.as_ref().map(|s| utf8(s).map_err(drop))
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

    /// What to do with this request: a route's or mount's app, the default app, or
    /// Router's own 404, 405 or 308.
    fn plan<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Plan<'py>> {
        let compiled = self.compiled.get_or_init(py, || {
            let default = self.default.as_ref();
            Compiled::new(py, &mut self.builder.lock(), default, self.redirect_slashes)
        });
        let Some(environ) = chain.request.environ().cloned() else {
            return Err(PyTypeError::new_err(format!(
                "Router: environ must be a dict (PEP 3333), not {}",
                type_name(environ)
            )));
        };
        let fields = [Field::Method, Field::PathInfo, Field::ScriptName];
        let [method, raw, script] = fields.map(|field| chain.request.get(field));
        let request = Request::new(field_text(&method), field_text(&raw), field_text(&script));
        let decision = compiled.dispatch.decide(&request, |location| {
            let scheme = chain.request.get(Field::UrlScheme);
            let scheme = &scheme.as_ref().map_or(Cow::Borrowed("http"), display_text);
            let host = chain.request.host(scheme);
            let host = &host.as_bytes();
            let query = chain.request.get(Field::QueryString);
            let query = &query.as_ref().map_or(Cow::Borrowed(""), display_text);
            location(&Origin {
                scheme,
                host,
                query,
            })
        });
        let head = request.is_head();
        compiled.plan(py, decision, head, &environ, &mut chain.request)
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
            self.stage(py, environ, start_response, chain)
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
            for app in builder.apps() {
                visit.call(app)?;
            }
        }
        // The compiled table holds new references to the same apps; not reporting them only
        // makes the collector more conservative.
        Ok(())
    }
}

/// Router wraps no app: its plans (answers, dispatches) are carried out without one.
impl Stage for Router {
    fn stage<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        start_response: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Py<PyAny>> {
        let plan = self.plan(py, environ, chain)?;
        carry_out(py, "Router", None, plan, environ, start_response, chain)
    }
}
