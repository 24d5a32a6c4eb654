//! When to let other Python threads run while we crunch bytes.

use pyo3::prelude::*;

/// Work on at least this many bytes runs with the GIL released.
///
/// Measured with benches/bench_gil.py. While this was 2 KiB (before commit f111e62): one
/// release and re-take cost about 0.06 µs, ~10% of rewriting a 2 KiB chunk, and with two
/// threads competing, releasing around 2 KiB chunks was *slower* than holding the GIL
/// (scaling 0.87 vs 0.93), because each re-take waits for the other thread's GIL-held
/// stretch. At 16 KiB (docs/benchmarks.md, "Rewrite and the GIL"): the release costs ~2-3% of
/// a chunk, and two threads scale 1.26-1.34x with released 16 KiB chunks against 0.93x held,
/// 1.7-1.8x for a 1 MiB chunk. hashlib and cryptography use 2 KiB for hashing, where the work per byte
/// is larger than ours.
///
/// The unit is "bytes of literal scanning"; a filter whose bytes cost more declares it with
/// `BodyFilter::work_per_byte` (Gzip: 32, so deflate releases from 512-byte chunks, about
/// 15 µs of compression here).
pub const GIL_RELEASE_THRESHOLD: usize = 16 * 1024;

/// Run `work` (sized `amount`, in threshold units) detached from the interpreter when it is
/// large enough to pay for the release. `work` must not touch Python objects; the caller keeps borrowed buffers
/// (immutable `bytes`) alive for the duration.
pub fn detach_if_large<T, F>(py: Python<'_>, amount: usize, work: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    if amount >= GIL_RELEASE_THRESHOLD {
        py.detach(work)
    } else {
        work()
    }
}
