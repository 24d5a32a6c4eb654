"""Every order of the five middlewares under the two WSGI lint oracles (issue 8, section 1).

For each of the 120 orders of Gzip, Cache, Rewrite, Router (with a default app) and Logger the
stack is built with an oracle between every two layers, around the innermost apps and
outside: `wsgiref.validate.validator` in one run, Werkzeug's `LintMiddleware` in the other. A
fixed list of requests is driven through it (GET, HEAD, conditional GET, POST, Accept-Encoding
variants, 404, 405, a streamed body, a write()-callable app, a late start_response, an app
raising mid-stream, a repeated GET a Cache may answer) and every response is compared with a
small pure-Python model of the composition (`expected`), never with the output of another
wsgi_mw object: decoded bodies must be equal, every inner iterable closed exactly once, one
Logger record per request, and no oracle may complain.

The requests are chosen so the model stays unambiguous: every body that contains the Rewrite
pattern is either at least Gzip's min_size (so Gzip compresses it whenever the client accepts
gzip) or small with a Content-Length (so a Gzip inside Rewrite never compresses it).
"""

from __future__ import annotations

import gzip
import itertools
import warnings
from pathlib import Path
from wsgiref.validate import validator

import pytest
from conftest import CountingIterable, Server, finish, header, make_environ
from werkzeug.middleware.lint import LintMiddleware

from wsgi_mw import Cache, Gzip, Logger, Rewrite, Router, Static

LAYERS = ("gzip", "cache", "rewrite", "router", "logger")
ORDERS = list(itertools.permutations(LAYERS))
MIN_SIZE = 500

TEXT = "text/html; charset=utf-8"
PLAIN = "text/plain; charset=utf-8"

PAGE = b"".join(b"<p>Hello world, line %03d of the page.</p>\n" % i for i in range(60))
STREAM = [b"Hello stream chunk %02d; " % i * 8 for i in range(6)]
WRITTEN = [b"Hello from write() %d. " % i * 10 for i in range(3)]
WRITE_REST = [b"Then the iterable says Hello too. " * 10]
LATE = [b"Late Hello %d " % i * 30 for i in range(4)]
ROUTED = [b"Routed by Router: Hello " * 40]
IMAGE = b"\x89PNG Hello binary " * 80
NOT_FOUND = b"no such page\n"
BOOM = [b"Hello before the failure " * 30, b"never sent"]
ETAG = '"v1"'


def weak_match(if_none_match, etag):
    def strip(tag):
        tag = tag.strip()
        return tag[2:] if tag.startswith(("W/", "w/")) else tag

    return any(strip(tag) == strip(etag) for tag in if_none_match.split(","))


class Tracker:
    """Records every inner iterable handed out and every app call during one request."""

    def __init__(self):
        self.bodies = []
        self.calls = []

    def body(self, chunks, **kw):
        body = CountingIterable(list(chunks), **kw)
        self.bodies.append(body)
        return body


class BaseApp:
    """The innermost app (Router's default, under the other layers)."""

    def __init__(self, tracker):
        self.tracker = tracker

    def __call__(self, environ, start_response):
        t = self.tracker
        path = environ["PATH_INFO"]
        method = environ["REQUEST_METHOD"]
        t.calls.append((method, path))
        if path == "/page":
            if weak_match(environ.get("HTTP_IF_NONE_MATCH", ""), ETAG):
                start_response("304 Not Modified", [("ETag", ETAG)])
                return t.body([])
            start_response(
                "200 OK",
                [
                    ("Content-Type", TEXT),
                    ("ETag", ETAG),
                    ("Cache-Control", "max-age=60"),
                    ("Content-Length", str(len(PAGE))),
                ],
            )
            return t.body([] if method == "HEAD" else [PAGE])
        if path == "/stream":
            start_response("200 OK", [("Content-Type", PLAIN)])
            return t.body(STREAM)
        if path == "/write":
            write = start_response("200 OK", [("Content-Type", PLAIN)])
            for data in WRITTEN:
                write(data)
            return t.body(WRITE_REST)
        if path == "/late":
            return t.body(LATE, start=lambda: start_response("200 OK", [("Content-Type", PLAIN)]))
        if path == "/echo" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            data = b"echo: " + environ["wsgi.input"].read(length)
            start_response("200 OK", [("Content-Type", PLAIN), ("Content-Length", str(len(data)))])
            return t.body([data])
        if path == "/image":
            start_response(
                "200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(IMAGE)))]
            )
            return t.body([IMAGE])
        if path == "/boom":
            start_response("200 OK", [("Content-Type", PLAIN)])
            return t.body(BOOM, raise_at=1)
        start_response(
            "404 Not Found",
            [("Content-Type", PLAIN), ("Content-Length", str(len(NOT_FOUND)))],
        )
        return t.body([NOT_FOUND])


def routed_app(tracker):
    def app(environ, start_response):
        tracker.calls.append(("routed", environ["PATH_INFO"]))
        start_response("200 OK", [("Content-Type", PLAIN)])
        return tracker.body(ROUTED)

    return app


def submit_app(tracker):
    def app(environ, start_response):  # POST only: the requests send it GETs (405)
        tracker.calls.append(("submit", environ["PATH_INFO"]))
        start_response("201 Created", [("Content-Type", PLAIN)])
        return tracker.body([b"created"])

    return app


ROUTED_PATHS = ("/routed", "/submit")


STATIC_CSS = b"Hello static css; " * 100
STATIC_BIG = bytes(range(256)) * 800  # 200 KiB: streamed in blocks, not held
STATIC_MTIME = 1_700_000_000
_static_root = []


def static_root():
    """A small tree for Static, made once per session: a stylesheet with a .gz sibling and a
    file larger than one block, with fixed modification times (fixed ETags)."""
    if not _static_root:
        import os
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="wsgi_mw_static_"))
        (root / "site.css").write_bytes(STATIC_CSS)
        (root / "site.css.gz").write_bytes(gzip.compress(STATIC_CSS, mtime=0))
        (root / "big.bin").write_bytes(STATIC_BIG)
        for name in ("site.css", "site.css.gz", "big.bin"):
            os.utime(root / name, (STATIC_MTIME, STATIC_MTIME))
        _static_root.append(root)
    return _static_root[0]


def build_stack(order, oracle, tracker, records):
    """`order` is outermost first; an oracle goes around every layer and every leaf app."""
    app = oracle(BaseApp(tracker))
    for name in reversed(order):
        if name == "gzip":
            app = Gzip(app, min_size=MIN_SIZE)
        elif name == "cache":
            app = Cache(app)
        elif name == "rewrite":
            app = Rewrite(app, [("Hello", "Goodbye")])
        elif name == "logger":
            app = Logger(app, sink=records.append)
        elif name == "static":
            # test_fusion's orders include Static (test_static.py checks it on its own).
            app = Static(app, static_root())
        else:
            app = Router(
                [
                    ("GET", "/routed", oracle(routed_app(tracker))),
                    ("POST", "/submit", oracle(submit_app(tracker))),
                ],
                default=app,
            )
        app = oracle(app)
    return app


# --------------------------------------------------------------------------- the requests


class Req:
    def __init__(self, method, path, ae=None, *, extra=None, body=b"", reaches_app=True):
        self.method = method
        self.path = path
        self.ae = ae
        self.extra = dict(extra or {})
        self.body = body
        # True (or true for the order) when no Cache entry can answer it
        self.reaches_app = reaches_app if callable(reaches_app) else lambda order: reaches_app

    def environ(self):
        env = make_environ(REQUEST_METHOD=self.method, PATH_INFO=self.path)
        if self.ae is not None:
            env["HTTP_ACCEPT_ENCODING"] = self.ae
        if self.body:
            import io

            env["wsgi.input"] = io.BytesIO(self.body)
            env["CONTENT_LENGTH"] = str(len(self.body))
            env["CONTENT_TYPE"] = "text/plain"
        env.update(self.extra)
        return env

    def __repr__(self):
        return f"{self.method} {self.path} AE={self.ae!r} {self.extra or ''}"


REQUESTS = [
    Req("GET", "/page", "gzip"),
    # another Accept-Encoding: a new variant for a Cache outside Gzip (Gzip adds Vary), a hit
    # for a Cache inside Gzip (it stores the identity body)
    Req("GET", "/page", None, reaches_app=lambda order: order.index("cache") < order.index("gzip")),
    Req("GET", "/page", "gzip", reaches_app=False),  # repeated: a Cache may answer it
    Req("HEAD", "/page", "gzip", reaches_app=False),
    Req("GET", "/page", "gzip", extra={"HTTP_IF_NONE_MATCH": ETAG}, reaches_app=False),
    Req("POST", "/echo", "gzip", body=b"Hello from POST"),
    Req("GET", "/stream", "deflate, gzip"),
    Req("GET", "/write", "gzip;q=0"),
    Req("GET", "/late", "br;q=1.0, gzip;q=0.8"),
    Req("GET", "/image", "gzip"),
    Req("GET", "/missing", "gzip"),
    Req("GET", "/submit", "gzip", reaches_app=False),  # 405 from Router, wherever it is
    Req("GET", "/routed", "identity"),
    Req("GET", "/boom", "gzip"),
    Req("GET", "/boom", "gzip"),  # a failed response is never stored: the app runs again
]


def accepts_gzip(ae):
    if ae is None:
        return False
    for part in ae.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and float(q[2:]) == 0)
    return False


# What the innermost app (or Router's own route) answers: status, content type, body.
SOURCES = {
    ("GET", "/page"): (200, TEXT, PAGE),
    ("HEAD", "/page"): (200, TEXT, b""),
    ("POST", "/echo"): (200, PLAIN, b"echo: Hello from POST"),
    ("GET", "/stream"): (200, PLAIN, b"".join(STREAM)),
    ("GET", "/write"): (200, PLAIN, b"".join(WRITTEN + WRITE_REST)),
    ("GET", "/late"): (200, PLAIN, b"".join(LATE)),
    ("GET", "/image"): (200, "image/png", IMAGE),
    ("GET", "/missing"): (404, PLAIN, NOT_FOUND),
    ("GET", "/routed"): (200, PLAIN, b"".join(ROUTED)),
}


def expected(order, req):
    """(status, decoded body, gzip-encoded or None when the model does not say).

    Layers inside Router never see a routed path. Walking from the innermost layer out:
    Rewrite replaces in text types unless an inner Gzip already encoded the body; Gzip
    encodes text when the client accepts gzip and the body is at least MIN_SIZE (smaller
    bodies here carry a Content-Length, so Gzip leaves them alone whenever a Rewrite is
    outside it). Cache and Logger change nothing; a Cache hit has the same body.
    """
    if req.extra.get("HTTP_IF_NONE_MATCH"):
        return 304, b"", None
    if req.path == "/submit":
        return 405, None, None  # Router's own answer; body checked separately
    status, ctype, body = SOURCES[(req.method, req.path)]
    layers = list(order)
    if req.path in ROUTED_PATHS:
        layers = layers[: layers.index("router")]
    encoded = False
    text = ctype.startswith("text/")
    for name in reversed(layers):
        if name == "rewrite" and text and not encoded:
            body = body.replace(b"Hello", b"Goodbye")
        elif name == "gzip" and text and accepts_gzip(req.ae):
            # a small body is compressed only when an inner Rewrite dropped its length:
            # the model does not say which, and no Rewrite outside can be affected
            encoded = True if len(body) >= MIN_SIZE else None
    if req.method == "HEAD":
        return status, b"", None
    return status, body, encoded


def decode(response):
    encoding = header(response.headers, "Content-Encoding")
    if encoding is None or encoding == "identity":
        return response.body, False
    assert encoding == "gzip", f"unexpected Content-Encoding {encoding!r}"
    return gzip.decompress(response.body), True


def drive(app, environ):
    """run() from conftest, but keeps the exception of a failing body."""
    server = Server()
    result = app(environ, server.start_response)
    error = None
    try:
        for chunk in result:
            server.take(chunk)
    except RuntimeError as exc:
        error = exc
    finally:
        result.close()
    if error is not None:
        return None, error
    return finish(server, environ), None


def bare_405_body():
    """Router's own 405 body (the one leaf answer the model does not spell out)."""
    router = Router([("POST", "/submit", submit_app(Tracker()))])
    server = Server()
    result = router(make_environ(REQUEST_METHOD="GET", PATH_INFO="/submit"), server.start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    assert server.status.startswith("405")
    return body


ORACLES = {
    "validator": validator,
    "werkzeug-lint": LintMiddleware,
}

# Werkzeug's lint compares Content-Length with the bytes sent even for HEAD, where HTTP
# requires the GET's length with no body (RFC 9110 section 9.3.2); that one warning is
# expected for HEAD, nothing else is.
HEAD_LENGTH_WARNING = "Content-Length and the number of bytes sent"


@pytest.mark.parametrize("oracle", list(ORACLES))
@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_order_conforms(order, oracle):
    tracker = Tracker()
    records = []
    app = build_stack(order, ORACLES[oracle], tracker, records)
    body_405 = bare_405_body()
    logged = 0
    for number, req in enumerate(REQUESTS):
        where = f"request {number} ({req!r}) through {' > '.join(order)} under {oracle}"
        tracker.bodies.clear()
        tracker.calls.clear()
        environ = req.environ()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            response, error = drive(app, environ)
        complaints = [
            f"{w.category.__name__}: {w.message}"
            for w in caught
            if not (req.method == "HEAD" and str(w.message).startswith(HEAD_LENGTH_WARNING))
        ]
        assert complaints == [], f"{where}: oracle warnings {complaints}"

        # close() of every inner iterable exactly once; the app ran when no Cache could answer
        assert [b.closed for b in tracker.bodies] == [1] * len(tracker.bodies), where
        assert len(tracker.calls) <= 1, f"{where}: app calls {tracker.calls}"
        if req.reaches_app(order):
            assert len(tracker.calls) == 1, f"{where}: app calls {tracker.calls}"

        # one Logger record per request that reaches Logger: not a Cache hit outside it, not
        # a path Router outside it sends to its own route
        traversed = list(order)
        if req.path in ROUTED_PATHS:
            traversed = traversed[: traversed.index("router")]
        # (GET /submit is answered by Router itself and asked once: never a hit)
        hit = "cache" in traversed and not tracker.calls and req.path != "/submit"
        reached = "logger" in traversed and not (
            hit and order.index("cache") < order.index("logger")
        )
        new_records = records[logged:]
        logged = len(records)
        assert len(new_records) == int(reached), f"{where}: log records {new_records}"
        if reached:
            record = new_records[0]
            assert (record["method"], record["path"]) == (req.method, req.path), where

        if req.path == "/boom":
            assert response is None, f"{where}: the app's exception did not propagate"
            assert str(error) == "boom mid-iteration", where
            continue
        assert error is None, f"{where}: {error!r}"

        status, body, encoded = expected(order, req)
        assert int(response.status[:3]) == status, f"{where}: {response.status}"
        decoded, was_encoded = decode(response)
        if status == 405:
            assert decoded == body_405, where
            assert "POST" in header(response.headers, "Allow"), where
            continue
        assert decoded == body, f"{where}: body differs from the model"
        if encoded is not None:
            assert was_encoded == encoded, f"{where}: Content-Encoding {was_encoded}"
