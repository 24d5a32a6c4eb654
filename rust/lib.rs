//! wsgi_mw's native module: registers the middleware classes, nothing else.
use pyo3::prelude::*;

pub mod cache;
pub mod gzip;
pub mod http;
pub mod logger;
pub mod rewrite;
pub mod router;
pub mod wsgi;

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Read by benches/bench_gil.py, so the bench measures the threshold actually compiled in.
    m.add("GIL_RELEASE_THRESHOLD", wsgi::gil::GIL_RELEASE_THRESHOLD)?;
    m.add_class::<cache::py::Cache>()?;
    m.add_class::<gzip::py::Gzip>()?;
    m.add_class::<logger::py::Logger>()?;
    m.add_class::<rewrite::py::Rewrite>()?;
    m.add_class::<router::py::Router>()?;
    m.add_class::<router::py::RouteDecorator>()?;
    m.add_function(wrap_pyfunction!(gzip::py::gzip_floor, m)?)?;
    Ok(())
}
