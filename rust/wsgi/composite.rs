//! A fused chain's body filters run as one: [`Composite`] is a [`BodyFilter`] made of the
//! filters of several nested wsgi_mw layers, innermost first, that the plumbing drives exactly
//! like a single filter. Inside, each stage sees what it would see nested:
//!
//! - a stage's `on_headers` sees the head as the stage below it sent it upstream. Below a
//!   transforming stage that means after that stage's `on_commit` (its Content-Encoding, its
//!   exact or removed Content-Length), so the stages above a transforming one are decided when
//!   it commits;
//! - a transforming stage's input is the output of the transforming stage below it, and it is
//!   told the body is whole (`on_body(true)`) when the stage below had seen all of it before
//!   its head went out;
//! - an observing stage sees the bytes at its own level: the app's below the first
//!   transforming stage, the output of the one below it otherwise, and the objects handed to
//!   the server (`on_emit`) above the last one.
//!
//! Bytes move between stages as Rust buffers; the plumbing makes one bytes object per chunk
//! for the server.

use std::collections::VecDeque;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::filter::{BodyFilter, BodyInfo, Mode, Outcome};
use crate::http::head::ResponseHead;

/// Counted per byte of a whole body that stages not yet decided may transform when the first
/// transforming stage commits (sizes the GIL decision of that commit): deflate's figure, the
/// most expensive stage we have.
const UNDECIDED_WORK_PER_BYTE: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StageFlow {
    /// Not decided yet: waiting for the transforming stage below to commit its head.
    Undecided,
    Untouched,
    Observe,
    Transform,
}

struct Stage {
    name: &'static str,
    filter: Box<dyn BodyFilter>,
    flow: StageFlow,
    /// The Content-Length this stage's input declared (after its own `on_headers`).
    declared: Option<u64>,
}

/// The transforming stages of a response, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transformers {
    /// Stage `first` transforms; the stages above it are decided when it commits.
    Undecided { first: usize },
    /// Every stage is decided: `first` and `top` are the first and last transforming stages.
    Decided { first: usize, top: usize },
}

pub struct Composite {
    /// Innermost (next to the app) first.
    stages: Vec<Stage>,
    info: BodyInfo,
    /// `None` while no stage transforms.
    transformers: Option<Transformers>,
    notices: VecDeque<(&'static str, String)>,
}

impl Composite {
    /// `stages` innermost first, each with the name of its layer.
    pub fn new(stages: Vec<(&'static str, Box<dyn BodyFilter>)>) -> Self {
        Composite {
            stages: stages
                .into_iter()
                .map(|(name, filter)| Stage {
                    name,
                    filter,
                    flow: StageFlow::Undecided,
                    declared: None,
                })
                .collect(),
            info: BodyInfo {
                bodyless: false,
                head_request: false,
            },
            transformers: None,
            notices: VecDeque::new(),
        }
    }

    /// The first transforming stage, and the one whose output goes out: the last
    /// transforming stage once every stage is decided, the first until then (its output
    /// waits in `pending` for the stages above, see `on_commit`). `None` while no stage
    /// transforms.
    fn span(&self) -> Option<(usize, usize)> {
        Some(match self.transformers? {
            Transformers::Undecided { first } => (first, first),
            Transformers::Decided { first, top } => (first, top),
        })
    }

    /// Show `head` to stage `i` and record what it chose.
    fn decide(&mut self, i: usize, head: &mut ResponseHead) -> StageFlow {
        let info = self.info;
        let Some(stage) = self.stages.get_mut(i) else {
            return StageFlow::Untouched;
        };
        let mode = stage.filter.on_headers(head, info);
        stage.declared = head.content_length();
        stage.flow = match mode {
            _ if info.bodyless => StageFlow::Untouched,
            Mode::Untouched => StageFlow::Untouched,
            Mode::Observe => StageFlow::Observe,
            Mode::Transform => StageFlow::Transform,
        };
        collect_notice(&mut self.notices, stage);
        stage.flow
    }

    /// The stages above the first transforming one, from `from` on, in order, with the output
    /// of the one below each: `input` is the first stage's output so far, `ended` whether
    /// that is all, `top` the last transforming stage. Returns what the last stage produces.
    fn through_upper(&mut self, from: usize, top: usize, input: Vec<u8>, ended: bool) -> Vec<u8> {
        let mut buf = input;
        for j in from..self.stages.len() {
            let Some(stage) = self.stages.get_mut(j) else {
                break;
            };
            match stage.flow {
                StageFlow::Transform => {
                    let mut next = Vec::with_capacity(buf.len());
                    if !buf.is_empty() {
                        stage.filter.on_chunk(&buf, &mut next);
                    }
                    if ended {
                        stage.filter.on_end(&mut next);
                    }
                    buf = next;
                }
                // Observers above the last transforming stage see what goes to the server.
                StageFlow::Observe if j < top => stage.filter.on_pass(&buf),
                _ => {}
            }
            collect_notice(&mut self.notices, stage);
        }
        buf
    }
}

fn collect_notice(notices: &mut VecDeque<(&'static str, String)>, stage: &mut Stage) {
    while let Some(notice) = stage.filter.take_notice() {
        notices.push_back((stage.name, notice));
    }
}

/// The Content-Length rule the plumbing applies to a transforming filter's head (DESIGN.md
/// rule 6), applied to each transforming stage so the next one sees what it would nested.
fn settle_length(
    head: &mut ResponseHead,
    ended: bool,
    changed: bool,
    declared: Option<u64>,
    out: usize,
) {
    if ended {
        if changed || declared.is_some_and(|d| d != out as u64) {
            head.set("Content-Length", &out.to_string());
        }
    } else {
        head.remove("Content-Length");
    }
}

impl BodyFilter for Composite {
    fn on_headers(&mut self, head: &mut ResponseHead, body: BodyInfo) -> Mode {
        self.info = body;
        self.transformers = None;
        for stage in &mut self.stages {
            stage.flow = StageFlow::Undecided;
        }
        for i in 0..self.stages.len() {
            if self.decide(i, head) == StageFlow::Transform {
                // The stages above see this one's committed head: decided in `on_commit`.
                self.transformers = Some(Transformers::Undecided { first: i });
                return Mode::Transform;
            }
        }
        if self.stages.iter().any(|s| s.flow == StageFlow::Observe) {
            Mode::Observe
        } else {
            Mode::Untouched
        }
    }

    fn on_body(&mut self, complete: bool) {
        if let Some(stage) = self
            .span()
            .and_then(|(first, _)| self.stages.get_mut(first))
        {
            stage.filter.on_body(complete);
        }
    }

    fn on_chunk(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let Some((first, top)) = self.span() else {
            out.extend_from_slice(chunk);
            return;
        };
        for stage in self.stages.iter_mut().take(first) {
            if stage.flow == StageFlow::Observe {
                stage.filter.on_pass(chunk);
            }
        }
        let Some(stage) = self.stages.get_mut(first) else {
            return;
        };
        if top == first {
            // Before the commit the output waits in `out` for the stages above.
            stage.filter.on_chunk(chunk, out);
            collect_notice(&mut self.notices, stage);
            return;
        }
        let mut own = Vec::with_capacity(chunk.len());
        stage.filter.on_chunk(chunk, &mut own);
        collect_notice(&mut self.notices, stage);
        let done = self.through_upper(first + 1, top, own, false);
        out.extend_from_slice(&done);
    }

    fn on_end(&mut self, out: &mut Vec<u8>) {
        let Some((first, top)) = self.span() else {
            return;
        };
        let Some(stage) = self.stages.get_mut(first) else {
            return;
        };
        if top == first {
            stage.filter.on_end(out);
            collect_notice(&mut self.notices, stage);
            return;
        }
        let mut tail = Vec::new();
        stage.filter.on_end(&mut tail);
        collect_notice(&mut self.notices, stage);
        let done = self.through_upper(first + 1, top, tail, true);
        out.extend_from_slice(&done);
    }

    fn held_back(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| s.flow == StageFlow::Transform)
            .map(|s| s.filter.held_back())
            .fold(0, usize::saturating_add)
    }

    fn work_per_byte(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| s.flow == StageFlow::Transform)
            .map(|s| s.filter.work_per_byte())
            .fold(0, usize::saturating_add)
            .max(1)
    }

    fn commit_work(&self, pending: usize) -> usize {
        let waiting = self
            .span()
            .map_or(0, |(first, _)| self.stages.len() - first - 1);
        pending.saturating_mul(UNDECIDED_WORK_PER_BYTE.saturating_mul(waiting))
    }

    fn on_commit(&mut self, head: &mut ResponseHead, ended: bool, pending: &mut Vec<u8>) {
        let Some(Transformers::Undecided { first }) = self.transformers else {
            return;
        };
        // The first transforming stage commits; each stage above is then decided on the head
        // it would have received nested, and catches up with the output so far.
        let mut lower = first;
        let mut observed: Vec<(usize, usize)> = Vec::new();
        let mut levels: Vec<Vec<u8>> = Vec::new();
        let mut buf = std::mem::take(pending);
        {
            let Some(stage) = self.stages.get_mut(first) else {
                return;
            };
            stage.filter.on_commit(head, ended, &mut buf);
            let changed = stage.filter.changed_body();
            settle_length(head, ended, changed, stage.declared, buf.len());
        }
        for j in first + 1..self.stages.len() {
            match self.decide(j, head) {
                StageFlow::Transform => {
                    let Some(stage) = self.stages.get_mut(j) else {
                        break;
                    };
                    stage.filter.on_body(ended);
                    let mut next = Vec::with_capacity(buf.len());
                    if !buf.is_empty() {
                        stage.filter.on_chunk(&buf, &mut next);
                    }
                    if ended {
                        stage.filter.on_end(&mut next);
                    }
                    stage.filter.on_commit(head, ended, &mut next);
                    let changed = stage.filter.changed_body();
                    settle_length(head, ended, changed, stage.declared, next.len());
                    collect_notice(&mut self.notices, stage);
                    levels.push(std::mem::replace(&mut buf, next));
                    lower = j;
                }
                StageFlow::Observe => observed.push((j, levels.len())),
                _ => {}
            }
        }
        self.transformers = Some(Transformers::Decided { first, top: lower });
        levels.push(buf);
        // Observers between transforming stages see the output of the one below them now;
        // those above the last one see the objects the server gets (`on_emit`).
        for (j, level) in observed {
            if j > lower {
                continue;
            }
            if let (Some(stage), Some(bytes)) = (self.stages.get_mut(j), levels.get(level)) {
                stage.filter.on_pass(bytes);
            }
        }
        *pending = levels.pop().unwrap_or_default();
    }

    fn changed_body(&self) -> bool {
        self.stages
            .iter()
            .any(|s| s.flow == StageFlow::Transform && s.filter.changed_body())
    }

    fn on_app_headers(&mut self, headers: &Bound<'_, PyList>) {
        for stage in &mut self.stages {
            if stage.flow == StageFlow::Observe {
                stage.filter.on_app_headers(headers);
            }
        }
    }

    fn on_pass(&mut self, chunk: &[u8]) {
        for stage in &mut self.stages {
            if stage.flow == StageFlow::Observe {
                stage.filter.on_pass(chunk);
            }
        }
    }

    fn on_pass_object(&mut self, chunk: &Bound<'_, PyBytes>) {
        for stage in &mut self.stages {
            if stage.flow == StageFlow::Observe {
                stage.filter.on_pass_object(chunk);
            }
        }
    }

    fn on_emit(&mut self, chunk: &Bound<'_, PyBytes>) {
        let Some(Transformers::Decided { top, .. }) = self.transformers else {
            return;
        };
        for stage in self.stages.iter_mut().skip(top + 1) {
            if stage.flow == StageFlow::Observe {
                stage.filter.on_pass_object(chunk);
            }
        }
    }

    fn on_head_sent(&mut self) {
        for stage in &mut self.stages {
            stage.filter.on_head_sent();
        }
    }

    fn take_named_notice(&mut self, _layer: &'static str) -> Option<(&'static str, String)> {
        for stage in &mut self.stages {
            collect_notice(&mut self.notices, stage);
        }
        self.notices.pop_front()
    }

    fn on_close(&mut self, py: Python<'_>, outcome: Outcome) {
        // Innermost first, as nested layers close: Cache lands its flight before Logger logs.
        for stage in &mut self.stages {
            stage.filter.on_close(py, outcome);
        }
    }
}

#[cfg(test)]
#[path = "composite_tests.rs"]
mod tests;
