//! wsgi_mw's native module: registers the middleware classes (and, apart, the bench hooks).
use pyo3::prelude::*;

pub mod cache;
pub mod compress;
pub mod http;
pub mod logger;
pub mod rewrite;
pub mod router;
pub mod staticfiles;
pub mod wsgi;

/// The layer classes, once: the module's classes and the resolver that fuses them (a class
/// listed before another is tried first: Gzip before Compress).
macro_rules! layers {
    ($($class:path),* $(,)?) => {
        fn add_layers(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $(m.add_class::<$class>()?;)*
            Ok(())
        }

        /// The resolver of `wsgi/chain.rs`: runs `app` as a fused stage when it is one of our
        /// layers.
        fn fuse<'py>(
            app: &Bound<'py, PyAny>,
            environ: &Bound<'py, PyAny>,
            start_response: &Bound<'py, PyAny>,
            chain: &mut wsgi::chain::Chain<'py>,
        ) -> Option<PyResult<Py<PyAny>>> {
            use wsgi::layer::Stage;
            let py = app.py();
            $(
                if let Ok(layer) = app.cast::<$class>() {
                    return Some(layer.get().stage(py, environ, start_response, chain));
                }
            )*
            None
        }
    };
}

layers!(
    compress::py::Gzip,
    compress::py::Compress,
    cache::py::Cache,
    rewrite::py::Rewrite,
    router::py::Router,
    staticfiles::py::Static,
    logger::py::Logger,
);

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    add_layers(m)?;
    m.add_class::<router::py::RouteDecorator>()?;
    m.add_function(wrap_pyfunction!(set_fusion, m)?)?;
    m.add_function(wrap_pyfunction!(fusion_enabled, m)?)?;
    wsgi::chain::register(fuse);
    if std::env::var_os("WSGI_MW_FUSION").is_some_and(|v| v == "0") {
        wsgi::chain::set_fusion(false);
    }
    // setattr, not add: the hooks stay out of `__all__`.
    m.setattr("_bench", bench_hooks(m.py())?)?;
    Ok(())
}

/// Fuse nested wsgi_mw layers into one pipeline per request (the default), or call each
/// layer through Python as a separate WSGI hop (``False``: for A/B runs and bisecting).
/// Applies to requests that start from now on. ``WSGI_MW_FUSION=0`` in the environment
/// turns it off at import.
#[pyfunction]
fn set_fusion(enabled: bool) {
    wsgi::chain::set_fusion(enabled);
}

/// Whether nested wsgi_mw layers run fused (see ``set_fusion``).
#[pyfunction]
fn fusion_enabled() -> bool {
    wsgi::chain::fusion()
}

/// `_native._bench`: what benches/ reads, kept out of the public surface (no stub, not in
/// `__all__`).
fn bench_hooks(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let bench = PyModule::new(py, "_bench")?;
    // Read by benches/bench_gil.py, so the bench measures the threshold actually compiled in.
    bench.add("GIL_RELEASE_THRESHOLD", wsgi::gil::GIL_RELEASE_THRESHOLD)?;
    bench.add_function(wrap_pyfunction!(compress::py::gzip_floor, &bench)?)?;
    Ok(bench)
}
