//! Driving a wrapped app through PEP 3333 with a body filter: [`call_app`] calls the app and
//! returns what the server iterates; [`ResponseIter`] is that iterator when the plumbing has
//! to stay in the loop. Every rule of DESIGN.md is enforced here, once, for all middlewares.

use std::collections::VecDeque;

use pyo3::exceptions::{PyAssertionError, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyIterator, PyList, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::answer::{no_body, Answer, AnswerParts, Items};
use super::errors::write_error_line;
use super::filter::{BodyFilter, Outcome};
use super::gil::detach_if_large;
use super::head_out::{decide, send_head, Captured, Flow};
use super::options::type_name;
use super::start_response::{capture, StartResponse};

/// Where a response comes from.
pub enum Source<'py> {
    /// A WSGI app, called with our capture.
    App(Bound<'py, PyAny>),
    /// A response a fused layer made without the app (a Cache hit, a Router 404): it goes
    /// out through the filters of the layers outside it.
    Answer(Answer<'py>),
}

/// Call `app` as the middleware named `middleware`, with `filter` deciding what happens to
/// the body. Returns the WSGI iterable for the server: the app's own iterable when the filter
/// leaves the response untouched and the headers are already known (rule 7: a
/// `wsgi.file_wrapper` keeps its sendfile path), otherwise a [`ResponseIter`].
pub fn call_app<'py>(
    py: Python<'py>,
    middleware: &'static str,
    head_request: bool,
    source: Source<'py>,
    environ: &Bound<'py, PyAny>,
    start_response: &Bound<'py, PyAny>,
    filter: Box<dyn BodyFilter>,
) -> PyResult<Py<PyAny>> {
    if environ.cast::<PyDict>().is_err() {
        return Err(PyTypeError::new_err(format!(
            "{middleware}: environ must be a dict (PEP 3333), not {}",
            type_name(environ)
        )));
    }
    let (capture, called) = match source {
        Source::App(app) => {
            let upstream = start_response.clone().unbind();
            let capture = StartResponse::new(middleware, upstream, head_request, filter);
            let capture = Bound::new(py, capture)?;
            let called = app.call1((environ, &capture));
            (capture, called)
        }
        Source::Answer(made) => {
            let head_request = head_request || made.head_request;
            let through = answer_through(
                py,
                middleware,
                head_request,
                made,
                environ,
                start_response,
                filter,
            )?;
            match through {
                Through::Done(result) => return Ok(result),
                Through::Iterate(capture, body) => (capture, Ok(body)),
            }
        }
    };
    let (filter, forwarded) = {
        let mut capture = capture.try_borrow_mut()?;
        (capture.take_filter(), capture.forwarded())
    };
    let (mut filter, result) = take_back(py, middleware, filter, called)?;
    if forwarded {
        // Fast path (rule 7): the head went to the server inside start_response and the
        // filter wants nothing of the body, so the server gets the app's own iterable.
        report_notice(py, middleware, environ, filter.as_mut());
        filter.on_close(py, Outcome::HandedBack);
        return Ok(result.unbind());
    }
    let response = ResponseIter::new(
        middleware,
        head_request,
        capture,
        result,
        environ,
        start_response,
        filter,
    );
    ResponseIter::start(Bound::new(py, response)?)
}

/// Once the app returned: the request's filter, taken back from the capture, and the
/// iterable the app returned. An app that raised or returned None fails the filter here.
fn take_back<'py>(
    py: Python<'py>,
    middleware: &'static str,
    filter: Option<Box<dyn BodyFilter>>,
    called: PyResult<Bound<'py, PyAny>>,
) -> PyResult<(Box<dyn BodyFilter>, Bound<'py, PyAny>)> {
    let Some(mut filter) = filter else {
        // Only a start_response racing in from another thread could get here; still close
        // what the app returned (rule 4).
        if let Ok(result) = &called {
            close_unsent(py, result);
        }
        return Err(PyAssertionError::new_err(format!(
            "{middleware}: internal error: the request's filter was lost"
        )));
    };
    match called {
        Ok(result) if !result.is_none() => Ok((filter, result)),
        Ok(_) => {
            filter.on_close(py, Outcome::Failed);
            Err(PyTypeError::new_err(format!(
                "{middleware}: the application returned None; a WSGI application must return an iterable of bytes"
            )))
        }
        Err(err) => {
            filter.on_close(py, Outcome::Failed);
            Err(err)
        }
    }
}

/// Where an answer went after its head was shown to the filter.
enum Through<'py> {
    /// Out to the server, with this iterable.
    Done(Py<PyAny>),
    /// The filter transforms the body, or watches a streamed one: the response iterator
    /// drives it, from this capture (holding the decided head and the filter) and these body
    /// items.
    Iterate(Bound<'py, StartResponse>, Bound<'py, PyAny>),
}

/// A response made without the app (a Cache hit, a Router 404) going out through the filters
/// of the fused layers outside it. Its head is decided here, without a `start_response`
/// capture. When the filters only watch the body (Logger, the Cache outside), the head goes
/// to the server at once and the body items are shown to them as they are handed over, in
/// one piece: the answer is in memory, so no iterator of ours stays in the server's loop
/// (Logger logs it as sent whole, the outer Cache stores it). A transforming filter (Gzip),
/// and a watching one when the body is streamed (a Static file under Logger), get the
/// response iterator, from the decided head.
fn answer_through<'py>(
    py: Python<'py>,
    middleware: &'static str,
    head_request: bool,
    made: Answer<'py>,
    environ: &Bound<'py, PyAny>,
    start_response: &Bound<'py, PyAny>,
    mut filter: Box<dyn BodyFilter>,
) -> PyResult<Through<'py>> {
    let parts = match made.into_parts(py) {
        Ok(parts) => parts,
        Err(err) => {
            filter.on_close(py, Outcome::Failed);
            return Err(err);
        }
    };
    let AnswerParts {
        status,
        headers,
        body,
    } = parts;
    let mut captured = match capture(middleware, &status, headers.as_any()) {
        Ok(captured) => captured,
        Err(err) => {
            filter.on_close(py, Outcome::Failed);
            return Err(err);
        }
    };
    let flow = decide(filter.as_mut(), &mut captured.head, head_request);
    report_notice(py, middleware, environ, filter.as_mut());
    if flow == Flow::Observe && captured.exact {
        filter.on_app_headers(&headers);
    }
    // A transformed body, and a streamed one any filter wants to see, go through the
    // response iterator (a stream is read as it goes, never gathered here).
    let streamed = matches!(body, Some(Items::Stream(_)));
    if flow == Flow::Transform || (streamed && flow == Flow::Observe) {
        captured.flow = Some(flow);
        let body = match body {
            Some(items) => items.into_any(),
            None => PyTuple::empty(py).into_any(),
        };
        let upstream = start_response.clone().unbind();
        let capture = StartResponse::decided(middleware, upstream, head_request, filter, captured);
        return Ok(Through::Iterate(Bound::new(py, capture)?, body));
    }
    if let Err(err) = send_head(py, start_response, &captured, None) {
        filter.on_close(py, Outcome::Failed);
        return Err(err);
    }
    let result = match (flow, body) {
        (Flow::Drop, body) => {
            filter.on_head_sent();
            if let Some(Items::Stream(stream)) = body {
                close_unsent(py, &stream);
            }
            no_body(py)
        }
        (_, None) => {
            if flow != Flow::Pass {
                filter.on_head_sent();
            }
            no_body(py)
        }
        (Flow::Observe, Some(Items::Memory(items))) => {
            filter.on_head_sent();
            for item in items.iter() {
                if let Ok(bytes) = item.cast::<PyBytes>() {
                    filter.on_pass_object(bytes);
                }
            }
            Ok(items.into_any().unbind())
        }
        (_, Some(items)) => Ok(items.into_any().unbind()),
    };
    let outcome = match (&result, flow) {
        (Err(_), _) => Outcome::Failed,
        (Ok(_), Flow::Pass) => Outcome::HandedBack,
        (Ok(_), _) => Outcome::Complete,
    };
    filter.on_close(py, outcome);
    report_notice(py, middleware, environ, filter.as_mut());
    Ok(Through::Done(result?))
}

/// An iterable that will not be sent (an app's result after a lost filter, a streamed
/// answer to a dropped body): closed now (PEP 3333: whoever drops an iterable with a
/// close() calls it), a failing close() reported as unraisable.
fn close_unsent(py: Python<'_>, iterable: &Bound<'_, PyAny>) {
    if let Ok(Some(close)) = iterable.getattr_opt(intern!(py, "close")) {
        if let Err(err) = close.call0() {
            err.write_unraisable(py, Some(iterable));
        }
    }
}

/// The iterable the server sees when a middleware stays in the loop.
#[pyclass(module = "wsgi_mw._native", name = "ResponseIterator")]
pub struct ResponseIter {
    middleware: &'static str,
    capture: Py<StartResponse>,
    upstream: Py<PyAny>,
    environ: Py<PyAny>,
    /// The app's iterable; `None` once closed (rule 4: closed exactly once).
    result: Option<Py<PyAny>>,
    iter: Option<Py<PyIterator>>,
    filter: Box<dyn BodyFilter>,
    head_request: bool,
    /// The app returned a list or tuple: the whole body is in memory (and there is no
    /// close() to call).
    in_memory: bool,
    /// The whole body is known before the head goes out: it is in memory, or its declared
    /// Content-Length was reached by the first chunk and the iterable ended right after.
    complete: bool,
    /// The app's Content-Length, when it declared one.
    declared: Option<u64>,
    /// Body bytes taken from the app (write() and the iterable).
    input_bytes: u64,
    /// Items pulled from the app's iterable ahead of time, to learn whether it ended.
    lookahead: VecDeque<Py<PyAny>>,
    /// The app's iterable said it was exhausted while looking ahead.
    exhausted: bool,
    /// The capture generation `head` reflects (0: no head seen yet).
    generation: u64,
    head: Option<Captured>,
    flow: Flow,
    /// `exc_info` that came with the head, passed upstream with it (rule 5).
    exc_info: Option<Py<PyAny>>,
    head_out: HeadOut,
    /// Transform output not yet handed out.
    pending: Vec<u8>,
    /// Items ready for the server, released once the head went upstream.
    queue: VecDeque<Py<PyAny>>,
    phase: Phase,
}

/// Where the response is in its life. It only moves forward, and any phase may end in
/// `Closed` (the server's close(), or an error closing at once: [`ResponseIter::fail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The app's iterable is being read.
    Reading,
    /// The app's iterable is exhausted: the next step ends the filter's input and queues the
    /// rest, sending the head if it is still held.
    Ended,
    /// Everything is queued, behind a head that went upstream: `__next__` ends once the queue
    /// is empty.
    Finished,
    /// The app's iterable was closed (rule 4: this phase is entered once, in `close_inner`,
    /// the one place that closes it).
    Closed,
}

/// How far the head went towards the server. It only moves forward: a replaced head
/// (`exc_info`) can only come while it is held, as the capture re-raises after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadOut {
    /// With us: the app has not called start_response yet, or its head waits for the body
    /// (a whole body is read to its end first, so the head is exact).
    Held,
    /// Held while a Transform with a declared Content-Length waits for the first chunk to
    /// show whether the body is whole: the filter's `on_body` comes then.
    AwaitingBody,
    /// Passed to the server's start_response: queued items may go.
    Committed,
    /// An item went to the server too, so the head is on the wire (`on_head_sent` was said).
    OnWire,
}

impl HeadOut {
    /// Not passed upstream yet.
    fn held(self) -> bool {
        matches!(self, HeadOut::Held | HeadOut::AwaitingBody)
    }
}

impl ResponseIter {
    /// The iterator over `result` (the app's iterable, or an answer's body), for the head
    /// `capture` holds or will get. Nothing is read and nothing goes upstream yet: see
    /// [`ResponseIter::start`].
    fn new<'py>(
        middleware: &'static str,
        head_request: bool,
        capture: Bound<'py, StartResponse>,
        result: Bound<'py, PyAny>,
        environ: &Bound<'py, PyAny>,
        start_response: &Bound<'py, PyAny>,
        filter: Box<dyn BodyFilter>,
    ) -> Self {
        let in_memory =
            result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>();
        ResponseIter {
            middleware,
            capture: capture.unbind(),
            upstream: start_response.clone().unbind(),
            environ: environ.clone().unbind(),
            result: Some(result.unbind()),
            iter: None,
            filter,
            head_request,
            in_memory,
            complete: in_memory,
            declared: None,
            input_bytes: 0,
            lookahead: VecDeque::new(),
            exhausted: false,
            generation: 0,
            head: None,
            flow: Flow::Pass,
            exc_info: None,
            head_out: HeadOut::Held,
            pending: Vec::new(),
            queue: VecDeque::new(),
            phase: Phase::Reading,
        }
    }

    /// Put a new response to work and return what the server iterates: a head the app gave
    /// before returning goes upstream now (`commit_early`), a watched body in memory is
    /// handed over whole as a tuple (`hand_over_whole`), and otherwise the server gets this
    /// iterator. An error closes the app's iterable before it propagates (rule 4).
    fn start(response: Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = response.py();
        {
            let mut iter = response.try_borrow_mut()?;
            let handed = iter
                .commit_early(py)
                .and_then(|()| iter.hand_over_whole(py));
            match handed {
                Ok(Some(whole)) => return Ok(whole),
                Ok(None) => {}
                Err(err) => {
                    iter.fail(py);
                    return Err(err);
                }
            }
        }
        Ok(response.into_any().unbind())
    }

    /// Pick up a new or replaced head from the capture. False if the app has not called
    /// `start_response` yet.
    fn sync_head(&mut self, py: Python<'_>) -> PyResult<bool> {
        let (generation, snapshot) = {
            let mut capture = self.capture.bind(py).try_borrow_mut()?;
            if capture.generation() == self.generation {
                return Ok(self.head.is_some());
            }
            (capture.generation(), capture.take_head())
        };
        let Some((mut captured, exc_info)) = snapshot else {
            return Ok(false);
        };
        // A replacement can only come before the head went upstream: after that the capture
        // re-raises the app's exception inside its own start_response call.
        self.exc_info = exc_info;
        self.pending.clear();
        self.queue.clear();
        self.flow = match captured.flow {
            Some(flow) => flow,
            None => {
                let flow = decide(self.filter.as_mut(), &mut captured.head, self.head_request);
                if flow == Flow::Observe && captured.exact {
                    if let Ok(list) = captured.headers.bind(py).cast::<PyList>() {
                        self.filter.on_app_headers(list);
                    }
                }
                flow
            }
        };
        self.declared = captured.head.content_length();
        let awaiting_body =
            self.flow == Flow::Transform && !self.in_memory && self.declared.is_some();
        if self.flow == Flow::Transform && !awaiting_body {
            self.filter.on_body(self.complete);
        }
        if self.head_out.held() {
            self.head_out = if awaiting_body {
                HeadOut::AwaitingBody
            } else {
                HeadOut::Held
            };
        }
        self.report_notice(py);
        self.head = Some(captured);
        self.generation = generation;
        Ok(true)
    }

    /// The app called start_response before it returned: pass the head to the server now,
    /// as an app alone would have. Servers such as granian read the status and headers only
    /// when start_response was called by then. A body already in memory (list, tuple) is
    /// processed to the end first, so its head is exact (no app code runs for that); for a
    /// streamed body the head cannot depend on the body (Transform filters then stream).
    fn commit_early(&mut self, py: Python<'_>) -> PyResult<()> {
        if !self.sync_head(py)? {
            return Ok(());
        }
        while self.head_out == HeadOut::AwaitingBody {
            self.settle_body(py)?;
            self.sync_head(py)?;
        }
        if self.complete {
            // Read to the end: `finish` sends the head.
            while self.head_out.held() {
                self.advance(py)?;
            }
        } else {
            self.commit(py, false)?;
        }
        Ok(())
    }

    /// A body in memory (the app returned a list or tuple, or a Cache hit answered) whose
    /// filters only watch it, once `commit_early` queued all of it behind a head already
    /// sent: hand the server every item at once, as a tuple, instead of staying in its loop.
    /// The filters see each item go and the response complete now (Logger logs the whole
    /// body as sent, Cache stores it), and the server iterates a plain tuple. A HEAD or
    /// bodyless response gets its one empty item as an iterator, so that no server adds a
    /// Content-Length: 0 from a len() of one. Streamed bodies and transformed ones keep the
    /// iterator.
    fn hand_over_whole(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let watched = matches!(self.flow, Flow::Observe | Flow::Pass | Flow::Drop);
        if !(self.in_memory && watched && self.phase == Phase::Finished) {
            return Ok(None);
        }
        let mut items = Vec::with_capacity(self.queue.len());
        while let Some(item) = self.next_item(py)? {
            items.push(item);
        }
        // Every item went.
        self.close_inner(py, Outcome::Complete)?;
        let items = PyTuple::new(py, items)?;
        if self.flow == Flow::Drop {
            return Ok(Some(items.try_iter()?.into_any().unbind()));
        }
        Ok(Some(items.into_any().unbind()))
    }

    fn require_head(&mut self, py: Python<'_>, fault: &str) -> PyResult<()> {
        if self.sync_head(py)? {
            Ok(())
        } else {
            Err(PyAssertionError::new_err(format!(
                "{}: the application {fault} (PEP 3333: start_response() comes first)",
                self.middleware
            )))
        }
    }

    /// Send the head upstream. Returns the server's `write` callable.
    fn commit(&mut self, py: Python<'_>, ended: bool) -> PyResult<Py<PyAny>> {
        let Some(captured) = self.head.as_mut() else {
            return Err(PyAssertionError::new_err(format!(
                "{}: no response head to send",
                self.middleware
            )));
        };
        if self.flow == Flow::Transform {
            let filter = &mut self.filter;
            let pending = &mut self.pending;
            let head = &mut captured.head;
            let work = filter.commit_work(pending.len());
            detach_if_large(py, work, || filter.on_commit(head, ended, pending));
            report_notice(
                py,
                self.middleware,
                self.environ.bind(py),
                self.filter.as_mut(),
            );
            // Rule 6: a changed body means a correct or absent Content-Length.
            if ended {
                let wrong = self
                    .declared
                    .is_some_and(|declared| declared != self.pending.len() as u64);
                if self.filter.changed_body() || wrong {
                    captured
                        .head
                        .set("Content-Length", &self.pending.len().to_string());
                }
            } else {
                captured.head.remove("Content-Length");
            }
        }
        let exc_info = self.exc_info.take();
        let write = send_head(py, self.upstream.bind(py), captured, exc_info)?;
        self.head_out = HeadOut::Committed;
        self.capture.bind(py).try_borrow_mut()?.mark_head_sent();
        Ok(write.unbind())
    }

    fn next_item(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        loop {
            if !self.head_out.held() {
                if let Some(item) = self.queue.pop_front() {
                    if self.head_out == HeadOut::Committed {
                        // Servers transmit the head with the first item: from now on a failure
                        // cannot change the status the client gets.
                        self.filter.on_head_sent();
                        self.head_out = HeadOut::OnWire;
                    }
                    // Shown as it goes to the server, so an early close() leaves out what
                    // never went (Logger counts the bytes sent).
                    match self.flow {
                        Flow::Observe => {
                            if let Ok(bytes) = item.bind(py).cast::<PyBytes>() {
                                self.filter.on_pass_object(bytes);
                            }
                        }
                        Flow::Transform => {
                            if let Ok(bytes) = item.bind(py).cast::<PyBytes>() {
                                self.filter.on_emit(bytes);
                            }
                        }
                        Flow::Pass | Flow::Drop => {}
                    }
                    return Ok(Some(item));
                }
            }
            if self.phase == Phase::Finished {
                return Ok(None);
            }
            if let Some(early) = self.advance(py)? {
                return Ok(Some(early));
            }
        }
    }

    /// One step of the loop: take write() data and the app's next item (or finish). Returns
    /// an empty item the app yielded before calling start_response, to pass on as it is.
    fn advance(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        // Rule 3: write() data comes before whatever the iterable yields next.
        self.take_writes(py)?;
        if self.phase == Phase::Ended {
            self.finish(py)?;
            return Ok(None);
        }
        let next = self.pull(py)?;
        self.take_writes(py)?;
        match next {
            None => self.phase = Phase::Ended,
            Some(chunk) => {
                if !self.sync_head(py)? && is_empty_bytes(&chunk) {
                    // PEP 3333 wants start_response before the first *non-empty* item;
                    // pass an earlier empty one on, exactly as the app alone would.
                    return Ok(Some(chunk.unbind()));
                }
                self.require_head(py, "yielded body data before calling start_response()")?;
                if self.head_out == HeadOut::AwaitingBody {
                    // A generator app's head came with this chunk: look at it (and past it)
                    // before the filter is told whether the body is whole.
                    self.lookahead.push_front(chunk.unbind());
                    self.settle_body(py)?;
                    return Ok(None);
                }
                self.accept(py, &chunk)?;
                // Rule 2: one item out for each item in, unless the body is all in memory.
                if !self.complete {
                    self.step_done(py)?;
                }
            }
        }
        Ok(None)
    }

    /// The app's next chunk; the first call creates the iterator (rule 1: a generator app may
    /// call start_response only now).
    fn pull<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if let Some(item) = self.lookahead.pop_front() {
            return Ok(Some(item.into_bound(py)));
        }
        if self.exhausted {
            return Ok(None);
        }
        self.pull_app(py)
    }

    /// The next item of the app's iterable itself.
    fn pull_app<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let iter = match &self.iter {
            Some(iter) => iter.bind(py).clone(),
            None => {
                let Some(result) = &self.result else {
                    return Ok(None);
                };
                let iter = result.bind(py).try_iter()?;
                self.iter = Some(iter.clone().unbind());
                iter
            }
        };
        let mut iter = iter;
        iter.next().transpose()
    }

    fn take_writes(&mut self, py: Python<'_>) -> PyResult<()> {
        loop {
            if !self.has_writes(py)? {
                return Ok(());
            }
            self.require_head(py, "called write() before start_response()")?;
            if self.head_out == HeadOut::AwaitingBody {
                // The filter learns whether the body is whole before it sees a byte: with
                // write() data waiting, it is not (Gzip sent a write()'s bytes raw inside a
                // gzip body when they came first).
                self.settle_body(py)?;
            }
            let data = self.capture.bind(py).try_borrow_mut()?.pop_write();
            let Some(data) = data else {
                return Ok(());
            };
            self.accept(py, data.bind(py))?;
        }
    }

    fn accept(&mut self, py: Python<'_>, chunk: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = chunk.cast::<PyBytes>().map_err(|_| {
            let shown = chunk
                .repr()
                .map(|r| {
                    let r = r.to_string();
                    r.chars().take(60).collect::<String>()
                })
                .unwrap_or_default();
            PyTypeError::new_err(format!(
                "{}: the application yielded {} {shown}, not bytes (PEP 3333 body chunks are bytes; encode text first)",
                self.middleware,
                type_name(chunk),
            ))
        })?;
        self.input_bytes = self
            .input_bytes
            .saturating_add(bytes.as_bytes().len() as u64);
        match self.flow {
            Flow::Drop => {}
            Flow::Pass => self.queue.push_back(chunk.clone().unbind()),
            Flow::Observe => self.queue.push_back(bytes.clone().into_any().unbind()),
            Flow::Transform => {
                let data = bytes.as_bytes();
                let filter = &mut self.filter;
                let pending = &mut self.pending;
                // Output is usually about the input's size: one allocation instead of a
                // doubling series (measured: growth was a tenth of a 1 KiB rewrite).
                pending.reserve(data.len());
                // `data` borrows an immutable bytes object we hold a reference to, so it
                // stays valid while other threads run.
                let work = data.len().saturating_mul(filter.work_per_byte());
                detach_if_large(py, work, || filter.on_chunk(data, pending));
                self.report_notice(py);
            }
        }
        Ok(())
    }

    /// Transform mode with a declared Content-Length: learn whether the body is whole before
    /// the filter starts. It is when the first chunk reaches the declared length and the
    /// iterable ends right after (Django's HttpResponse, any iterable that knows its size),
    /// so the filter works on it in one piece and the head gets an exact Content-Length.
    /// Looks at most one item past the first, and only when the first reached the length.
    fn settle_body(&mut self, py: Python<'_>) -> PyResult<()> {
        self.head_out = HeadOut::Held;
        let generation = self.generation;
        let whole = match self.declared {
            Some(declared) if !self.has_writes(py)? => match self.pull(py)? {
                None => {
                    self.exhausted = true;
                    declared == 0
                }
                Some(first) => {
                    let reached = first
                        .cast::<PyBytes>()
                        .is_ok_and(|b| b.as_bytes().len() as u64 == declared);
                    self.lookahead.push_back(first.unbind());
                    if reached && !self.has_writes(py)? {
                        match self.pull_app(py)? {
                            None => {
                                self.exhausted = true;
                                true
                            }
                            Some(next) => {
                                self.lookahead.push_back(next.unbind());
                                false
                            }
                        }
                    } else {
                        false
                    }
                }
            },
            _ => false,
        };
        if self.capture.bind(py).try_borrow()?.generation() != generation {
            // The app replaced its head (exc_info) while we looked ahead: what it sent before
            // belonged to the old head, and the new head is decided afresh.
            if self.lookahead.len() > 1 {
                self.lookahead.pop_front();
            }
            self.complete = false;
            return Ok(());
        }
        self.complete = whole;
        self.filter.on_body(whole);
        if !whole && self.lookahead.len() > 1 && self.has_writes(py)? {
            // write() data that came while we looked past the first chunk follows it.
            if let Some(first) = self.lookahead.pop_front() {
                self.accept(py, first.bind(py))?;
            }
        }
        Ok(())
    }

    fn has_writes(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.capture.bind(py).try_borrow()?.has_writes())
    }

    /// An app whose body did not match the Content-Length it declared: said once on
    /// `wsgi.errors`. The body is never cut or padded to fit: a transformed body gets its own
    /// exact length or none, an untouched whole one the length it really has.
    fn check_declared(&mut self, py: Python<'_>) {
        let Some(declared) = self.declared else {
            return;
        };
        if declared == self.input_bytes || self.flow == Flow::Drop {
            return;
        }
        let message = format!(
            "the application declared Content-Length: {declared} but sent {} body bytes",
            self.input_bytes
        );
        write_error_line(py, self.environ.bind(py), self.middleware, &message);
    }

    /// After each chunk of a streamed body: the head goes upstream (wsgiref.validate wants
    /// start_response before the first item) and exactly one item is ready.
    fn step_done(&mut self, py: Python<'_>) -> PyResult<()> {
        if self.head_out.held() {
            self.commit(py, false)?;
        }
        match self.flow {
            Flow::Transform => {
                let out = PyBytes::new(py, &self.pending);
                self.pending.clear();
                self.queue.push_back(out.into_any().unbind());
            }
            Flow::Drop => self
                .queue
                .push_back(PyBytes::new(py, b"").into_any().unbind()),
            Flow::Pass | Flow::Observe => {}
        }
        Ok(())
    }

    fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        self.require_head(py, "returned without calling start_response()")?;
        self.check_declared(py);
        if self.flow == Flow::Transform {
            let filter = &mut self.filter;
            let pending = &mut self.pending;
            let work = filter.held_back().saturating_mul(filter.work_per_byte());
            detach_if_large(py, work, || filter.on_end(pending));
            self.report_notice(py);
        }
        if self.head_out.held() {
            self.commit(py, true)?;
        }
        if self.flow == Flow::Transform && !self.pending.is_empty() {
            let out = PyBytes::new(py, &self.pending);
            self.pending = Vec::new();
            self.queue.push_back(out.into_any().unbind());
        }
        if matches!(self.flow, Flow::Drop | Flow::Transform)
            && self.head_out != HeadOut::OnWire
            && self.queue.is_empty()
        {
            // One empty item makes servers send the head as it is: with none, wsgiref would
            // add "Content-Length: 0" to a HEAD response whose GET has a body. A transformed
            // body that came out empty (an empty body read whole before the first next())
            // still gives the server the one item its app's one item earns (rule 2).
            self.queue
                .push_back(PyBytes::new(py, b"").into_any().unbind());
        }
        self.phase = Phase::Finished;
        self.mark_ended(py);
        Ok(())
    }

    /// Tell the capture that no `write()` can be sent any more.
    fn mark_ended(&self, py: Python<'_>) {
        if let Ok(mut capture) = self.capture.bind(py).try_borrow_mut() {
            capture.mark_ended();
        }
    }

    fn report_notice(&mut self, py: Python<'_>) {
        report_notice(
            py,
            self.middleware,
            self.environ.bind(py),
            self.filter.as_mut(),
        );
    }

    /// An error escaped: close the app's iterable now and report Failed.
    fn fail(&mut self, py: Python<'_>) {
        if let Err(close_err) = self.close_inner(py, Outcome::Failed) {
            close_err.write_unraisable(py, None);
        }
    }

    /// How a response closed without an error ended: complete once everything went.
    fn ending(&self) -> Outcome {
        if self.phase == Phase::Finished && self.queue.is_empty() {
            Outcome::Complete
        } else {
            Outcome::ClosedEarly
        }
    }

    /// Rule 4: the one place the app's iterable is closed, for whoever comes first (the
    /// server's close(), `fail`, a whole body handed over). Entering `Closed` first makes
    /// every later call a no-op, so it is closed exactly once, and the filter gets its one
    /// `on_close` (`Failed` instead of `outcome` when close() raises).
    fn close_inner(&mut self, py: Python<'_>, outcome: Outcome) -> PyResult<()> {
        if self.phase == Phase::Closed {
            return Ok(());
        }
        self.phase = Phase::Closed;
        self.mark_ended(py);
        self.queue.clear();
        self.lookahead.clear();
        self.pending = Vec::new();
        self.iter = None;
        let closed = match self.result.take() {
            // Lists and tuples have no close(); asking would build and drop an AttributeError.
            Some(_) if self.in_memory => Ok(()),
            Some(result) => match result.bind(py).getattr_opt(intern!(py, "close")) {
                Ok(Some(close)) => close.call0().map(drop),
                Ok(None) => Ok(()),
                Err(err) => Err(err),
            },
            None => Ok(()),
        };
        self.filter.on_close(
            py,
            match closed {
                Ok(()) => outcome,
                Err(_) => Outcome::Failed,
            },
        );
        closed
    }
}

/// Write the filter's notice, if any, as one line on `wsgi.errors`.
fn report_notice(
    py: Python<'_>,
    middleware: &'static str,
    environ: &Bound<'_, PyAny>,
    filter: &mut dyn BodyFilter,
) {
    while let Some((layer, notice)) = filter.take_named_notice(middleware) {
        write_error_line(py, environ, layer, &notice);
    }
}

fn is_empty_bytes(chunk: &Bound<'_, PyAny>) -> bool {
    chunk
        .cast::<PyBytes>()
        .is_ok_and(|bytes| bytes.as_bytes().is_empty())
}

#[pymethods]
impl ResponseIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if self.phase == Phase::Closed {
            return Ok(None);
        }
        match self.next_item(py) {
            Ok(item) => Ok(item),
            Err(err) => {
                self.fail(py);
                Err(err)
            }
        }
    }

    /// PEP 3333: the server calls this once; the app's iterable is closed exactly once.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        self.close_inner(py, self.ending())
    }

    fn __repr__(&self) -> String {
        format!("<wsgi_mw.{} response>", self.middleware)
    }

    // The server's handler often holds this iterator while we hold its bound start_response:
    // take part in garbage collection so such cycles are collected, never leaked.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.capture)?;
        visit.call(&self.upstream)?;
        visit.call(&self.environ)?;
        visit.call(&self.result)?;
        visit.call(&self.iter)?;
        visit.call(&self.exc_info)?;
        if let Some(head) = &self.head {
            visit.call(&head.status)?;
            visit.call(&head.headers)?;
        }
        for item in self.queue.iter().chain(self.lookahead.iter()) {
            visit.call(item)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.result = None;
        self.iter = None;
        self.exc_info = None;
        self.head = None;
        self.queue.clear();
        self.lookahead.clear();
    }
}
