//! Python hook: a compiled Router, the pure [`Dispatch`] and the apps it numbers, and a
//! [`Decision`] carried out: the app it picks is called with what the environ tells it (a
//! route's parameters in `wsgiorg.routing_args` and its template in `wsgi_mw.route`, a
//! mount's SCRIPT_NAME and PATH_INFO), or Router answers 404, 405 or 308 itself.

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString, PyTuple};

use super::dispatch::{Decision, Dispatch};
use super::pattern::Converter;
use super::routes::Builder;
use crate::wsgi::answer::Answer;
use crate::wsgi::layer::Plan;
use crate::wsgi::request::{Field, RequestView};

/// A Router's routes and mounts, compiled on its first request.
pub struct Compiled {
    pub dispatch: Dispatch,
    /// The routes and the mounts' apps, by the numbers a `Decision` gives.
    routes: Vec<Target>,
    mounts: Vec<Py<PyAny>>,
    /// The app for requests nothing matches (None: 404).
    default: Option<Py<PyAny>>,
}

/// What one route needs at dispatch time, as ready Python objects.
struct Target {
    app: Py<PyAny>,
    template: Py<PyString>,
    /// Parameter names in path order, and whether each converts to int.
    params: Vec<(Py<PyString>, bool)>,
}

impl Compiled {
    /// Compile `builder` (which cannot change after it).
    pub fn new(
        py: Python<'_>,
        builder: &mut Builder<Py<PyAny>>,
        default: Option<&Py<PyAny>>,
        redirect_slashes: bool,
    ) -> Self {
        let routes = builder
            .routes
            .iter()
            .map(|r| Target {
                app: r.app.clone_ref(py),
                template: PyString::intern(py, &r.pattern.template).unbind(),
                params: r
                    .pattern
                    .params()
                    .map(|(name, converter)| {
                        let int = matches!(converter, Converter::Int);
                        (PyString::intern(py, name).unbind(), int)
                    })
                    .collect(),
            })
            .collect();
        Compiled {
            dispatch: Dispatch::new(builder, redirect_slashes),
            routes,
            mounts: builder
                .mounts
                .iter()
                .map(|(_, app)| app.clone_ref(py))
                .collect(),
            default: default.map(|app| app.clone_ref(py)),
        }
    }

    /// The plan for `decision`: a route or mount goes on down the chain to its app, anything
    /// else not found to the default app; Router's own 404, 405 and 308 (no body for a
    /// `head` request) go out through the fused layers outside.
    pub fn plan<'py>(
        &self,
        py: Python<'py>,
        decision: Decision<'_>,
        head: bool,
        environ: &Bound<'py, PyDict>,
        request: &mut RequestView<'py>,
    ) -> PyResult<Plan<'py>> {
        let answer = |status, header, body| -> PyResult<Plan<'py>> {
            Ok(Plan::Answer(Answer::text(py, status, header, body, head)?))
        };
        let app = match decision {
            Decision::Mount {
                index,
                script_name,
                path_info,
            } => self.mount(py, index, &script_name, path_info, request)?,
            // None: an int this interpreter will not convert, no route (as in Werkzeug).
            Decision::Route { route, values } => self.route(py, route, &values, environ)?,
            Decision::NotAllowed { allow } => {
                let allow = Some(("Allow", allow));
                return answer("405 Method Not Allowed", allow, b"Method Not Allowed\n");
            }
            Decision::Redirect { location } => {
                let location = Some(("Location", location));
                return answer("308 Permanent Redirect", location, b"");
            }
            Decision::NotFound => None,
        };
        match app.or(self.default.as_ref()) {
            Some(app) => Ok(Plan::Dispatch(app.bind(py).clone(), None)),
            None => answer("404 Not Found", None, b"Not Found\n"),
        }
    }

    /// The app of mount `index`, with SCRIPT_NAME and PATH_INFO set for it (through the
    /// request view, so the stages inside see them too).
    fn mount<'py>(
        &self,
        py: Python<'py>,
        index: usize,
        script_name: &str,
        path_info: &str,
        request: &mut RequestView<'py>,
    ) -> PyResult<Option<&Py<PyAny>>> {
        let Some(app) = self.mounts.get(index) else {
            return Ok(None);
        };
        request.set(Field::ScriptName, PyString::new(py, script_name))?;
        request.set(Field::PathInfo, PyString::new(py, path_info))?;
        Ok(Some(app))
    }

    /// The app of route `route`, with its routing args and template set in `environ`. None
    /// when an `{name:int}` value is longer than this interpreter converts
    /// (`sys.set_int_max_str_digits` below the default the matcher allows): nothing was
    /// changed, and the request is not found, as in Werkzeug.
    fn route(
        &self,
        py: Python<'_>,
        route: usize,
        values: &[&str],
        environ: &Bound<'_, PyDict>,
    ) -> PyResult<Option<&Py<PyAny>>> {
        let Some(target) = self.routes.get(route) else {
            return Ok(None);
        };
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
        Ok(Some(&target.app))
    }
}
