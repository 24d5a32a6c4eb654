//! When to let other Python threads run while we crunch bytes.

use pyo3::prelude::*;

/// Work on at least this many bytes runs with the GIL released.
///
/// Measured (docs/benchmarks.md, "GIL" section; benches/bench_gil.py): one release and
/// re-take costs about 0.06 µs, ~10% of rewriting a 2 KiB chunk, and with two threads
/// competing, releasing around 2 KiB chunks was *slower* than holding the GIL (scaling 0.87
/// vs 0.93), because each re-take waits for the other thread's GIL-held stretch. From 16 KiB
/// chunks on, releasing pays: two threads scaled 1.26x at 16 KiB, 1.3x at 64 KiB and 1.74x
/// for a 1 MiB chunk. hashlib and cryptography use 2 KiB for hashing, where the work per byte
/// is larger than ours.
pub const GIL_RELEASE_THRESHOLD: usize = 16 * 1024;

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
