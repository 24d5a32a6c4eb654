"""Shared helpers: a test environ, a tiny in-process "server", and WSGI apps of every shape.

The helpers are independent oracles: they know PEP 3333 and wsgiref, never the Rust side.
"""

from __future__ import annotations

import contextlib
import gc
import http.client
import importlib.util
import io
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, NamedTuple
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.util import FileWrapper, setup_testing_defaults
from wsgiref.validate import validator

import pytest

from wsgi_mw import Rewrite

# The key under which make_environ keeps the StringIO behind wsgi.errors: the validator
# replaces environ["wsgi.errors"] with its own wrapper, so tests read from this one.
ERRORS_KEY = "wsgi_mw_test.errors"

HTML = "text/html; charset=utf-8"


def pytest_configure(config):
    # wsgiref.validate reports an unclosed iterator from __del__, where it can only become an
    # "unraisable" exception; make that (and any validator warning) fail the run.
    config.addinivalue_line("filterwarnings", "error::pytest.PytestUnraisableExceptionWarning")
    config.addinivalue_line("filterwarnings", "error::wsgiref.validate.WSGIWarning")


@pytest.fixture(autouse=True)
def no_unraisable():
    """Fail the test that leaked an unclosed validator iterator (or any unraisable error).

    gc.collect() runs before the check because tracebacks kept by pytest.raises form cycles
    that hold iterators past the test body.
    """
    seen = []
    previous = sys.unraisablehook

    def hook(unraisable):
        seen.append(
            f"{unraisable.exc_type.__name__}: {unraisable.exc_value} ({unraisable.object!r})"
        )

    sys.unraisablehook = hook
    try:
        yield
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert not seen, f"unraisable exceptions during the test: {seen}"


# --------------------------------------------------------------------------- environ + server


def make_environ(**overrides):
    """A complete PEP 3333 environ; wsgi.errors is a readable StringIO (see error_text)."""
    environ = {}
    setup_testing_defaults(environ)
    environ["QUERY_STRING"] = ""
    errors = io.StringIO()
    environ["wsgi.errors"] = errors
    environ[ERRORS_KEY] = errors
    environ["wsgi.file_wrapper"] = FileWrapper
    environ.update(overrides)
    return environ


def error_text(environ) -> str:
    return environ[ERRORS_KEY].getvalue()


class Response(NamedTuple):
    status: str
    headers: list
    body: bytes
    chunks: list


NO_BODY_STATUSES = (204, 304)


def status_has_body(status: str, method: str) -> bool:
    code = int(status[:3])
    return method != "HEAD" and code >= 200 and code not in NO_BODY_STATUSES


class Server:
    """The server side of one request: start_response with wsgiref's exc_info semantics
    (replace while the head was not sent, re-raise after; a second plain call is an error).
    Like wsgiref, the head counts as sent with the first item after start_response, even
    b"" (PEP 3333 would wait for a non-empty one; real servers do not)."""

    def __init__(self):
        self.status = None
        self.headers = None
        self.sent = False  # the head went out (first item after start_response)
        self.chunks = []
        self.start_calls = 0

    def write(self, data):
        assert type(data) is bytes, f"server write() got {type(data).__name__}"
        assert self.status is not None, "write() before start_response()"
        self.sent = True
        self.chunks.append(data)

    def start_response(self, status, headers, exc_info=None):
        self.start_calls += 1
        if exc_info:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("Headers already set!")
        assert type(status) is str
        assert type(headers) is list
        self.status = status
        self.headers = list(headers)
        return self.write

    def take(self, chunk):
        """Record one item the application yielded."""
        assert type(chunk) is bytes, f"middleware yielded {type(chunk).__name__}"
        if chunk:
            assert self.status is not None, "body byte before start_response()"
        if self.status is not None:
            self.sent = True
        self.chunks.append(chunk)
        return chunk


def run(app, environ=None) -> Response:
    """Drive `app` like a WSGI server: iterate, always close. Also checks what any server
    would: bytes only, status before the first body byte, and a Content-Length (if any)
    that matches the body sent."""
    if environ is None:
        environ = make_environ()
    server = Server()
    result = app(environ, server.start_response)
    try:
        for chunk in result:
            server.take(chunk)
    finally:
        if hasattr(result, "close"):
            result.close()
    return finish(server, environ)


def run_lockstep(mw, app, environ=None, *, lookahead=0) -> Response:
    """Like run(), for an `app` whose body is a finite CountingIterable: asserts the
    middleware never blocks -- after the k-th outer item the inner iterable was pulled
    k times, or up to `lookahead` more (the plumbing looks one item past a first chunk that
    reaches the declared Content-Length) -- and at most one item follows the inner
    iterable's end."""
    if environ is None:
        environ = make_environ()
    server = Server()
    outer = mw(environ, server.start_response)
    try:
        inner = app.body
        for k in range(len(inner.chunks)):
            server.take(next(outer))
            assert k + 1 <= inner.pulled <= k + 1 + lookahead, (
                f"after outer item {k + 1} the inner iterable was pulled {inner.pulled} times"
            )
        tail = list(outer)
        assert len(tail) <= 1, f"{len(tail)} items after the inner iterable ended"
        for chunk in tail:
            server.take(chunk)
    finally:
        outer.close()
    assert inner.closed == 1
    return finish(server, environ)


def finish(server, environ) -> Response:
    assert server.status is not None, "start_response() never called"
    body = b"".join(server.chunks)
    response = Response(server.status, server.headers, body, server.chunks)
    if status_has_body(response.status, environ["REQUEST_METHOD"]):
        lengths = header_values(response.headers, "Content-Length")
        assert len(lengths) <= 1, f"several Content-Length headers: {lengths}"
        if lengths:
            assert int(lengths[0]) == len(body), (
                f"Content-Length {lengths[0]} but {len(body)} body bytes were sent"
            )
    return response


def header_values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def header(headers, name):
    """The single value of `name` (case-insensitive), or None; fails if repeated."""
    values = header_values(headers, name)
    assert len(values) <= 1, f"{name} repeated: {values}"
    return values[0] if values else None


# --------------------------------------------------------------------------- inner iterables


class CountingIterable:
    """An inner body that records how far it was pulled and how often close() ran.

    `start` is called inside the first next() (late start_response); `raise_at` raises
    RuntimeError("boom mid-iteration") when the item with that index is requested.
    Not a list/tuple: the middleware must treat it as a streamed body.
    """

    def __init__(
        self, chunks, *, start: Callable[[], None] | None = None, raise_at=None, before_each=None
    ):
        self.chunks = chunks if isinstance(chunks, (list, tuple)) else None
        self._items = iter(chunks)  # may be endless
        self.pulled = 0  # number of next() calls that returned an item
        self.next_calls = 0
        self.closed = 0
        self.start = start
        self.raise_at = raise_at
        self.before_each = before_each

    def __iter__(self):
        return self

    def __next__(self):
        self.next_calls += 1
        if self.closed:
            raise AssertionError("inner iterable read after close()")
        if self.start is not None:
            start, self.start = self.start, None
            start()
        if self.before_each is not None:
            self.before_each(self.pulled)
        if self.raise_at is not None and self.pulled == self.raise_at:
            raise RuntimeError("boom mid-iteration")
        chunk = next(self._items)
        self.pulled += 1
        return chunk

    def close(self):
        self.closed += 1


class CountingBytesIO(io.BytesIO):
    """File object behind a FileWrapper; FileWrapper.close is this close."""

    def __init__(self, data):
        super().__init__(data)
        self.close_calls = 0

    def close(self):
        self.close_calls += 1
        super().close()


# --------------------------------------------------------------------------- app factories
#
# Each factory returns an app object; after a request, `app.body` is the inner iterable it
# returned (CountingIterable / FileWrapper), so tests can count pulls and close() calls.


def html_headers(content_type=HTML, extra=()):
    return [("Content-Type", content_type), *extra]


class ListApp:
    """Whole body in memory: start_response, then return a list (or tuple) of chunks."""

    def __init__(
        self,
        chunks=(b"Hello world",),
        *,
        status="200 OK",
        headers=None,
        content_type=HTML,
        content_length=False,
        body_type=list,
    ):
        self.chunks = list(chunks)
        self.status = status
        self.content_type = content_type
        self.extra = list(headers or [])
        self.content_length = content_length
        self.body_type = body_type
        self.calls = 0

    def headers(self):
        headers = [] if self.content_type is None else [("Content-Type", self.content_type)]
        headers += self.extra
        if self.content_length:
            headers.append(("Content-Length", str(sum(map(len, self.chunks)))))
        return headers

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response(self.status, self.headers())
        self.body = self.body_type(self.chunks)
        return self.body


class LateStartApp(ListApp):
    """Streams: returns an iterable that calls start_response inside its first next()."""

    def __call__(self, environ, start_response):
        self.calls += 1
        self.body = CountingIterable(
            self.chunks, start=lambda: start_response(self.status, self.headers())
        )
        return self.body


class EarlyStartStreamApp(ListApp):
    """Streams: start_response before returning a (non-list) counting iterable."""

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response(self.status, self.headers())
        self.body = CountingIterable(self.chunks)
        return self.body


def generator_app(chunks=(b"Hello world",), *, status="200 OK", content_type=HTML, extra=()):
    """A real Python generator function app with late start_response."""

    def app(environ, start_response):
        start_response(status, html_headers(content_type, extra))
        yield from chunks

    return app


class WriteApp(ListApp):
    """Uses the write() callable for `written`, then returns `chunks` as a counting iterable."""

    def __init__(self, written=(b"Hel",), chunks=(b"lo world",), **kw):
        super().__init__(chunks, **kw)
        self.written = list(written)

    def __call__(self, environ, start_response):
        self.calls += 1
        write = start_response(self.status, self.headers())
        for data in self.written:
            write(data)
        self.body = CountingIterable(self.chunks)
        return self.body


class FileWrapperApp(ListApp):
    """Returns environ['wsgi.file_wrapper'](file, blksize) over the joined chunks."""

    def __init__(self, chunks=(b"Hello world",), *, blksize=4, **kw):
        super().__init__(chunks, **kw)
        self.blksize = blksize

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response(self.status, self.headers())
        self.file = CountingBytesIO(b"".join(self.chunks))
        self.body = environ["wsgi.file_wrapper"](self.file, self.blksize)
        return self.body


class RaiseBeforeStartApp:
    """Raises before start_response (nothing to close: no iterable was returned)."""

    def __call__(self, environ, start_response):
        raise RuntimeError("boom before start_response")


class RaiseAfterStartApp:
    """Calls start_response, then raises instead of returning."""

    def __call__(self, environ, start_response):
        start_response("200 OK", html_headers())
        raise RuntimeError("boom after start_response")


class LateRaiseApp:
    """Returns an iterable whose first next() raises; before or after start_response."""

    def __init__(self, *, after_start):
        self.after_start = after_start

    def __call__(self, environ, start_response):
        def first():
            if self.after_start:
                start_response("200 OK", html_headers())
            raise RuntimeError("boom in first next()")

        self.body = CountingIterable([b"never"], start=first)
        return self.body


class RaiseMidIterationApp(ListApp):
    """Yields chunks[0], then raises RuntimeError("boom mid-iteration")."""

    def __init__(self, chunks=(b"Hello ", b"world"), **kw):
        super().__init__(chunks, **kw)

    def __call__(self, environ, start_response):
        start_response(self.status, self.headers())
        self.body = CountingIterable(self.chunks, raise_at=1)
        return self.body


class StrYieldingApp(ListApp):
    """Buggy app: yields str instead of bytes."""

    def __init__(self, chunks=("Hello world",), **kw):
        super().__init__(chunks, **kw)

    def __call__(self, environ, start_response):
        start_response(self.status, self.headers())
        self.body = CountingIterable(self.chunks)
        return self.body


class SwitchApp:
    """Routes PATH_INFO == "/bad" to `bad`, anything else to a good Hello app: lets one
    middleware instance serve a failing request and then a normal one."""

    def __init__(self, bad, good=None):
        self.bad = bad
        self.good = good or ListApp([b"Hello world"])

    def __call__(self, environ, start_response):
        target = self.bad if environ.get("PATH_INFO") == "/bad" else self.good
        return target(environ, start_response)


def stack(app, rules, **options):
    """validator(Rewrite(validator(app), ...)) -- except around a plain ListApp, where the
    inner validator is left out: it turns the list into an iterator, which would hide the
    whole-body-in-memory case (exact Content-Length) from Rewrite."""
    inner = app if type(app) is ListApp else validator(app)
    return validator(Rewrite(inner, rules, **options))


def bad_environ(**overrides):
    return make_environ(PATH_INFO="/bad", **overrides)


@pytest.fixture
def environ():
    return make_environ()


# --------------------------------------------------------------------------- real servers


class QuietHandler(WSGIRequestHandler):
    """Records server-side errors instead of printing them; no access log noise."""

    errors = io.StringIO()

    def log_message(self, format, *args):
        pass

    def get_stderr(self):
        return self.errors


@pytest.fixture
def serve():
    """start(app) -> port; every server started is shut down, whatever the test did."""
    servers = []

    def start(app):
        httpd = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        servers.append((httpd, thread))
        return httpd.server_address[1]

    QuietHandler.errors = io.StringIO()
    try:
        yield start
    finally:
        for httpd, thread in servers:
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=5)
    assert QuietHandler.errors.getvalue() == "", (
        f"server-side errors:\n{QuietHandler.errors.getvalue()}"
    )


# --------------------------------------------------------------------------- examples/


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name):
    """Import examples/<name>.py as a module of its own (importing must not start a server)."""
    spec = importlib.util.spec_from_file_location(f"{name}_example", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def http_request(port, method, path, body=None, headers=None):
    """One request to 127.0.0.1:port with http.client: (status, headers dict, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# --------------------------------------------------------------------------- Redis


@pytest.fixture(scope="session")
def redis_session():
    """One real redis-server for the session (tests/redis_server.py), always stopped."""
    from redis_server import RedisServer

    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(redis_session):
    """The session's redis-server, emptied for each test."""
    redis_session.client().flushdb()
    return redis_session


# --------------------------------------------------------------------------- server processes


@contextlib.contextmanager
def server_process(name, argv, env, log: Path, probe="/ready", timeout=30.0):
    """Run a WSGI server (argv; its port chosen by the caller) with its output in `log`;
    yield once `probe` answers anything over HTTP. Always stopped: SIGTERM, then SIGKILL."""
    port = next(int(a.rsplit(":", 1)[1]) for a in argv if a.startswith("127.0.0.1:"))
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url + probe, timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # it answered
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{name} did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def gunicorn_on_redis(redis_url, tmp_path, module, *options):
    """(server, log): gunicorn -w 2 serving tests/<module>.py:application on a free port,
    with the test's redis-server in ``WSGI_MW_TEST_REDIS``; `server` is `server_process`'s
    context manager (it yields the base URL and always stops the server)."""
    from redis_server import free_port

    port = free_port()
    tests = Path(__file__).parent
    env = {"WSGI_MW_TEST_REDIS": redis_url, "PYTHONPATH": str(tests)}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    argv = [
        str(gunicorn),
        "-w",
        "2",
        *options,
        "-b",
        f"127.0.0.1:{port}",
        f"{module}:application",
    ]
    log = tmp_path / "gunicorn.log"
    return server_process("gunicorn", argv, env, log), log
