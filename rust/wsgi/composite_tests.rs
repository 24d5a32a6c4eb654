//! A chain of toy stages driven the way the plumbing drives one filter: each stage must see
//! what it would see nested (its input, the head the stage below committed, whether the body
//! is whole).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use super::*;

/// Upper-cases the body; sets `X-Upper` when it commits.
struct Upper;

impl BodyFilter for Upper {
    fn on_headers(&mut self, _head: &mut ResponseHead, _body: BodyInfo) -> Mode {
        Mode::Transform
    }
    fn on_chunk(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.extend(chunk.iter().map(u8::to_ascii_uppercase));
    }
    fn on_commit(&mut self, head: &mut ResponseHead, _ended: bool, _pending: &mut Vec<u8>) {
        head.set("X-Upper", "1");
    }
}

/// Counts the bytes it observes; records whether it saw `X-Upper`.
struct Count {
    bytes: Arc<AtomicUsize>,
    saw_upper: Arc<AtomicBool>,
}

impl BodyFilter for Count {
    fn on_headers(&mut self, head: &mut ResponseHead, _body: BodyInfo) -> Mode {
        self.saw_upper
            .store(head.get("X-Upper").is_some(), Ordering::Relaxed);
        Mode::Observe
    }
    fn on_pass(&mut self, chunk: &[u8]) {
        self.bytes.fetch_add(chunk.len(), Ordering::Relaxed);
    }
}

/// Brackets every chunk and ends with "!"; records what `on_body` was told and the
/// Content-Length it was shown.
struct Bracket {
    whole: Arc<AtomicBool>,
    length_seen: Arc<AtomicUsize>,
}

impl BodyFilter for Bracket {
    fn on_headers(&mut self, head: &mut ResponseHead, _body: BodyInfo) -> Mode {
        let length = head.content_length().map_or(usize::MAX, |n| n as usize);
        self.length_seen.store(length, Ordering::Relaxed);
        Mode::Transform
    }
    fn on_body(&mut self, complete: bool) {
        self.whole.store(complete, Ordering::Relaxed);
    }
    fn on_chunk(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.push(b'[');
        out.extend_from_slice(chunk);
        out.push(b']');
    }
    fn on_end(&mut self, out: &mut Vec<u8>) {
        out.push(b'!');
    }
}

struct Probes {
    bytes: Arc<AtomicUsize>,
    saw_upper: Arc<AtomicBool>,
    whole: Arc<AtomicBool>,
    length_seen: Arc<AtomicUsize>,
}

/// Upper (innermost), Count, Bracket (outermost).
fn chain() -> (Composite, Probes) {
    let probes = Probes {
        bytes: Arc::default(),
        saw_upper: Arc::default(),
        whole: Arc::default(),
        length_seen: Arc::default(),
    };
    let stages: Vec<(&'static str, Box<dyn BodyFilter>)> = vec![
        ("Upper", Box::new(Upper)),
        (
            "Count",
            Box::new(Count {
                bytes: probes.bytes.clone(),
                saw_upper: probes.saw_upper.clone(),
            }),
        ),
        (
            "Bracket",
            Box::new(Bracket {
                whole: probes.whole.clone(),
                length_seen: probes.length_seen.clone(),
            }),
        ),
    ];
    (Composite::new(stages), probes)
}

fn head(length: Option<usize>) -> ResponseHead {
    let mut head = ResponseHead::new("200 OK".into(), 200, 2);
    head.set("Content-Type", "text/plain");
    if let Some(length) = length {
        head.set("Content-Length", &length.to_string());
    }
    head
}

const BODY: BodyInfo = BodyInfo {
    bodyless: false,
    head_request: false,
};

#[test]
fn whole_body_goes_through_stage_by_stage() {
    let (mut composite, probes) = chain();
    let mut head = head(Some(4));
    assert_eq!(composite.on_headers(&mut head, BODY), Mode::Transform);
    composite.on_body(true);
    let mut pending = Vec::new();
    composite.on_chunk(b"ab", &mut pending);
    composite.on_chunk(b"cd", &mut pending);
    composite.on_end(&mut pending);
    composite.on_commit(&mut head, true, &mut pending);
    // The stages above Upper were decided on Upper's committed head.
    assert!(probes.saw_upper.load(Ordering::Relaxed));
    // Upper changed the body: Bracket was shown its exact length and told it is whole.
    assert_eq!(probes.length_seen.load(Ordering::Relaxed), 4);
    assert!(probes.whole.load(Ordering::Relaxed));
    assert_eq!(pending, b"[ABCD]!");
    assert_eq!(probes.bytes.load(Ordering::Relaxed), 4);
    assert_eq!(head.content_length(), Some(7));
    assert!(composite.changed_body());
}

#[test]
fn streamed_body_commits_on_the_first_chunk_and_drops_the_length() {
    let (mut composite, probes) = chain();
    let mut head = head(None);
    assert_eq!(composite.on_headers(&mut head, BODY), Mode::Transform);
    composite.on_body(false);
    let mut pending = Vec::new();
    composite.on_chunk(b"ab", &mut pending);
    composite.on_commit(&mut head, false, &mut pending);
    assert!(!probes.whole.load(Ordering::Relaxed));
    assert_eq!(probes.length_seen.load(Ordering::Relaxed), usize::MAX);
    assert_eq!(pending, b"[AB]");
    let mut out = Vec::new();
    composite.on_chunk(b"cd", &mut out);
    composite.on_end(&mut out);
    assert_eq!(out, b"[CD]!");
    assert_eq!(probes.bytes.load(Ordering::Relaxed), 4);
    assert_eq!(head.content_length(), None);
}

#[test]
fn bodyless_responses_decide_every_stage_at_once() {
    let (mut composite, probes) = chain();
    let mut head = head(Some(4));
    let info = BodyInfo {
        bodyless: true,
        head_request: true,
    };
    assert_eq!(composite.on_headers(&mut head, info), Mode::Untouched);
    // No commit follows a bodyless head: Bracket was asked already, on the app's head.
    assert_eq!(probes.length_seen.load(Ordering::Relaxed), 4);
    assert!(!probes.saw_upper.load(Ordering::Relaxed));
}
