//! What the wrapping classes share, written once: the app they wrap (checked, handed back
//! by the `app` attribute, visited by the garbage collector, shown in reprs) and the repr
//! helpers. The call entry is `chain::enter`.

use pyo3::prelude::*;
use pyo3::{PyTraverseError, PyVisit};

use super::options::wsgi_app;

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
