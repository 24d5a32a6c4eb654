//! One chain per request (DESIGN.md): a wsgi_mw layer whose app is a wsgi_mw layer takes that
//! layer's stage into its own chain instead of calling it through Python. Each layer's `run`
//! ends in one of [`Chain::call`] (go on to an app, with or without a body filter of its own)
//! or [`Chain::answer`] (a response made without the app). The chain collects the filters on
//! the way in and, where it meets a foreign app or an answer, drives all of them with one
//! `start_response` capture and one response iterator ([`Composite`]).
//!
//! Turning fusion off ([`set_fusion`], or `WSGI_MW_FUSION=0` in the environment at import)
//! makes every layer call the next through Python, as separate WSGI hops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use std::cell::Cell;

use pyo3::exceptions::{PyRecursionError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::answer::{answer, Answer};
use super::composite::Composite;
use super::filter::{BodyFilter, Outcome};
use super::options::type_name;
use super::request::RequestView;
use super::response::{call_app, Source};

/// Runs `app` as a fused stage of `chain` when it is one of our layers: `None` when it is not
/// (a foreign app ends the chain). Registered once by the module (lib.rs), which knows the
/// classes; the plumbing does not.
pub type Resolver = for<'py> fn(
    app: &Bound<'py, PyAny>,
    environ: &Bound<'py, PyAny>,
    start_response: &Bound<'py, PyAny>,
    chain: &mut Chain<'py>,
) -> Option<PyResult<Py<PyAny>>>;

static RESOLVER: OnceLock<Resolver> = OnceLock::new();

/// Most wsgi_mw layers one thread may be inside at once, fused or called through Python.
/// Real stacks have a handful; more is a cycle (a Router mounted inside itself) that a path
/// such as `/a/a/a/...` (any length a client sends) would follow, one set of Rust frames per
/// layer: refused with a RecursionError before the thread's stack could overflow (Python's
/// own recursion limit of 1000 calls comes too late for the frames of a debug build).
const MAX_FUSED_DEPTH: usize = 64;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Counts a fused layer in for as long as it runs.
struct Deeper;

impl Deeper {
    fn enter(layer: &str) -> PyResult<Deeper> {
        let depth = DEPTH.with(Cell::get);
        if depth >= MAX_FUSED_DEPTH {
            return Err(PyRecursionError::new_err(format!(
                "{layer}: more than {MAX_FUSED_DEPTH} wsgi_mw layers for one request (is a \
                 layer mounted or routed inside itself?)"
            )));
        }
        DEPTH.with(|d| d.set(depth + 1));
        Ok(Deeper)
    }
}

impl Drop for Deeper {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}
static FUSION: AtomicBool = AtomicBool::new(true);

/// Called once at import with the function that recognises our layers.
pub fn register(resolver: Resolver) {
    // A second registration (a re-import in a subinterpreter) would register the same one.
    let _ = RESOLVER.set(resolver);
}

/// Turn fusion on or off for every request from now on (A/B runs, bisecting).
pub fn set_fusion(enabled: bool) {
    FUSION.store(enabled, Ordering::Relaxed);
}

pub fn fusion() -> bool {
    FUSION.load(Ordering::Relaxed)
}

/// One request's chain: the request view every stage reads, and the filters of the fused
/// layers met so far, outermost first, with their layers' names.
pub struct Chain<'py> {
    stages: Vec<(&'static str, Box<dyn BodyFilter>)>,
    pub request: RequestView<'py>,
}

/// The call entry every layer shares: `__call__` runs the layer's stage on a new chain. A
/// filter that never reached the plumbing (a layer inside raised before the app was called)
/// is closed as failed, as the layer's own `call_app` would have.
pub fn enter<'py, F>(py: Python<'py>, environ: &Bound<'py, PyAny>, run: F) -> PyResult<Py<PyAny>>
where
    F: FnOnce(&mut Chain<'py>) -> PyResult<Py<PyAny>>,
{
    let _deeper = Deeper::enter("wsgi_mw")?;
    let mut chain = Chain {
        stages: Vec::new(),
        request: RequestView::new(environ),
    };
    let result = run(&mut chain);
    for (_, mut filter) in chain.stages.drain(..) {
        filter.on_close(py, Outcome::Failed);
    }
    result
}

impl<'py> Chain<'py> {
    /// Go on to `app`, with this layer's body filter if it has one. `app` runs fused when it
    /// is one of our layers (and fusion is on); otherwise it is called with every filter
    /// collected so far.
    pub fn call(
        &mut self,
        py: Python<'py>,
        layer: &'static str,
        app: &Bound<'py, PyAny>,
        environ: &Bound<'py, PyAny>,
        start_response: &Bound<'py, PyAny>,
        filter: Option<Box<dyn BodyFilter>>,
    ) -> PyResult<Py<PyAny>> {
        if let Some(filter) = filter {
            // As `call_app` would refuse it, before anything else runs.
            if environ.cast::<PyDict>().is_err() {
                return Err(not_a_dict(layer, environ));
            }
            self.stages.push((layer, filter));
        }
        if fusion() {
            if let Some(resolve) = RESOLVER.get() {
                let _deeper = Deeper::enter(layer)?;
                if let Some(result) = resolve(app, environ, start_response, self) {
                    return result;
                }
            }
        }
        match self.take() {
            None => Ok(app.call1((environ, start_response))?.unbind()),
            Some((layer, filter)) => call_app(
                py,
                layer,
                self.request.is_head(),
                Source::App(app.clone()),
                environ,
                start_response,
                filter,
            ),
        }
    }

    /// Answer without the app: straight to `start_response` when no fused layer outside
    /// has a filter, otherwise through their filters as if an app had answered.
    pub fn answer(
        &mut self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        start_response: &Bound<'py, PyAny>,
        made: Answer<'py>,
    ) -> PyResult<Py<PyAny>> {
        match self.take() {
            None => answer(py, start_response, made),
            Some((layer, filter)) => call_app(
                py,
                layer,
                self.request.is_head(),
                Source::Answer(made),
                environ,
                start_response,
                filter,
            ),
        }
    }

    /// No fused layer outside has a filter: an answer goes straight to the server.
    pub fn is_bare(&self) -> bool {
        self.stages.is_empty()
    }

    /// All collected filters as one, named after the innermost layer (the one next to the
    /// app, which reports what the app does wrong).
    fn take(&mut self) -> Option<(&'static str, Box<dyn BodyFilter>)> {
        let mut stages = std::mem::take(&mut self.stages);
        stages.reverse();
        match stages.len() {
            0 => None,
            1 => stages.pop(),
            _ => {
                let layer = stages.first().map_or("wsgi_mw", |(name, _)| *name);
                Some((layer, Box::new(Composite::new(stages))))
            }
        }
    }
}

fn not_a_dict(layer: &str, environ: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "{layer}: environ must be a dict (PEP 3333), not {}",
        type_name(environ)
    ))
}
