"""Records on a shared Redis that Cache never writes are refused, not served.

Whoever can write to the Redis (other apps share it, other versions, an operator) can put a
well-formed record under the cache's prefix. Each test lets Cache store a response, then
overwrites that entry with a plain Redis client (redis-py). The records are encoded here
from the layout documented in rust/cache/entry.rs, by an encoder of the test's own (checked
against what Cache writes): never by the implementation. Every request goes through
`wsgiref.validate.validator` on both sides.
"""

from __future__ import annotations

import dataclasses
import http.client
import struct
import sys
import time
from pathlib import Path
from wsgiref.validate import validator

import pytest
from conftest import error_text, header, header_values, make_environ, run, server_process
from redis_server import free_port

from wsgi_mw import Cache

HTML = "text/html; charset=utf-8"
MAX_DELTA_SECONDS = 2**31  # RFC 9111 §1.2.2

# --------------------------------------------------------------------------- the test codec
#
# entry.rs: after the 4-byte magic "WMC" + version, a kind byte: "R" (a response) or "V"
# (the Vary names of a URI's responses). A response: code u16, stored_at i64 (ms), ttl_ms u64,
# age u64, stale_while_revalidate u32 (s), stale_if_error u32 (s), flags u8 (1: shareable,
# 2: add Content-Length), status, headers (count u32, then name and value), tags (count
# u32, then each), body. Vary names: count u32, then each name. A string or body is a u32
# length and its bytes (strings UTF-8). Integers big-endian.

MAGIC = b"WMC\x01"
SHAREABLE, ADD_LENGTH = 1, 2


@dataclasses.dataclass
class Response:
    code: int
    status: str
    stored_at: int
    ttl_ms: int
    age: int
    stale_while_revalidate: int
    stale_if_error: int
    shareable: bool
    add_length: bool
    headers: list[tuple[str, str]]
    tags: list[str]
    body: bytes


def _blob(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def encode(record: Response | list[str]) -> bytes:
    if isinstance(record, list):
        return (
            MAGIC
            + b"V"
            + struct.pack(">I", len(record))
            + b"".join(_blob(name.encode()) for name in record)
        )
    flags = (SHAREABLE if record.shareable else 0) | (ADD_LENGTH if record.add_length else 0)
    out = MAGIC + b"R"
    out += struct.pack(
        ">HqQQIIB",
        record.code,
        record.stored_at,
        record.ttl_ms,
        record.age,
        record.stale_while_revalidate,
        record.stale_if_error,
        flags,
    )
    out += _blob(record.status.encode())
    out += struct.pack(">I", len(record.headers))
    for name, value in record.headers:
        out += _blob(name.encode()) + _blob(value.encode())
    out += struct.pack(">I", len(record.tags)) + b"".join(_blob(t.encode()) for t in record.tags)
    return out + _blob(record.body)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        assert self.at + n <= len(self.data), "truncated record"
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def blob(self) -> bytes:
        (length,) = self.unpack(">I")
        return self.take(length)

    def text(self) -> str:
        return self.blob().decode()


def decode(data: bytes) -> Response | list[str]:
    reader = _Reader(data)
    assert reader.take(4) == MAGIC
    kind = reader.take(1)
    if kind == b"V":
        (count,) = reader.unpack(">I")
        names = [reader.text() for _ in range(count)]
        assert reader.at == len(data)
        return names
    assert kind == b"R"
    code, stored_at, ttl_ms, age, swr, sie, flags = reader.unpack(">HqQQIIB")
    status = reader.text()
    (count,) = reader.unpack(">I")
    headers = [(reader.text(), reader.text()) for _ in range(count)]
    (count,) = reader.unpack(">I")
    tags = [reader.text() for _ in range(count)]
    body = reader.blob()
    assert reader.at == len(data)
    return Response(
        code,
        status,
        stored_at,
        ttl_ms,
        age,
        swr,
        sie,
        bool(flags & SHAREABLE),
        bool(flags & ADD_LENGTH),
        headers,
        tags,
        body,
    )


# --------------------------------------------------------------------------- helpers


class CountingApp:
    """A fixed response; counts its calls. `status` may be changed between requests."""

    def __init__(self, body=b"<p>Hello</p>", headers=(), status="200 OK", content_type=HTML):
        self.body = body
        self.headers = list(headers)
        self.status = status
        self.content_type = [("Content-Type", content_type)] if content_type else []
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response(self.status, [*self.content_type, *self.headers])
        return [self.body]


FRESH = [("Cache-Control", "max-age=60")]


def entries(client):
    """{key: decoded record} of every entry under the default prefix."""
    return {key: decode(client.get(key)) for key in client.keys(b"wsgi_mw:e:*")}


def only_entry(client):
    ((key, record),) = entries(client).items()
    return key, record


def cache_label(response):
    values = header_values(response.headers, "X-Cache")
    assert len(values) == 1, values
    return values[0]


def now_ms() -> int:
    return int(time.time() * 1000)


def well_formed(**changes) -> Response:
    """A record Cache would write for CountingApp() with FRESH, stored just now."""
    record = Response(
        code=200,
        status="200 OK",
        stored_at=now_ms(),
        ttl_ms=60_000,
        age=0,
        stale_while_revalidate=0,
        stale_if_error=0,
        shareable=False,
        add_length=True,
        headers=[("Content-Type", HTML), ("Cache-Control", "max-age=60")],
        tags=[],
        body=b"<p>Hello</p>",
    )
    return dataclasses.replace(record, **changes)


# --------------------------------------------------------------------------- the codec


def test_the_test_codec_reads_and_writes_exactly_what_cache_writes(redis_server):
    client = redis_server.client()
    app = CountingApp(headers=[*FRESH, ("Surrogate-Key", "a b"), ("Vary", "Accept-Language")])
    mw = Cache(app, store=redis_server.url, stale_if_error=30)
    get = run(validator(mw), make_environ(HTTP_ACCEPT_LANGUAGE="fr"))
    assert cache_label(get) == "MISS"
    records = entries(client)
    assert len(records) == 2
    for key, record in records.items():
        assert encode(record) == client.get(key)
    (vary,) = [r for r in records.values() if isinstance(r, list)]
    (response,) = [r for r in records.values() if isinstance(r, Response)]
    assert vary == ["accept-language"]
    assert response.tags == ["a", "b"] and response.stale_if_error == 30
    assert response.add_length and response.body == b"<p>Hello</p>"


def test_a_record_the_test_encoder_writes_as_cache_would_is_a_hit(redis_server):
    """The positive control: the checks do not refuse everything, and the encoder is right."""
    client = redis_server.client()
    app = CountingApp(headers=FRESH)
    mw = Cache(app, store=redis_server.url)
    run(validator(mw))
    key, _ = only_entry(client)
    client.set(
        key,
        encode(
            well_formed(
                age=7,
                headers=[("Content-Type", HTML), ("Cache-Control", "max-age=60"), ("ETag", '"x"')],
                body=b"<p>from the test encoder</p>",
                stale_while_revalidate=10,
            )
        ),
    )
    environ = make_environ()
    hit = run(validator(mw), environ)
    assert cache_label(hit) == "HIT"
    assert hit.body == b"<p>from the test encoder</p>"
    assert header(hit.headers, "Content-Length") == str(len(hit.body))
    assert header(hit.headers, "ETag") == '"x"'
    assert 7 <= int(header(hit.headers, "Age")) <= 8
    assert app.calls == 1
    assert mw.stats()["refused_records"] == 0
    assert error_text(environ) == ""


# --------------------------------------------------------------------------- refused records


def _with_header(name, value, **changes):
    def change(r):
        return dataclasses.replace(r, headers=[*r.headers, (name, value)], **changes)

    return change


def _fields(**changes):
    def change(r):
        return dataclasses.replace(r, **changes)

    return change


# (id, change to the record Cache wrote (or the bytes to write instead), words of the line)
REFUSED = [
    (
        "informational_100_continue",
        _fields(code=100, status="100 Continue", add_length=False, body=b""),
        "status 100 is not stored",
    ),
    (
        "status_outside_statuses",
        _fields(code=500, status="500 Internal Server Error"),
        "status 500",
    ),
    (
        "content_length_and_the_add_length_flag",
        _with_header("Content-Length", "12"),
        "a Content-Length and the flag",
    ),
    (
        "content_length_not_the_bodys",
        _with_header("Content-Length", "3", add_length=False),
        "Content-Length says 3 bytes but its body holds 12",
    ),
    ("set_cookie", _with_header("Set-Cookie", "session=someone-elses"), "sets a cookie"),
    ("own_status_header", _with_header("X-Cache", "HIT"), "X-Cache header"),
    ("age_header", _with_header("Age", "5"), "Age header"),
    ("tag_header", _with_header("Surrogate-Key", "t1"), "Surrogate-Key header"),
    ("hop_by_hop_trailer", _with_header("Trailer", "X-Checksum"), "Trailer header"),
    ("proxy_field", _with_header("Proxy-Connection", "close"), "Proxy-Connection header"),
    # PEP 3333 forbids it from an app: the decoder itself refuses it.
    ("hop_by_hop_connection", _with_header("Connection", "close"), "does not decode"),
    ("body_over_max_entry_bytes", _fields(body=b"x" * 65), "over max_entry_bytes (64)"),
    ("lifetime_past_2_31_seconds", _fields(ttl_ms=2**64 - 1), "past 2^31 seconds"),
    ("stale_window_past_a_year", _fields(stale_if_error=2**32 - 1), "served stale for"),
    (
        "stored_in_the_future",
        lambda r: dataclasses.replace(r, stored_at=r.stored_at + 86_400_000),
        "in the future",
    ),
    ("shareable_without_saying_so", _fields(shareable=True), "Authorization"),
    ("not_a_record", lambda r: b"\x80\x04\x95pickle", "does not decode"),
]


@pytest.mark.parametrize("change, words", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_response_record_cache_never_writes_is_a_counted_miss(redis_server, change, words):
    client = redis_server.client()
    app = CountingApp(headers=FRESH)
    mw = Cache(app, store=redis_server.url, max_entry_bytes=64)
    assert cache_label(run(validator(mw))) == "MISS"
    key, written = only_entry(client)
    changed = change(written)
    bad = changed if isinstance(changed, bytes) else encode(changed)

    client.set(key, bad)
    environ = make_environ()
    miss = run(validator(mw), environ)
    assert cache_label(miss) == "MISS"
    assert app.calls == 2
    assert miss.status == "200 OK" and miss.body == b"<p>Hello</p>"
    assert header_values(miss.headers, "Set-Cookie") == []
    assert header_values(miss.headers, "Age") == []
    assert len(header_values(miss.headers, "Content-Length")) <= 1
    assert mw.stats()["refused_records"] == 1
    lines = error_text(environ).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("wsgi_mw.Cache: refused a record read back from the shared store")
    assert words in lines[0]
    assert "stats()['refused_records']" in lines[0]

    # The app's response replaced the record.
    assert cache_label(run(validator(mw))) == "HIT"
    assert app.calls == 2

    # Later refusals in this Cache are only counted.
    client.set(key, bad)
    again = make_environ()
    assert cache_label(run(validator(mw), again)) == "MISS"
    assert mw.stats()["refused_records"] == 2
    assert error_text(again) == ""


@pytest.mark.parametrize(
    "names, words",
    [
        (["Accept-Language"], '"Accept-Language", which is not a lowercase field name'),
        (["*"], '"*"'),
        (["accept language"], "not a lowercase field name"),
        (["cookie", "accept-language"], "not sorted and distinct"),
        ([], "names no header"),
    ],
    ids=["uppercase", "star", "not_a_field_name", "unsorted", "empty"],
)
def test_a_vary_record_cache_never_writes_is_a_counted_miss(redis_server, names, words):
    client = redis_server.client()
    app = CountingApp(headers=[*FRESH, ("Vary", "Accept-Language")])
    mw = Cache(app, store=redis_server.url)
    assert cache_label(run(validator(mw), make_environ(HTTP_ACCEPT_LANGUAGE="fr"))) == "MISS"
    (uri_key,) = [k for k, r in entries(client).items() if isinstance(r, list)]
    client.set(uri_key, encode(names))
    environ = make_environ(HTTP_ACCEPT_LANGUAGE="fr")
    assert cache_label(run(validator(mw), environ)) == "MISS"
    assert app.calls == 2
    assert mw.stats()["refused_records"] == 1
    lines = error_text(environ).splitlines()
    assert len(lines) == 1 and words in lines[0], lines
    # The response rewrote the URI's Vary record.
    assert decode(client.get(uri_key)) == ["accept-language"]
    assert cache_label(run(validator(mw), make_environ(HTTP_ACCEPT_LANGUAGE="fr"))) == "HIT"


# --------------------------------------------------------------------------- ages past 2^31


def test_an_age_past_2_31_is_2_31_so_the_entry_is_stale_not_refused(redis_server):
    """RFC 9111 §1.2.2: an Age that overflows is 2^31, "infinity": older than any lifetime,
    so the entry is stale (here without a stale window: a plain miss), not refused."""
    client = redis_server.client()
    app = CountingApp(headers=FRESH)
    mw = Cache(app, store=redis_server.url)
    run(validator(mw))
    key, written = only_entry(client)
    client.set(key, encode(dataclasses.replace(written, age=2**64 - 1)))
    environ = make_environ()
    miss = run(validator(mw), environ)
    assert cache_label(miss) == "MISS"
    assert header_values(miss.headers, "Age") == []
    assert app.calls == 2
    assert mw.stats()["refused_records"] == 0
    assert error_text(environ) == ""
    hit = run(validator(mw))
    assert cache_label(hit) == "HIT" and int(header(hit.headers, "Age")) <= 1


def test_a_stale_entry_with_an_age_past_2_31_goes_out_with_age_2_31(redis_server):
    client = redis_server.client()
    app = CountingApp(headers=[("Cache-Control", "max-age=60, stale-if-error=60")])
    mw = Cache(app, store=redis_server.url)
    run(validator(mw))
    key, written = only_entry(client)
    assert written.stale_if_error == 60
    client.set(key, encode(dataclasses.replace(written, age=2**64 - 1)))
    app.status = "500 Internal Server Error"
    stale = run(validator(mw))
    assert cache_label(stale) == "STALE"
    assert stale.status == "200 OK" and stale.body == b"<p>Hello</p>"
    assert header(stale.headers, "Age") == str(MAX_DELTA_SECONDS)
    assert mw.stats()["refused_records"] == 0


def test_an_apps_age_that_overflows_is_2_31_not_0(redis_server):
    """Its response is older than its lifetime: stale, so not stored (it used to be read as
    0 and stored as brand new)."""
    app = CountingApp(headers=[*FRESH, ("Age", "99999999999999999999999")])
    mw = Cache(app, store=redis_server.url)
    assert cache_label(run(validator(mw))) == "MISS"
    assert cache_label(run(validator(mw))) == "MISS"
    assert app.calls == 2
    assert redis_server.client().keys(b"wsgi_mw:e:*") == []


# --------------------------------------------------------------------------- what Cache writes


def _streamed(environ, start_response):
    start_response("200 OK", [("Content-Type", HTML), *FRESH])
    yield b"<p>streamed, "
    yield b"no length</p>"


# (id, app, Cache options, request headers)
WRITTEN = [
    ("plain", CountingApp(headers=FRESH), {}, {}),
    (
        "vary",
        CountingApp(headers=[*FRESH, ("Vary", "Accept-Language, accept")]),
        {},
        {"HTTP_ACCEPT_LANGUAGE": "fr"},
    ),
    (
        "no_content_204",
        CountingApp(status="204 No Content", body=b"", headers=FRESH, content_type=None),
        {},
        {},
    ),
    ("app_content_length", CountingApp(headers=[*FRESH, ("Content-Length", "12")]), {}, {}),
    ("streamed_add_length", _streamed, {}, {}),
    ("tags", CountingApp(headers=[*FRESH, ("Surrogate-Key", "post-1 blog")]), {}, {}),
    (
        "stale_windows",
        CountingApp(
            headers=[
                (
                    "Cache-Control",
                    "max-age=60, stale-while-revalidate=30, stale-if-error=99999999999",
                )
            ]
        ),
        {},
        {},
    ),
    (
        "stale_window_defaults",
        CountingApp(headers=FRESH),
        {"stale_while_revalidate": 31536000, "stale_if_error": 600},
        {},
    ),
    ("age_from_the_app", CountingApp(headers=[*FRESH, ("Age", "10")]), {}, {}),
    (
        "shareable_s_maxage",
        CountingApp(headers=[("Cache-Control", "s-maxage=60")]),
        {"stale_if_error": 60},
        {},
    ),
    (
        "must_revalidate",
        CountingApp(headers=[("Cache-Control", "public, max-age=60, must-revalidate")]),
        {"stale_if_error": 60},
        {},
    ),
    (
        "lifetime_past_2_31",
        CountingApp(headers=[("Cache-Control", "max-age=999999999999999999999")]),
        {},
        {},
    ),
    ("expires_far", CountingApp(headers=[("Expires", "Fri, 31 Dec 9999 23:59:59 GMT")]), {}, {}),
    ("default_ttl", CountingApp(), {"default_ttl": 5}, {}),
    (
        "fields_a_cache_drops",
        CountingApp(headers=[*FRESH, ("Trailer", "X-Sum"), ("Proxy-Status", "x")]),
        {},
        {},
    ),
    (
        "no_status_or_tag_header",
        CountingApp(headers=[*FRESH, ("X-Cache", "app"), ("Surrogate-Key", "k")]),
        {"status_header": None, "tag_header": None},
        {},
    ),
    (
        "other_status_header",
        CountingApp(headers=[*FRESH, ("X-Cache", "app's own")]),
        {"status_header": "X-Served"},
        {},
    ),
    (
        "listed_status",
        CountingApp(status="418 I'm a teapot", headers=FRESH),
        {"statuses": (200, 418)},
        {},
    ),
]


@pytest.mark.parametrize(
    "app, options, request_headers", [w[1:] for w in WRITTEN], ids=[w[0] for w in WRITTEN]
)
def test_every_record_cache_writes_is_admitted(redis_server, app, options, request_headers):
    mw = Cache(app, store=redis_server.url, **options)
    label = options.get("status_header", "X-Cache")
    first = run(validator(mw), make_environ(**request_headers))
    environ = make_environ(**request_headers)
    second = run(validator(mw), environ)
    assert redis_server.client().keys(b"wsgi_mw:e:*"), "nothing was stored"
    if label is not None:
        assert header(first.headers, label) == "MISS"
        assert header(second.headers, label) == "HIT"
    assert mw.stats()["hits"] == 1, mw.stats()
    assert mw.stats()["refused_records"] == 0
    assert error_text(environ) == ""
    assert second.status == first.status and second.body == first.body
    assert len(header_values(second.headers, "Content-Length")) <= 1


def _collect(mw, environ):
    """Drive a request without run()'s Content-Length check (the app breaks it here)."""
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers
        return lambda data: None

    result = mw(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()
    return seen["headers"], body


@pytest.mark.parametrize(
    "lengths",
    [["20"], ["12", "12"], ["twelve"]],
    ids=["not_the_bodys", "several", "not_a_number"],
)
def test_a_response_whose_content_length_a_hit_would_get_wrong_is_not_stored(redis_server, lengths):
    app = CountingApp(headers=[*FRESH, *(("Content-Length", n) for n in lengths)])
    mw = validator(Cache(validator(app), store=redis_server.url))
    for _ in range(2):
        headers, body = _collect(mw, make_environ())
        assert header(headers, "X-Cache") == "MISS" and body == b"<p>Hello</p>"
    assert app.calls == 2
    assert redis_server.client().keys(b"wsgi_mw:e:*") == []


# --------------------------------------------------------------------------- a real server


def test_a_stored_100_continue_through_gunicorn_is_a_miss(redis_server, tmp_path):
    """Served, the interim status went out as the final response and the client read the
    body as the next response's head."""
    tests = Path(__file__).parent
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    argv = [str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "cache_redis_app:application"]
    env = {"WSGI_MW_TEST_REDIS": redis_server.url, "PYTHONPATH": str(tests)}
    log = tmp_path / "gunicorn.log"
    client = redis_server.client()

    def get():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/page")
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    with server_process("gunicorn", argv, env, log, probe="/purge"):
        status, headers, body = get()
        assert (status, header(headers, "X-Cache"), body) == (200, "MISS", b"/page call 1")
        key, written = only_entry(client)
        client.set(
            key,
            encode(
                dataclasses.replace(
                    written, code=100, status="100 Continue", add_length=False, body=b""
                )
            ),
        )
        status, headers, body = get()
        assert (status, header(headers, "X-Cache"), body) == (200, "MISS", b"/page call 2")
        status, headers, body = get()
        assert (status, header(headers, "X-Cache"), body) == (200, "HIT", b"/page call 2")
    assert log.read_text().count("refused a record read back from the shared store") == 1
