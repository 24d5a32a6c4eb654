//! Rewrite's body filter: picks the responses to rewrite from their headers and runs the
//! literal streaming replacer or the buffered regex rules over the body.

use std::borrow::Cow;
use std::sync::Arc;

use super::literal::StreamingReplacer;
use super::regex_rules::{Applied, RegexRules, WORK_PER_BYTE};
use super::rules::{Codec, Compiled, RuleBook};
use crate::http::head::ResponseHead;
use crate::http::media_type::ContentType;
use crate::wsgi::filter::{BodyFilter, BodyInfo, Mode};

enum Body {
    Idle,
    Literal(StreamingReplacer),
    Regex {
        rules: Arc<RegexRules>,
        buffer: Vec<u8>,
        /// The body outgrew `max_buffer`: everything passes through unchanged from then on.
        overflowed: bool,
        changed: bool,
    },
}

pub struct RewriteFilter {
    book: Arc<RuleBook>,
    /// Encodes text rules for a response charset (Python's codecs, from py.rs).
    codec: &'static dyn Codec,
    body: Body,
    notice: Option<String>,
}

impl RewriteFilter {
    pub fn new(book: Arc<RuleBook>, codec: &'static dyn Codec) -> Self {
        RewriteFilter {
            book,
            codec,
            body: Body::Idle,
            notice: None,
        }
    }

    fn changed(&self) -> bool {
        match &self.body {
            Body::Idle => false,
            Body::Literal(replacer) => replacer.changed(),
            Body::Regex { changed, .. } => *changed,
        }
    }
}

impl BodyFilter for RewriteFilter {
    fn on_headers(&mut self, head: &mut ResponseHead, body: BodyInfo) -> Mode {
        self.body = Body::Idle;
        if self.book.is_empty() {
            return Mode::Untouched;
        }
        let Some(content_type) = head.content_type().and_then(ContentType::parse) else {
            return Mode::Untouched;
        };
        // Compressed bytes are not text: put Rewrite inside Gzip, not outside. A 206 (or any
        // Content-Range) is a slice of the representation: rewriting it would break the range.
        if !self.book.content_types().matches(content_type.essence) || head.is_encoded_or_partial()
        {
            return Mode::Untouched;
        }
        if body.bodyless {
            // The GET body would be rewritten, so its length and byte-identity are unknown
            // here: a HEAD (or 304) must not promise either (RFC 9110 §9.3.2, §8.8.1).
            head.remove("Content-Length");
            head.weaken_etag();
            return Mode::Untouched;
        }
        let charset = match content_type.charset {
            None => Cow::Borrowed("utf-8"),
            Some(given) if given.bytes().any(|b| b.is_ascii_uppercase()) => {
                Cow::Owned(given.to_ascii_lowercase())
            }
            Some(given) => Cow::Borrowed(given),
        };
        let (compiled, notice) = self.book.compiled_for(self.codec, &charset);
        self.notice = notice;
        self.body = match compiled {
            Compiled::Literal(rules) if !rules.is_empty() => {
                Body::Literal(StreamingReplacer::new(rules))
            }
            Compiled::Regex(rules) if !rules.is_empty() => Body::Regex {
                rules,
                buffer: Vec::new(),
                overflowed: false,
                changed: false,
            },
            _ => return Mode::Untouched,
        };
        // Byte ranges of the rewritten body are not served: do not advertise them.
        head.remove("Accept-Ranges");
        Mode::Transform
    }

    fn on_chunk(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let max_buffer = self.book.max_buffer();
        match &mut self.body {
            Body::Idle => out.extend_from_slice(chunk),
            Body::Literal(replacer) => replacer.push(chunk, out),
            Body::Regex {
                buffer, overflowed, ..
            } => {
                if *overflowed {
                    out.extend_from_slice(chunk);
                } else if buffer.len().saturating_add(chunk.len()) > max_buffer {
                    *overflowed = true;
                    out.append(buffer);
                    out.extend_from_slice(chunk);
                    self.notice = Some(format!(
                        "response body is larger than max_buffer ({max_buffer} bytes): \
                         passed through without applying the regex rules"
                    ));
                } else {
                    buffer.extend_from_slice(chunk);
                }
            }
        }
    }

    fn on_end(&mut self, out: &mut Vec<u8>) {
        match &mut self.body {
            Body::Idle => {}
            Body::Literal(replacer) => replacer.finish(out),
            Body::Regex {
                rules,
                buffer,
                overflowed: false,
                changed,
            } => match rules.apply(buffer) {
                Applied::Rewritten(rewritten) => {
                    *changed = rewritten != *buffer;
                    out.extend_from_slice(&rewritten);
                }
                Applied::Unchanged => out.append(buffer),
                Applied::OverBudget => {
                    out.append(buffer);
                    self.notice = Some(format!(
                        "the regex rules needed more than {WORK_PER_BYTE} times the body's \
                         {} bytes of scanning: passed through without applying them",
                        out.len()
                    ));
                }
            },
            Body::Regex { .. } => {}
        }
    }

    fn held_back(&self) -> usize {
        match &self.body {
            Body::Idle => 0,
            Body::Literal(replacer) => replacer.carried(),
            Body::Regex { buffer, .. } => buffer.len(),
        }
    }

    fn on_commit(&mut self, head: &mut ResponseHead, ended: bool, _pending: &mut Vec<u8>) {
        // A streamed body may still change after the head is gone, so its ETag can only be weak.
        if !ended || self.changed() {
            head.weaken_etag();
        }
    }

    fn changed_body(&self) -> bool {
        self.changed()
    }

    fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }
}
