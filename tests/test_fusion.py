"""Fusion (issue 14): nested wsgi_mw layers run as one pipeline, and behave exactly as when
every layer is a separate WSGI hop.

For each of the 720 orders of Gzip, Cache, Rewrite, Router, Logger and Static two stacks are built
from the same apps: the fused one (our layers directly around each other, one
`wsgiref.validate.validator` outside) and the nested one (a pure-Python pass-through
middleware between every two layers and around every leaf app, which ends a chain, so each
layer runs on its own). The same requests go through both, including early closes and an app
failing mid-stream. They must give the same status, the same headers apart from an exact
Content-Length fusion may add, the same decoded body, the same log records, the same Cache
stats and the same close() counts. The nested form is the oracle; the validator/Lint suite
(test_conformance.py) runs on it against a model of its own.
"""

from __future__ import annotations

import gc
import gzip
import itertools
import warnings
import zlib
from wsgiref.validate import validator

import pytest
from conftest import Server, make_environ, run
from test_conformance import (
    LAYERS,
    REQUESTS,
    STATIC_CSS,
    STATIC_MTIME,
    Req,
    Tracker,
    build_stack,
)

import wsgi_mw
from wsgi_mw import Cache, Gzip, Logger, Rewrite, Router

ORDERS = list(itertools.permutations((*LAYERS, "static")))


class PyPass:
    """The least a Python middleware does: call the app and return what it returned."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def build(order, tracker, records, wrap):
    """test_conformance's stack, `wrap` around every layer and leaf app (its oracle slot);
    returns it and its Cache layers."""
    caches = []

    def wrapping(app):
        if isinstance(app, Cache):
            caches.append(app)
        return wrap(app)

    return build_stack(order, wrapping, tracker, records), caches


def identity(app):
    return app


# Requests beyond the conformance list: the server closes after the first item of a stream
# and of a page (a Cache must not store it, Logger must count only what was taken).
EARLY = [
    Req("GET", "/stream", "gzip"),
    Req("GET", "/stream", None),
    Req("GET", "/late", "gzip"),
    Req("GET", "/static/big.bin", None),
]

# Static's files: a sibling, the file itself, HEAD, a 304, a range, a streamed file, a 405,
# and a missing file (the app's).
STATIC_ETAG = f'"{STATIC_MTIME:x}-{len(STATIC_CSS):x}"'
STATIC_REQUESTS = [
    Req("GET", "/static/site.css", "gzip"),
    Req("GET", "/static/site.css", None),
    Req("GET", "/static/site.css", "gzip"),  # a Cache outside may answer it now
    Req("HEAD", "/static/site.css", None),
    Req("GET", "/static/site.css", None, extra={"HTTP_IF_NONE_MATCH": STATIC_ETAG}),
    Req("GET", "/static/big.bin", "gzip", extra={"HTTP_RANGE": "bytes=100-70099"}),
    Req("GET", "/static/big.bin", "gzip"),
    Req("POST", "/static/site.css", None, body=b"x"),
    Req("GET", "/static/missing.css", "gzip"),
]


def drive(app, environ, *, take=None):
    """Iterate like a server (at most `take` items), always close. Returns what the client
    got or the exception the app raised."""
    server = Server()
    try:
        result = app(environ, server.start_response)
    except Exception as exc:  # noqa: BLE001 - compared between the two forms
        return ("raised", type(exc).__name__, str(exc))
    error = None
    try:
        for n, chunk in enumerate(result):
            server.take(chunk)
            if take is not None and n + 1 >= take:
                break
    except RuntimeError as exc:
        error = exc
    finally:
        if hasattr(result, "close"):
            result.close()
    if error is not None:
        return ("raised", type(error).__name__, str(error))
    return ("response", server.status, server.headers, b"".join(server.chunks))


def comparable(outcome, method):
    """Status, headers without Content-Length, the decoded body, and the Content-Length."""
    if outcome[0] == "raised":
        return outcome, None
    _, status, headers, body = outcome
    length = [v for k, v in headers if k.lower() == "content-length"]
    # Age counts whole seconds since a Cache stored the entry: the two forms run one after
    # the other and may straddle a second, so it is compared apart.
    rest = sorted(
        (k.lower(), "<age>" if k.lower() == "age" else v)
        for k, v in headers
        if k.lower() != "content-length"
    )
    encoding = dict(rest).get("content-encoding")
    if encoding == "gzip" and body:
        # what a streaming decoder makes of it (an early close leaves the stream unfinished)
        body = zlib.decompressobj(wbits=31).decompress(body)
    return (status, rest, body), (length[0] if length else None)


def log_view(records):
    """Log records without the fields that measure time."""
    return [{k: v for k, v in r.items() if k not in ("time", "duration_us")} for r in records]


def check_same(order, fused_app, nested_app, fused, nested, req, *, take=None):
    where = f"{req!r} through {' > '.join(order)} (take={take})"
    for form in (fused, nested):
        form["tracker"].bodies.clear()
        form["tracker"].calls.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got_fused = drive(fused_app, req.environ(), take=take)
    complaints = [str(w.message) for w in caught]
    assert complaints == [], f"{where}: the validator outside the fused stack: {complaints}"
    got_nested = drive(nested_app, req.environ(), take=take)
    (fused_view, fused_length) = comparable(got_fused, req.method)
    (nested_view, nested_length) = comparable(got_nested, req.method)
    assert fused_view == nested_view, f"{where}: fused and nested responses differ"
    if nested_length is not None:
        assert fused_length == nested_length, f"{where}: Content-Length differs"
    elif fused_length is not None and got_fused[0] == "response":
        # Fusion may add an exact length (it knows a body is whole where nesting does not).
        assert int(fused_length) == len(got_fused[3]), where
    closes_f = [b.closed for b in fused["tracker"].bodies]
    closes_n = [b.closed for b in nested["tracker"].bodies]
    assert closes_f == closes_n == [1] * len(closes_n), f"{where}: close() counts"
    assert fused["tracker"].calls == nested["tracker"].calls, f"{where}: app calls"
    assert log_view(fused["records"]) == log_view(nested["records"]), f"{where}: log records"
    assert [c.stats() for c in fused["caches"]] == [c.stats() for c in nested["caches"]], (
        f"{where}: Cache stats"
    )


def forms(order):
    fused = {"tracker": Tracker(), "records": []}
    nested = {"tracker": Tracker(), "records": []}
    fused_app, fused["caches"] = build(order, fused["tracker"], fused["records"], identity)
    nested_app, nested["caches"] = build(order, nested["tracker"], nested["records"], PyPass)
    fused["app"] = fused_app
    return validator(fused_app), fused, nested_app, nested


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_fused_equals_nested(order):
    fused_app, fused, nested_app, nested = forms(order)
    for req in (*REQUESTS, *STATIC_REQUESTS):
        check_same(order, fused_app, nested_app, fused, nested, req)
    for req in EARLY:
        check_same(order, fused_app, nested_app, fused, nested, req, take=1)
    # an environ that is not a dict is refused the same way, by the same layer
    errors = []
    for app in (fused["app"], nested_app):
        with pytest.raises(TypeError) as raised:
            app([("REQUEST_METHOD", "GET")], Server().start_response)
        errors.append(str(raised.value))
    assert errors[0] == errors[1]


def count_alive(type_name):
    return sum(1 for o in gc.get_objects() if type(o).__name__ == type_name)


def test_one_capture_and_one_iterator_for_five_fused_layers():
    """A request through fused layers makes one start_response capture and one response
    iterator; with fusion off (or a Python layer between) each layer makes its own."""
    seen = {}

    def app(environ, start_response):
        seen["captures"] = count_alive("StartResponse")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello " * 200]

    def stack():
        router = Router([("GET", "/", app)])
        return Logger(Cache(Gzip(Rewrite(router, [("Hello", "Bye")]))), sink=lambda r: None)

    gc.collect()
    base = count_alive("StartResponse")
    environ = make_environ(HTTP_ACCEPT_ENCODING="gzip")
    response = run(stack(), dict(environ))
    assert gzip.decompress(response.body) == b"Bye " * 200
    assert seen["captures"] - base == 1
    wsgi_mw.set_fusion(False)
    try:
        assert wsgi_mw.fusion_enabled() is False
        response = run(stack(), dict(environ))
        assert gzip.decompress(response.body) == b"Bye " * 200
        # Logger, Cache (a MISS labelled nowhere still stores: it observes), Gzip, Rewrite
        assert seen["captures"] - base == 4
    finally:
        wsgi_mw.set_fusion(True)
    assert wsgi_mw.fusion_enabled() is True


def test_fused_iterator_is_the_only_one():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"Hello ", b"world"])

    stack = Logger(Gzip(Rewrite(app, [("Hello", "Bye")])), sink=lambda r: None)
    server = Server()
    gc.collect()
    before = count_alive("ResponseIterator")
    result = stack(make_environ(HTTP_ACCEPT_ENCODING="gzip"), server.start_response)
    try:
        assert count_alive("ResponseIterator") - before == 1
        body = b"".join(result)
    finally:
        result.close()
    assert gzip.decompress(body) == b"Bye world"


def test_foreign_layer_ends_the_chain():
    """A Python middleware between two of ours: below it things run on their own."""
    seen = {}

    def app(environ, start_response):
        seen["captures"] = count_alive("StartResponse")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello " * 200]

    gc.collect()
    base = count_alive("StartResponse")
    stack = Logger(PyPass(Gzip(Rewrite(app, [("Hello", "Bye")]))), sink=lambda r: None)
    response = run(stack, make_environ(HTTP_ACCEPT_ENCODING="gzip"))
    assert gzip.decompress(response.body) == b"Bye " * 200
    assert seen["captures"] - base == 2  # Logger's, and one for the fused Gzip(Rewrite)


def test_whole_body_gets_an_exact_length_through_fused_layers():
    """Gzip(Rewrite(list app)): the body Rewrite changed is known whole, so Gzip compresses it
    in one piece and the client gets an exact Content-Length (issue 14, item 4)."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<p>Hello</p>" * 100]

    response = run(
        Gzip(Rewrite(app, [("Hello", "Goodbye")])), make_environ(HTTP_ACCEPT_ENCODING="gzip")
    )
    length = [v for k, v in response.headers if k == "Content-Length"]
    assert length == [str(len(response.body))]
    assert gzip.decompress(response.body) == b"<p>Goodbye</p>" * 100


def test_cache_hit_skips_inner_stages_and_goes_through_outer_ones():
    calls = []
    records = []

    def app(environ, start_response):
        calls.append(1)
        start_response("200 OK", [("Content-Type", "text/html"), ("Cache-Control", "max-age=60")])
        return [b"<p>Hello</p>" * 100]

    stack = Logger(Gzip(Cache(Rewrite(app, [("Hello", "Goodbye")]))), sink=records.append)
    environ = make_environ(HTTP_ACCEPT_ENCODING="gzip")
    first = run(stack, dict(environ))
    second = run(stack, dict(environ))
    assert len(calls) == 1
    assert gzip.decompress(first.body) == gzip.decompress(second.body) == b"<p>Goodbye</p>" * 100
    assert [r["status"] for r in records] == [200, 200]
    assert records[1]["bytes"] == len(second.body)


def test_a_router_mounted_inside_itself_is_refused_not_a_crash():
    """A cycle of fused layers, followed as deep as a client's path goes: a RecursionError
    (what the nested form gives too), never an overflow of the thread's stack; the next
    request is served."""
    router = Router(
        [("GET", "/", lambda e, s: (s("200 OK", [("Content-Type", "text/plain")]), [b"ok"])[1])]
    )
    router.mount("/a", router)
    stack = Logger(Gzip(router), sink=lambda r: None)
    with pytest.raises(RecursionError, match="more than 64 wsgi_mw layers"):
        run(stack, make_environ(PATH_INFO="/a" * 100_000 + "/"))
    assert run(stack, make_environ(PATH_INFO="/a/a/")).body == b"ok"
    wsgi_mw.set_fusion(False)
    try:  # nested, every call through Python counts too
        with pytest.raises(RecursionError, match="more than 64 wsgi_mw layers"):
            run(stack, make_environ(PATH_INFO="/a" * 100_000 + "/"))
    finally:
        wsgi_mw.set_fusion(True)


def test_stages_inside_a_mount_see_the_mounted_paths_and_outer_ones_the_original():
    """The request view is read once per chain, but a mount changes SCRIPT_NAME and
    PATH_INFO for the stages inside it: a fused Cache inside keys on the mounted paths (its
    purge names them), a fused Router inside routes on the rest of the path, and the Logger
    outside logs the path the client sent. The same as nested, where every layer reads the
    environ itself."""

    def echo(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Cache-Control", "max-age=60")])
        return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()]

    def outcome(fused):
        records = []
        inner = Router([("GET", "/item/{n:int}", echo)])
        cache = Cache(PyPass(inner) if not fused else inner)
        router = Router([], default=lambda e, s: (s("404 Not Found", []), [b""])[1])
        router.mount("/api", cache if fused else PyPass(cache))
        stack = Logger(router if fused else PyPass(router), sink=records.append)
        environ = make_environ(PATH_INFO="/api/item/7", SCRIPT_NAME="/app")
        first = run(stack, dict(environ))
        second = run(stack, dict(environ))
        purged = cache.purge("/app/api/item/7")
        return first.body, second.headers, [(r["path"], r["status"]) for r in records], purged

    fused = outcome(True)
    nested = outcome(False)
    assert fused[0] == b"/app/api|/item/7"
    assert dict(fused[1])["X-Cache"] == "HIT"
    assert fused[2] == [("/app/api/item/7", 200)] * 2
    assert fused[3] == 1
    assert fused == nested
