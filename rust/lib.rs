//! wsgi_mw's native module: registers the middleware classes (and, apart, the bench hooks).
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
    m.add_class::<cache::py::Cache>()?;
    m.add_class::<gzip::py::Gzip>()?;
    m.add_class::<logger::py::Logger>()?;
    m.add_class::<rewrite::py::Rewrite>()?;
    m.add_class::<router::py::Router>()?;
    m.add_class::<router::py::RouteDecorator>()?;
    // setattr, not add: the hooks stay out of `__all__`.
    m.setattr("_bench", bench_hooks(m.py())?)?;
    Ok(())
}

/// `_native._bench`: what benches/ reads, kept out of the public surface (no stub, not in
/// `__all__`).
fn bench_hooks(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let bench = PyModule::new(py, "_bench")?;
    // Read by benches/bench_gil.py, so the bench measures the threshold actually compiled in.
    bench.add("GIL_RELEASE_THRESHOLD", wsgi::gil::GIL_RELEASE_THRESHOLD)?;
    bench.add_function(wrap_pyfunction!(gzip::py::gzip_floor, &bench)?)?;
    Ok(bench)
}
