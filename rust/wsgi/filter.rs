//! The body-filter contract: the one interface every middleware implements so the plumbing
//! (`response.rs`) can drive any of them through PEP 3333. See docs/architecture.md.
//!
//! One filter value is created per request and sees, in order:
//! `on_headers` (again if the app replaces its headers with `exc_info` before any body byte
//! left), then in `Transform` mode `on_body`, `on_chunk`* / `on_end` / `on_commit`, in
//! `Observe` mode `on_pass`*, `on_head_sent` when the head reached the server, and always
//! exactly one `on_close`.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

// The pure contract is everything above `on_app_headers`: plain Rust types only. The three
// Python hooks after it (`on_app_headers`, `on_pass_object`, `on_close`) exist for the two
// layers that must keep Python objects: Cache (the final bytes and header tuples) and
// Logger (its sink).

use crate::http::head::ResponseHead;

/// What the filter does with the body of this response, decided from the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Not interested: the plumbing hands the app's iterable back untouched when it can
    /// (keeps `wsgi.file_wrapper` and sendfile) and otherwise forwards the app's own bytes objects.
    Untouched,
    /// Body unchanged but watched: every bytes object is shown to `on_pass` and then forwarded
    /// as the same object (Logger counts, Cache tees without copying).
    Observe,
    /// The filter produces the body: `on_chunk` and `on_end` append the output.
    Transform,
}

/// What is known about the body when the headers arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyInfo {
    /// HEAD request or 1xx/204/304 status: the plumbing emits no body whatever the mode.
    pub bodyless: bool,
    /// A HEAD request: its headers should be the GET's (RFC 9110 §9.3.2), body or not.
    pub head_request: bool,
}

/// How the response ended, reported once to `on_close`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The app's iterable was exhausted and everything was handed to the server.
    Complete,
    /// The server closed the response before the end (client gone).
    ClosedEarly,
    /// The app raised (in the call, while iterating or in `close()`), or broke PEP 3333.
    Failed,
    /// The filter chose `Untouched` and the app's own iterable went straight to the server:
    /// the plumbing is out of the loop and will not see how the response ends.
    HandedBack,
}

pub trait BodyFilter: Send + Sync {
    /// The app's final headers. Edit `head` in place (it is what goes upstream) and choose the
    /// mode. Runs inside the app's `start_response` call when it comes before the app
    /// returns, otherwise during iteration. Called again, with a fresh response, if the app
    /// calls `start_response` with `exc_info` before any body byte left the middleware: the
    /// filter must start over.
    fn on_headers(&mut self, head: &mut ResponseHead, body: BodyInfo) -> Mode;

    /// Transform mode, once, before the first `on_chunk`: `complete` is true when the whole
    /// body is already in memory (the app returned a list or tuple), so the filter may hold
    /// it all and do its work in `on_end` (which runs without the GIL when large) instead of
    /// chunk by chunk.
    fn on_body(&mut self, _complete: bool) {}

    /// Transform mode: one input chunk (from `write()` or the iterable, in order).
    /// Runs without the GIL when the chunk is large: no Python here.
    fn on_chunk(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(chunk);
    }

    /// Transform mode: the input ended; append whatever is still held back.
    /// Runs without the GIL when `held_back()` is large.
    fn on_end(&mut self, _out: &mut Vec<u8>) {}

    /// Transform mode: bytes held back inside the filter (sizes the GIL decision for `on_end`).
    fn held_back(&self) -> usize {
        0
    }

    /// How much CPU work one input byte costs this filter, relative to a literal scan (1).
    /// The plumbing releases the GIL when `bytes * work_per_byte` reaches
    /// `GIL_RELEASE_THRESHOLD`: deflate costs tens of times more per byte than a search, so
    /// it pays for the release on much smaller chunks.
    fn work_per_byte(&self) -> usize {
        1
    }

    /// Transform mode, once, just before the head goes upstream. `ended` tells whether the
    /// whole input was already seen; `pending` is all output not yet sent, and may still be
    /// rewritten. The plumbing sets Content-Length to `pending.len()` afterwards when `ended`
    /// (unless `changed_body` says the body is the app's own), and removes it otherwise.
    fn on_commit(&mut self, _head: &mut ResponseHead, _ended: bool, _pending: &mut Vec<u8>) {}

    /// The CPU work `on_commit` does on `pending` bytes, in GIL-threshold units (sizes the
    /// GIL decision of the commit). Only a fused chain's stages do real work there.
    fn commit_work(&self, _pending: usize) -> usize {
        0
    }

    /// Transform mode, asked when the whole input was seen before the head went out: false
    /// when the output is byte-identical to the input (nothing matched, a body too small to
    /// compress), so the plumbing leaves Content-Length exactly as the app set it.
    fn changed_body(&self) -> bool {
        true
    }

    /// Python hook, Observe mode, right after `on_headers` chose it: the app's own header list, when it
    /// holds exact `(str, str)` tuples. The field whose `origin` is `i` is item `i`; Cache
    /// stores these tuples instead of building new ones. Valid for this call only (the app
    /// may change its list later): keep the items, not the list.
    fn on_app_headers(&mut self, _headers: &Bound<'_, PyList>) {}

    /// Observe mode: body bytes forwarded unchanged, as they are handed on (so what the
    /// server never took because it closed the response early is not shown).
    fn on_pass(&mut self, _chunk: &[u8]) {}

    /// Python hook, Observe mode: the same as `on_pass` when the bytes are a Python bytes
    /// object that goes on as it is; Cache keeps the object instead of copying it.
    fn on_pass_object(&mut self, chunk: &Bound<'_, PyBytes>) {
        self.on_pass(chunk.as_bytes());
    }

    /// Transform mode: a bytes object the plumbing made from the output is handed to the
    /// server. Only a chain of fused stages listens (its observers outside the last
    /// transforming stage see the body here, as they would nested).
    fn on_emit(&mut self, _chunk: &Bound<'_, PyBytes>) {}

    /// The first item went to the server after the head (servers transmit the head with
    /// it): a failure after this cannot change the status the client gets. Not called on
    /// the fast path (`Untouched`).
    fn on_head_sent(&mut self) {}

    /// A one-line message for `wsgi.errors` (e.g. "body larger than max_buffer, passed through").
    fn take_notice(&mut self) -> Option<String> {
        None
    }

    /// The next notice with the name of the layer that has it: `layer` for a single filter,
    /// the stage's own name in a fused chain.
    fn take_named_notice(&mut self, layer: &'static str) -> Option<(&'static str, String)> {
        self.take_notice().map(|notice| (layer, notice))
    }

    /// Python hook: exactly once per request, whatever happened. Release resources here.
    /// Cache stores a complete response here (building Python objects, hence the GIL token)
    /// and Logger hands its line to the sink.
    fn on_close(&mut self, _py: Python<'_>, _outcome: Outcome) {}
}
