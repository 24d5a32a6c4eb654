"""Compress: zstd, brotli and gzip, negotiated by q-values, written from the spec.

The oracles are independent decoders (the standard library's `gzip`/`zlib`, `brotli`, and
`backports.zstd`, Python 3.14's `compression.zstd`), `wsgiref.validate.validator` on both
sides, Hypothesis over random bodies and chunkings, streaming decoders fed one event at a
time, and a hand-written negotiation table from RFC 9110 §12.5.3. Gzip's own suite
(test_gzip.py) still holds for Gzip, which shares the implementation.
"""

from __future__ import annotations

import gzip
import os
import zlib
from wsgiref.validate import validator

import brotli
import pytest
from conftest import (
    HTML,
    ListApp,
    generator_app,
    header,
    header_values,
    make_environ,
    run,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsgi_mw
from wsgi_mw import Cache, Compress, Gzip, build

try:
    from compression import zstd  # type: ignore[import-not-found]  # Python 3.14
except ImportError:
    from backports import zstd  # type: ignore[import-not-found,no-redef]

BODY = b"".join(b"<p>Hello world, line %d of a compressible page.</p>\n" % i for i in range(60))

DECODE = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": zstd.decompress,
}

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def get(app, accept, **environ):
    return run(app, make_environ(HTTP_ACCEPT_ENCODING=accept, **environ))


def decoded(response):
    coding = header(response.headers, "Content-Encoding")
    return DECODE[coding](response.body) if coding else response.body


# --------------------------------------------------------------------------- negotiation

# (Accept-Encoding, encodings offered, the coding the response must have; None: none).
# Written from RFC 9110 §12.5.3, not from the implementation.
NEGOTIATION = [
    ("gzip, deflate, br, zstd", None, "zstd"),
    ("gzip, deflate, br", None, "br"),
    ("gzip", None, "gzip"),
    ("gzip, br", ("gzip", "br"), "gzip"),  # a tie goes to the server's order
    ("zstd;q=0.5, gzip", None, "gzip"),  # the client's q-values decide
    ("br;q=0.9, zstd;q=0.8", None, "br"),
    ("gzip;q=0", None, None),  # q=0 refuses (starlette-compress gets this wrong)
    ("zstd;q=0, br;q=0, gzip;q=0", None, None),
    ("*", None, "zstd"),  # `*` stands for every coding not named
    ("zstd;q=0, *", None, "br"),
    ("*;q=0", None, None),
    ("*;q=0, gzip", None, "gzip"),
    ("identity", None, None),
    ("identity, gzip;q=0.5", None, None),  # the client prefers the body as it is
    ("deflate", None, None),
    ("zstd", ("gzip",), None),  # not offered
    ("x-gzip", None, "gzip"),
    ("ZSTD;Q=0.5, Br;q=0.4", None, "zstd"),
    ("zstd;q=abc, gzip", None, "gzip"),  # a malformed element is ignored...
    ("br;q=2, gzip;q=0.1", None, "gzip"),
    (";;,=,q=1", None, None),  # ...never an exception
    ("br;q=0.001", None, "br"),
    ("", None, None),
]


@pytest.mark.parametrize(("accept", "offered", "expected"), NEGOTIATION)
def test_negotiation(accept, offered, expected):
    options = {} if offered is None else {"encodings": offered}
    app = validator(Compress(validator(ListApp([BODY])), **options))
    response = get(app, accept)
    assert header(response.headers, "Content-Encoding") == expected
    assert decoded(response) == BODY
    assert header_values(response.headers, "Vary") == ["Accept-Encoding"]


def test_no_accept_encoding_gets_the_body_as_it_is():
    response = run(Compress(ListApp([BODY])), make_environ())
    assert header(response.headers, "Content-Encoding") is None
    assert response.body == BODY


# --------------------------------------------------------------------------- each encoding


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
def test_a_whole_body_is_compressed_in_one_piece_with_an_exact_length(coding):
    # No validator inside: its iterator would hide that the app returned a list.
    app = validator(Compress(ListApp([BODY[:1000], BODY[1000:]])))
    response = get(app, coding)
    assert header(response.headers, "Content-Encoding") == coding
    assert int(header(response.headers, "Content-Length")) == len(response.body)
    assert len(response.body) < len(BODY) / 3
    assert DECODE[coding](response.body) == BODY


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
def test_a_streamed_body_is_compressed_as_it_comes(coding):
    chunks = [BODY[i : i + 700] for i in range(0, len(BODY), 700)]
    app = validator(Compress(validator(generator_app(chunks))))
    response = get(app, coding)
    assert header(response.headers, "Content-Encoding") == coding
    assert header(response.headers, "Content-Length") is None
    assert DECODE[coding](response.body) == BODY


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
@PROPERTY
@given(
    body=st.binary(max_size=6000) | st.text(max_size=3000).map(str.encode),
    cuts=st.lists(st.integers(min_value=0, max_value=6000), max_size=12),
    whole=st.booleans(),
)
def test_any_chunking_round_trips(coding, body, cuts, whole):
    edges = sorted({0, len(body), *(c for c in cuts if c <= len(body))})
    chunks = [body[a:b] for a, b in zip(edges, edges[1:])]
    inner = ListApp(chunks) if whole else generator_app(chunks)
    response = get(validator(Compress(validator(inner), min_size=0)), coding)
    assert decoded(response) == body


def stream_decoder(coding):
    if coding == "gzip":
        return zlib.decompressobj(wbits=31).decompress
    if coding == "br":
        return brotli.Decompressor().process
    return zstd.ZstdDecompressor().decompress


@pytest.mark.parametrize("content_type", ["text/event-stream", "application/x-ndjson"])
@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
def test_each_event_decodes_the_moment_it_arrives(coding, content_type):
    events = [f"data: event {i}\n\n".encode() for i in range(5)]
    app = Compress(generator_app(events, content_type=content_type))
    environ = make_environ(HTTP_ACCEPT_ENCODING=coding)
    heads = []
    result = app(environ, lambda status, headers, exc_info=None: heads.append(headers))
    decode = stream_decoder(coding)
    try:
        for event, chunk in zip(events, result):
            # One item out per item in, and each decodes to its event alone.
            assert decode(chunk) == event
    finally:
        result.close()
    assert header(heads[0], "Content-Encoding") == coding


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
def test_never_larger_than_the_original(coding):
    noise = os.urandom(2000)
    response = get(Compress(ListApp([noise], content_type="text/plain")), coding)
    assert header(response.headers, "Content-Encoding") is None
    assert response.body == noise
    assert header(response.headers, "Content-Length") in (None, "2000")
    assert header_values(response.headers, "Vary") == ["Accept-Encoding"]


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
def test_min_size_applies_to_a_body_of_known_size(coding):
    small = BODY[:400]
    response = get(Compress(ListApp([small])), coding)
    assert header(response.headers, "Content-Encoding") is None
    response = get(Compress(ListApp([small]), min_size=100), coding)
    assert header(response.headers, "Content-Encoding") == coding


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
def test_breach_padding_varies_the_length_and_keeps_the_body(coding):
    app = Compress(ListApp([BODY]), breach_padding=64)
    plain = len(get(Compress(ListApp([BODY])), coding).body)
    lengths = set()
    for _ in range(40):
        response = get(app, coding)
        assert DECODE[coding](response.body) == BODY
        assert int(header(response.headers, "Content-Length")) == len(response.body)
        lengths.add(len(response.body))
    assert len(lengths) > 5
    # At most N bytes of padding plus the few bytes of its frame.
    assert all(plain <= length <= plain + 64 + 16 for length in lengths)
    streamed = get(Compress(generator_app([BODY]), breach_padding=64), coding)
    assert DECODE[coding](streamed.body) == BODY


@pytest.mark.parametrize(
    "content_type",
    [
        "application/vnd.api+json",
        "application/hal+json",
        "application/problem+json",
        "application/atom+xml",
        "application/json; charset=utf-8",
        "image/svg+xml",
    ],
)
def test_default_types_include_the_structured_syntax_suffixes(content_type):
    response = get(Compress(ListApp([BODY], content_type=content_type)), "br")
    assert header(response.headers, "Content-Encoding") == "br"


@pytest.mark.parametrize("content_type", ["image/png", "application/zip", "video/mp4"])
def test_compressed_media_is_left_alone(content_type):
    response = get(Compress(ListApp([BODY], content_type=content_type)), "zstd")
    assert header(response.headers, "Content-Encoding") is None
    assert response.body == BODY


LEFT_ALONE = [
    ("range_request", {}, {"HTTP_RANGE": "bytes=0-10"}),
    ("already_encoded", {"headers": [("Content-Encoding", "gzip")]}, {}),
    ("no_transform", {"headers": [("Cache-Control", "no-transform")]}, {}),
    (
        "partial",
        {"status": "206 Partial Content", "headers": [("Content-Range", "bytes 0-9/99")]},
        {},
    ),
    ("not_modified", {"status": "304 Not Modified"}, {}),
]


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
@pytest.mark.parametrize(("rule", "app_options", "environ"), LEFT_ALONE)
def test_what_gzip_leaves_alone_every_coding_leaves_alone(coding, rule, app_options, environ):
    app = ListApp([BODY], **app_options)
    response = get(Compress(app), coding, **environ)
    own = dict(app_options.get("headers", [])).get("Content-Encoding")
    assert header(response.headers, "Content-Encoding") == own, rule
    if response.body:
        assert response.body == BODY, rule


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
def test_head_gets_the_headers_of_the_get_and_no_body(coding):
    # RFC 9110 §9.3.2; the compressed size is unknown without the body: no Content-Length.
    app = ListApp([BODY], content_length=True)
    response = get(validator(Compress(app)), coding, REQUEST_METHOD="HEAD")
    assert header(response.headers, "Content-Encoding") == coding
    assert header(response.headers, "Content-Length") is None
    assert response.body == b""


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
def test_strong_etag_weakened_and_accept_ranges_dropped(coding):
    app = ListApp([BODY], headers=[("ETag", '"abc"'), ("Accept-Ranges", "bytes")])
    response = get(Compress(app), coding)
    assert header(response.headers, "ETag") == 'W/"abc"'
    assert header(response.headers, "Accept-Ranges") is None


def test_inner_close_is_called_exactly_once_for_every_coding():
    for coding in ("zstd", "br", "gzip"):
        closes = []
        inner = generator_app([BODY])

        def counted(environ, start_response, inner=inner, closes=closes):
            result = inner(environ, start_response)

            class Closing:
                def __iter__(self):
                    return iter(result)

                def close(self):
                    closes.append(1)

            return Closing()

        get(Compress(counted), coding)
        assert closes == [1], coding


# --------------------------------------------------------------------------- with Cache


def test_cache_keeps_one_variant_per_negotiated_coding():
    calls = []

    def app(environ, start_response):
        calls.append(1)
        start_response("200 OK", [("Content-Type", HTML), ("Cache-Control", "max-age=60")])
        return [BODY]

    stack = Cache(Compress(app))
    seen = {}
    for accept in ["zstd", "br", "gzip", "gzip;q=0, br;q=0, zstd;q=0", "br, gzip"]:
        first = get(stack, accept)
        second = get(stack, accept)
        assert header(second.headers, "X-Cache") == "HIT", accept
        assert header(first.headers, "Content-Encoding") == header(
            second.headers, "Content-Encoding"
        )
        assert decoded(second) == BODY
        seen[accept] = header(second.headers, "Content-Encoding")
    assert seen == {
        "zstd": "zstd",
        "br": "br",
        "gzip": "gzip",
        "gzip;q=0, br;q=0, zstd;q=0": None,
        "br, gzip": "br",
    }
    # A client that refuses what another got is never served it from the cache.
    refused = get(stack, "br;q=0, zstd;q=0, gzip")
    assert header(refused.headers, "Content-Encoding") == "gzip"
    # Equivalent headers share an entry: spelling, order, codings nobody produces.
    calls.clear()
    assert header(get(stack, "GZIP, deflate;q=0").headers, "X-Cache") == "HIT"
    assert calls == []


# --------------------------------------------------------------------------- the API


@pytest.mark.parametrize(
    ("options", "error", "names"),
    [
        ({"encodings": ()}, ValueError, "encodings"),
        ({"encodings": ("gzip", "deflate")}, ValueError, "encodings"),
        ({"encodings": ("gzip", "gzip")}, ValueError, "encodings"),
        ({"encodings": "gzip"}, TypeError, "encodings"),
        ({"encodings": (1,)}, TypeError, "encodings"),
        ({"gzip_level": 10}, ValueError, "gzip_level"),
        ({"gzip_level": -1}, ValueError, "gzip_level"),
        ({"brotli_quality": 12}, ValueError, "brotli_quality"),
        ({"zstd_level": 0}, ValueError, "zstd_level"),
        ({"zstd_level": 23}, ValueError, "zstd_level"),
        ({"zstd_level": 3.0}, TypeError, "zstd_level"),
        ({"min_size": -1}, ValueError, "min_size"),
        ({"breach_padding": -1}, ValueError, "breach_padding"),
        ({"content_types": ["nonsense"]}, ValueError, "content_types"),
    ],
)
def test_bad_options_name_the_parameter(options, error, names):
    with pytest.raises(error, match=names):
        Compress(ListApp([BODY]), **options)


def test_attributes_and_repr():
    app = ListApp([BODY])
    compress = Compress(app, encodings=["br", "gzip"], brotli_quality=5, zstd_level=7)
    assert compress.app is app
    assert compress.encodings == ["br", "gzip"]
    assert (compress.gzip_level, compress.brotli_quality, compress.zstd_level) == (6, 5, 7)
    assert compress.min_size == 500
    assert "application/*+json" in Compress.DEFAULT_CONTENT_TYPES
    assert compress.stream_types == ["text/event-stream", "application/x-ndjson"]
    assert repr(compress).startswith("Compress(")
    assert 'encodings=("br", "gzip")' in repr(compress)
    assert "Compress" in wsgi_mw.__all__


def test_build_and_paste_know_compress():
    from wsgi_mw.paste import compress_filter

    built = build(ListApp([BODY]), [("compress", {"encodings": ["gzip"], "gzip_level": 9})])
    assert isinstance(built, Compress) and built.gzip_level == 9
    pasted = compress_filter(ListApp([BODY]), {}, encodings="br gzip", zstd_level="5")
    assert isinstance(pasted, Compress)
    assert pasted.encodings == ["br", "gzip"] and pasted.zstd_level == 5
    with pytest.raises(ValueError, match="zstd_level"):
        compress_filter(ListApp([BODY]), {}, zstd_level="99")


def test_gzip_still_speaks_gzip_only():
    response = get(Gzip(ListApp([BODY])), "zstd, br, gzip;q=0.1")
    assert header(response.headers, "Content-Encoding") == "gzip"
    assert gzip.decompress(response.body) == BODY
    assert header(get(Gzip(ListApp([BODY])), "zstd, br").headers, "Content-Encoding") is None


# --------------------------------------------------------------------------- 304s


class ConditionalPage:
    """A page with ETag "v1" that answers 304 to a matching If-None-Match itself (weak
    comparison, RFC 9110 §13.1.2), as Werkzeug's make_conditional does."""

    body = b"<p>" + b"Hello conditional world. " * 60 + b"</p>"

    def __call__(self, environ, start_response):
        tags = [t.strip() for t in environ.get("HTTP_IF_NONE_MATCH", "").split(",")]
        if any(t.removeprefix("W/") == '"v1"' for t in tags):
            start_response("304 Not Modified", [("ETag", '"v1"')])
            return []
        start_response(
            "200 OK",
            [("Content-Type", "text/html"), ("ETag", '"v1"'), ("Cache-Control", "max-age=60")],
        )
        return [self.body]


def stacks():
    page = ConditionalPage()
    return {
        "Compress(app)": Compress(page),
        "Compress(Cache(app))": Compress(Cache(page)),
        "Cache(Compress(app))": Cache(Compress(page)),
        "Gzip(Cache(app))": Gzip(Cache(page)),
    }


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("stack", list(stacks()))
@pytest.mark.parametrize("accept", ["gzip", "identity"])
def test_a_304_carries_the_etag_and_vary_of_its_200(stack, fused, accept):
    # RFC 9110 §15.4.5. flask-compress sends the app's own "v1" in the 304 after a W/"v1"
    # 200 (its #24, #65), so a client's cache can never freshen what it stored.
    wsgi_mw.set_fusion(fused)
    try:
        mw = validator(stacks()[stack])
        first = run(mw, make_environ(HTTP_ACCEPT_ENCODING=accept))
        assert first.status == "200 OK"
        etag = header(first.headers, "ETag")
        vary = header(first.headers, "Vary")
        assert etag == ('W/"v1"' if accept == "gzip" else '"v1"')
        assert "Accept-Encoding" in vary
        again = run(mw, make_environ(HTTP_ACCEPT_ENCODING=accept, HTTP_IF_NONE_MATCH=etag))
    finally:
        wsgi_mw.set_fusion(True)
    assert again.status == "304 Not Modified"
    assert header(again.headers, "ETag") == etag
    if accept == "gzip":
        assert "Accept-Encoding" in header(again.headers, "Vary")
