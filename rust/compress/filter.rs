//! The body filter of Compress and Gzip: decides from the request and response heads whether
//! and how to compress, then compresses the body (whole when it is in memory, chunk by chunk
//! when it streams).

use std::sync::Arc;

use super::config::CompressConfig;
use super::encoder::{compress_all, work_per_byte, Stream};
use crate::http::accept_encoding::Coding;
use crate::http::conditional::holds_weakened;
use crate::http::head::ResponseHead;
use crate::http::media_type::ContentType;
use crate::wsgi::filter::{BodyFilter, BodyInfo, Mode};

enum Body {
    Idle,
    /// The whole body is in memory: gather it, decide on its size in `on_end`.
    Gathering(Vec<u8>),
    /// Boxed: the encoder state is large and most responses never need one.
    Streaming(Box<Stream>),
}

pub struct CompressFilter {
    config: Arc<CompressConfig>,
    /// The coding the request's Accept-Encoding gets (None: the body as it is).
    coding: Option<Coding>,
    /// The request asked for a byte range: answer with the plain representation.
    range_request: bool,
    /// The request's If-None-Match when it holds a weak tag: what a 304 must echo.
    if_none_match: Option<String>,
    /// A `stream_types` response: sync flush after every chunk, no `min_size`.
    flush_each_chunk: bool,
    body: Body,
    compressed: bool,
    /// `on_chunk` ran: for a streamed body, the head has gone out with `compressed` set.
    chunk_seen: bool,
    /// `on_commit` ran: the head (with or without Content-Encoding) is final.
    committed: bool,
    /// What the stream wrote before any input (brotli's padding), sent with the first output.
    prefix: Vec<u8>,
}

impl CompressFilter {
    pub fn new(
        config: Arc<CompressConfig>,
        coding: Option<Coding>,
        range_request: bool,
        if_none_match: Option<&str>,
    ) -> Self {
        CompressFilter {
            config,
            coding,
            range_request,
            // Only a weak tag can be one this filter made; most requests carry none.
            if_none_match: if_none_match
                .filter(|list| list.contains("W/"))
                .map(str::to_owned),
            flush_each_chunk: false,
            body: Body::Idle,
            compressed: false,
            chunk_seen: false,
            committed: false,
            prefix: Vec::new(),
        }
    }
}

impl CompressFilter {
    /// RFC 9110 §15.4.5: a 304 carries the ETag and Vary the 200 for the same request
    /// would. A 304 says nothing of its type or size, so the client's validator tells what
    /// that 200 was: it holds `W/"x"` for this 304's `"x"` only when the response it stored
    /// was one this filter compressed (and so weakened, and made Vary on Accept-Encoding). A
    /// cache or Static inside answers with the stored `"x"` (flask-compress #24 and #65,
    /// Jetty #14137: the client could then never freshen its copy).
    fn not_modified(&self, head: &mut ResponseHead) {
        let compressed_for_this_request = self.coding.is_some() && !self.range_request;
        let weakened = self
            .if_none_match
            .as_deref()
            .zip(head.get("etag"))
            .is_some_and(|(list, etag)| holds_weakened(list, etag));
        if compressed_for_this_request
            && weakened
            && !head
                .list_elements("cache-control")
                .any(|d| d.eq_ignore_ascii_case("no-transform"))
        {
            head.weaken_etag();
            head.merge_vary("Accept-Encoding");
        }
    }
}

impl BodyFilter for CompressFilter {
    fn on_headers(&mut self, head: &mut ResponseHead, body: BodyInfo) -> Mode {
        // A replaced head (exc_info) starts over: nothing of the first one goes out.
        self.body = Body::Idle;
        self.compressed = false;
        self.prefix.clear();
        if head.code() == 304 {
            self.not_modified(head);
            return Mode::Untouched;
        }
        // Already encoded (no double compression), a slice of the representation, or the
        // origin forbids transformation (RFC 9110 §7.7 / RFC 9111 §5.2.2.6).
        if head.is_encoded_or_partial()
            || head
                .list_elements("cache-control")
                .any(|d| d.eq_ignore_ascii_case("no-transform"))
        {
            return Mode::Untouched;
        }
        let Some(content_type) = head.content_type().and_then(ContentType::parse) else {
            return Mode::Untouched;
        };
        let streamed_type = self.config.stream_types.matches(content_type.essence);
        if !streamed_type && !self.config.content_types.matches(content_type.essence) {
            return Mode::Untouched;
        }
        // Compressible: the answer depends on Accept-Encoding for every client, whether or
        // not this one gets a coding, so shared caches must keep the variants apart.
        head.merge_vary("Accept-Encoding");
        if self.coding.is_none() || self.range_request {
            return Mode::Untouched;
        }
        if !streamed_type
            && head
                .content_length()
                .is_some_and(|len| len < self.config.min_size as u64)
        {
            return Mode::Untouched;
        }
        if body.head_request && !head.forbids_body() {
            // RFC 9110 §9.3.2: the headers a GET would get, Content-Length apart (the
            // compressed size is unknown without the body). A GET of unknown size is
            // compressed from its first chunk, so unknown counts as compressed here too.
            head.remove("Content-Length");
            self.compressed = true;
            self.on_commit(head, true, &mut Vec::new());
            return Mode::Untouched;
        }
        if body.bodyless {
            return Mode::Untouched;
        }
        self.flush_each_chunk = streamed_type;
        Mode::Transform
    }

    fn on_body(&mut self, complete: bool) {
        // A streamed body's head goes out with its first chunk (PEP 3333 never blocks), so
        // its size cannot decide: it is compressed from the start, as Starlette does.
        self.body = match self.coding {
            Some(_) if complete && !self.flush_each_chunk => Body::Gathering(Vec::new()),
            Some(coding) => {
                self.compressed = true;
                Body::Streaming(Box::new(Stream::new(
                    coding,
                    &self.config,
                    &mut self.prefix,
                )))
            }
            None => Body::Idle,
        };
    }

    fn on_chunk(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if !self.prefix.is_empty() {
            out.append(&mut self.prefix);
        }
        self.chunk_seen = true;
        match &mut self.body {
            Body::Idle => out.extend_from_slice(chunk),
            Body::Gathering(gathered) => gathered.extend_from_slice(chunk),
            Body::Streaming(stream) => {
                stream.write(chunk, out);
                if self.flush_each_chunk {
                    stream.flush(out);
                }
            }
        }
    }

    fn on_end(&mut self, out: &mut Vec<u8>) {
        match std::mem::replace(&mut self.body, Body::Idle) {
            Body::Idle => {}
            Body::Gathering(gathered) if gathered.len() < self.config.min_size => {
                out.extend_from_slice(&gathered);
            }
            Body::Gathering(gathered) => {
                let Some(coding) = self.coding else {
                    return out.extend_from_slice(&gathered);
                };
                let start = out.len();
                compress_all(coding, &self.config, &gathered, out);
                if out.len() - start >= gathered.len() {
                    // Never larger than the original: it goes as it is (with Vary).
                    out.truncate(start);
                    out.extend_from_slice(&gathered);
                } else {
                    self.compressed = true;
                }
            }
            // A stream that ended before its first chunk: the head has not gone out, and an
            // empty body is not worth an encoder's frame. (A head already committed says
            // the coding: then the frame is owed.)
            Body::Streaming(_) if !self.chunk_seen && !self.flush_each_chunk && !self.committed => {
                self.compressed = false;
            }
            Body::Streaming(stream) => {
                if !self.prefix.is_empty() {
                    out.append(&mut self.prefix);
                }
                stream.finish(out);
            }
        }
    }

    fn work_per_byte(&self) -> usize {
        self.coding
            .map_or(1, |coding| work_per_byte(coding, self.config.level(coding)))
    }

    fn held_back(&self) -> usize {
        match &self.body {
            Body::Gathering(gathered) => gathered.len(),
            _ => 0,
        }
    }

    fn changed_body(&self) -> bool {
        self.compressed
    }

    fn on_commit(&mut self, head: &mut ResponseHead, _ended: bool, _pending: &mut Vec<u8>) {
        self.committed = true;
        if let (true, Some(coding)) = (self.compressed, self.coding) {
            head.set("Content-Encoding", coding.token());
            // Different bytes from the same representation: only weakly equal (RFC 9110 §8.8.1).
            head.weaken_etag();
            // Ranges would address the compressed bytes, which we do not serve.
            head.remove("Accept-Ranges");
        }
    }

    fn on_close(&mut self, _py: pyo3::Python<'_>, _outcome: crate::wsgi::filter::Outcome) {
        // Release the encoder (its window and buffers) as soon as the response ends.
        self.body = Body::Idle;
    }
}
