//! When to let other Python threads run while we crunch bytes.

use pyo3::prelude::*;

/// Work on at least this many bytes runs with the GIL released. Releasing and re-taking the
/// GIL costs about 0.1-0.2 µs; below 2 KiB the work itself is a few hundred nanoseconds and
/// the release would dominate. Same threshold as hashlib and cryptography; measured for our
/// filters in docs/benchmarks.md.
pub const GIL_RELEASE_THRESHOLD: usize = 2 * 1024;

/// Run `work` (sized `bytes`) detached from the interpreter when it is large enough to pay
/// for the release. `work` must not touch Python objects; the caller keeps borrowed buffers
/// (immutable `bytes`) alive for the duration.
pub fn detach_if_large<T, F>(py: Python<'_>, bytes: usize, work: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    if bytes >= GIL_RELEASE_THRESHOLD {
        py.detach(work)
    } else {
        work()
    }
}
