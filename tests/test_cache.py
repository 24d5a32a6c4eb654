"""Cache behaviour, written from the spec (issue 4 and the lead's decisions) as an independent oracle.

What is stored and what never is, the key (URI parts, learned Vary, Accept-Encoding
normalisation, no collisions), freshness, refresh, invalidation by unsafe methods,
Authorization, hits (same bytes objects, Age, X-Cache, Content-Length, HEAD, 304), the LRU
byte budget, purge/clear/stats, PEP 3333 robustness and the constructor. Every request goes
through `wsgiref.validate.validator` on both sides of the Cache. The Hypothesis model, the leak
table, single-flight and the real server round trip are in test_cache_props.py.
"""

from __future__ import annotations

import email.utils
import gzip
import sys
import threading
import time
from wsgiref.validate import validator

import pytest
from conftest import (
    CountingIterable,
    EarlyStartStreamApp,
    FileWrapperApp,
    LateRaiseApp,
    LateStartApp,
    RaiseAfterStartApp,
    RaiseBeforeStartApp,
    RaiseMidIterationApp,
    Server,
    StrYieldingApp,
    WriteApp,
    error_text,
    header,
    header_values,
    make_environ,
    run,
    run_lockstep,
)

from wsgi_mw import Cache, Gzip

# Every test runs on both stores: this process's memory, and a shared Redis store (a real
# redis-server, emptied before each test). Tests of what only the in-process store has (its
# byte budget, its objects) are marked `memory_only`.
RealCache = Cache
REDIS = []  # the redis_server of the running test, on the Redis store


def pytest_generate_tests(metafunc):
    if "store_kind" in metafunc.fixturenames:
        memory_only = metafunc.definition.get_closest_marker("memory_only") is not None
        metafunc.parametrize(
            "store_kind", ["memory"] if memory_only else ["memory", "redis"], indirect=True
        )


@pytest.fixture(autouse=True)
def store_kind(request, monkeypatch):
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        monkeypatch.setattr(sys.modules[__name__], "REDIS", [server])

        def on_redis(*args, **options):
            return RealCache(*args, store=server.url, **options)

        monkeypatch.setitem(globals(), "Cache", on_redis)
    return request.param


TEXT = "text/plain; charset=utf-8"
FRESH = [("Cache-Control", "max-age=60")]
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
DEFAULT_STATUSES = (200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501)
STATS_KEYS = {
    "hits",
    "misses",
    "bypasses",
    "stores",
    "evictions",
    "entries",
    "bytes",
    "store_errors",
    "stale",
    "refused_records",
}
# Headers a hit may legitimately change compared with what the app sent.
CACHE_HEADERS = ("Age", "X-Cache", "Content-Length")


# --------------------------------------------------------------------------- helpers


def http_date(offset=0.0, now=None):
    return email.utils.formatdate((time.time() if now is None else now) + offset, usegmt=True)


def env(path="/x", method="GET", query="", environ=None, **headers):
    """A test environ for `method path?query`. Keyword arguments are request headers
    (accept_encoding="gzip" -> HTTP_ACCEPT_ENCODING); None removes one (host=None).
    `environ` holds other overrides (SCRIPT_NAME, wsgi.url_scheme, SERVER_NAME...)."""
    result = make_environ(REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING=query)
    result.update(environ or {})
    for name, value in headers.items():
        key = "HTTP_" + name.upper()
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


class Origin:
    """The app behind the Cache: counts its calls and answers a body that names the request
    and the call number (b"/x?q #3"), so a stale, shared or misrouted response shows.

    `headers` (list, or function of the environ) come after Content-Type (`content_type`
    None: no Content-Type). `respond(environ) -> (status, headers)` overrides both entirely.
    `size` pads or cuts the body to that many bytes. The body is three fresh bytes objects
    (one of them empty); HEAD gets no body. `responses` keeps (status, headers, chunks) of
    every call."""

    def __init__(
        self, headers=FRESH, *, status="200 OK", content_type=TEXT, size=None, respond=None
    ):
        self.headers = headers
        self.status = status
        self.content_type = content_type
        self.size = size
        self.respond = respond
        self.lock = threading.Lock()
        self.calls = 0
        self.environs = []
        self.responses = []

    def text(self, environ, n):
        uri = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        data = f"{uri}?{environ.get('QUERY_STRING', '')} #{n}".encode()
        if self.size is not None:
            data = (data + b"." * self.size)[: self.size]
        return data

    def __call__(self, environ, start_response):
        with self.lock:
            self.calls += 1
            n = self.calls
            self.environs.append(environ)
        if self.respond is not None:
            status, headers = self.respond(environ)
            headers = list(headers)
        else:
            status = self.status
            headers = self.headers(environ) if callable(self.headers) else list(self.headers)
            if self.content_type is not None:
                headers = [("Content-Type", self.content_type), *headers]
        data = self.text(environ, n)
        if environ["REQUEST_METHOD"] == "HEAD":
            chunks = []
        else:
            chunks = [bytes(data[:4]), b"", bytes(data[4:])]
        with self.lock:
            self.responses.append((status, headers, chunks))
        start_response(status, list(headers))
        return list(chunks)

    def body(self, call):
        """The body the app sent on call number `call` (1-based)."""
        return b"".join(self.responses[call - 1][2])


def cached(app, **options):
    """(the Cache, validator(Cache(validator(app)))): the validator on both sides."""
    mw = Cache(validator(app), **options)
    return mw, validator(mw)


def label(response, name="X-Cache"):
    return header(response.headers, name)


def drop(headers, *names):
    names = {name.lower() for name in names}
    return [(k, v) for k, v in headers if k.lower() not in names]


def stats(mw):
    s = mw.stats()
    assert type(s) is dict
    assert set(s) == STATS_KEYS, s
    # A shared store's size is not this process's to count.
    shared = mw_store(mw) is not None
    sizes = {"entries", "bytes"}
    assert all(type(v) is int for k, v in s.items() if not (shared and k in sizes)), s
    assert all((v is None) == shared for k, v in s.items() if k in sizes), s
    if shared:
        # What the shared store holds, read back with a plain Redis client.
        s = dict(s, entries=redis_entries())
    return s


def redis_entries():
    """The responses (not Vary records) stored under the default prefix on the test's Redis."""
    client = REDIS[0].client()
    return sum(
        1 for key in client.scan_iter(b"wsgi_mw:e:*") if client.get(key).startswith(b"WMC\x01R")
    )


def mw_store(mw):
    return getattr(mw, "store", None)


def assert_requests(mw, n):
    s = stats(mw)
    assert s["hits"] + s["misses"] + s["bypasses"] == n, s
    return s


def nonempty(chunks):
    return [c for c in chunks if c]


def assert_same_objects(got, sent):
    got, sent = nonempty(got), nonempty(sent)
    assert [bytes(c) for c in got] == [bytes(c) for c in sent]
    assert all(a is b for a, b in zip(got, sent)), "the body must be the app's own bytes objects"


def assert_one_stored_object(got, sent):
    """A hit sends the stored body as one bytes object (what max_bytes can count): the app's
    own object when it sent one chunk, else the chunks joined."""
    got, sent = nonempty(got), nonempty(sent)
    assert [bytes(c) for c in got] == ([b"".join(sent)] if sent else [])
    if len(sent) == 1:
        assert got[0] is sent[0], "a one-chunk body must be stored without a copy"


def assert_stored(mw, app, request, *, expected=True):
    """Two requests: the second is a HIT with the first's body (expected) or a MISS that
    called the app again (not expected)."""
    calls = app.calls
    first = run(mw, request())
    second = run(mw, request())
    if expected:
        assert label(second) == "HIT", second.headers
        assert app.calls == calls + 1
        assert second.body == first.body
    else:
        assert label(second) != "HIT", second.headers
        assert app.calls == calls + 2
    return first, second


def step(mw, environ):
    server = Server()
    return server, mw(environ, server.start_response)


# --------------------------------------------------------------------------- hits


def test_miss_then_hit_without_calling_the_app():
    app = Origin()
    mw, wsgi = cached(app)
    first = run(wsgi, env("/x"))
    assert first.status == "200 OK"
    assert label(first) == "MISS"
    assert first.body == b"/x? #1"
    second = run(wsgi, env("/x"))
    assert label(second) == "HIT"
    assert second.status == "200 OK"
    assert second.body == b"/x? #1"
    assert app.calls == 1
    s = assert_requests(mw, 2)
    assert (s["hits"], s["misses"], s["bypasses"], s["stores"]) == (1, 1, 0, 1)
    assert s["entries"] == 1
    assert mw_store(mw) is not None or s["bytes"] >= len(first.body)
    assert s["evictions"] == 0


@pytest.mark.parametrize("size", [11, 3 * 64 * 1024], ids=["small", "192KiB"])
def test_a_miss_passes_the_apps_own_bytes_and_a_hit_one_bytes_object(size):
    app = Origin(size=size)
    _mw, wsgi = cached(app)
    miss = run(wsgi, env("/x"))
    hit = run(wsgi, env("/x"))
    assert label(hit) == "HIT"
    sent = app.responses[0][2]
    assert len(nonempty(sent)) > 1
    assert_same_objects(miss.chunks, sent)
    assert_one_stored_object(hit.chunks, sent)
    assert hit.body == b"".join(sent)


def test_hit_headers_app_order_then_age_x_cache_content_length():
    extra = [
        ("Cache-Control", "max-age=60"),
        ("X-Custom", "one"),
        ("Age", "3"),
        ("X-Cache", "upstream"),
        ("ETag", '"v1"'),
        ("X-Custom", "two"),
    ]
    app = Origin(extra)
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    hit = run(wsgi, env("/x"))
    names = [k for k, _ in hit.headers]
    assert names == [
        "Content-Type",
        "Cache-Control",
        "X-Custom",
        "ETag",
        "X-Custom",
        "Age",
        "X-Cache",
        "Content-Length",
    ], hit.headers
    assert hit.headers[:5] == [
        ("Content-Type", TEXT),
        ("Cache-Control", "max-age=60"),
        ("X-Custom", "one"),
        ("ETag", '"v1"'),
        ("X-Custom", "two"),
    ]
    assert int(hit.headers[5][1]) >= 3
    assert hit.headers[6] == ("X-Cache", "HIT")
    assert hit.headers[7] == ("Content-Length", str(len(hit.body)))


def test_miss_replaces_the_apps_own_x_cache():
    app = Origin([("Cache-Control", "max-age=60"), ("X-Cache", "HIT from upstream")])
    _mw, wsgi = cached(app)
    miss = run(wsgi, env("/x"))
    assert header_values(miss.headers, "X-Cache") == ["MISS"]
    assert drop(miss.headers, "X-Cache", "Content-Length") == drop(
        app.responses[0][1], "X-Cache", "Content-Length"
    )
    hit = run(wsgi, env("/x"))
    assert header_values(hit.headers, "X-Cache") == ["HIT"]


@pytest.mark.parametrize("app_sends_length", [False, True], ids=["added", "kept"])
def test_content_length_on_hits(app_sends_length):
    def headers(environ):
        extra = list(FRESH)
        if app_sends_length:
            extra.append(("Content-Length", "6"))  # len(b"/x? #1")
        return extra

    app = Origin(headers)
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    hit = run(wsgi, env("/x"))
    assert label(hit) == "HIT"
    assert header_values(hit.headers, "Content-Length") == ["6"]
    assert hit.body == b"/x? #1"


def test_empty_body_is_stored_and_hit_has_content_length_zero():
    app = Origin(size=0)
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    hit = run(wsgi, env("/x"))
    assert label(hit) == "HIT"
    assert hit.body == b""
    assert nonempty(hit.chunks) == []
    assert header(hit.headers, "Content-Length") == "0"
    assert app.calls == 1


def test_age_counts_from_the_apps_age():
    app = Origin([("Cache-Control", "max-age=600"), ("Age", "100")])
    _mw, wsgi = cached(app)
    start = time.monotonic()
    run(wsgi, env("/x"))
    hit = run(wsgi, env("/x"))
    elapsed = time.monotonic() - start
    ages = header_values(hit.headers, "Age")
    assert len(ages) == 1
    assert 100 <= int(ages[0]) <= 100 + elapsed + 1


def test_age_of_a_new_entry_is_small():
    app = Origin()
    _mw, wsgi = cached(app)
    start = time.monotonic()
    run(wsgi, env("/x"))
    hit = run(wsgi, env("/x"))
    elapsed = time.monotonic() - start
    assert 0 <= int(header(hit.headers, "Age")) <= elapsed + 1


def test_head_is_answered_from_the_get_entry():
    app = Origin([("Cache-Control", "max-age=60"), ("ETag", '"v1"')])
    mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    get_hit = run(wsgi, env("/x"))
    head_hit = run(wsgi, env("/x", "HEAD"))
    assert app.calls == 1
    assert label(head_hit) == "HIT"
    assert head_hit.status == "200 OK"
    assert head_hit.body == b""
    assert drop(head_hit.headers, "Age") == drop(get_hit.headers, "Age")
    assert header(head_hit.headers, "Content-Length") == str(len(get_hit.body))
    assert_requests(mw, 3)


def test_head_miss_is_not_stored():
    app = Origin()
    mw, wsgi = cached(app)
    assert label(run(wsgi, env("/x", "HEAD"))) == "MISS"
    assert label(run(wsgi, env("/x", "HEAD"))) == "MISS"
    assert app.calls == 2
    assert stats(mw)["stores"] == 0
    assert label(run(wsgi, env("/x"))) == "MISS"
    assert app.calls == 3
    assert label(run(wsgi, env("/x", "HEAD"))) == "HIT"
    assert app.calls == 3


# --------------------------------------------------------------------------- X-Cache


def test_labels_and_stats_for_hit_miss_bypass():
    app = Origin()
    mw, wsgi = cached(app, request_directives="honor")
    assert label(run(wsgi, env("/x"))) == "MISS"
    assert label(run(wsgi, env("/x"))) == "HIT"
    assert label(run(wsgi, env("/x", "POST"))) == "BYPASS"
    assert label(run(wsgi, env("/x", cache_control="no-store"))) == "BYPASS"
    s = assert_requests(mw, 4)
    assert (s["hits"], s["misses"], s["bypasses"]) == (1, 1, 2)


def test_status_header_none_adds_no_header():
    app = Origin([("Cache-Control", "max-age=60"), ("X-Other", "1")])
    mw, wsgi = cached(app, status_header=None)
    responses = [run(wsgi, env("/x")), run(wsgi, env("/x")), run(wsgi, env("/x", "POST"))]
    for response in responses:
        assert header(response.headers, "X-Cache") is None, response.headers
    assert app.calls == 2  # the hit still happened
    assert responses[1].body == responses[0].body
    s = assert_requests(mw, 3)
    assert (s["hits"], s["misses"], s["bypasses"]) == (1, 1, 1)


def test_custom_status_header_name():
    app = Origin()
    _mw, wsgi = cached(app, status_header="X-Cache-Status")
    miss, hit, bypass = run(wsgi, env("/x")), run(wsgi, env("/x")), run(wsgi, env("/x", "PUT"))
    assert [label(r, "X-Cache-Status") for r in (miss, hit, bypass)] == ["MISS", "HIT", "BYPASS"]
    for response in (miss, hit, bypass):
        assert header(response.headers, "X-Cache") is None


# --------------------------------------------------------------------------- what is stored


STORED_STATUSES = [
    "200 OK",
    "203 Non-Authoritative Information",
    "204 No Content",
    "300 Multiple Choices",
    "301 Moved Permanently",
    "308 Permanent Redirect",
    "404 Not Found",
    "405 Method Not Allowed",
    "410 Gone",
    "414 URI Too Long",
    "501 Not Implemented",
]
NOT_STORED_STATUSES = [
    "201 Created",
    "202 Accepted",
    "206 Partial Content",
    "302 Found",
    "303 See Other",
    "307 Temporary Redirect",
    "400 Bad Request",
    "401 Unauthorized",
    "403 Forbidden",
    "500 Internal Server Error",
    "502 Bad Gateway",
    "503 Service Unavailable",
]


def status_app(status, headers=FRESH):
    no_body = status.startswith("204")
    return Origin(
        headers, status=status, content_type=None if no_body else TEXT, size=0 if no_body else None
    )


@pytest.mark.parametrize("status", STORED_STATUSES)
def test_default_statuses_are_stored(status):
    app = status_app(status)
    mw, wsgi = cached(app)
    _first, second = assert_stored(wsgi, app, lambda: env("/x"))
    assert second.status == status
    assert stats(mw)["stores"] == 1


@pytest.mark.parametrize("status", NOT_STORED_STATUSES)
def test_other_statuses_are_never_stored(status):
    app = status_app(status, [("Cache-Control", "public, max-age=60")])
    mw, wsgi = cached(app)
    first, second = assert_stored(wsgi, app, lambda: env("/x"), expected=False)
    assert (first.status, second.status) == (status, status)
    assert first.body == b"/x? #1" and second.body == b"/x? #2"
    assert stats(mw)["stores"] == 0


@pytest.mark.parametrize(
    "statuses, status, stored",
    [
        pytest.param((200,), "404 Not Found", False, id="404_not_in_custom"),
        pytest.param((200,), "200 OK", True, id="200_in_custom"),
        pytest.param([500], "500 Internal Server Error", True, id="500_in_custom"),
        pytest.param([500], "200 OK", False, id="200_not_in_custom"),
        pytest.param(range(400, 500), "418 I'm a teapot", True, id="range_iterable"),
        pytest.param((), "200 OK", False, id="empty"),
    ],
)
def test_custom_statuses(statuses, status, stored):
    app = status_app(status)
    _mw, wsgi = cached(app, statuses=statuses)
    assert_stored(wsgi, app, lambda: env("/x"), expected=stored)


def now_headers(*pairs):
    """Headers built at request time; "NOW+60" style values become HTTP-dates."""

    def build(environ):
        now = int(time.time())  # one instant for every date of the response
        out = []
        for name, value in pairs:
            if isinstance(value, str) and value.startswith("NOW"):
                value = http_date(float(value[3:] or 0), now)
            out.append((name, value))
        return out

    return build


NEVER_STORED = [
    pytest.param([*FRESH, ("Set-Cookie", "a=1")], id="set_cookie"),
    pytest.param(
        [("cache-control", "public, max-age=60"), ("set-cookie", "a=1")],
        id="set_cookie_lowercase_with_public",
    ),
    pytest.param(
        [("Cache-Control", "public, s-maxage=60"), ("Set-Cookie", "a=1")],
        id="set_cookie_with_s_maxage",
    ),
    pytest.param([("Cache-Control", "no-store")], id="no_store"),
    pytest.param([("Cache-Control", "public, max-age=60, no-store")], id="no_store_in_list"),
    pytest.param([("Cache-Control", "max-age=60, NO-STORE")], id="no_store_uppercase"),
    pytest.param(
        [("Cache-Control", "max-age=60"), ("Cache-Control", "no-store")],
        id="no_store_second_field_line",
    ),
    pytest.param([("Cache-Control", "private")], id="private"),
    pytest.param([("Cache-Control", "private, max-age=60")], id="private_max_age"),
    pytest.param([("Cache-Control", "s-maxage=60, private")], id="private_s_maxage"),
    pytest.param([("Cache-Control", "no-cache")], id="no_cache"),
    pytest.param([("Cache-Control", "no-cache, max-age=60")], id="no_cache_max_age"),
    pytest.param([("Cache-Control", "max-age=0")], id="max_age_0"),
    pytest.param([("Cache-Control", "public, max-age=0")], id="max_age_0_public"),
    pytest.param([("Cache-Control", "s-maxage=0, max-age=60")], id="s_maxage_0_wins"),
    pytest.param([*FRESH, ("Vary", "*")], id="vary_star"),
    pytest.param([*FRESH, ("Vary", "Accept-Language, *")], id="vary_star_in_list"),
    pytest.param([*FRESH, ("Vary", "Accept-Language"), ("Vary", "*")], id="vary_star_second_line"),
    pytest.param(now_headers(("Expires", "NOW-60")), id="expires_in_the_past"),
    pytest.param(now_headers(("Date", "NOW"), ("Expires", "NOW")), id="expires_equals_date"),
    pytest.param(now_headers(("Date", "NOW"), ("Expires", "NOW-60")), id="expires_before_date"),
    pytest.param([("Expires", "0")], id="expires_invalid_zero"),
    pytest.param([("Expires", "tomorrow")], id="expires_invalid_text"),
    pytest.param(
        now_headers(("Cache-Control", "max-age=0"), ("Expires", "NOW+600")),
        id="max_age_0_beats_expires",
    ),
]


@pytest.mark.parametrize("headers", NEVER_STORED)
def test_never_stored(headers):
    app = Origin(headers)
    mw, wsgi = cached(app)  # default_ttl=60: only the response's own headers keep it out
    first, second = assert_stored(wsgi, app, lambda: env("/x"), expected=False)
    for n, response in enumerate((first, second), 1):
        assert label(response) == "MISS"
        assert response.body == app.body(n)
        assert drop(response.headers, *CACHE_HEADERS) == drop(
            app.responses[n - 1][1], *CACHE_HEADERS
        )
    s = assert_requests(mw, 2)
    assert (s["stores"], s["entries"]) == (0, 0)


@pytest.mark.parametrize(
    "headers, default_ttl, stored",
    [
        pytest.param(FRESH, 0, True, id="max_age_with_default_ttl_0"),
        pytest.param(
            [("Cache-Control", "s-maxage=60, max-age=0")], 0, True, id="s_maxage_beats_max_age_0"
        ),
        pytest.param([("Cache-Control", "s-maxage=60")], 0, True, id="s_maxage_alone"),
        pytest.param(
            now_headers(("Cache-Control", "max-age=60"), ("Expires", "NOW-600")),
            0,
            True,
            id="max_age_beats_expires_in_the_past",
        ),
        pytest.param(
            now_headers(("Date", "NOW"), ("Expires", "NOW+600")), 0, True, id="expires_minus_date"
        ),
        pytest.param(now_headers(("Expires", "NOW+600")), 0, True, id="expires_without_date"),
        pytest.param(
            now_headers(("Date", "NOW"), ("Expires", "NOW")),
            60,
            False,
            id="expires_beats_default_ttl",
        ),
        pytest.param([], 60, True, id="default_ttl"),
        pytest.param([], 0, False, id="default_ttl_0"),
        pytest.param(now_headers(("Date", "NOW")), 0, False, id="default_ttl_0_with_date"),
        pytest.param([("Cache-Control", "public")], 0, False, id="public_alone_default_ttl_0"),
        pytest.param([("Cache-Control", "public")], 60, True, id="public_alone_default_ttl"),
        pytest.param(
            [("ETag", '"v1"'), ("Last-Modified", LAST_MODIFIED)],
            0,
            False,
            id="validators_alone_default_ttl_0",
        ),
    ],
)
def test_freshness_lifetime_decides(headers, default_ttl, stored):
    app = Origin(headers)
    _mw, wsgi = cached(app, default_ttl=default_ttl)
    assert_stored(wsgi, app, lambda: env("/x"), expected=stored)


def test_honored_request_no_store_bypasses_and_stores_nothing():
    app = Origin()
    mw, wsgi = cached(app, request_directives="honor")
    first = run(wsgi, env("/x", cache_control="no-store"))
    assert label(first) == "BYPASS"
    assert label(run(wsgi, env("/x"))) == "MISS"  # nothing was stored
    assert app.calls == 2
    # With an entry present: not served, not replaced.
    bypass = run(wsgi, env("/x", cache_control="no-store"))
    assert label(bypass) == "BYPASS"
    assert bypass.body == app.body(3)
    hit = run(wsgi, env("/x"))
    assert label(hit) == "HIT"
    assert hit.body == app.body(2)
    s = assert_requests(mw, 4)
    assert (s["hits"], s["misses"], s["bypasses"], s["stores"]) == (1, 1, 2, 1)


# --------------------------------------------------------------------------- max_entry_bytes


@pytest.mark.parametrize("shape", ["list", "stream"])
@pytest.mark.parametrize("size, stored", [(1000, True), (1001, False)], ids=["equal", "over"])
def test_max_entry_bytes_boundary(size, stored, shape):
    if shape == "list":
        app = Origin(size=size)
    else:
        data = b"x" * size
        app = EarlyStartStreamApp([data[:300], data[300:600], data[600:]], headers=FRESH)
    _mw, wsgi = cached(app, max_entry_bytes=1000)
    first, second = assert_stored(wsgi, app, lambda: env("/x"), expected=stored)
    assert len(first.body) == len(second.body) == size


def test_streamed_body_crossing_the_limit_streams_whole_and_is_not_stored():
    chunks = [bytes([65 + i]) * 400 for i in range(6)]  # 2400 bytes, limit 1000
    app = EarlyStartStreamApp(chunks, headers=FRESH)
    mw = Cache(app, max_entry_bytes=1000)
    for n in (1, 2):
        response = run_lockstep(mw, app, env("/x"))  # never buffers ahead of the client
        assert response.body == b"".join(chunks)
        assert label(response) == "MISS"
        assert app.calls == n
    assert stats(mw)["stores"] == 0


def test_generator_body_crossing_the_limit_reaches_the_client_whole():
    calls = []

    def app(environ, start_response):
        calls.append(1)
        start_response("200 OK", [("Content-Type", TEXT), *FRESH])
        for i in range(50):
            yield b"%04d" % i * 100  # 400 bytes each, 20000 in all

    mw, wsgi = cached(app, max_entry_bytes=1000)
    expected = b"".join(b"%04d" % i * 100 for i in range(50))
    for n in (1, 2):
        response = run(wsgi, env("/x"))
        assert response.body == expected
        assert label(response) == "MISS"
        assert len(calls) == n
    assert stats(mw)["entries"] == 0


def test_max_entry_bytes_zero_stores_only_empty_bodies():
    app = Origin(size=5)
    _mw, wsgi = cached(app, max_entry_bytes=0)
    assert_stored(wsgi, app, lambda: env("/x"), expected=False)
    empty = Origin(size=0)
    _mw, wsgi = cached(empty, max_entry_bytes=0)
    assert_stored(wsgi, empty, lambda: env("/x"), expected=True)


# --------------------------------------------------------------------------- freshness over time


@pytest.mark.memory_only
def test_entries_expire_after_their_lifetime():
    # One sleep for the whole file: lifetimes of 1 s, checked 2.2 s later.
    lifetimes = {
        "/max-age": [("Cache-Control", "max-age=1")],
        "/s-maxage": [("Cache-Control", "s-maxage=1, max-age=600")],
        "/expires": now_headers(("Date", "NOW"), ("Expires", "NOW+1")),
        "/default": [],
        "/fresh": [("Cache-Control", "max-age=600")],
        "/fresh-s-maxage": [("Cache-Control", "max-age=1, s-maxage=600")],
    }

    def headers(environ):
        value = lifetimes[environ["PATH_INFO"]]
        return value(environ) if callable(value) else list(value)

    app = Origin(headers)
    mw, wsgi = cached(app, default_ttl=1)
    for path in lifetimes:
        assert label(run(wsgi, env(path))) == "MISS"
    for path in lifetimes:
        assert label(run(wsgi, env(path))) == "HIT", path

    # The byte budget: an expired entry is evicted before the least recently used one.
    budget_app = Origin(
        lambda e: [("Cache-Control", "max-age=1" if e["PATH_INFO"] == "/old" else "max-age=600")],
        size=1500,
    )
    # Each entry is charged its body plus headers and bookkeeping (about 2 800 bytes).
    budget, budget_wsgi = cached(budget_app, max_bytes=10_000, max_entry_bytes=4000)
    for path in ("/a", "/old", "/b"):  # LRU order: /a oldest
        assert label(run(budget_wsgi, env(path))) == "MISS"
    assert stats(budget)["entries"] == 3

    time.sleep(2.2)

    calls = app.calls
    for path in ("/max-age", "/s-maxage", "/expires", "/default"):
        response = run(wsgi, env(path))
        assert label(response) == "MISS", f"{path} served after its lifetime"
        assert response.body == app.body(app.calls)
    assert app.calls == calls + 4
    for path in ("/max-age", "/s-maxage", "/expires", "/default"):
        assert label(run(wsgi, env(path))) == "HIT", f"{path} not stored again"
    for path in ("/fresh", "/fresh-s-maxage"):
        response = run(wsgi, env(path))
        assert label(response) == "HIT", path
        assert int(header(response.headers, "Age")) >= 2
    assert app.calls == calls + 4
    assert_requests(mw, 6 + 6 + 4 + 4 + 2)

    assert label(run(budget_wsgi, env("/c"))) == "MISS"  # needs room: /old goes, not /a
    for path in ("/a", "/b", "/c"):
        assert label(run(budget_wsgi, env(path))) == "HIT", path
    assert stats(budget)["evictions"] == 1
    assert label(run(budget_wsgi, env("/old"))) == "MISS"


# --------------------------------------------------------------------------- refresh


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"cache_control": "no-cache"}, id="no_cache"),
        pytest.param({"cache_control": "max-age=0"}, id="max_age_0"),
        pytest.param({"pragma": "no-cache"}, id="pragma"),
    ],
)
def test_honored_refresh_skips_the_entry_and_replaces_it(headers):
    app = Origin()
    mw, wsgi = cached(app, request_directives="honor")
    run(wsgi, env("/x"))
    assert run(wsgi, env("/x")).body == app.body(1)
    refreshed = run(wsgi, env("/x", **headers))
    assert label(refreshed) == "MISS"
    assert app.calls == 2
    assert refreshed.body == app.body(2)
    hit = run(wsgi, env("/x"))
    assert label(hit) == "HIT"
    assert hit.body == app.body(2)
    s = assert_requests(mw, 4)
    assert (s["hits"], s["misses"], s["stores"], s["entries"]) == (2, 2, 2, 1)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"cache_control": "no-cache"}, id="no_cache"),
        pytest.param({"cache_control": "max-age=0"}, id="max_age_0"),
        pytest.param({"pragma": "no-cache"}, id="pragma"),
        pytest.param({"cache_control": "max-age=10"}, id="max_age_10"),
        pytest.param({"cache_control": "no-store"}, id="no_store"),
    ],
)
def test_ignored_request_directives_get_the_stored_entry(headers):
    # The default, as CDNs and Varnish: no client can replace a shared entry on demand.
    app = Origin([("Cache-Control", "max-age=600"), ("Age", "30")])
    mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    response = run(wsgi, env("/x", **headers))
    assert label(response) == "HIT"
    assert response.body == app.body(1)
    assert app.calls == 1
    assert stats(mw)["stores"] == 1


def test_ignored_request_no_store_keeps_its_own_miss_out_of_the_store():
    app = Origin()
    mw, wsgi = cached(app)
    miss = run(wsgi, env("/x", cache_control="no-store"))
    assert label(miss) == "MISS"
    assert label(run(wsgi, env("/x"))) == "MISS"
    assert app.calls == 2
    assert stats(mw)["stores"] == 1


def reflecting_app(environ, start_response):
    """Reflects unkeyed headers into the page, as apps that build absolute URLs do."""
    host = environ.get("HTTP_X_FORWARDED_HOST", environ.get("HTTP_HOST", "site.example"))
    start_response("200 OK", [("Content-Type", "text/html"), *FRESH])
    return [f'<a href="https://{host}/next">next</a>'.encode()]


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param({"cache_control": "no-cache"}, id="no_cache"),
        pytest.param({"pragma": "no-cache"}, id="pragma"),
        pytest.param({"cache_control": "max-age=0"}, id="max_age_0"),
    ],
)
def test_a_client_refresh_cannot_poison_a_fresh_entry(attack):
    _mw, wsgi = cached(reflecting_app)
    good = run(wsgi, env("/x"))
    poisoned = run(wsgi, env("/x", x_forwarded_host="evil.example", **attack))
    assert label(poisoned) == "HIT"
    after = run(wsgi, env("/x"))
    assert after.body == good.body
    assert b"evil" not in after.body
    # Honouring directives re-opens the hole: that is why it is not the default.
    _mw, honoring = cached(reflecting_app, request_directives="honor")
    run(honoring, env("/x"))
    run(honoring, env("/x", x_forwarded_host="evil.example", **attack))
    assert b"evil.example" in run(honoring, env("/x")).body


def test_request_max_age_refuses_an_older_entry_and_refreshes_it():
    # RFC 9111 §5.2.1.1: max-age=N in the request: nothing older than N seconds. The entry
    # gets an Age from the app (Age: 30, max-age=600), so no sleeping is needed.
    app = Origin([("Cache-Control", "max-age=600"), ("Age", "30")])
    mw, wsgi = cached(app, request_directives="honor")
    run(wsgi, env("/x"))
    young_enough = run(wsgi, env("/x", cache_control="max-age=60"))
    assert (label(young_enough), header(young_enough.headers, "Age")) == ("HIT", "30")
    too_old = run(wsgi, env("/x", cache_control="max-age=10"))
    assert label(too_old) == "MISS"
    assert too_old.body == app.body(2)
    # The refreshed response replaced the entry.
    assert run(wsgi, env("/x")).body == app.body(2)
    s = assert_requests(mw, 4)
    assert (s["hits"], s["misses"], s["stores"], s["entries"]) == (2, 2, 2, 1)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(
            {"pragma": "no-cache", "cache_control": "no-transform"},
            id="pragma_ignored_with_cache_control",
        ),
        pytest.param({"cache_control": "max-age=600"}, id="request_max_age_600"),
        pytest.param({"pragma": "x-other"}, id="other_pragma"),
    ],
)
def test_not_a_refresh(headers):
    app = Origin()
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    response = run(wsgi, env("/x", **headers))
    assert label(response) == "HIT"
    assert app.calls == 1


# --------------------------------------------------------------------------- 304 from the cache


def conditional_app():
    return Origin(
        [
            ("Cache-Control", "max-age=60"),
            ("ETag", '"v1"'),
            ("Last-Modified", LAST_MODIFIED),
            ("Content-Language", "en"),
            ("X-Custom", "x"),
        ]
    )


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "headers, not_modified",
    [
        pytest.param({"if_none_match": '"v1"'}, True, id="inm_exact"),
        pytest.param({"if_none_match": 'W/"v1"'}, True, id="inm_weak_request"),
        pytest.param({"if_none_match": '"a", "v1", "b"'}, True, id="inm_list"),
        pytest.param({"if_none_match": '"a",W/"v1"'}, True, id="inm_list_weak"),
        pytest.param({"if_none_match": "*"}, True, id="inm_star"),
        pytest.param({"if_none_match": '"v2"'}, False, id="inm_other"),
        pytest.param({"if_none_match": '"v1x", "xv1"'}, False, id="inm_similar_tags"),
        pytest.param({"if_modified_since": LAST_MODIFIED}, True, id="ims_equal"),
        pytest.param({"if_modified_since": "Thu, 22 Oct 2015 07:28:00 GMT"}, True, id="ims_later"),
        pytest.param(
            {"if_modified_since": "Tue, 20 Oct 2015 07:28:00 GMT"}, False, id="ims_earlier"
        ),
        pytest.param({"if_modified_since": "not a date"}, False, id="ims_invalid"),
        pytest.param(
            {"if_none_match": '"v2"', "if_modified_since": LAST_MODIFIED},
            False,
            id="inm_decides_over_ims",
        ),
        pytest.param(
            {"if_none_match": '"v1"', "if_modified_since": "Tue, 20 Oct 2015 07:28:00 GMT"},
            True,
            id="inm_match_ims_ignored",
        ),
    ],
)
def test_conditional_requests_answered_from_the_cache(headers, not_modified, method):
    app = conditional_app()
    mw, wsgi = cached(app)
    stored = run(wsgi, env("/x"))
    response = run(wsgi, env("/x", method, **headers))
    assert app.calls == 1
    assert label(response) == "HIT"
    if not_modified:
        assert response.status == "304 Not Modified"
        assert response.body == b""
        assert header(response.headers, "Content-Type") is None
        assert header(response.headers, "Content-Length") is None
        assert sorted(drop(response.headers, "Age", "X-Cache")) == sorted(
            [("Cache-Control", "max-age=60"), ("ETag", '"v1"')]
        )
        assert header(response.headers, "Age") is not None
    else:
        assert response.status == "200 OK"
        assert response.body == (stored.body if method == "GET" else b"")
    s = assert_requests(mw, 2)
    assert s["hits"] == 1


def test_304_keeps_only_the_listed_validator_headers():
    app = Origin(
        now_headers(
            ("Cache-Control", "max-age=60"),
            ("Content-Location", "/x.en"),
            ("Date", "NOW"),
            ("ETag", 'W/"v1"'),
            ("Expires", "NOW+3600"),
            ("Vary", "Accept-Language"),
            ("Last-Modified", LAST_MODIFIED),
            ("Content-Language", "en"),
            ("Content-Encoding", "identity"),
            ("X-Custom", "x"),
            ("Link", "</style.css>; rel=preload"),
        )
    )
    _mw, wsgi = cached(app)
    run(wsgi, env("/x", accept_language="en"))
    response = run(wsgi, env("/x", accept_language="en", if_none_match='"v1"'))
    assert response.status == "304 Not Modified"
    assert app.calls == 1
    kept = {"cache-control", "content-location", "date", "etag", "expires", "vary"}
    stored = app.responses[0][1]
    assert sorted(drop(response.headers, "Age", "X-Cache")) == sorted(
        (k, v) for k, v in stored if k.lower() in kept
    )
    assert len(drop(response.headers, "Age", "X-Cache")) == 6
    assert header(response.headers, "X-Cache") == "HIT"
    assert header(response.headers, "Age") is not None


def test_stored_weak_etag_matches_strong_request_tag():
    app = Origin([("Cache-Control", "max-age=60"), ("ETag", 'W/"v1"')])
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    for tag in ('"v1"', 'W/"v1"'):
        response = run(wsgi, env("/x", if_none_match=tag))
        assert response.status == "304 Not Modified", tag
    assert app.calls == 1


def test_no_validators_stored_means_full_hit():
    app = Origin()  # no ETag, no Last-Modified
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    for headers in ({"if_none_match": '"v1"'}, {"if_modified_since": LAST_MODIFIED}):
        response = run(wsgi, env("/x", **headers))
        assert response.status == "200 OK"
        assert label(response) == "HIT"
        assert response.body == app.body(1)


def test_conditional_miss_goes_to_the_app():
    app = conditional_app()
    _mw, wsgi = cached(app)
    response = run(wsgi, env("/x", if_none_match='"v1"'))
    assert label(response) == "MISS"
    assert app.calls == 1
    assert app.environs[0].get("HTTP_IF_NONE_MATCH") in ('"v1"', None)


# --------------------------------------------------------------------------- invalidation


def site_for_unsafe(status):
    """GET/HEAD: a cacheable page; other methods: `status`."""

    def respond(environ):
        if environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            return "200 OK", [("Content-Type", TEXT), *FRESH, ("Vary", "Accept-Language")]
        if status.startswith("204"):
            return status, []
        return status, [("Content-Type", TEXT)]

    return Origin(respond=respond)


def store_neighbours(wsgi):
    """Stores /x (two Vary variants) and the URIs that must survive an invalidation of it."""
    requests = {
        "x_en": lambda: env("/x", accept_language="en"),
        "x_fr": lambda: env("/x", accept_language="fr"),
        "x_query": lambda: env("/x", query="a=1"),
        "y": lambda: env("/y"),
        "other_host": lambda: env("/x", host="other.example"),
        "https": lambda: env("/x", environ={"wsgi.url_scheme": "https"}),
        "script": lambda: env("/x", environ={"SCRIPT_NAME": "/app"}),
    }
    for name, request in requests.items():
        assert label(run(wsgi, request())) == "MISS", name
    return requests


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "status", ["200 OK", "201 Created", "204 No Content", "302 Found", "303 See Other"]
)
def test_successful_unsafe_method_invalidates_every_variant_of_that_uri(method, status):
    app = site_for_unsafe(status)
    mw, wsgi = cached(app)
    requests = store_neighbours(wsgi)
    entries = stats(mw)["entries"]
    assert entries == 7
    response = run(wsgi, env("/x", method))
    assert label(response) == "BYPASS"
    assert response.status == status
    assert stats(mw)["entries"] == entries - 2
    calls = app.calls
    for name, request in requests.items():
        expected = "MISS" if name in ("x_en", "x_fr") else "HIT"
        assert label(run(wsgi, request())) == expected, name
    assert app.calls == calls + 2
    assert stats(mw)["evictions"] == 0


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "status",
    [
        "400 Bad Request",
        "404 Not Found",
        "409 Conflict",
        "500 Internal Server Error",
        "503 Service Unavailable",
    ],
)
def test_failed_unsafe_method_invalidates_nothing(method, status):
    app = site_for_unsafe(status)
    _mw, wsgi = cached(app)
    requests = store_neighbours(wsgi)
    response = run(wsgi, env("/x", method))
    assert label(response) == "BYPASS"
    assert response.status == status
    for name, request in requests.items():
        assert label(run(wsgi, request())) == "HIT", name


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE"])
def test_safe_methods_bypass_and_invalidate_nothing(method):
    app = site_for_unsafe("200 OK")
    _mw, wsgi = cached(app)
    requests = store_neighbours(wsgi)
    response = run(wsgi, env("/x", method))
    assert label(response) == "BYPASS"
    for name, request in requests.items():
        assert label(run(wsgi, request())) == "HIT", name


def test_extension_method_invalidates_too():
    # Any method other than GET, HEAD, OPTIONS, TRACE. No validator: it warns on the method.
    app = site_for_unsafe("200 OK")
    mw = Cache(app)
    run(mw, env("/x"))
    assert label(run(mw, env("/x"))) == "HIT"
    assert label(run(mw, env("/x", "PURGE"))) == "BYPASS"
    assert label(run(mw, env("/x"))) == "MISS"


def test_invalidation_happens_at_start_response_even_if_the_body_is_never_read():
    app = site_for_unsafe("200 OK")
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    server, outer = step(wsgi, env("/x", "POST"))
    outer.close()
    assert server.status == "200 OK"
    assert label(run(wsgi, env("/x"))) == "MISS"


def test_unsafe_response_passes_through_unchanged():
    app = site_for_unsafe("201 Created")
    mw, wsgi = cached(app)
    response = run(wsgi, env("/x", "POST"))
    status, headers, chunks = app.responses[0]
    assert response.status == status
    assert drop(response.headers, *CACHE_HEADERS) == drop(headers, *CACHE_HEADERS)
    assert_same_objects(response.chunks, chunks)
    assert stats(mw)["stores"] == 0


# --------------------------------------------------------------------------- Authorization


def test_authorization_bypasses_a_non_shareable_entry_and_does_not_replace_it():
    app = Origin()
    mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    personal = run(wsgi, env("/x", authorization="Bearer alice"))
    assert label(personal) == "BYPASS"
    assert personal.body == app.body(2)
    assert app.environs[1]["HTTP_AUTHORIZATION"] == "Bearer alice"
    hit = run(wsgi, env("/x"))
    assert label(hit) == "HIT"
    assert hit.body == app.body(1)
    s = assert_requests(mw, 3)
    assert s["stores"] == 1


@pytest.mark.parametrize(
    "cache_control",
    ["max-age=60", "", "private, max-age=60", "no-cache"],
)
def test_authorization_response_not_shareable_is_not_stored(cache_control):
    app = Origin([("Cache-Control", cache_control)] if cache_control else [])
    mw, wsgi = cached(app)
    for token in ("Bearer alice", "Bearer alice", "Bearer bob"):
        response = run(wsgi, env("/x", authorization=token))
        assert label(response) == "BYPASS"
        assert response.body == app.body(app.calls)
    assert label(run(wsgi, env("/x"))) == "MISS"
    assert app.calls == 4
    s = assert_requests(mw, 4)
    assert s["bypasses"] == 3


@pytest.mark.parametrize(
    "cache_control",
    ["public, max-age=60", "s-maxage=60", "must-revalidate, max-age=60", "max-age=60, public"],
)
def test_authorization_response_marked_shareable_is_stored_and_served(cache_control):
    app = Origin([("Cache-Control", cache_control)])
    mw, wsgi = cached(app)
    first = run(wsgi, env("/x", authorization="Bearer alice"))
    assert label(first) in ("MISS", "BYPASS")
    for request in (env("/x", authorization="Bearer bob"), env("/x")):
        response = run(wsgi, request)
        assert label(response) == "HIT"
        assert response.body == first.body
    assert app.calls == 1
    assert_requests(mw, 3)


@pytest.mark.parametrize(
    "cache_control, shareable",
    [
        ("public, max-age=60", True),
        ("s-maxage=60", True),
        ("must-revalidate, max-age=60", True),
        ("max-age=60", False),
    ],
)
def test_authorization_served_only_shareable_entries(cache_control, shareable):
    app = Origin([("Cache-Control", cache_control)])
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    response = run(wsgi, env("/x", authorization="Basic YWxpY2U6cHc="))
    assert label(response) == ("HIT" if shareable else "BYPASS")
    assert app.calls == (1 if shareable else 2)


# --------------------------------------------------------------------------- Vary


def test_vary_learned_per_uri_values_give_entries_absent_is_not_empty():
    app = Origin([*FRESH, ("Vary", "Accept-Language")])
    mw, wsgi = cached(app)
    requests = [
        ("en", env("/x", accept_language="en")),
        ("fr", env("/x", accept_language="fr")),
        ("absent", env("/x")),
        ("empty", env("/x", accept_language="")),
    ]
    for n, (name, request) in enumerate(requests, 1):
        response = run(wsgi, request)
        assert label(response) == "MISS", name
        assert response.body == app.body(n)
    for n, (name, _) in enumerate(requests, 1):
        again = {
            "en": env("/x", accept_language="en"),
            "fr": env("/x", accept_language="fr"),
            "absent": env("/x"),
            "empty": env("/x", accept_language=""),
        }[name]
        response = run(wsgi, again)
        assert label(response) == "HIT", name
        assert response.body == app.body(n), name
    assert app.calls == 4
    assert stats(mw)["entries"] == 4


def test_vary_on_another_uri_does_not_split_this_one():
    def headers(environ):
        return [*FRESH, ("Vary", "Accept-Language")] if environ["PATH_INFO"] == "/v" else FRESH

    app = Origin(headers)
    _mw, wsgi = cached(app)
    run(wsgi, env("/v", accept_language="en"))
    run(wsgi, env("/plain", accept_language="en"))
    assert label(run(wsgi, env("/plain", accept_language="fr"))) == "HIT"
    assert label(run(wsgi, env("/v", accept_language="fr"))) == "MISS"


def test_vary_header_names_case_insensitive_and_several_lines():
    app = Origin([*FRESH, ("Vary", "accept-language"), ("vary", "X-Flavor, Accept")])
    _mw, wsgi = cached(app)

    def request(lang, flavor, accept):
        return env("/x", accept_language=lang, x_flavor=flavor, accept=accept)

    base = ("en", "a", "text/html")
    run(wsgi, request(*base))
    assert label(run(wsgi, request(*base))) == "HIT"
    for changed in (("fr", "a", "text/html"), ("en", "b", "text/html"), ("en", "a", "*/*")):
        assert label(run(wsgi, request(*changed))) == "MISS", changed


AE_PAIRS = [
    pytest.param("gzip, deflate, br", "br,gzip, deflate", True, id="order_and_spaces"),
    pytest.param("gzip, deflate, br", "deflate,br,gzip", True, id="order_no_spaces"),
    pytest.param("gzip", "gzip;q=1", True, id="q_one"),
    pytest.param("gzip", "gzip, br;q=0", True, id="refused_coding_ignored"),
    pytest.param("gzip;q=0.8, br;q=0.5", "br;q=0.50, gzip;q=0.800", True, id="q_values"),
    # Different weights can negotiate differently (br or gzip first): separate entries.
    pytest.param("gzip, br", "br;q=0.5, gzip;q=0.8", False, id="q_values_differ"),
    pytest.param("gzip, *", "gzip, zstd, br, *;q=1", True, id="star_and_what_it_covers"),
    # `*` also accepts codings an app may produce itself (deflate): kept apart.
    pytest.param("gzip, *", "gzip, zstd, br", False, id="star_is_not_only_our_codings"),
    pytest.param("gzip, deflate;q=0", "gzip", True, id="refused_unknown"),
    pytest.param("gzip, deflate", "gzip", False, id="accepted_unknown"),
    pytest.param("gzip", "GZIP", True, id="coding_case"),
    pytest.param("gzip", "gzip, br", False, id="superset"),
    pytest.param("gzip", "br", False, id="different"),
    pytest.param("gzip", None, False, id="absent"),
    pytest.param("", None, False, id="empty_vs_absent"),
    pytest.param("gzip", "", False, id="empty"),
]


@pytest.mark.parametrize("first, second, shared", AE_PAIRS)
def test_accept_encoding_normalised_in_the_key(first, second, shared):
    app = Origin([*FRESH, ("Vary", "Accept-Encoding")])
    _mw, wsgi = cached(app)
    assert label(run(wsgi, env("/x", accept_encoding=first))) == "MISS"
    response = run(wsgi, env("/x", accept_encoding=second))
    if shared:
        assert label(response) == "HIT"
        assert response.body == app.body(1)
    else:
        assert label(response) == "MISS"
        assert response.body == app.body(2)
        # Both entries stay apart.
        assert run(wsgi, env("/x", accept_encoding=first)).body == app.body(1)
        assert run(wsgi, env("/x", accept_encoding=second)).body == app.body(2)


VARY_COLLISIONS = [
    pytest.param({"x_a": "1|2", "x_b": "3"}, {"x_a": "1", "x_b": "2|3"}, id="pipe"),
    pytest.param({"x_a": "1:2", "x_b": "3"}, {"x_a": "1", "x_b": "2:3"}, id="colon"),
    pytest.param({"x_a": "1;2", "x_b": "3"}, {"x_a": "1", "x_b": "2;3"}, id="semicolon"),
    pytest.param({"x_a": "a, b"}, {"x_a": "a", "x_b": "b"}, id="comma_vs_two_headers"),
    pytest.param({"x_a": "a,b"}, {"x_a": "a", "x_b": "b"}, id="comma_nospace"),
    pytest.param({"x_a": ""}, {"x_b": ""}, id="empty_in_other_header"),
    pytest.param({"x_a": "", "x_b": ""}, {}, id="empty_vs_absent"),
    pytest.param({"x_a": "1\x1f2", "x_b": "3"}, {"x_a": "1", "x_b": "2\x1f3"}, id="unit_separator"),
    pytest.param({"x_a": "ab"}, {"x_a": "a", "x_b": "b"}, id="concatenation"),
]


@pytest.mark.parametrize("first, second", VARY_COLLISIONS)
def test_vary_values_never_collide(first, second):
    app = Origin([*FRESH, ("Vary", "X-A, X-B")])
    _mw, wsgi = cached(app)
    assert run(wsgi, env("/x", **first)).body == app.body(1)
    response = run(wsgi, env("/x", **second))
    assert label(response) == "MISS"
    assert response.body == app.body(2)
    assert run(wsgi, env("/x", **first)).body == app.body(1)
    assert run(wsgi, env("/x", **second)).body == app.body(2)
    assert app.calls == 2


# --------------------------------------------------------------------------- URI part of the key


def no_host(**environ):
    def build(path="/x", **kw):
        request = env(path, host=None, **kw)
        request.update(environ)
        return request

    return build


DISTINCT_URIS = [
    pytest.param(lambda: env("/x", query="a=1"), lambda: env("/x", query="a=2"), id="query"),
    pytest.param(lambda: env("/x"), lambda: env("/x", query="a"), id="query_vs_none"),
    pytest.param(lambda: env("/x", query="a=1"), lambda: env("/x?a=1"), id="query_vs_decoded_path"),
    pytest.param(lambda: env("/x", query="b&a"), lambda: env("/x", query="a&b"), id="query_order"),
    pytest.param(lambda: env("/x"), lambda: env("/X"), id="path_case"),
    pytest.param(lambda: env("/x"), lambda: env("/x/"), id="trailing_slash"),
    pytest.param(
        lambda: env("/x", environ={"SCRIPT_NAME": "/app"}), lambda: env("/x"), id="script_name"
    ),
    pytest.param(
        lambda: env("/b", environ={"SCRIPT_NAME": "/a"}),
        lambda: env("/b", environ={"SCRIPT_NAME": "/c"}),
        id="script_name_values",
    ),
    pytest.param(
        lambda: env("/x", host="a.example"), lambda: env("/x", host="b.example"), id="host"
    ),
    pytest.param(
        lambda: env("/x", host="a.example:8080"),
        lambda: env("/x", host="a.example:8081"),
        id="port",
    ),
    pytest.param(
        lambda: env("/x"), lambda: env("/x", environ={"wsgi.url_scheme": "https"}), id="scheme"
    ),
    pytest.param(
        lambda: env("/x", host="a.example"), lambda: env("/x", host="a.exampl"), id="host_prefix"
    ),
    pytest.param(
        lambda: no_host(SERVER_NAME="a.example", SERVER_PORT="80")(),
        lambda: no_host(SERVER_NAME="a.example", SERVER_PORT="8080")(),
        id="server_port_without_host_header",
    ),
]


@pytest.mark.parametrize("first, second", DISTINCT_URIS)
def test_distinct_uris_never_share_an_entry(first, second):
    app = Origin()
    _mw, wsgi = cached(app)
    assert run(wsgi, first()).body == app.body(1)
    response = run(wsgi, second())
    assert label(response) == "MISS"
    assert response.body == app.body(2)
    assert run(wsgi, first()).body == app.body(1)
    assert run(wsgi, second()).body == app.body(2)
    assert app.calls == 2


@pytest.mark.parametrize(
    "first, second",
    [
        pytest.param(
            lambda: env("/x", host="Example.COM"),
            lambda: env("/x", host="example.com"),
            id="host_case",
        ),
        pytest.param(
            lambda: env("/x", host="example.com:8080"),
            lambda: no_host(SERVER_NAME="example.com", SERVER_PORT="8080")(),
            id="host_header_vs_server_name_port",
        ),
    ],
)
def test_same_uri_shares_an_entry(first, second):
    app = Origin()
    _mw, wsgi = cached(app)
    run(wsgi, first())
    response = run(wsgi, second())
    assert label(response) == "HIT"
    assert response.body == app.body(1)


# --------------------------------------------------------------------------- LRU byte budget


@pytest.mark.memory_only
def test_lru_byte_budget_evicts_least_recently_used():
    # An entry is charged its 1 500-byte body plus headers and bookkeeping: 3 fit in 10 000,
    # 4 do not.
    app = Origin(size=1500)
    mw, wsgi = cached(app, max_bytes=10_000, max_entry_bytes=4000)
    for path in ("/a", "/b", "/c"):
        assert label(run(wsgi, env(path))) == "MISS"
    s = stats(mw)
    assert (s["entries"], s["evictions"], s["stores"]) == (3, 0, 3)
    assert 6000 <= s["bytes"] <= 10_000
    assert label(run(wsgi, env("/a"))) == "HIT"  # /a is now the most recent
    assert label(run(wsgi, env("/d"))) == "MISS"
    s = stats(mw)
    assert (s["entries"], s["evictions"], s["stores"]) == (3, 1, 4)
    assert 6000 <= s["bytes"] <= 10_000
    for path in ("/a", "/c", "/d"):
        assert label(run(wsgi, env(path))) == "HIT", path
    assert label(run(wsgi, env("/b"))) == "MISS"  # /b was the one evicted
    s = assert_requests(mw, 9)
    assert (s["entries"], s["evictions"]) == (3, 2)
    assert s["bytes"] <= 10_000


@pytest.mark.memory_only
def test_bytes_stat_counts_bodies_and_headers():
    app = Origin([*FRESH, ("X-Padding", "p" * 3000)], size=10)
    mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    s = stats(mw)
    assert s["entries"] == 1
    assert s["bytes"] >= 3010  # the 3000-byte header value is counted, not just the body


@pytest.mark.memory_only
def test_byte_budget_counts_headers_for_eviction():
    app = Origin([*FRESH, ("X-Padding", "p" * 3000)], size=10)
    mw, wsgi = cached(app, max_bytes=10_000, max_entry_bytes=1000)
    for path in ("/a", "/b", "/c", "/d"):
        run(wsgi, env(path))
    s = stats(mw)
    assert s["entries"] <= 3
    assert s["evictions"] >= 1
    assert s["bytes"] <= 10_000


# --------------------------------------------------------------------------- purge / clear


def test_purge_by_path_and_host():
    app = Origin([*FRESH, ("Vary", "Accept-Language")])
    mw, wsgi = cached(app)
    requests = {
        "x_en": lambda: env("/x", host="a.example", accept_language="en"),
        "x_fr": lambda: env("/x", host="a.example", accept_language="fr"),
        "x_query": lambda: env("/x", query="q=1", host="a.example"),
        "x_https": lambda: env("/x", host="a.example", environ={"wsgi.url_scheme": "https"}),
        "x_port": lambda: env("/x", host="a.example:8080"),
        "x_b": lambda: env("/x", host="b.example"),
        "y": lambda: env("/y", host="a.example"),
        "app_x": lambda: env("/x", host="a.example", environ={"SCRIPT_NAME": "/app"}),
    }
    for request in requests.values():
        run(wsgi, request())
    assert stats(mw)["entries"] == 8

    assert mw.purge("/x", host="a.example:9999") == 0
    assert mw.purge("/nothing") == 0
    assert mw.purge("/app") == 0  # exact SCRIPT_NAME + PATH_INFO, not a prefix
    assert mw.purge("/x", host="B.EXAMPLE") == 1
    assert mw.purge("/x", host="a.example") == 5  # variants, query, scheme, any port
    assert mw.purge("/x") == 0
    assert mw.purge("/app/x") == 1
    s = stats(mw)
    assert s["entries"] == 1
    assert s["evictions"] == 0
    calls = app.calls
    for name, request in requests.items():
        assert label(run(wsgi, request())) == ("HIT" if name == "y" else "MISS"), name
    assert app.calls == calls + 7
    assert mw.purge("/y", host="a.example") == 1


def test_purge_by_url():
    app = Origin()
    mw, wsgi = cached(app)
    for host in ("a.example", "a.example:8080", "b.example"):
        run(wsgi, env("/x", query="q=1", host=host))
    assert mw.purge("https://A.example/x?ignored=1#frag") == 2  # the URL's host, any port
    assert mw.purge("http://b.example:80/x") == 0  # a port named in the URL must match
    assert mw.purge("http://b.example/x") == 1
    for bad in ("x", "ftp://a.example/x", "http:///x"):
        with pytest.raises(ValueError, match="url_or_path"):
            mw.purge(bad)
    with pytest.raises(TypeError, match="url_or_path"):
        mw.purge(b"/x")


def tagged(environ):
    """Tags by path: /a and /b are "blog", /b also "post-2"; one field repeated for /b."""
    path = environ["PATH_INFO"]
    if path == "/b":
        return [*FRESH, ("Surrogate-Key", "blog  post-2"), ("surrogate-key", " feed")]
    return [*FRESH, ("Surrogate-Key", "blog post-1")] if path == "/a" else list(FRESH)


def test_tags_are_stored_hidden_from_clients_and_purged():
    app = Origin(tagged)
    mw, wsgi = cached(app)
    for path in ("/a", "/b", "/c"):
        miss = run(wsgi, env(path))
        assert header(miss.headers, "Surrogate-Key") is None, miss.headers
    for path in ("/a", "/b", "/c"):
        hit = run(wsgi, env(path))
        assert label(hit) == "HIT"
        assert header(hit.headers, "Surrogate-Key") is None, hit.headers
    assert mw.purge_tag("post-1") == 1
    assert mw.purge_tag("post-1") == 0
    assert mw.purge_tag("feed") == 1  # from the second field line
    assert label(run(wsgi, env("/c"))) == "HIT"
    assert [label(run(wsgi, env(p))) for p in ("/a", "/b")] == ["MISS", "MISS"]
    assert mw.purge_tag("blog") == 2
    assert [label(run(wsgi, env(p))) for p in ("/a", "/b", "/c")] == ["MISS", "MISS", "HIT"]
    for bad in ("", "two words", "a\tb"):
        with pytest.raises(ValueError, match="tag"):
            mw.purge_tag(bad)
    with pytest.raises(TypeError, match="tag"):
        mw.purge_tag(1)


def test_tags_are_hidden_even_when_the_response_is_not_stored():
    app = Origin([("Cache-Control", "no-store"), ("Surrogate-Key", "private-tag")])
    _, wsgi = cached(app)
    response = run(wsgi, env("/x"))
    assert label(response) == "MISS"
    assert header(response.headers, "Surrogate-Key") is None
    post = run(wsgi, env("/x", method="POST"))
    assert header(post.headers, "Surrogate-Key") is None


def test_tag_header_none_passes_the_header_and_stores_no_tags():
    app = Origin(tagged)
    mw, wsgi = cached(app, tag_header=None)
    assert header(run(wsgi, env("/a")).headers, "Surrogate-Key") == "blog post-1"
    assert header(run(wsgi, env("/a")).headers, "Surrogate-Key") == "blog post-1"
    assert mw.purge_tag("blog") == 0
    assert label(run(wsgi, env("/a"))) == "HIT"


def test_another_tag_header():
    app = Origin([*FRESH, ("xkey", "one two")])
    mw, wsgi = cached(app, tag_header="xkey")
    assert header(run(wsgi, env("/x")).headers, "xkey") is None
    assert mw.purge_tag("two") == 1


def test_purge_host_with_port_matches_only_that_port():
    app = Origin()
    mw, wsgi = cached(app)
    run(wsgi, env("/x", host="a.example:8080"))
    run(wsgi, env("/x", host="a.example:8081"))
    assert mw.purge("/x", host="a.example:8080") == 1
    assert label(run(wsgi, env("/x", host="a.example:8081"))) == "HIT"
    assert label(run(wsgi, env("/x", host="a.example:8080"))) == "MISS"


@pytest.mark.parametrize("path", [b"/x", None, 1])
def test_purge_path_must_be_str(path):
    mw = Cache(Origin())
    with pytest.raises(TypeError):
        mw.purge(path)


def test_clear_empties_the_store_and_keeps_the_counters():
    app = Origin()
    mw, wsgi = cached(app)
    for path in ("/a", "/b", "/a", "/b"):
        run(wsgi, env(path))
    before = stats(mw)
    assert (before["hits"], before["misses"], before["entries"]) == (2, 2, 2)
    assert mw.clear() is None
    after = stats(mw)
    assert after["entries"] == 0
    assert after["bytes"] == (None if mw_store(mw) else 0)
    for name in ("hits", "misses", "bypasses", "stores", "evictions"):
        assert after[name] == before[name], name
    assert label(run(wsgi, env("/a"))) == "MISS"
    assert_requests(mw, 5)


# --------------------------------------------------------------------------- PEP 3333 robustness


class FirstThen:
    """First call goes to `first` (a failing app), every later one to `then`."""

    def __init__(self, first, then):
        self.first, self.then, self.calls = first, then, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        target = self.first if self.calls == 1 else self.then
        return target(environ, start_response)


ERROR_PATHS = [
    pytest.param(lambda: RaiseBeforeStartApp(), False, id="raises_before_start_response"),
    pytest.param(lambda: RaiseAfterStartApp(), False, id="raises_after_start_response"),
    pytest.param(lambda: LateRaiseApp(after_start=False), True, id="first_next_before_start"),
    pytest.param(lambda: LateRaiseApp(after_start=True), True, id="first_next_after_start"),
    pytest.param(
        lambda: RaiseMidIterationApp([b"Hello ", b"world"], headers=FRESH),
        True,
        id="raises_mid_iteration",
    ),
]


@pytest.mark.parametrize("make_bad, has_body", ERROR_PATHS)
def test_app_errors_propagate_close_once_store_nothing(make_bad, has_body):
    bad = make_bad()
    good = Origin()
    mw, wsgi = cached(FirstThen(bad, good))
    with pytest.raises(RuntimeError, match="boom"):
        run(wsgi, env("/x"))
    if has_body:
        assert bad.body.closed == 1
    response = run(wsgi, env("/x"))
    assert label(response) == "MISS"
    assert response.body == good.body(1)
    assert label(run(wsgi, env("/x"))) == "HIT"
    s = assert_requests(mw, 3)
    assert s["stores"] == 1


def test_error_mid_stream_raises_from_next_after_the_first_chunk():
    bad = RaiseMidIterationApp([b"Hello ", b"world"], headers=FRESH)
    _mw, wsgi = cached(FirstThen(bad, Origin()))
    server, outer = step(wsgi, env("/x"))
    try:
        server.take(next(outer))
        with pytest.raises(RuntimeError, match="boom mid-iteration"):
            for _ in range(5):
                server.take(next(outer))
    finally:
        outer.close()
    assert b"".join(server.chunks) == b"Hello "
    assert bad.body.closed == 1
    assert label(run(wsgi, env("/x"))) == "MISS"


def test_str_item_is_type_error_closes_and_stores_nothing():
    bad = StrYieldingApp(["Hello world"], headers=FRESH)
    good = Origin()
    mw = Cache(FirstThen(bad, good))  # no inner validator: it would catch the str first
    with pytest.raises(TypeError) as raised:
        run(validator(mw), env("/x"))
    message = str(raised.value)
    assert "bytes" in message or "str" in message
    assert bad.body.closed == 1
    assert label(run(validator(mw), env("/x"))) == "MISS"


@pytest.mark.parametrize("shape", [EarlyStartStreamApp, LateStartApp])
@pytest.mark.parametrize("taken", [0, 1, 2])
def test_client_closing_early_closes_inner_once_and_stores_nothing(shape, taken):
    app = shape([b"Hello", b" ", b"world"], headers=FRESH)
    _mw, wsgi = cached(app)
    server, outer = step(wsgi, env("/x"))
    try:
        for _ in range(taken):
            server.take(next(outer))
    finally:
        outer.close()
    assert app.body.closed == 1
    assert app.body.pulled == taken
    response = run(wsgi, env("/x"))
    assert label(response) == "MISS"
    assert response.body == b"Hello world"
    assert app.calls == 2
    assert label(run(wsgi, env("/x"))) == "HIT"
    assert app.calls == 2


def test_close_twice_closes_inner_once():
    app = LateStartApp([b"Hello", b" world"], headers=FRESH)
    mw = Cache(validator(app))
    server, outer = step(mw, env("/x"))
    server.take(next(outer))
    outer.close()
    outer.close()
    assert app.body.closed == 1


@pytest.mark.parametrize("shape", [EarlyStartStreamApp, LateStartApp])
def test_miss_streams_in_lockstep_and_closes_once(shape):
    chunks = [b"a" * 10, b"", b"b" * 10, b"c" * 10]
    app = shape(chunks, headers=FRESH)
    mw = Cache(app)
    response = run_lockstep(mw, app, env("/x"))
    assert response.body == b"".join(chunks)
    assert label(response) == "MISS"
    hit = run(mw, env("/x"))
    assert label(hit) == "HIT"
    assert hit.body == b"".join(chunks)
    assert_one_stored_object(hit.chunks, chunks)


@pytest.mark.parametrize(
    "first",
    [
        pytest.param([*FRESH, ("ETag", '"v1"')], id="first_storable"),
        pytest.param([("Cache-Control", "no-store"), ("ETag", '"v1"')], id="first_no_store"),
    ],
)
@pytest.mark.parametrize(
    "status, replacement, stored",
    [
        pytest.param("404 Not Found", FRESH, True, id="replaced_by_cacheable_404"),
        pytest.param(
            "503 Service Unavailable",
            [("Cache-Control", "no-store")],
            False,
            id="replaced_by_uncacheable_503",
        ),
    ],
)
def test_exc_info_replacement_is_the_response(first, status, replacement, stored):
    # The response is the one that went out: labelled like any other, stored by its own
    # headers, the first start_response forgotten.
    calls = []

    def app(environ, start_response):
        calls.append(1)
        start_response("200 OK", [("Content-Type", TEXT), *first])
        try:
            raise ValueError("app failed")
        except ValueError:
            start_response(status, [("Content-Type", TEXT), *replacement], sys.exc_info())
        return [b"error page"]

    # A first head that is not storable goes to the server at once (the fast path, no tee):
    # a replacement is still labelled but never stored (docs/cache.md, Limits).
    stored = stored and ("Cache-Control", "no-store") not in first
    _mw, wsgi = cached(app)
    response = run(wsgi, env("/x"))
    assert response.status == status
    assert header(response.headers, "ETag") is None
    assert response.body == b"error page"
    assert header_values(response.headers, "X-Cache") == ["MISS"], response.headers
    again = run(wsgi, env("/x"))
    assert again.status == status
    assert again.body == b"error page"
    assert label(again) == ("HIT" if stored else "MISS"), again.headers
    assert len(calls) == (1 if stored else 2)


@pytest.mark.parametrize(
    "written, chunks",
    [
        pytest.param([b"Hel", b"lo "], [b"wor", b"", b"ld"], id="write_then_iterable"),
        pytest.param([b"Hello world"], [], id="write_only"),
    ],
)
def test_write_callable_apps(written, chunks):
    app = WriteApp(written, chunks, headers=FRESH)
    mw, wsgi = cached(app)
    first = run(wsgi, env("/x"))
    assert first.body == b"Hello world"
    assert label(first) == "MISS"
    assert app.body.closed == 1
    second = run(wsgi, env("/x"))
    assert second.body == b"Hello world"
    assert app.calls == (1 if label(second) == "HIT" else 2)
    assert_requests(mw, 2)


def test_generator_app_with_late_start_response_is_stored():
    calls = []

    def app(environ, start_response):
        calls.append(1)
        start_response("200 OK", [("Content-Type", TEXT), *FRESH])
        yield b"Hello"
        yield b""
        yield b" world"

    _mw, wsgi = cached(app)
    first = run(wsgi, env("/x"))
    second = run(wsgi, env("/x"))
    assert (label(first), label(second)) == ("MISS", "HIT")
    assert first.body == second.body == b"Hello world"
    assert len(calls) == 1


def test_file_wrapper_body_served_whole_and_closed_once():
    app = FileWrapperApp([b"Hello world, from a file"], blksize=4, headers=FRESH)
    _mw, wsgi = cached(app)
    first = run(wsgi, env("/x"))
    assert first.body == b"Hello world, from a file"
    assert app.file.close_calls == 1
    second = run(wsgi, env("/x"))
    assert second.body == first.body
    if label(second) != "HIT":
        assert app.file.close_calls == 1 and app.calls == 2


def test_hit_iterable_can_be_closed_before_reading():
    app = Origin()
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    _server, outer = step(wsgi, env("/x"))
    outer.close()
    assert label(run(wsgi, env("/x"))) == "HIT"
    assert app.calls == 1


def test_counting_iterable_of_the_hit_app_is_not_read_again():
    app = EarlyStartStreamApp([b"Hello", b" world"], headers=FRESH)
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    first_body = app.body
    assert isinstance(first_body, CountingIterable)
    run(wsgi, env("/x"))
    assert app.body is first_body and first_body.next_calls == 3 and first_body.closed == 1


# --------------------------------------------------------------------------- constructor


def plain_app(environ, start_response):
    start_response("200 OK", [("Content-Type", TEXT)])
    return [b"ok"]


CONSTRUCTOR_ERRORS = [
    pytest.param((42,), {}, TypeError, "app", id="app_not_callable"),
    pytest.param((None,), {}, TypeError, "app", id="app_none"),
    pytest.param((plain_app,), {"max_bytes": 0}, ValueError, "max_bytes", id="max_bytes_0"),
    pytest.param((plain_app,), {"max_bytes": -1}, ValueError, "max_bytes", id="max_bytes_neg"),
    pytest.param((plain_app,), {"max_bytes": True}, TypeError, "max_bytes", id="max_bytes_bool"),
    pytest.param((plain_app,), {"max_bytes": "1000"}, TypeError, "max_bytes", id="max_bytes_str"),
    pytest.param((plain_app,), {"max_bytes": 1e6}, TypeError, "max_bytes", id="max_bytes_float"),
    pytest.param(
        (plain_app,),
        {"max_entry_bytes": -1},
        ValueError,
        "max_entry_bytes",
        id="max_entry_bytes_neg",
    ),
    pytest.param(
        (plain_app,),
        {"max_bytes": 100, "max_entry_bytes": 101},
        ValueError,
        "max_entry_bytes",
        id="max_entry_bytes_over_max_bytes",
    ),
    pytest.param(
        (plain_app,),
        {"max_bytes": 1000},
        ValueError,
        "max_entry_bytes",
        id="default_max_entry_bytes_over_small_max_bytes",
    ),
    pytest.param(
        (plain_app,),
        {"max_entry_bytes": "1"},
        TypeError,
        "max_entry_bytes",
        id="max_entry_bytes_str",
    ),
    pytest.param(
        (plain_app,), {"default_ttl": -1}, ValueError, "default_ttl", id="default_ttl_neg"
    ),
    pytest.param(
        (plain_app,), {"default_ttl": "60"}, TypeError, "default_ttl", id="default_ttl_str"
    ),
    pytest.param(
        (plain_app,), {"default_ttl": 1.5}, TypeError, "default_ttl", id="default_ttl_float"
    ),
    pytest.param((plain_app,), {"statuses": "200"}, TypeError, "statuses", id="statuses_str"),
    pytest.param((plain_app,), {"statuses": 200}, TypeError, "statuses", id="statuses_int"),
    pytest.param(
        (plain_app,), {"statuses": [200, "404"]}, TypeError, "statuses", id="statuses_item_str"
    ),
    pytest.param(
        (plain_app,), {"statuses": [200.0]}, TypeError, "statuses", id="statuses_item_float"
    ),
    pytest.param((plain_app,), {"statuses": [99]}, ValueError, "statuses", id="statuses_99"),
    pytest.param((plain_app,), {"statuses": [200, 600]}, ValueError, "statuses", id="statuses_600"),
    pytest.param(
        (plain_app,), {"status_header": ""}, ValueError, "status_header", id="status_header_empty"
    ),
    pytest.param(
        (plain_app,),
        {"status_header": "X Cache"},
        ValueError,
        "status_header",
        id="status_header_space",
    ),
    pytest.param(
        (plain_app,),
        {"status_header": "X-Cache:"},
        ValueError,
        "status_header",
        id="status_header_colon",
    ),
    pytest.param(
        (plain_app,),
        {"status_header": "X-Cache\r\nX-Evil"},
        ValueError,
        "status_header",
        id="status_header_crlf",
    ),
    pytest.param(
        (plain_app,), {"status_header": 42}, TypeError, "status_header", id="status_header_int"
    ),
    pytest.param(
        (plain_app,), {"single_flight": "yes"}, TypeError, "single_flight", id="single_flight_str"
    ),
    pytest.param(
        (plain_app,),
        {"single_flight_timeout": 0},
        ValueError,
        "single_flight_timeout",
        id="timeout_0",
    ),
    pytest.param(
        (plain_app,),
        {"single_flight_timeout": -1.0},
        ValueError,
        "single_flight_timeout",
        id="timeout_neg",
    ),
    pytest.param(
        (plain_app,),
        {"single_flight_timeout": float("nan")},
        ValueError,
        "single_flight_timeout",
        id="timeout_nan",
    ),
    pytest.param(
        (plain_app,),
        {"single_flight_timeout": "1"},
        TypeError,
        "single_flight_timeout",
        id="timeout_str",
    ),
    pytest.param(
        (plain_app,),
        {"request_directives": "honour"},
        ValueError,
        "request_directives",
        id="directives_unknown",
    ),
    pytest.param(
        (plain_app,),
        {"request_directives": True},
        TypeError,
        "request_directives",
        id="directives_bool",
    ),
]


@pytest.mark.parametrize("args, kwargs, error, name", CONSTRUCTOR_ERRORS)
def test_constructor_errors_name_the_parameter(args, kwargs, error, name):
    with pytest.raises(error) as raised:
        Cache(*args, **kwargs)
    assert name in str(raised.value), str(raised.value)


@pytest.mark.parametrize(
    "max_bytes", [0, -1, 2**64, 2**200, -(2**200)], ids=["0", "-1", "2**64", "2**200", "-2**200"]
)
def test_an_int_out_of_range_is_told_the_whole_range(max_bytes):
    # Not "must be >= 1" for 2**64: the upper bound (the platform's usize) is real too.
    usize_max = sys.maxsize * 2 + 1  # 18446744073709551615 on 64-bit platforms
    with pytest.raises(ValueError) as raised:
        Cache(plain_app, max_bytes=max_bytes)
    message = str(raised.value)
    assert message.endswith(f"max_bytes must be between 1 and {usize_max} (bytes)"), message


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"max_bytes": 1, "max_entry_bytes": 0}, id="smallest_budget"),
        pytest.param({"max_bytes": 1000, "max_entry_bytes": 1000}, id="entry_equals_budget"),
        pytest.param({"default_ttl": 0}, id="default_ttl_0"),
        pytest.param({"statuses": [200]}, id="statuses_list"),
        pytest.param({"statuses": {200, 404}}, id="statuses_set"),
        pytest.param({"statuses": (s for s in (100, 599))}, id="statuses_generator_bounds"),
        pytest.param({"status_header": None}, id="status_header_none"),
        pytest.param({"status_header": "X-My-Cache"}, id="status_header_custom"),
        pytest.param({"single_flight": False}, id="single_flight_off"),
        pytest.param({"single_flight_timeout": 0.001}, id="timeout_small"),
        pytest.param({"single_flight_timeout": 5}, id="timeout_int"),
    ],
)
def test_constructor_accepts(kwargs):
    mw = Cache(plain_app, **kwargs)
    response = run(validator(mw), env("/x"))
    assert response.status == "200 OK"
    assert response.body == b"ok"


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        Cache(plain_app, 1024)


def test_attributes_reflect_the_options_and_are_read_only():
    options = {
        "max_bytes": 4096,
        "max_entry_bytes": 1024,
        "default_ttl": 7,
        "statuses": (200, 404),
        "status_header": "X-C",
        "single_flight": False,
        "single_flight_timeout": 0.5,
    }
    mw = Cache(plain_app, **options)
    assert mw.app is plain_app
    for name, value in options.items():
        got = getattr(mw, name)
        if name == "statuses":
            assert sorted(got) == sorted(value)
        else:
            assert got == value, name
        with pytest.raises(AttributeError):
            setattr(mw, name, value)
    with pytest.raises(AttributeError):
        mw.app = plain_app


@pytest.mark.memory_only
def test_default_attributes():
    mw = Cache(plain_app)
    assert mw.max_bytes == 64 * 1024 * 1024
    assert mw.max_entry_bytes == 1024 * 1024
    assert mw.default_ttl == 60
    assert sorted(mw.statuses) == sorted(DEFAULT_STATUSES)
    assert mw.status_header == "X-Cache"
    assert mw.single_flight is True
    assert mw.single_flight_timeout == 10.0
    assert mw.request_directives == "ignore"
    s = stats(mw)
    assert all(v == 0 for v in s.values()), s


def test_repr_shows_the_options():
    text = repr(
        Cache(
            plain_app,
            max_bytes=123456,
            max_entry_bytes=4321,
            default_ttl=77,
            status_header="X-Zz",
            single_flight_timeout=2.5,
            request_directives="honor",
            tag_header="xkey",
        )
    )
    assert text.startswith("Cache(")
    for part in (
        "max_bytes",
        "max_entry_bytes",
        "default_ttl",
        "statuses",
        "status_header",
        "single_flight",
        "single_flight_timeout",
        "request_directives='honor'",
        "tag_header='xkey'",
        "123456",
        "4321",
        "77",
        "X-Zz",
        "2.5",
        "404",
    ):
        assert part in text, f"{part} missing from {text}"


# --------------------------------------------------------------------------- Range requests


def test_a_range_request_through_gzip_does_not_store_a_plain_body_as_the_gzip_variant():
    # Gzip rightly leaves a Range request's response alone; an app that ignores Range answers
    # 200 with the whole plain body. Stored under the gzip client's key, every later gzip
    # client would get the uncompressed body.
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html"), *FRESH])
        return [b"<p>hello</p>" * 1000]

    mw = Cache(validator(Gzip(app)))
    wsgi = validator(mw)
    ranged = run(wsgi, env("/x", accept_encoding="gzip", range="bytes=0-99"))
    assert header(ranged.headers, "Content-Encoding") is None
    assert label(ranged) == "MISS"
    later = run(wsgi, env("/x", accept_encoding="gzip"))
    assert header(later.headers, "Content-Encoding") == "gzip"
    assert gzip.decompress(later.body) == b"<p>hello</p>" * 1000
    # A Range request may still be answered from the stored full response (RFC 9110 allows a
    # 200): the gzip variant, since it asked for gzip.
    again = run(wsgi, env("/x", accept_encoding="gzip", range="bytes=0-99"))
    assert label(again) == "HIT"
    assert again.body == later.body
    assert stats(mw)["stores"] == 1


def test_a_range_miss_leads_no_flight_and_is_not_stored():
    app = Origin()
    mw, wsgi = cached(app)
    assert label(run(wsgi, env("/x", range="bytes=0-1"))) == "MISS"
    assert label(run(wsgi, env("/x", range="bytes=0-1"))) == "MISS"
    assert app.calls == 2
    assert stats(mw)["stores"] == 0


# --------------------------------------------------------------------------- 304 only for 2xx


@pytest.mark.parametrize("status", ["404 Not Found", "301 Moved Permanently", "410 Gone"])
@pytest.mark.parametrize(
    "precondition",
    [
        pytest.param({"if_none_match": "*"}, id="inm_star"),
        pytest.param({"if_none_match": '"v1"'}, id="inm_match"),
        pytest.param({"if_modified_since": LAST_MODIFIED}, id="ims"),
    ],
)
def test_preconditions_are_ignored_for_a_stored_non_2xx_response(status, precondition):
    # RFC 9110 §13.2.1: preconditions are evaluated only when the response would be 2xx.
    headers = [*FRESH, ("ETag", '"v1"'), ("Last-Modified", LAST_MODIFIED)]
    if status.startswith("301"):
        headers.append(("Location", "/elsewhere"))

    def app(environ, start_response):
        start_response(status, [("Content-Type", TEXT), *headers])
        return [b"not here"]

    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    response = run(wsgi, env("/x", **precondition))
    assert label(response) == "HIT"
    assert response.status == status
    assert response.body == b"not here"


def test_preconditions_still_give_304_for_a_stored_200():
    app = Origin([*FRESH, ("ETag", '"v1"')])
    _mw, wsgi = cached(app)
    run(wsgi, env("/x"))
    assert run(wsgi, env("/x", if_none_match="*")).status == "304 Not Modified"


# --------------------------------------------------------------------------- exact keys


@pytest.mark.parametrize(
    "first, second",
    [
        pytest.param({"PATH_INFO": "/\udcff"}, {"PATH_INFO": "/"}, id="path_surrogate_vs_slash"),
        pytest.param({"PATH_INFO": "/\udcff"}, {"PATH_INFO": ""}, id="path_surrogate_vs_empty"),
        pytest.param({"PATH_INFO": "/\udcff"}, {"PATH_INFO": "/\ud800"}, id="two_surrogates"),
        pytest.param({"PATH_INFO": "/\udcff"}, {"PATH_INFO": "/\xff"}, id="surrogate_vs_latin1"),
        pytest.param({"QUERY_STRING": "a=\udcff"}, {"QUERY_STRING": ""}, id="query"),
        pytest.param({"HTTP_HOST": "h\udcff"}, {"HTTP_HOST": "other"}, id="host"),
        pytest.param({"HTTP_X_CUSTOM": "\udcff"}, {"HTTP_X_CUSTOM": ""}, id="varied_header"),
    ],
)
def test_unencodable_environ_strings_get_keys_of_their_own(first, second):
    calls = []

    def app(environ, start_response):
        calls.append(1)
        start_response("200 OK", [("Content-Type", TEXT), *FRESH, ("Vary", "X-Custom")])
        return [b"call %d" % len(calls)]

    mw = Cache(app)  # no validator: a lone surrogate is not a PEP 3333 string
    for overrides in (first, second):
        environ = env("/x")
        environ.update(overrides)
        response = run(mw, environ)
        assert label(response) == "MISS", overrides
    assert len(calls) == 2
    # And each is stored under its own key: both hit now.
    for overrides in (first, second):
        environ = env("/x")
        environ.update(overrides)
        assert label(run(mw, environ)) == "HIT", overrides


# --------------------------------------------------------------------------- RFC 5861


class Scripted:
    """Answers call n with `script[n]` (the last one repeats): ("ok", headers), ("503",
    headers), "raise" (before start_response) or "raise_after_start". An ok body names the
    call ("v1", "v2"...). `gate`, when set, is waited on by calls after the first."""

    def __init__(self, script, gate=None):
        self.script = script
        self.calls = 0
        self.gate = gate
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.calls += 1
            n = self.calls
        if self.gate is not None and n > 1:
            assert self.gate.wait(10)
        step = self.script[min(n, len(self.script)) - 1]
        if step == "raise":
            raise RuntimeError("database down")
        if step == "raise_after_start":
            start_response("200 OK", [("Content-Type", TEXT)])
            raise RuntimeError("database down")
        kind, headers = step
        status = "200 OK" if kind == "ok" else "503 Service Unavailable"
        start_response(status, [("Content-Type", TEXT), *headers])
        return [f"v{n}".encode() if kind == "ok" else b"error page"]


SWR = [("Cache-Control", "max-age=1, stale-while-revalidate=30")]
SIE = [("Cache-Control", "max-age=1, stale-if-error=60")]


def test_stale_while_revalidate_answers_at_once_while_one_request_refreshes():
    gate = threading.Event()
    app = Scripted([("ok", SWR)], gate=gate)
    mw, wsgi = cached(app)
    assert run(wsgi, env()).body == b"v1"
    time.sleep(1.2)
    results = {}
    refresher = threading.Thread(target=lambda: results.update(lead=run(wsgi, env())))
    refresher.start()
    deadline = time.monotonic() + 5
    while app.calls < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert app.calls == 2  # the refresh is in the app, held by the gate
    others = [run(wsgi, env()) for _ in range(3)]
    assert [(label(r), r.body) for r in others] == [("STALE", b"v1")] * 3
    assert all(int(header(r.headers, "Age")) >= 1 for r in others)
    gate.set()
    refresher.join()
    assert (label(results["lead"]), results["lead"].body) == ("MISS", b"v2")
    hit = run(wsgi, env())
    assert (label(hit), hit.body) == ("HIT", b"v2")
    assert app.calls == 2
    s = stats(mw)
    assert s["stale"] == 3
    assert s["hits"] + s["misses"] + s["bypasses"] == 6


def test_stale_while_revalidate_from_the_option_and_what_forbids_it():
    for headers, option, stale_served in [
        ([("Cache-Control", "max-age=1")], 30, True),
        ([("Cache-Control", "max-age=1")], 0, False),
        ([("Cache-Control", "max-age=1, must-revalidate")], 30, False),
        ([("Cache-Control", "s-maxage=1")], 30, False),
        ([("Cache-Control", "s-maxage=1, stale-while-revalidate=30")], 0, True),
    ]:
        # A path of its own per case: the Redis store outlives each Cache.
        path = f"/case-{len(headers[0][1])}-{option}"
        gate = threading.Event()
        app = Scripted([("ok", headers)], gate=gate)
        _, wsgi = cached(app, stale_while_revalidate=option)
        run(wsgi, env(path))
        time.sleep(1.1)
        refresher = threading.Thread(target=run, args=(wsgi, env(path)))
        refresher.start()
        deadline = time.monotonic() + 5
        while app.calls < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert app.calls == 2, headers
        if stale_served:
            assert label(run(wsgi, env(path))) == "STALE", headers
        gate.set()
        refresher.join()
        assert app.calls == 2, headers


def test_past_the_stale_window_an_entry_is_a_miss():
    app = Scripted([("ok", [("Cache-Control", "max-age=1, stale-while-revalidate=1")])])
    _, wsgi = cached(app)
    run(wsgi, env())
    time.sleep(2.2)
    response = run(wsgi, env())
    assert (label(response), response.body) == ("MISS", b"v2")


@pytest.mark.parametrize("failure", ["503", "raise", "raise_after_start"])
def test_stale_if_error_answers_when_the_refresh_fails(failure):
    step = ("503", []) if failure == "503" else failure
    app = Scripted([("ok", SIE), step, step, ("ok", SIE)])
    mw, wsgi = cached(app)
    assert run(wsgi, env()).body == b"v1"
    time.sleep(1.2)
    for _ in range(2):
        environ = env()
        response = run(wsgi, environ)
        assert (response.status, label(response), response.body) == ("200 OK", "STALE", b"v1")
        assert header(response.headers, "Content-Type") == TEXT
        assert int(header(response.headers, "Age")) >= 1
        assert "stale-if-error" in error_text(environ)
    assert stats(mw)["stale"] == 2
    # The app recovered: its response is stored again.
    assert (label(run(wsgi, env())), app.calls) == ("MISS", 4)
    assert (label(run(wsgi, env())), app.calls) == ("HIT", 4)


def test_stale_if_error_from_the_option_and_past_its_window():
    app = Scripted([("ok", [("Cache-Control", "max-age=1")]), ("503", [])])
    _, wsgi = cached(app, stale_if_error=1)
    run(wsgi, env())
    time.sleep(1.2)
    assert label(run(wsgi, env())) == "STALE"
    time.sleep(1.0)
    response = run(wsgi, env())
    assert (response.status, response.body) == ("503 Service Unavailable", b"error page")
    raising = Scripted([("ok", [("Cache-Control", "max-age=1")]), "raise"])
    _, wsgi = cached(raising)  # no stale-if-error: the exception goes to the server
    run(wsgi, env())
    time.sleep(1.2)
    with pytest.raises(RuntimeError, match="database down"):
        run(wsgi, env())


def test_a_stale_entry_is_never_served_to_a_request_that_could_not_take_it_fresh():
    app = Scripted([("ok", SWR)])
    _, wsgi = cached(app)
    run(wsgi, env())
    time.sleep(1.2)
    # Authorization: the entry is not shareable with authenticated requests.
    response = run(wsgi, env(authorization="Bearer t"))
    assert label(response) == "BYPASS"
    assert response.body == b"v2"


def test_bad_stale_options_name_the_parameter():
    for name in ("stale_while_revalidate", "stale_if_error"):
        with pytest.raises(ValueError, match=name):
            Cache(plain_app, **{name: -1})
        with pytest.raises(TypeError, match=name):
            Cache(plain_app, **{name: 1.5})
        assert getattr(Cache(plain_app, **{name: 7}), name) == 7
