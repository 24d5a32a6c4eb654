"""Cache: a pure-Python model of the spec under Hypothesis, the leak table, single-flight and
concurrency, and a real server round trip.

The model is deliberately small: a dict from key to the stored response, the storing rules of
the spec written out one by one, and the hit rules (HEAD, 304, Content-Length, Age, X-Cache).
Where the spec leaves a choice open (does a refresh whose new response is not storable drop
the old entry?) the model keeps both possibilities and lets the next observation decide.
"""

from __future__ import annotations

import email.utils
import gzip
import http.client
import threading
import time
from collections import Counter
from typing import NamedTuple
from wsgiref.validate import validator

import pytest
from conftest import Server, header, header_values, make_environ, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cache import FRESH, TEXT, Origin, cached, drop, env, label, stats

from wsgi_mw import Cache, Gzip

LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
DEFAULT_STATUSES = {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501}
MAX_ENTRY = 64
IGNORED = ("Age", "X-Cache", "Content-Length")  # what the Cache may change on a pass-through
NOT_MODIFIED_KEEP = {"cache-control", "content-location", "date", "etag", "expires", "vary"}

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --------------------------------------------------------------------------- the model


SHAPES = {
    # name: (status, headers after Content-Type). /v adds Vary: Accept-Encoding to all but
    # vary_star; "big" has a body over MAX_ENTRY; "with_length" sends Content-Length.
    "fresh": (
        "200 OK",
        [("Cache-Control", "max-age=60"), ("ETag", '"e1"'), ("Last-Modified", LAST_MODIFIED)],
    ),
    "default_ttl": ("200 OK", []),
    "public": ("200 OK", [("Cache-Control", "public, max-age=60"), ("ETag", 'W/"e1"')]),
    "s_maxage": ("200 OK", [("Cache-Control", "s-maxage=60, max-age=0")]),
    "must_revalidate": ("200 OK", [("Cache-Control", "must-revalidate, max-age=60")]),
    "aged": ("200 OK", [("Cache-Control", "max-age=60"), ("Age", "5"), ("X-Cache", "up")]),
    "with_length": ("200 OK", [("Cache-Control", "max-age=60")]),
    "not_found": ("404 Not Found", [("Cache-Control", "max-age=60")]),
    "gone": ("410 Gone", []),
    "created": ("201 Created", [("Cache-Control", "max-age=60")]),
    "see_other": ("303 See Other", [("Location", "/a")]),
    "bad_request": ("400 Bad Request", [("Cache-Control", "max-age=60")]),
    "error": ("500 Internal Server Error", []),
    "cookie": ("200 OK", [("Cache-Control", "public, max-age=60"), ("Set-Cookie", "s=1")]),
    "no_store": ("200 OK", [("Cache-Control", "no-store")]),
    "private": ("200 OK", [("Cache-Control", "private, max-age=60")]),
    "no_cache": ("200 OK", [("Cache-Control", "no-cache, max-age=60")]),
    "max_age_0": ("200 OK", [("Cache-Control", "max-age=0")]),
    "vary_star": ("200 OK", [("Cache-Control", "max-age=60"), ("Vary", "*")]),
    "big": ("200 OK", [("Cache-Control", "max-age=60")]),
}

KINDS = {
    # request headers (environ keys)
    "plain": {},
    "gzip": {"HTTP_ACCEPT_ENCODING": "gzip"},
    "br_gzip": {"HTTP_ACCEPT_ENCODING": "br, gzip"},
    "gzip_br": {"HTTP_ACCEPT_ENCODING": "gzip,br;q=0.5"},
    # The same weights as gzip_br, spelled otherwise: one variant for both.
    "br_half_gzip": {"HTTP_ACCEPT_ENCODING": "BR;q=0.50, x-gzip, deflate;q=0"},
    "ae_empty": {"HTTP_ACCEPT_ENCODING": ""},
    "auth": {"HTTP_AUTHORIZATION": "Bearer t"},
    "no_cache": {"HTTP_CACHE_CONTROL": "no-cache"},
    "max_age_0": {"HTTP_CACHE_CONTROL": "max-age=0"},
    "pragma": {"HTTP_PRAGMA": "no-cache"},
    "no_store": {"HTTP_CACHE_CONTROL": "no-store"},
    "inm": {"HTTP_IF_NONE_MATCH": '"e1"'},
    "inm_weak": {"HTTP_IF_NONE_MATCH": 'W/"e1"'},
    "inm_other": {"HTTP_IF_NONE_MATCH": '"zz"'},
    "ims": {"HTTP_IF_MODIFIED_SINCE": LAST_MODIFIED},
}
REFRESH = {"no_cache", "max_age_0", "pragma"}
INM = {"inm": '"e1"', "inm_weak": 'W/"e1"', "inm_other": '"zz"'}

URIS = [("/a", ""), ("/a", "x=1"), ("/v", "")]
METHODS = ["GET", "GET", "GET", "GET", "HEAD", "POST", "DELETE", "OPTIONS"]


class ModelApp:
    """Answers the shape chosen for the next call; the body names the URI, call and shape."""

    def __init__(self):
        self.calls = 0
        self.shape = "fresh"
        self.last = None

    def __call__(self, environ, start_response):
        self.calls += 1
        status, extra = SHAPES[self.shape]
        headers = [("Content-Type", TEXT), *extra]
        path = environ["PATH_INFO"]
        if path == "/v" and self.shape != "vary_star":
            headers.append(("Vary", "Accept-Encoding"))
        text = f"{path}?{environ['QUERY_STRING']} #{self.calls} {self.shape}".encode()
        if self.shape == "big":
            text = text.ljust(MAX_ENTRY + 1, b".")
        if self.shape == "with_length":
            headers.append(("Content-Length", str(len(text))))
        chunks = [] if environ["REQUEST_METHOD"] == "HEAD" else [text[:3], b"", text[3:]]
        self.last = (status, headers, chunks)
        start_response(status, list(headers))
        return list(chunks)


class Stored(NamedTuple):
    status: str
    headers: list
    chunks: list

    @property
    def body(self):
        return b"".join(self.chunks)


def directives(headers):
    out = {}
    for value in header_values(headers, "Cache-Control"):
        for item in value.split(","):
            name, _, arg = item.strip().partition("=")
            if name:
                out[name.lower()] = arg
    return out


def shareable(headers):
    return bool({"public", "s-maxage", "must-revalidate"} & directives(headers).keys())


def storable(status, headers, body, *, auth):
    """The spec's storing rules for a GET response, one by one."""
    cc = directives(headers)
    if int(status[:3]) not in DEFAULT_STATUSES:
        return False
    if header_values(headers, "Set-Cookie"):
        return False
    if {"no-store", "private", "no-cache"} & cc.keys():
        return False
    if any("*" in v for v in header_values(headers, "Vary")):
        return False
    if len(body) > MAX_ENTRY:
        return False
    if auth and not shareable(headers):
        return False
    if "s-maxage" in cc:
        lifetime = int(cc["s-maxage"])
    elif "max-age" in cc:
        lifetime = int(cc["max-age"])
    else:
        lifetime = 60  # default_ttl; no Expires in these shapes
    return lifetime > 0


PRODUCED = ("zstd", "br", "gzip")


def accepted_codings(value):
    """What of an Accept-Encoding decides the coding a response gets (RFC 9110 §12.5.3):
    the weight of each coding a compressor produces (its own or that of `*`), identity's
    weight when named, and the other codings accepted. Malformed elements count for nothing."""
    if value is None:
        return None
    weights = {}
    for item in value.split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        if name == "x-gzip":
            name = "gzip"
        try:
            q = float(params.strip().partition("=")[2]) if params.strip() else 1.0
        except ValueError:
            continue
        if name and 0 <= q <= 1:
            weights[name] = max(weights.get(name, 0.0), q)
    star = weights.get("*", 0.0)
    produced = tuple(weights.get(coding, star) for coding in PRODUCED)
    others = frozenset(
        name for name, q in weights.items() if q > 0 and name not in (*PRODUCED, "identity")
    )
    return produced, weights.get("identity"), others


def opaque(tag):
    return tag.removeprefix("W/")


def expected_hit(entry, method, kind):
    """(status, headers without Age/X-Cache, body) of a hit on `entry`."""
    stored_headers = drop(entry.headers, "Age", "X-Cache")
    etag = header(entry.headers, "ETag")
    if kind in INM:
        not_modified = etag is not None and opaque(etag) == opaque(INM[kind])
    elif kind == "ims":
        not_modified = header(entry.headers, "Last-Modified") is not None  # IMS == LM
    else:
        not_modified = False
    if not_modified:
        kept = [(k, v) for k, v in stored_headers if k.lower() in NOT_MODIFIED_KEEP]
        return "304 Not Modified", kept, b""
    if header(entry.headers, "Content-Length") is None:
        stored_headers = [*stored_headers, ("Content-Length", str(len(entry.body)))]
    return entry.status, stored_headers, entry.body if method == "GET" else b""


def hit_problems(response, entry, method, kind):
    status, headers, body = expected_hit(entry, method, kind)
    problems = []
    if response.status != status:
        problems.append(f"status {response.status!r} != {status!r}")
    if sorted(drop(response.headers, "Age", "X-Cache")) != sorted(headers):
        problems.append(f"headers {response.headers} != stored {headers}")
    if response.body != body:
        problems.append(f"body {response.body!r} != {body!r}")
    # A hit sends one bytes object: the app's own when it sent one chunk (no copy).
    got, sent = [c for c in response.chunks if c], [c for c in entry.chunks if c]
    if body and len(got) != 1:
        problems.append(f"hit body in {len(got)} objects, not one")
    elif len(sent) == 1 and got[0] is not sent[0]:
        problems.append("a one-chunk hit body is not the app's own bytes object")
    ages = header_values(response.headers, "Age")
    stored_age = int(header(entry.headers, "Age") or 0)
    if len(ages) != 1 or int(ages[0]) < stored_age:
        problems.append(f"Age {ages}, stored Age {stored_age}")
    return problems


class Model:
    def __init__(self, directives="ignore"):
        # request_directives: "ignore" turns the client's refreshes into plain requests and
        # its no-store into "do not store my miss".
        self.directives = directives
        # key -> candidates: the stored response(s) the Cache may hold, None for "nothing".
        # One candidate unless the spec left the outcome open.
        self.entries = {}
        self.stores = 0

    @staticmethod
    def key(path, query, environ):
        vary = accepted_codings(environ.get("HTTP_ACCEPT_ENCODING")) if path == "/v" else None
        return (path, query, vary)

    def invalidate(self, path, query):
        for key in [k for k in self.entries if k[:2] == (path, query)]:
            del self.entries[key]

    def certain_entries(self):
        if any(len(c) != 1 for c in self.entries.values()):
            return None
        return sum(1 for c in self.entries.values() if c[0] is not None)


def check_request(model, app, wsgi, method, uri, kind, shape):
    """One request through validator(Cache(validator(app))), checked against the model."""
    path, query = uri
    environ = make_environ(REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING=query, **KINDS[kind])
    key = model.key(path, query, environ)
    ignore = model.directives == "ignore"
    if ignore and kind in REFRESH:
        kind = "plain"
    app.shape = shape
    calls = app.calls
    response = run(wsgi, environ)
    got = header_values(response.headers, "X-Cache")
    assert len(got) == 1, response.headers
    got = got[0]
    where = f"{method} {path}?{query} {kind} (app shape {shape}): {got}"

    if got == "HIT":
        assert method in ("GET", "HEAD"), where
        assert app.calls == calls, f"{where}, but the app was called"
        candidates = model.entries.get(key, [None])
        if kind in REFRESH or (kind == "no_store" and not ignore):
            candidates = []
        elif kind == "auth":
            candidates = [c for c in candidates if c is not None and shareable(c.headers)]
        explained = []
        problems = []
        for entry in candidates:
            if entry is None:
                continue
            found = hit_problems(response, entry, method, kind)
            (problems if found else explained).append(found or entry)
        assert explained, f"{where} not explained by the model: {problems or 'no entry'}"
        model.entries[key] = [explained[0]]
        return got

    # Not served from the store: the app answered, passed through unchanged.
    assert app.calls == calls + 1, where
    status, headers, chunks = app.last
    assert response.status == status, where
    assert drop(response.headers, *IGNORED) == drop(headers, *IGNORED), where
    assert response.body == b"".join(chunks), where
    assert all(
        a is b for a, b in zip([c for c in response.chunks if c], [c for c in chunks if c])
    ), where

    if method not in ("GET", "HEAD"):
        assert got == "BYPASS", where
        code = int(status[:3])
        if method != "OPTIONS" and 200 <= code < 400:
            model.invalidate(path, query)
        return got

    auth = kind == "auth"
    store = (
        method == "GET"
        and kind != "no_store"
        and storable(status, headers, b"".join(chunks), auth=auth)
    )
    candidates = model.entries.get(key, [None])
    if kind == "no_store" and ignore:
        # Looked up like any request: it reached the app only because nothing was stored.
        assert got == "MISS", where
        assert None in candidates, f"{where}: expected a HIT on {candidates}"
        model.entries[key] = [None]
    elif kind == "no_store":
        assert got == "BYPASS", where
    elif auth:
        assert got in (("MISS", "BYPASS") if store else ("BYPASS",)), where
        # A shareable entry would have been served.
        candidates = [c for c in candidates if c is None or not shareable(c.headers)]
        assert candidates, f"{where}: a shareable entry was not served"
        model.entries[key] = candidates
    elif kind in REFRESH:
        assert got == "MISS", where
    else:
        assert got == "MISS", where
        assert None in candidates, f"{where}: expected a HIT on {candidates}"
        model.entries[key] = [None]

    if store:
        model.entries[key] = [Stored(status, headers, chunks)]
        model.stores += 1
    elif kind in REFRESH:
        # Open in the spec: whether the old entry survives a refresh that stored nothing.
        old = model.entries.get(key, [None])
        model.entries[key] = list({id(c): c for c in [*old, None]}.values())
    return got


requests_strategy = st.lists(
    st.tuples(
        st.sampled_from(METHODS),
        st.sampled_from(URIS),
        st.sampled_from(["plain"] * 4 + sorted(KINDS)),
        st.sampled_from(["fresh", "fresh", "default_ttl", *sorted(SHAPES)]),
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.parametrize("directives", ["ignore", "honor"])
@PROPERTY
@given(requests=requests_strategy)
def test_property_cache_matches_the_model(directives, requests):
    app = ModelApp()
    mw, wsgi = cached(app, max_entry_bytes=MAX_ENTRY, request_directives=directives)
    model = Model(directives)
    labels = Counter()
    for method, uri, kind, shape in requests:
        labels[check_request(model, app, wsgi, method, uri, kind, shape)] += 1
    s = stats(mw)
    assert (s["hits"], s["misses"], s["bypasses"]) == (
        labels["HIT"],
        labels["MISS"],
        labels["BYPASS"],
    ), (s, labels)
    assert s["hits"] + s["misses"] + s["bypasses"] == len(requests)
    assert s["stores"] == model.stores
    assert s["evictions"] == 0
    entries = model.certain_entries()
    if entries is not None:
        assert s["entries"] == entries


def test_model_sanity_the_property_can_see_hits_and_304s():
    # The property only means something if its sequences reach hits, 304s and refreshes.
    app = ModelApp()
    _mw, wsgi = cached(app, max_entry_bytes=MAX_ENTRY, request_directives="honor")
    model = Model("honor")
    seq = [
        ("GET", ("/a", ""), "plain", "fresh"),
        ("GET", ("/a", ""), "plain", "error"),
        ("HEAD", ("/a", ""), "inm", "error"),
        ("GET", ("/a", ""), "ims", "error"),
        ("GET", ("/v", ""), "gzip", "public"),
        ("GET", ("/v", ""), "gzip_br", "fresh"),
        ("GET", ("/v", ""), "br_half_gzip", "error"),
        ("GET", ("/a", "x=1"), "plain", "public"),
        ("GET", ("/a", "x=1"), "auth", "error"),
        ("GET", ("/a", ""), "no_cache", "no_store"),
        ("GET", ("/a", ""), "plain", "fresh"),
        ("POST", ("/v", ""), "plain", "created"),
        ("GET", ("/v", ""), "gzip", "fresh"),
    ]
    got = [check_request(model, app, wsgi, *step) for step in seq]
    assert got[:10] == ["MISS", "HIT", "HIT", "HIT", "MISS", "MISS", "HIT", "MISS", "HIT", "MISS"]
    assert got[11:] == ["BYPASS", "MISS"]


def test_model_sanity_ignored_directives_get_the_stored_entry():
    app = ModelApp()
    _mw, wsgi = cached(app, max_entry_bytes=MAX_ENTRY)
    model = Model("ignore")
    seq = [
        ("GET", ("/a", ""), "no_cache", "fresh"),
        ("GET", ("/a", ""), "no_cache", "error"),
        ("GET", ("/a", ""), "pragma", "error"),
        ("GET", ("/a", ""), "max_age_0", "error"),
        ("GET", ("/a", ""), "no_store", "error"),
        ("GET", ("/a", "x=1"), "no_store", "fresh"),
        ("GET", ("/a", "x=1"), "plain", "fresh"),
    ]
    got = [check_request(model, app, wsgi, *step) for step in seq]
    assert got == ["MISS", "HIT", "HIT", "HIT", "HIT", "MISS", "MISS"]


# --------------------------------------------------------------------------- leak table


def personal_app(dimension, headers):
    """Answers a page personal to the client: its Cookie, Authorization or Host."""

    def app(environ, start_response):
        who = {
            "cookie": environ.get("HTTP_COOKIE"),
            "authorization": environ.get("HTTP_AUTHORIZATION"),
            "host": environ.get("HTTP_HOST"),
        }[dimension]
        start_response("200 OK", [("Content-Type", TEXT), *headers])
        return [personal_body(who)]

    return app


def personal_body(who):
    return f"page for {who!r}; ".encode() * 40  # over Gzip's min_size


def gzip_when_asked(environ, start_response):
    body = personal_body(None)
    headers = [("Content-Type", TEXT), *FRESH, ("Vary", "Accept-Encoding")]
    if environ.get("HTTP_ACCEPT_ENCODING") == "gzip":
        body = gzip.compress(body)
        headers.append(("Content-Encoding", "gzip"))
    start_response("200 OK", headers)
    return [body]


CLIENTS = {
    "cookie": [{"HTTP_COOKIE": "session=alice"}, {"HTTP_COOKIE": "session=bob"}, {}],
    "authorization": [
        {"HTTP_AUTHORIZATION": "Bearer alice"},
        {"HTTP_AUTHORIZATION": "Bearer bob"},
        {},
    ],
    "accept_encoding": [{"HTTP_ACCEPT_ENCODING": "gzip"}, {}, {"HTTP_ACCEPT_ENCODING": "br"}],
    "host": [
        {"HTTP_HOST": "alice.example"},
        {"HTTP_HOST": "bob.example"},
        {"HTTP_HOST": "alice.example:8080"},
    ],
}

LEAKS = [
    pytest.param(
        "cookie",
        lambda: personal_app("cookie", [("Cache-Control", "private, max-age=60")]),
        id="cookie-private",
    ),
    pytest.param(
        "cookie",
        lambda: personal_app("cookie", [*FRESH, ("Vary", "Cookie")]),
        id="cookie-vary_cookie",
    ),
    pytest.param(
        "cookie",
        lambda: personal_app("cookie", [*FRESH, ("Set-Cookie", "seen=1")]),
        id="cookie-set_cookie",
    ),
    pytest.param(
        "cookie",
        lambda: personal_app("cookie", [("Cache-Control", "no-store")]),
        id="cookie-no_store",
    ),
    pytest.param(
        "cookie",
        lambda: personal_app("cookie", [("Cache-Control", "no-cache")]),
        id="cookie-no_cache",
    ),
    pytest.param(
        "cookie",
        lambda: personal_app("cookie", [("Cache-Control", "max-age=0")]),
        id="cookie-max_age_0",
    ),
    pytest.param(
        "authorization", lambda: personal_app("authorization", FRESH), id="authorization-max_age"
    ),
    pytest.param(
        "authorization", lambda: personal_app("authorization", []), id="authorization-default_ttl"
    ),
    pytest.param(
        "authorization",
        lambda: personal_app("authorization", [("Cache-Control", "private, max-age=60")]),
        id="authorization-private",
    ),
    pytest.param(
        "authorization",
        lambda: personal_app(
            "authorization", [("Cache-Control", "public, max-age=60"), ("Vary", "Authorization")]
        ),
        id="authorization-public_vary_authorization",
    ),
    pytest.param("accept_encoding", lambda: gzip_when_asked, id="accept_encoding-vary"),
    pytest.param("accept_encoding", lambda: "gzip_inside", id="accept_encoding-cache_of_gzip"),
    pytest.param("accept_encoding", lambda: "gzip_outside", id="accept_encoding-gzip_of_cache"),
    pytest.param("host", lambda: personal_app("host", FRESH), id="host-max_age"),
    pytest.param("host", lambda: personal_app("host", []), id="host-default_ttl"),
]


def leak_stack(made):
    if made == "gzip_inside":
        mw = Cache(validator(Gzip(validator(personal_app("cookie", FRESH)))))
        return mw, validator(mw)
    if made == "gzip_outside":
        mw = Cache(validator(personal_app("cookie", FRESH)))
        return mw, validator(Gzip(validator(mw)))
    return cached(made)


@pytest.mark.parametrize("dimension, make", LEAKS)
def test_clients_never_see_each_others_responses(dimension, make):
    _mw, wsgi = leak_stack(make())
    clients = CLIENTS[dimension]
    for index in [0, 1, 2, 0, 1, 2, 2, 1, 0, 0]:
        headers = clients[index]
        environ = make_environ(PATH_INFO="/me", **headers)
        response = run(wsgi, environ)
        assert response.status == "200 OK"
        body = response.body
        encoding = header(response.headers, "Content-Encoding")
        if dimension == "accept_encoding":
            accepts_gzip = headers.get("HTTP_ACCEPT_ENCODING") == "gzip"
            if not accepts_gzip:
                assert encoding is None, f"client {headers} got {encoding}"
            if encoding == "gzip":
                body = gzip.decompress(body)
            assert body == personal_body(None)
        else:
            assert encoding is None
            who = {
                "cookie": headers.get("HTTP_COOKIE"),
                "authorization": headers.get("HTTP_AUTHORIZATION"),
                "host": headers.get("HTTP_HOST"),
            }[dimension]
            assert body == personal_body(who), f"client {headers} got {body[:40]!r}"


def test_public_response_to_authorization_is_shared_by_design():
    # The counterpart of the leak table: this one *must* be shared.
    _mw, wsgi = cached(personal_app("authorization", [("Cache-Control", "public, max-age=60")]))
    first = run(wsgi, make_environ(HTTP_AUTHORIZATION="Bearer alice"))
    second = run(wsgi, make_environ(HTTP_AUTHORIZATION="Bearer bob"))
    assert label(second) == "HIT"
    assert second.body == first.body == personal_body("Bearer alice")


# --------------------------------------------------------------------------- single-flight


class Gate:
    """An app whose first call blocks until `release` is set; later calls do not block.
    `during[n]` records, for call n > 1, whether the first call's body had been read to
    its end when call n began."""

    def __init__(self, headers=FRESH, *, hold_all=False):
        self.headers = headers
        self.hold_all = hold_all
        self.lock = threading.Lock()
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.first_done = threading.Event()
        self.during = {}

    def __call__(self, environ, start_response):
        with self.lock:
            self.calls += 1
            n = self.calls
        if n == 1 or self.hold_all:
            self.entered.set()
            assert self.release.wait(30), "never released"
        else:
            self.during[n] = self.first_done.is_set()
        start_response("200 OK", [("Content-Type", TEXT), *self.headers])

        def body():
            yield b"call %d " % n
            yield b"x" * 1000
            if n == 1:
                self.first_done.set()

        return body()


def hammer(wsgi, count, request=lambda: make_environ(PATH_INFO="/slow"), *, barrier=True):
    """`count` threads each run one request; returns (threads, results list)."""
    results = [None] * count
    errors = []
    start = threading.Barrier(count)

    def worker(i):
        try:
            if barrier:
                start.wait(5)
            results[i] = run(wsgi, request())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads, results, errors


def join_all(threads, timeout=20, what="a thread hung"):
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), what


def test_single_flight_sixteen_concurrent_misses_call_the_app_once():
    app = Gate()
    mw, wsgi = cached(app)
    threads, results, errors = hammer(wsgi, 16)
    assert app.entered.wait(5)
    time.sleep(0.3)  # let the other 15 reach the cache while the first is in the app
    app.release.set()
    join_all(threads)
    assert errors == []
    assert app.calls == 1
    bodies = {r.body for r in results}
    assert bodies == {b"call 1 " + b"x" * 1000}
    assert Counter(label(r) for r in results) == {"MISS": 1, "HIT": 15}
    s = stats(mw)
    assert (s["hits"], s["misses"], s["stores"]) == (15, 1, 1)


def test_single_flight_off_calls_the_app_sixteen_times():
    arrived = threading.Barrier(16)

    def app(environ, start_response):
        arrived.wait(5)  # all 16 must be inside the app at once
        start_response("200 OK", [("Content-Type", TEXT), *FRESH])
        return [b"same page"]

    calls = []

    def counting(environ, start_response):
        calls.append(1)
        return app(environ, start_response)

    _mw, wsgi = cached(counting, single_flight=False)
    threads, results, errors = hammer(wsgi, 16)
    join_all(threads)
    assert errors == []
    assert len(calls) == 16
    assert all(r.body == b"same page" for r in results)
    assert Counter(label(r) for r in results) == {"MISS": 16}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([*FRESH, ("Set-Cookie", "s=1")], id="set_cookie"),
        pytest.param([("Cache-Control", "no-store")], id="no_store"),
        pytest.param([("Cache-Control", "private, max-age=60")], id="private"),
    ],
)
def test_single_flight_leader_not_storable_waiters_call_the_app(headers):
    app = Gate(headers)
    mw, wsgi = cached(app)
    threads, results, errors = hammer(wsgi, 16)
    assert app.entered.wait(5)
    time.sleep(0.3)
    app.release.set()
    join_all(threads)
    assert errors == []
    assert app.calls == 16
    assert all(app.during.values()), (
        f"calls started before the leader's response ended: {app.during}"
    )
    assert sorted(r.body for r in results) == sorted(
        b"call %d " % n + b"x" * 1000 for n in range(1, 17)
    )
    assert Counter(label(r) for r in results) == {"MISS": 16}
    assert stats(mw)["stores"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"HTTP_CACHE_CONTROL": "no-cache"}, id="no_cache"),
        pytest.param({"HTTP_CACHE_CONTROL": "max-age=0"}, id="max_age_0"),
        pytest.param({"HTTP_PRAGMA": "no-cache"}, id="pragma"),
    ],
)
@pytest.mark.parametrize("directives", ["ignore", "honor"])
def test_sixteen_concurrent_refreshes_of_a_stored_entry_call_the_app_at_most_once(
    headers, directives
):
    app = Gate(hold_all=True)
    mw, wsgi = cached(app, single_flight_timeout=30, request_directives=directives)
    app.release.set()
    run(wsgi, make_environ(PATH_INFO="/slow"))  # stored: call 1
    app.release.clear()
    app.entered.clear()
    threads, results, errors = hammer(wsgi, 16, lambda: make_environ(PATH_INFO="/slow", **headers))
    if directives == "honor":
        assert app.entered.wait(5)
        time.sleep(0.3)  # let the other 15 reach the cache while one refreshes
    app.release.set()
    join_all(threads)
    assert errors == []
    labels = Counter(label(r) for r in results)
    if directives == "ignore":
        assert app.calls == 1
        assert labels == {"HIT": 16}
        assert {r.body for r in results} == {b"call 1 " + b"x" * 1000}
    else:
        # One refresh for all sixteen, and every one of them gets the refreshed response.
        assert app.calls == 2
        assert labels == {"MISS": 1, "HIT": 15}
        assert {r.body for r in results} == {b"call 2 " + b"x" * 1000}
    assert stats(mw)["stores"] == app.calls


def test_single_flight_timeout_waiter_calls_the_app_itself():
    app = Gate()
    _mw, wsgi = cached(app, single_flight_timeout=0.2)
    leader, leader_results, leader_errors = hammer(wsgi, 1, barrier=False)
    try:
        assert app.entered.wait(5)
        waiter, results, errors = hammer(wsgi, 1, barrier=False)
        join_all(waiter, timeout=10)  # the leader is still hanging in the app
        assert errors == []
        assert label(results[0]) == "MISS"
        assert results[0].body == b"call 2 " + b"x" * 1000
        assert app.calls == 2
    finally:
        app.release.set()
        join_all(leader)
    assert leader_errors == []
    assert leader_results[0].body == b"call 1 " + b"x" * 1000


class FailingLeader(Gate):
    """The first call blocks until released, then fails (`where`); later calls succeed."""

    def __init__(self, where):
        super().__init__()
        self.where = where

    def __call__(self, environ, start_response):
        with self.lock:
            self.calls += 1
            n = self.calls
        if n == 1:
            self.entered.set()
            assert self.release.wait(30), "never released"
            if self.where == "before_start":
                raise RuntimeError("leader failed")
            start_response("200 OK", [("Content-Type", TEXT), *FRESH])

            def broken():
                yield b"partial"
                raise RuntimeError("leader failed")

            return broken()
        start_response("200 OK", [("Content-Type", TEXT), *FRESH])
        return [b"call %d" % n]


@pytest.mark.parametrize("where", ["before_start", "mid_stream"])
def test_single_flight_leader_failing_releases_the_waiters(where):
    # single_flight_timeout=30: waiters that sat out the timeout would hang the join below.
    app = FailingLeader(where)
    _mw, wsgi = cached(app, single_flight_timeout=30)
    threads, results, errors = hammer(wsgi, 8)
    assert app.entered.wait(5)
    time.sleep(0.3)
    app.release.set()
    join_all(threads, timeout=10, what="waiters kept waiting after the leader failed")
    assert len(errors) == 1 and "leader failed" in errors[0], errors
    served = [r for r in results if r is not None]
    assert len(served) == 7
    for response in served:
        assert response.status == "200 OK"
        assert response.body in {b"call %d" % n for n in range(2, 9)}, response.body
    assert app.calls >= 2


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"HTTP_IF_NONE_MATCH": '"v1"'}, "304 Not Modified", id="conditional_inm"),
        pytest.param({"HTTP_IF_NONE_MATCH": '"other"'}, "200 OK", id="conditional_inm_other"),
        pytest.param(
            {"HTTP_IF_MODIFIED_SINCE": LAST_MODIFIED}, "304 Not Modified", id="conditional_ims"
        ),
    ],
)
def test_conditional_requests_wait_for_the_flight_and_are_answered_from_the_store(headers, status):
    # docs/cache.md: conditional requests never lead a flight (their answer may be a 304 that
    # stores nothing) but do wait for one a plain GET leads, then get the stored answer.
    app = Gate(headers=[("ETag", '"v1"'), ("Last-Modified", LAST_MODIFIED), *FRESH])
    _mw, wsgi = cached(app, single_flight_timeout=30)
    leader, _, leader_errors = hammer(wsgi, 1, barrier=False)
    try:
        assert app.entered.wait(5)
        other, results, errors = hammer(
            wsgi, 1, lambda: make_environ(PATH_INFO="/slow", **headers), barrier=False
        )
        time.sleep(0.3)
        assert results[0] is None, "the conditional request did not wait for the leader"
    finally:
        app.release.set()
        join_all(leader)
    join_all(other, timeout=5, what="the conditional request kept waiting")
    assert leader_errors == [] and errors == []
    assert app.calls == 1
    assert results[0].status == status
    assert label(results[0]) == "HIT"
    if status == "200 OK":
        assert results[0].body == b"call 1 " + b"x" * 1000
    else:
        assert results[0].body == b""


@pytest.mark.parametrize(
    "headers, directives",
    [
        pytest.param({"HTTP_AUTHORIZATION": "Bearer a"}, "ignore", id="authorization"),
        pytest.param({"HTTP_CACHE_CONTROL": "no-store"}, "honor", id="honored_no_store"),
    ],
)
def test_requests_outside_single_flight_never_wait(headers, directives):
    app = Gate()
    _mw, wsgi = cached(app, single_flight_timeout=30, request_directives=directives)
    leader, _, leader_errors = hammer(wsgi, 1, barrier=False)
    try:
        assert app.entered.wait(5)
        other, results, errors = hammer(
            wsgi, 1, lambda: make_environ(PATH_INFO="/slow", **headers), barrier=False
        )
        join_all(other, timeout=5, what=f"a request with {headers} waited on the flight")
        assert errors == []
        assert results[0].body == b"call 2 " + b"x" * 1000
        assert label(results[0]) in ("MISS", "BYPASS")
    finally:
        app.release.set()
        join_all(leader)
    assert leader_errors == []


def test_one_thread_two_responses_for_the_same_url_in_lockstep():
    app = Origin()
    _mw, wsgi = cached(app, single_flight_timeout=30)
    outcome = {}

    def scenario():
        environ = env("/x")
        server, outer = Server(), None
        try:
            outer = wsgi(environ, server.start_response)
            server.take(next(outer))
            second = run(wsgi, env("/x"))  # must not wait on the flight it leads itself
            for chunk in outer:
                server.take(chunk)
            outcome["second"] = second
        finally:
            if outer is not None:
                outer.close()
        outcome["first"] = b"".join(server.chunks)

    thread = threading.Thread(target=scenario, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "the thread waited on its own flight"
    assert outcome["first"] == app.body(1)
    assert outcome["second"].body == app.body(2)
    assert label(outcome["second"]) == "MISS"
    assert app.calls == 2


def test_single_flight_is_per_key():
    app = Gate(hold_all=True)
    _mw, wsgi = cached(app)
    paths = iter(f"/p{i}" for i in range(4))
    lock = threading.Lock()

    def request():
        with lock:
            return make_environ(PATH_INFO=next(paths))

    threads, _results, errors = hammer(wsgi, 4, request)
    deadline = time.monotonic() + 5
    while app.calls < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    calls = app.calls
    app.release.set()
    join_all(threads)
    assert errors == []
    assert calls == 4, "different keys must not wait on each other"


def test_shared_instance_many_threads_hits_misses_purges():
    def site(environ, start_response):
        path = environ["PATH_INFO"]
        start_response("200 OK", [("Content-Type", TEXT), *FRESH])
        if environ["REQUEST_METHOD"] == "HEAD":
            return []
        return [path.encode() * 50, b"|", path.encode() * 50]

    mw = Cache(site, max_bytes=20_000, max_entry_bytes=5_000)
    wsgi = validator(mw)
    paths = [f"/p{i}" for i in range(12)]
    failures = []
    count = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def worker(offset):
        for i in range(120):
            path = paths[(i * 7 + offset) % len(paths)]
            method = ("GET", "GET", "GET", "HEAD", "POST")[(i + offset) % 5]
            response = run(wsgi, make_environ(PATH_INFO=path, REQUEST_METHOD=method))
            expected = b"" if method == "HEAD" else path.encode() * 50 + b"|" + path.encode() * 50
            if response.body != expected or response.status != "200 OK":
                failures.append((path, method, response.status, response.body[:20]))
            with lock:
                count[0] += 1

    def purger():
        while not stop.is_set():
            mw.purge(paths[0])
            mw.stats()
            time.sleep(0.001)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(8)]
    side = threading.Thread(target=purger, daemon=True)
    side.start()
    for thread in threads:
        thread.start()
    join_all(threads, timeout=60)
    stop.set()
    side.join(5)
    assert failures == []
    s = stats(mw)
    assert s["hits"] + s["misses"] + s["bypasses"] == count[0] == 8 * 120
    assert s["bytes"] <= 20_000


# --------------------------------------------------------------------------- real server


def request(port, method="GET", path="/", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, response.headers, body
    finally:
        conn.close()


def test_real_server_round_trip(serve):
    app = Origin(
        [("Cache-Control", "max-age=60"), ("ETag", '"rt"'), ("Last-Modified", LAST_MODIFIED)]
    )
    mw = Cache(validator(app))
    port = serve(validator(mw))

    status, headers, body = request(port, "GET", "/page?x=1")
    assert status == 200
    assert headers["X-Cache"] == "MISS"
    assert body == b"/page?x=1 #1"

    status, headers, hit_body = request(port, "GET", "/page?x=1")
    assert status == 200
    assert headers["X-Cache"] == "HIT"
    assert hit_body == body
    assert headers["Content-Length"] == str(len(body))
    assert int(headers["Age"]) >= 0

    status, headers, head_body = request(port, "HEAD", "/page?x=1")
    assert status == 200
    assert headers["X-Cache"] == "HIT"
    assert head_body == b""
    assert headers["Content-Length"] == str(len(body))

    for conditional in ({"If-None-Match": '"rt"'}, {"If-Modified-Since": LAST_MODIFIED}):
        status, headers, not_modified = request(port, "GET", "/page?x=1", conditional)
        assert status == 304, conditional
        assert headers["X-Cache"] == "HIT"
        assert headers["ETag"] == '"rt"'
        assert "Content-Type" not in headers
        assert not_modified == b""
    assert app.calls == 1

    status, headers, _ = request(port, "GET", "/page?x=2")
    assert headers["X-Cache"] == "MISS"
    status, headers, _ = request(port, "POST", "/page?x=1")
    assert headers["X-Cache"] == "BYPASS"
    status, headers, body = request(port, "GET", "/page?x=1")
    assert headers["X-Cache"] == "MISS"
    assert body == b"/page?x=1 #4"
    assert app.calls == 4
    s = stats(mw)
    assert s["hits"] + s["misses"] + s["bypasses"] == 8


def test_real_server_age_is_whole_seconds(serve):
    # The Age of a hit on the wire is an integer number of seconds (RFC 9111 5.1).
    app = Origin([("Cache-Control", "max-age=60"), ("Date", email.utils.formatdate(usegmt=True))])
    port = serve(validator(Cache(validator(app))))
    request(port)
    _status, headers, _ = request(port)
    assert headers["X-Cache"] == "HIT"
    assert headers["Age"].isdigit()
