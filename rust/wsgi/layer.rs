//! What the wrapping classes share, written once: the [`Layer`] trait (a name, the app a
//! layer wraps, and its [`Plan`] for a request), the one place a plan is carried out
//! ([`run`]), the class macro [`layer_methods!`] that writes `__call__`, `app` and GC
//! traversal for every class, the wrapped app itself (checked, handed back by the `app`
//! attribute, visited by the garbage collector, shown in reprs) and the repr helpers.
//!
//! Adding a layer: a pyclass holding a [`Wrapped`] and its config, `impl Layer` (its
//! `plan`), its `#[new]`, getters and `__repr__` inside `layer_methods!`, and one line in
//! lib.rs's `layers!` list (docs/architecture.md, "How to add a layer").

use pyo3::prelude::*;
use pyo3::{PyTraverseError, PyVisit};

use super::answer::Answer;
use super::chain::Chain;
use super::filter::BodyFilter;
use super::options::wsgi_app;

/// What a layer does with one request. The chain, not the layer, carries it out ([`run`]).
pub enum Plan<'py> {
    /// Not interested: the wrapped app answers, untouched.
    Pass,
    /// The wrapped app answers, through this body filter.
    Filter(Box<dyn BodyFilter>),
    /// A response made without the app (a Cache hit, a 304, a Router 404/405/308, a Static
    /// file): it skips the stages inside and goes out through those outside.
    Answer(Answer<'py>),
    /// Another app answers (Router's target, a mount, the default app), through the filter
    /// when there is one; one of ours continues the chain.
    Dispatch(Bound<'py, PyAny>, Option<Box<dyn BodyFilter>>),
}

/// One wsgi_mw class: what the chain needs of it.
pub trait Layer {
    /// The class name, as errors say it.
    const NAME: &'static str;

    /// The app it wraps.
    fn wrapped(&self) -> &Wrapped;

    /// What to do with this request. The request's fields are read through
    /// `chain.request`; nothing is called here.
    fn plan<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Plan<'py>>;

    /// Python objects the layer holds besides its app, for the garbage collector.
    fn traverse_more(&self, _visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        Ok(())
    }
}

/// A layer's stage of a request's chain (`__call__`, or a fused layer outside): its plan,
/// carried out.
pub fn run<'py, L: Layer>(
    layer: &L,
    py: Python<'py>,
    environ: &Bound<'py, PyAny>,
    start_response: &Bound<'py, PyAny>,
    chain: &mut Chain<'py>,
) -> PyResult<Py<PyAny>> {
    let plan = layer.plan(py, environ, chain)?;
    let app = layer.wrapped().bind(py);
    carry_out(py, L::NAME, Some(app), plan, environ, start_response, chain)
}

/// Carry a plan out: on to `app` (the wrapped one, or the one dispatched to) with the filter
/// or none, or the answer made. `app` is None for a class that wraps no app (Router, whose
/// plans are answers and dispatches).
pub fn carry_out<'py>(
    py: Python<'py>,
    name: &'static str,
    app: Option<&Bound<'py, PyAny>>,
    plan: Plan<'py>,
    environ: &Bound<'py, PyAny>,
    start_response: &Bound<'py, PyAny>,
    chain: &mut Chain<'py>,
) -> PyResult<Py<PyAny>> {
    let (target, filter) = match plan {
        Plan::Answer(made) => return chain.answer(py, environ, start_response, made),
        Plan::Dispatch(target, filter) => {
            return chain.call(py, name, &target, environ, start_response, filter)
        }
        Plan::Pass => (app, None),
        Plan::Filter(filter) => (app, Some(filter)),
    };
    match target {
        Some(target) => chain.call(py, name, target, environ, start_response, filter),
        None => Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "{name} planned to pass the request on, but wraps no app"
        ))),
    }
}

/// What lib.rs's resolver and `__call__` run for a class: a [`Layer`]'s plan, carried out.
/// (Router, which wraps no app, implements it by hand and carries its plans out with
/// [`carry_out`].)
pub trait Stage {
    fn stage<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        start_response: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Py<PyAny>>;
}

impl<L: Layer> Stage for L {
    fn stage<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        start_response: &Bound<'py, PyAny>,
        chain: &mut Chain<'py>,
    ) -> PyResult<Py<PyAny>> {
        run(self, py, environ, start_response, chain)
    }
}

/// The `#[pymethods]` block of a layer class: the given methods (`#[new]`, getters,
/// `__repr__`), plus what every layer has: `__call__` (a new chain, or `run` when fused),
/// the `app` attribute and GC traversal (the app, then [`Layer::traverse_more`]).
#[macro_export]
macro_rules! layer_methods {
    ($class:ty { $($methods:tt)* }) => {
        #[::pyo3::pymethods]
        impl $class {
            $($methods)*

            fn __call__(
                &self,
                py: ::pyo3::Python<'_>,
                environ: &::pyo3::Bound<'_, ::pyo3::PyAny>,
                start_response: &::pyo3::Bound<'_, ::pyo3::PyAny>,
            ) -> ::pyo3::PyResult<::pyo3::Py<::pyo3::PyAny>> {
                $crate::wsgi::chain::enter(py, environ, |chain| {
                    $crate::wsgi::layer::run(self, py, environ, start_response, chain)
                })
            }

            /// The wrapped WSGI application.
            #[getter]
            fn app(&self, py: ::pyo3::Python<'_>) -> ::pyo3::Py<::pyo3::PyAny> {
                $crate::wsgi::layer::Layer::wrapped(self).get(py)
            }

            fn __traverse__(
                &self,
                visit: ::pyo3::PyVisit<'_>,
            ) -> ::std::result::Result<(), ::pyo3::PyTraverseError> {
                $crate::wsgi::layer::Layer::wrapped(self).traverse(&visit)?;
                $crate::wsgi::layer::Layer::traverse_more(self, &visit)
            }
        }
    };
}

/// The WSGI app a layer wraps.
pub struct Wrapped(Py<PyAny>);

impl Wrapped {
    /// `app` checked as a WSGI application; the error names `layer`'s parameter.
    pub fn new(app: &Bound<'_, PyAny>, layer: &str) -> PyResult<Self> {
        Ok(Wrapped(wsgi_app(app, &format!("{layer}(app=...): app"))?))
    }

    pub fn bind<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.0.bind(py)
    }

    /// The `app` attribute.
    pub fn get(&self, py: Python<'_>) -> Py<PyAny> {
        self.0.clone_ref(py)
    }

    /// For `__traverse__`: the app may hold a reference back to its wrapper.
    pub fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.0)
    }

    /// The app's repr, the first item of every layer's repr.
    pub fn repr(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.0.bind(py).repr()?.to_string())
    }
}

/// A bool as Python spells it in a repr.
pub fn py_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}
