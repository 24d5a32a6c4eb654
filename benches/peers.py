"""Pure-Python peers of ``wsgi_mw.Rewrite``, as a competent Python developer would.

- :class:`GoodbyeJoin`: the PEP 3333 tutorial middleware: buffer, ``bytes.replace``.
- :class:`StreamingReplace`: streaming, a carry window, one ``re`` pass per chunk.
- :class:`MinimalPassthrough`: the least any Python body-transforming middleware costs
  on a response it leaves alone.

Pure-Python peer of ``wsgi_mw.Gzip``:

- :class:`DjangoStyleGzip`: streaming gzip as Django's ``GZipMiddleware`` does it for a
  streamed response (``django.utils.text.compress_sequence``).

Pure-Python peer of ``wsgi_mw.Cache``:

- :class:`MinimalDictCache`: the least a Python response cache does: a dict from the
  request URL to the joined 200 response of a GET, kept for a TTL.

Pure-Python peer of ``wsgi_mw.Router``:

- :class:`WerkzeugDispatch`: route to WSGI apps with a Werkzeug ``Map``, the way Werkzeug's
  documentation does: ``url_map.bind_to_environ(environ).match()``, then the endpoint's app.

Pure-Python peer of ``wsgi_mw.Logger``:

- :class:`PyCombinedLogger`: an Apache combined-format access log written by hand: the line
  built when the server closes the response (a closing iterator wrapper counts the bytes),
  the time with ``time.strftime``, the line handed to ``logging``.

Run this file to self-check that StreamingReplace equals a whole-body replace, that
DjangoStyleGzip's output decompresses to the body, for random chunkings, that
MinimalDictCache answers hits, misses and expiry as it should, that WerkzeugDispatch
routes, answers 404/405 and redirects as Werkzeug does, and that PyCombinedLogger logs one
combined line per request when it is closed: ``python benches/peers.py``.
"""

from __future__ import annotations

import datetime
import gzip
import io
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote

from runner import WSGIApp, call_app, make_environ
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule

from wsgi_mw import Rewrite

Rules = Sequence[tuple[bytes, bytes]]

# The media types Rewrite transforms by default (configuration, not logic: the peers use the
# same list so they rewrite the same responses); everything else passes through.
TEXT_MEDIA_TYPES = frozenset(Rewrite.DEFAULT_CONTENT_TYPES)


def media_type(headers: Iterable[tuple[str, str]]) -> str:
    """The lower-cased media type of the Content-Type header, without parameters."""
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


class GoodbyeJoin:
    """The classic tutorial middleware: buffer the body, ``bytes.replace`` each rule.

    Rules apply one after another over the whole body; Content-Length is set to the
    new length. Responses that are not text pass through unchanged (still buffered).

        app = GoodbyeJoin(app, [(b"Hello", b"Goodbye")])
    """

    def __init__(self, app: WSGIApp, rules: Rules) -> None:
        self.app = app
        self.rules = list(rules)

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        response: list = []
        parts: list[bytes] = []

        def buffering_start_response(status, headers, exc_info=None):
            response[:] = [status, headers, exc_info]
            # write() data comes first, then the iterable's, in order.
            return parts.append

        result = self.app(environ, buffering_start_response)
        try:
            for chunk in result:  # not extend(): write() appends to parts meanwhile
                parts.append(chunk)  # noqa: PERF402
        finally:
            _close(result)
        status, headers, exc_info = response
        body = b"".join(parts)
        if media_type(headers) in TEXT_MEDIA_TYPES:
            for old, new in self.rules:
                body = body.replace(old, new)
            headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers, exc_info)
        return [body]


class LiteralRules:
    """Literal (old, new) rules compiled once for :class:`CarryWindowReplacer`."""

    def __init__(self, rules: Rules) -> None:
        self.replacements = dict(rules)
        if not self.replacements or b"" in self.replacements:
            raise ValueError("rules must be non-empty (old, new) pairs; old non-empty")
        # re tries alternatives in order at the leftmost position: longest first gives
        # leftmost-longest for literals.
        patterns = sorted(self.replacements, key=len, reverse=True)
        self.pattern = re.compile(b"|".join(re.escape(pattern) for pattern in patterns))
        self.carry_window = len(patterns[0]) - 1

    def replace_all(self, data: bytes) -> bytes:
        """Replace every match in ``data``, taken as the whole rest of the body."""
        replacements = self.replacements
        return self.pattern.sub(lambda match: replacements[match.group()], data)


class CarryWindowReplacer:
    """Streaming leftmost-longest literal replacement, independent of the chunking.

    Each ``feed`` scans ``carry + chunk`` in one left-to-right ``re`` pass. A match
    starting where every pattern would fit inside the buffer is final. From the first
    position where the longest pattern could run past the end (the last
    ``len(longest) - 1`` bytes), the rest is carried into the next call: more bytes
    could make a match there, or a longer one.
    """

    def __init__(self, rules: LiteralRules) -> None:
        self.rules = rules
        self.carry = b""

    def feed(self, chunk: bytes) -> bytes:
        """Replace in ``chunk``; return every byte that can no longer change."""
        buffer = self.carry + chunk
        decidable_end = len(buffer) - self.rules.carry_window
        replacements = self.rules.replacements
        out = []
        position = 0
        for match in self.rules.pattern.finditer(buffer):
            start = match.start()
            if start >= decidable_end:
                break
            out.append(buffer[position:start])
            out.append(replacements[match.group()])
            position = match.end()
        cut = max(position, decidable_end)
        out.append(buffer[position:cut])
        self.carry = buffer[cut:]
        return b"".join(out)

    def finish(self) -> bytes:
        """The replaced carry, once the body has ended."""
        tail, self.carry = self.carry, b""
        return self.rules.replace_all(tail)


class _ReplacingBody:
    """The response iterable of StreamingReplace: the inner body's chunks, replaced."""

    def __init__(self) -> None:
        self.result: Iterable[bytes] = ()
        self.started = False
        self.replacer: CarryWindowReplacer | None = None  # set for a text response

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.result:
            # PEP 3333: yield for every inner chunk, even if it is all carried.
            yield chunk if self.replacer is None else self.replacer.feed(chunk)
        if self.replacer is not None:
            yield self.replacer.finish()

    def close(self) -> None:
        _close(self.result)


def _weaken_etag(value: str) -> str:
    # RFC 9110 8.8.1: a changed representation may keep only a weak validator.
    return value if value.startswith("W/") else "W/" + value


class StreamingReplace:
    """Replace literal bytes in text responses as they stream, one pass per chunk.

    All rules apply in one left-to-right pass (leftmost match wins, longest on ties),
    so the output equals a whole-body replace whatever the chunking. Content-Length is
    removed and a strong ETag weakened; other than text passes through untouched.

        app = StreamingReplace(app, [(b"Hello", b"Goodbye")])
    """

    def __init__(self, app: WSGIApp, rules: Rules) -> None:
        self.app = app
        self.rules = LiteralRules(rules)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        body = _ReplacingBody()

        def filtering_start_response(status, headers, exc_info=None):
            body.started = True
            if media_type(headers) not in TEXT_MEDIA_TYPES:
                body.replacer = None
                return start_response(status, headers, exc_info)
            body.replacer = replacer = CarryWindowReplacer(self.rules)
            headers = [
                (name, _weaken_etag(value) if name.lower() == "etag" else value)
                for name, value in headers
                if name.lower() != "content-length"
            ]
            write = start_response(status, headers, exc_info)
            return lambda data: write(replacer.feed(data))

        result = self.app(environ, filtering_start_response)
        if body.started and body.replacer is None:
            # Not text: hand the iterable back as is (keeps file_wrapper's sendfile).
            # An app calling start_response late, in the first next(), gets wrapped.
            return result
        body.result = result
        return body


class MinimalPassthrough:
    """The least a Python body-transforming middleware does on a response it skips.

    It wraps start_response in a closure that looks at Content-Type, then hands the
    app's iterable back untouched. It stands for the passthrough path only: it refuses
    a text response, where a real middleware would wrap the body.

        app = MinimalPassthrough(app)
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        transforming: list[bool] = []

        def inspecting_start_response(status, headers, exc_info=None):
            transforming.append(media_type(headers) in TEXT_MEDIA_TYPES)
            return start_response(status, headers, exc_info)

        result = self.app(environ, inspecting_start_response)
        if transforming and transforming[-1]:
            _close(result)
            raise RuntimeError("MinimalPassthrough measures the passthrough path only")
        return result


def _list_app(chunks: Sequence[bytes]) -> WSGIApp:
    def app(environ: dict, start_response: Callable) -> Sequence[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return chunks

    return app


def _late_writing_app(chunks: Sequence[bytes]) -> WSGIApp:
    """Calls start_response in the first ``next()``; sends chunk 0 through write()."""

    def app(environ: dict, start_response: Callable) -> Iterator[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        if chunks:
            write(chunks[0])
        yield from chunks[1:]

    return app


def _random_chunks(body: bytes, rng: random.Random) -> list[bytes]:
    """Split ``body`` at random offsets, empty chunks included."""
    cuts = sorted(rng.randint(0, len(body)) for _ in range(rng.randint(0, 12)))
    bounds = [0, *cuts, len(body)]
    return [body[start:end] for start, end in zip(bounds, bounds[1:])]


def whole_body_replace(body: bytes, rules: Rules) -> bytes:
    """Leftmost-longest replacement, deliberately naive: the self-check's reference.

    Scan left to right; at each position replace the longest matching rule and resume
    after it.
    """
    by_length = sorted(rules, key=lambda rule: len(rule[0]), reverse=True)
    out = bytearray()
    position = 0
    while position < len(body):
        for old, new in by_length:
            if body.startswith(old, position):
                out += new
                position += len(old)
                break
        else:
            out.append(body[position])
            position += 1
    return bytes(out)


def check_streaming_replace(trials: int, seed: int = 3333) -> None:
    """Check StreamingReplace against :func:`whole_body_replace`, random chunkings.

    Small alphabets make overlapping, nested and chunk-straddling matches common; half
    the apps call start_response late and write() their first chunk. Raises
    AssertionError with the failing input.
    """
    rng = random.Random(seed)
    environ = make_environ()
    for _ in range(trials):
        alphabet = b"abc"[: rng.randint(1, 3)]
        olds = {bytes(rng.choices(alphabet, k=rng.randint(1, 5))) for _ in range(rng.randint(1, 4))}
        rules = [(old, bytes(rng.choices(b"xyz", k=rng.randint(0, 4)))) for old in olds]
        body = bytes(rng.choices(alphabet, k=rng.randint(0, 60)))
        chunks = _random_chunks(body, rng)
        app = rng.choice((_list_app, _late_writing_app))(chunks)
        got = call_app(StreamingReplace(app, rules), environ).body
        expected = whole_body_replace(body, rules)
        if got != expected:
            raise AssertionError(f"rules={rules!r} chunks={chunks!r}: {got!r}")


# What DjangoStyleGzip compresses: text, JSON, JavaScript, XML, SVG (Django itself
# compresses every media type; a content-type check is what a careful port adds).
GZIP_MEDIA_TYPES = frozenset(
    {
        *TEXT_MEDIA_TYPES,
        "text/javascript",
        "text/csv",
        "text/markdown",
        "application/ld+json",
        "application/manifest+json",
        "application/rss+xml",
        "application/atom+xml",
        "image/svg+xml",
    }
)
# django/middleware/gzip.py: responses shorter than this are not worth compressing.
GZIP_MIN_LENGTH = 200
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")


def header(headers: Iterable[tuple[str, str]], wanted: str) -> str | None:
    """The value of the first header called ``wanted`` (lower case), or None."""
    for name, value in headers:
        if name.lower() == wanted:
            return value
    return None


class StreamingBuffer(io.BytesIO):
    """django.utils.text.StreamingBuffer: ``read()`` takes everything written so far."""

    def read(self) -> bytes:  # type: ignore[override]
        data = self.getvalue()
        self.seek(0)
        self.truncate()
        return data


class _GzipBody:
    """The response iterable of DjangoStyleGzip: the inner body, gzipped as it streams."""

    def __init__(self) -> None:
        self.result: Iterable[bytes] = ()
        self.zfile: gzip.GzipFile | None = None  # set when the response is compressed
        self.buffer = StreamingBuffer()

    def __iter__(self) -> Iterator[bytes]:
        # compress_sequence, except that the gzip header goes out with the first chunk:
        # an app may call start_response in its first next(), so whether to compress is
        # known only once the first item is in.
        buffer = self.buffer
        for item in self.result:
            zfile = self.zfile
            if zfile is None:
                yield item
                continue
            zfile.write(item)
            # PEP 3333: yield for every inner chunk, even an empty one (Django's
            # compress_sequence skips empty ones: a Django view is not bound by that).
            yield buffer.read()
        if self.zfile is not None:
            self.zfile.close()
            yield buffer.read()

    def close(self) -> None:
        _close(self.result)


class DjangoStyleGzip:
    """Gzip text responses as they stream, the way Django's GZipMiddleware does.

    ``compress_sequence``: one ``gzip.GzipFile(compresslevel=6, mtime=0)`` writing into
    a buffer that is emptied after every chunk; like Django, no flush per chunk (zlib
    emits output when its own buffers fill; Django dropped the per-chunk flush in 1.8,
    ticket #24242), so a chunk may yield ``b""``. Requires ``gzip`` in Accept-Encoding
    and a compressible media type; skips responses that already have a
    Content-Encoding or declare a Content-Length under 200 bytes. Adds ``Vary:
    Accept-Encoding`` and ``Content-Encoding: gzip``, drops Content-Length, weakens a
    strong ETag.

        app = DjangoStyleGzip(app)
    """

    def __init__(self, app: WSGIApp, compresslevel: int = 6) -> None:
        self.app = app
        self.compresslevel = compresslevel

    def _compressible(self, headers: list[tuple[str, str]]) -> bool:
        if media_type(headers) not in GZIP_MEDIA_TYPES:
            return False
        if header(headers, "content-encoding") is not None:
            return False
        length = header(headers, "content-length")
        return not (length is not None and length.isdigit() and int(length) < GZIP_MIN_LENGTH)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not _ACCEPTS_GZIP.search(environ.get("HTTP_ACCEPT_ENCODING", "")):
            return self.app(environ, start_response)
        body = _GzipBody()

        def gzip_start_response(status, headers, exc_info=None):
            if not self._compressible(headers):
                body.zfile = None
                return start_response(status, headers, exc_info)
            buffer = body.buffer
            buffer.read()  # a second start_response (exc_info): start a new stream
            body.zfile = zfile = gzip.GzipFile(
                mode="wb", compresslevel=self.compresslevel, fileobj=buffer, mtime=0
            )
            vary = header(headers, "vary")
            new_headers = []
            for name, value in headers:
                lower = name.lower()
                if lower == "content-length" or (lower == "vary" and vary is not None):
                    continue
                if lower == "etag" and value.startswith('"'):
                    value = "W/" + value
                new_headers.append((name, value))
            if vary is None:
                new_headers.append(("Vary", "Accept-Encoding"))
            elif "accept-encoding" not in vary.lower() and vary.strip() != "*":
                new_headers.append(("Vary", f"{vary}, Accept-Encoding"))
            else:
                new_headers.append(("Vary", vary))
            new_headers.append(("Content-Encoding", "gzip"))
            write = start_response(status, new_headers, exc_info)

            def gzip_write(data: bytes) -> None:
                zfile.write(data)
                write(buffer.read())

            return gzip_write

        body.result = self.app(environ, gzip_start_response)
        return body


def check_django_style_gzip(trials: int, seed: int = 1952) -> None:
    """Check that DjangoStyleGzip's output decompresses to the body, random chunkings.

    Half the apps call start_response late and write() their first chunk. Also checks
    the headers: Content-Encoding and Vary added, Content-Length gone. Raises
    AssertionError with the failing input.
    """
    rng = random.Random(seed)
    environ = make_environ(HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    words = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do".split()
    for _ in range(trials):
        body = b" ".join(rng.choices(words, k=rng.randint(0, 400)))
        chunks = _random_chunks(body, rng)
        app = rng.choice((_list_app, _late_writing_app))(chunks)
        response = call_app(DjangoStyleGzip(app), environ)
        names = {name.lower() for name, _value in response.headers}
        if gzip.decompress(response.body) != body or "content-length" in names:
            raise AssertionError(f"chunks={chunks!r}: {response!r}")
        if header(response.headers, "content-encoding") != "gzip":
            raise AssertionError(f"chunks={chunks!r}: headers {response.headers!r}")
        if header(response.headers, "vary") != "Accept-Encoding":
            raise AssertionError(f"chunks={chunks!r}: headers {response.headers!r}")


class MinimalDictCache:
    """The floor of a pure-Python WSGI response cache: a dict, a TTL, nothing else.

    GET requests are looked up by (``wsgi.url_scheme``, ``HTTP_HOST``, ``SCRIPT_NAME``,
    ``PATH_INFO``, ``QUERY_STRING``). A fresh entry is answered without calling the
    app: the stored status, a copy of the stored headers, the stored body as one chunk.
    Otherwise the app is called, its body joined (bytes sent through ``write()``
    included) and, for a ``200`` response, stored for ``ttl`` seconds
    (``time.monotonic``). Every other method passes through. No HTTP semantics: no
    Cache-Control, Vary, Set-Cookie or Authorization checks, no size limit, no
    eviction but on expiry.

        app = MinimalDictCache(app, ttl=60)
    """

    def __init__(self, app: WSGIApp, ttl: float = 60.0) -> None:
        self.app = app
        self.ttl = ttl
        # key -> (expires at, status, headers, body)
        self.store: dict[tuple[str, ...], tuple[float, str, list[tuple[str, str]], bytes]] = {}

    def clear(self) -> None:
        self.store.clear()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "GET":
            return self.app(environ, start_response)
        key = (
            environ["wsgi.url_scheme"],
            environ.get("HTTP_HOST", ""),
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
        )
        entry = self.store.get(key)
        if entry is not None:
            expires, status, headers, body = entry
            if time.monotonic() < expires:
                start_response(status, list(headers))  # the server may change its list
                return [body]
            del self.store[key]

        started: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []

        def capturing_start_response(status, headers, exc_info=None):
            started.append((status, list(headers)))
            write = start_response(status, headers, exc_info)

            def capturing_write(data: bytes) -> None:
                written.append(data)
                write(data)

            return capturing_write

        result = self.app(environ, capturing_start_response)
        try:
            body = b"".join(result)
        finally:
            _close(result)
        status, headers = started[-1]
        if status.startswith("200 "):
            stored = b"".join([*written, body]) if written else body
            self.store[key] = (time.monotonic() + self.ttl, status, headers, stored)
        return [body]


class _CountingApp:
    """A test app that counts its calls and closes; answers ``status`` with ``chunks``."""

    def __init__(self, chunks: Sequence[bytes], status: str = "200 OK", late: bool = False):
        self.chunks = chunks
        self.status = status
        self.late = late  # start_response in the first next(), chunk 0 through write()
        self.calls = 0
        self.closes = 0

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        self.calls += 1
        if self.late:
            return self._late(start_response)
        start_response(self.status, [("Content-Type", "text/plain")])
        return self._closing(iter(self.chunks))

    def _late(self, start_response: Callable) -> Iterator[bytes]:
        try:
            write = start_response(self.status, [("Content-Type", "text/plain")])
            if self.chunks:
                write(self.chunks[0])
            yield from self.chunks[1:]
        finally:
            self.closes += 1

    def _closing(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from chunks
        finally:
            self.closes += 1


def check_minimal_dict_cache() -> None:
    """Check MinimalDictCache: hits, the key, what is stored, expiry, close().

    Raises AssertionError naming the failed expectation.
    """

    def expect(condition: bool, what: str) -> None:
        if not condition:
            raise AssertionError(f"MinimalDictCache: {what}")

    chunks = [b"Hello, ", b"", b"world"]
    for late in (False, True):
        app = _CountingApp(chunks, late=late)
        cache = MinimalDictCache(app)
        environ = make_environ(path="/page", QUERY_STRING="a=1")
        miss = call_app(cache, environ)
        hit = call_app(cache, environ)
        expect(app.calls == 1 and app.closes == 1, f"late={late}: one app call, closed once")
        expect(miss == hit, f"late={late}: the hit differs from the miss: {hit} {miss}")
        expect(hit.body == b"Hello, world", f"late={late}: body {hit.body!r}")
        expect(hit.status == "200 OK" and hit.headers == [("Content-Type", "text/plain")], "head")
        for other in (
            {"QUERY_STRING": "a=2"},
            {"HTTP_HOST": "other.example"},
            {"wsgi.url_scheme": "https"},
            {"SCRIPT_NAME": "/app"},
            {"PATH_INFO": "/other"},
            {"REQUEST_METHOD": "POST"},
            {"REQUEST_METHOD": "HEAD"},
        ):
            calls = app.calls
            response = call_app(cache, {**environ, **other})
            expect(app.calls == calls + 1, f"{other} was answered from the entry of another key")
            expect(response.body == b"Hello, world", f"{other}: body {response.body!r}")
        expect(app.closes == app.calls, "every app response closed once")

    for status in ("404 Not Found", "201 Created", "500 Internal Server Error"):
        app = _CountingApp([b"x"], status=status)
        cache = MinimalDictCache(app)
        for _ in range(2):
            expect(call_app(cache, make_environ()).status == status, f"{status} passed through")
        expect(app.calls == 2 and not cache.store, f"{status} was stored")

    app = _CountingApp([b"x"])
    cache = MinimalDictCache(app, ttl=0)  # expired as soon as stored
    for _ in range(3):
        call_app(cache, make_environ())
    expect(app.calls == 3 and len(cache.store) == 1, "an expired entry was served or kept")
    cache = MinimalDictCache(app, ttl=3600)
    call_app(cache, make_environ())
    call_app(cache, make_environ())
    cache.clear()
    call_app(cache, make_environ())
    expect(app.calls == 5, "clear() kept an entry")


class WerkzeugDispatch:
    """Route requests to WSGI apps with a Werkzeug ``Map``, as Werkzeug's docs show.

    Per request: ``url_map.bind_to_environ(environ).match()``, then the app registered
    for the matched endpoint, with the converted values added to the environ's
    ``wsgiorg.routing_args`` (positional arguments kept, named ones updated). A 404 goes
    to ``not_found`` when given; every other routing answer (405 with ``Allow``, the 308
    of a strict-slashes redirect) is Werkzeug's own exception response.

        app = WerkzeugDispatch(Map([Rule("/users/<int:id>", endpoint="user")]), {"user": user})
    """

    def __init__(
        self,
        url_map: Map,
        endpoints: Mapping[str, WSGIApp],
        not_found: WSGIApp | None = None,
    ) -> None:
        self.url_map = url_map
        self.endpoints = dict(endpoints)
        self.not_found = not_found

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
        except NotFound as error:
            if self.not_found is None:
                return error(environ, start_response)
            return self.not_found(environ, start_response)
        except HTTPException as error:  # MethodNotAllowed, RequestRedirect
            return error(environ, start_response)
        positional, named = environ.get("wsgiorg.routing_args", ((), {}))
        environ["wsgiorg.routing_args"] = (positional, {**named, **values})
        return self.endpoints[endpoint](environ, start_response)


def check_werkzeug_dispatch() -> None:
    """Check WerkzeugDispatch: params, HEAD, 404 to ``not_found``, 405, 308, routing_args.

    Raises AssertionError naming the failed expectation.
    """

    def expect(condition: bool, what: str) -> None:
        if not condition:
            raise AssertionError(f"WerkzeugDispatch: {what}")

    seen: list[dict] = []

    def endpoint(name: bytes) -> WSGIApp:
        def app(environ: dict, start_response: Callable) -> list[bytes]:
            seen.append(environ)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [name]

        return app

    def not_found(environ: dict, start_response: Callable) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found\n"]

    url_map = Map(
        [
            Rule("/users/", endpoint="users", methods=["GET"]),
            Rule("/users/<int:id>", endpoint="user", methods=["GET"]),
            Rule("/users/<int:id>", endpoint="user_update", methods=["PUT"]),
            Rule("/files/<path:name>", endpoint="file", methods=["GET"]),
        ]
    )
    endpoints = {name: endpoint(name.encode()) for name in ("users", "user", "user_update", "file")}
    dispatch = WerkzeugDispatch(url_map, endpoints, not_found)

    response = call_app(dispatch, make_environ(path="/users/42"))
    expect(response.body == b"user", f"GET /users/42 answered {response.body!r}")
    expect(seen[-1]["wsgiorg.routing_args"] == ((), {"id": 42}), "routing_args of /users/42")
    environ = make_environ(path="/users/7", **{"wsgiorg.routing_args": (("a",), {"x": 1})})
    call_app(dispatch, environ)
    routing_args = seen[-1]["wsgiorg.routing_args"]
    expect(routing_args == (("a",), {"x": 1, "id": 7}), f"routing_args kept: {routing_args}")
    response = call_app(dispatch, make_environ("PUT", "/users/42"))
    expect(response.body == b"user_update", f"PUT /users/42 answered {response.body!r}")
    response = call_app(dispatch, make_environ("HEAD", "/users/42"))
    expect(response.status.startswith("200 "), f"HEAD /users/42: {response.status}")
    call_app(dispatch, make_environ(path="/files/a/b.txt"))
    expect(seen[-1]["wsgiorg.routing_args"][1] == {"name": "a/b.txt"}, "path converter")

    response = call_app(dispatch, make_environ(path="/nope"))
    expect(response.body == b"Not Found\n", f"/nope: {response.status} {response.body!r}")
    response = call_app(dispatch, make_environ("DELETE", "/users/42"))
    allow = header(response.headers, "allow") or ""
    allowed = sorted(method.strip() for method in allow.split(","))
    expect(response.status.startswith("405 "), f"DELETE /users/42: {response.status}")
    expect(allowed == ["GET", "HEAD", "PUT"], f"DELETE /users/42: Allow {allow!r}")
    response = call_app(dispatch, make_environ(path="/users"))
    location = header(response.headers, "location")
    expect(response.status.startswith("308 "), f"GET /users: {response.status}")
    expect(location == "http://127.0.0.1/users/", f"GET /users: Location {location!r}")


# The bytes of a request path that stay as they are in an access log's request line: RFC
# 3986's pchar and "/", the set Logger's %r keeps (docs/logger.md).
LOG_PATH_SAFE = "/!$&'()*+,;=:@~"


class PyCombinedLogger:
    """Log each request in Apache's combined format through ``logging``, when it ends.

    The line is logged when the server calls ``close()`` on the response, so it has the
    bytes really handed out (``write()`` included) and the status that went out: 500 when
    the app raised before any byte did. The time is the request's start, local, as
    ``time.strftime("%d/%b/%Y:%H:%M:%S %z")``; the path is percent-encoded as Logger's
    ``%r`` is, then ``?`` and the query string. Values are not escaped, as in
    ``paste.translogger``: a ``"`` or a newline in a header can forge a field or a line.

        app = PyCombinedLogger(app, logging.getLogger("access"))
    """

    def __init__(self, app: WSGIApp, logger: logging.Logger, level: int = logging.INFO) -> None:
        self.app = app
        self.logger = logger
        self.level = level

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        body = _LoggedBody(self, environ, time.time())

        def logging_start_response(status, headers, exc_info=None):
            body.status = status[:3]
            write = start_response(status, headers, exc_info)

            def counting_write(data: bytes) -> None:
                write(data)
                body.sent += len(data)

            return counting_write

        try:
            body.result = self.app(environ, logging_start_response)
        except Exception:
            body.failed = True
            body.close()
            raise
        return body

    def log(self, environ: dict, started: float, status: str, sent: int) -> None:
        """Log the combined line of one finished request."""
        if not self.logger.isEnabledFor(self.level):
            return
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        # PEP 3333: the str holds the request's bytes, one char per byte.
        target = quote(path, safe=LOG_PATH_SAFE, encoding="latin-1", errors="replace")
        query = environ.get("QUERY_STRING")
        if query:
            target = f"{target}?{query}"
        self.logger.log(
            self.level,
            '%s - %s [%s] "%s %s %s" %s %s "%s" "%s"',
            environ.get("REMOTE_ADDR") or "-",
            environ.get("REMOTE_USER") or "-",
            time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(started)),
            environ.get("REQUEST_METHOD", "-"),
            target,
            environ.get("SERVER_PROTOCOL", "-"),
            status,
            sent or "-",
            environ.get("HTTP_REFERER", "-"),
            environ.get("HTTP_USER_AGENT", "-"),
        )


class _LoggedBody:
    """The response iterable of PyCombinedLogger: the app's chunks, counted; logs at close."""

    def __init__(self, logger: PyCombinedLogger, environ: dict, started: float) -> None:
        self.logger = logger
        self.environ = environ
        self.started = started
        self.result: Iterable[bytes] = ()
        self.status = "-"
        self.sent = 0
        self.failed = False
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.result:
                self.sent += len(chunk)
                yield chunk
        except Exception:
            self.failed = True
            raise

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            _close(self.result)
        finally:
            # An app that raised before a byte went out: the server answers 500 itself.
            status = "500" if self.failed and not self.sent else self.status
            self.logger.log(self.environ, self.started, status, self.sent)


class _ListHandler(logging.Handler):
    """Keeps the formatted messages it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def check_py_combined_logger() -> None:
    """Check PyCombinedLogger: the line, logged once at close, bytes, status, errors, level.

    Raises AssertionError naming the failed expectation.
    """

    def expect(condition: bool, what: str) -> None:
        if not condition:
            raise AssertionError(f"PyCombinedLogger: {what}")

    logger = logging.getLogger("peers.check_py_combined_logger")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = _ListHandler()
    logger.addHandler(handler)
    try:
        environ = make_environ(
            path="/caf\xc3\xa9 menu",
            QUERY_STRING="page=2",
            SERVER_PROTOCOL="HTTP/1.1",
            REMOTE_ADDR="203.0.113.7",
            HTTP_REFERER="https://example.com/",
            HTTP_USER_AGENT="curl/8.5.0",
        )
        chunks = [b"Hello, ", b"", b"world"]
        tail = '"https://example.com/" "curl/8.5.0"'
        for make_app in (_list_app, _late_writing_app):  # the late one write()s chunk 0
            name = make_app.__name__
            before = time.time()
            result = PyCombinedLogger(make_app(chunks), logger)(dict(environ), _null_start)
            for _chunk in result:
                pass
            expect(not handler.lines, f"{name}: logged before close()")
            result.close()  # type: ignore[attr-defined]
            result.close()  # type: ignore[attr-defined]
            expect(len(handler.lines) == 1, f"{name}: {len(handler.lines)} lines")
            line = handler.lines.pop()
            start, stamp, end = re.split(r" \[|\] ", line)
            request = '"GET /caf%C3%A9%20menu?page=2 HTTP/1.1"'
            expect(start == "203.0.113.7 - -", f"{name}: {line!r}")
            expect(end == f"{request} 200 12 {tail}", f"{name}: {line!r}")
            logged = datetime.datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").timestamp()
            expect(int(before) <= logged <= time.time(), f"time {stamp!r}")

        call_app(PyCombinedLogger(_list_app([]), logger), environ)
        expect(handler.lines.pop().endswith(f" 200 - {tail}"), "an empty body is -")

        def raising_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
            start_response("200 OK", [("Content-Type", "text/plain")])
            raise RuntimeError("app failed")

        try:
            PyCombinedLogger(raising_app, logger)(dict(environ), _null_start)
        except RuntimeError:
            pass
        else:
            expect(False, "the app's exception did not propagate")
        expect(" 500 - " in handler.lines.pop(), "an app that raised is logged as 500")

        logger.setLevel(logging.WARNING)
        call_app(PyCombinedLogger(_list_app(chunks), logger), environ)
        expect(not handler.lines, "logged below the logger's level")
    finally:
        logger.removeHandler(handler)


def _null_start(status: str, headers: list, exc_info: object = None) -> Callable:
    return lambda data: None


if __name__ == "__main__":
    TRIALS = 20_000
    check_streaming_replace(TRIALS)
    print(f"StreamingReplace equals a whole-body replace in {TRIALS} random trials")
    GZIP_TRIALS = 2_000
    check_django_style_gzip(GZIP_TRIALS)
    print(f"DjangoStyleGzip decompresses to the body in {GZIP_TRIALS} random trials")
    check_minimal_dict_cache()
    print("MinimalDictCache answers hits, misses, other keys and expiry as documented")
    check_werkzeug_dispatch()
    print("WerkzeugDispatch routes, answers 404/405 and redirects as documented")
    check_py_combined_logger()
    print("PyCombinedLogger logs one combined line per request, at close, as documented")
