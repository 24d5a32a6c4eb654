"""Cost growth under hostile input: for every header, path, body and chunk shape a client or an
app controls, the time per request at size n and at 2n, interleaved in one run.

Linear cost gives a ratio of about 2; the target is at most 2.5 (a quadratic path gives 4).
Sizes go up to 256 KiB, what waitress accepts in one header by default. Each row is one
request shape through the layer that reads it; the regex rows are the pathological pattern
of issue 13 (`\\w+X|a` on a run of `a`, over its work budget) and a Unicode word boundary on
non-ASCII text (the windowed fallback path).

Run alone: ``python benches/bench_hostile.py [--quick]``; ``run_all.py`` runs it too.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from runner import (
    FULL,
    Settings,
    WSGIApp,
    bench_main,
    call_app,
    format_us,
    make_environ,
    markdown_table,
    measure_growth,
    section,
)

from wsgi_mw import Cache, Gzip, Logger, Rewrite, Router

TARGET = 2.5
KIB = 1024


@dataclass(frozen=True)
class Row:
    name: str
    app: WSGIApp
    # The environ for input size n (bytes or items).
    environ: Callable[[int], dict]
    small: int


def page(headers=(), body=b"<p>hello</p>" * 100):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html"), *headers])
        return [body]

    return app


def body_app(make_body: Callable[[dict], list[bytes]]) -> WSGIApp:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return make_body(environ)

    return app


def stored(app: WSGIApp, environ: dict) -> WSGIApp:
    """`app` with one response already in its store (the row then times hits)."""
    call_app(app, environ)
    return app


def accept_encoding(n: int) -> dict:
    elements = ", ".join(f"x{i};q=0.{i % 10}" for i in range(n // 10))
    return make_environ(HTTP_ACCEPT_ENCODING=f"gzip, {elements}"[:n])


def many(prefix: str, n: int, sep: str = ", ") -> str:
    item_count = max(1, n // (len(prefix) + len(sep) + 4))
    return sep.join(f"{prefix}{i}" for i in range(item_count))


def hops(n: int) -> str:
    """An X-Forwarded-For of about n bytes, every hop a trusted proxy (all are walked)."""
    count = n // 13
    return ", ".join(f"10.0.{i // 256 % 256}.{i % 256}" for i in range(count))


def rows() -> list[Row]:
    vary_ae = Cache(Gzip(page([("Cache-Control", "max-age=600")])))
    vary_custom = Cache(page([("Cache-Control", "max-age=600"), ("Vary", "X-Custom")]))
    etagged = Cache(page([("Cache-Control", "max-age=600"), ("ETag", '"v1"')]))
    plain_cache = Cache(page([("Cache-Control", "max-age=600")]))
    router = Router()
    router.add("GET", "/dir/", page())
    sink = io.StringIO()
    logger = Logger(page(), sink=sink, trusted_proxies=["10.0.0.0/8"])

    def vary_names(environ):
        # A response naming n bytes of Vary fields, stored once per request shape.
        return page([("Cache-Control", "max-age=600"), ("Vary", environ["wsgi_mw.vary"])])

    many_vary = Cache(lambda environ, start_response: vary_names(environ)(environ, start_response))

    regex = Rewrite(
        body_app(lambda e: [b"a" * e["wsgi_mw.n"]]),
        [(r"\w+X|a", "Y")],
        regex=True,
        max_buffer=1 << 24,
    )
    unicode_text = "\u4e16\u754c Hello caf\u00e9 ".encode()
    word_boundary = Rewrite(
        body_app(lambda e: [unicode_text * (e["wsgi_mw.n"] // len(unicode_text))]),
        [(r"\bHello\b", "Bye")],
        regex=True,
        max_buffer=1 << 24,
    )
    tiny_chunks = Gzip(
        Rewrite(body_app(lambda e: [b"H"] * e["wsgi_mw.n"]), [("Hello", "Bye")]), min_size=0
    )
    return [
        Row(
            "Accept-Encoding elements, Cache(Gzip) hit on a Vary'd entry",
            stored(vary_ae, accept_encoding(100)),
            accept_encoding,
            128 * KIB,
        ),
        Row(
            "Cache-Control request directives, Cache hit",
            stored(plain_cache, make_environ()),
            lambda n: make_environ(HTTP_CACHE_CONTROL=many("x-d", n)),
            128 * KIB,
        ),
        Row(
            "Pragma request directives, Cache hit",
            plain_cache,
            lambda n: make_environ(HTTP_PRAGMA=many("x-p", n)),
            128 * KIB,
        ),
        Row(
            "If-None-Match entity-tags, Cache 304",
            stored(etagged, make_environ()),
            lambda n: make_environ(HTTP_IF_NONE_MATCH=many('"t', n).replace(", ", '", ') + '"'),
            128 * KIB,
        ),
        Row(
            "Vary'd request header value, Cache hit",
            vary_custom,
            lambda n: make_environ(HTTP_X_CUSTOM="v" * n, QUERY_STRING=f"n={n}"),
            128 * KIB,
        ),
        Row(
            "response Vary field names, Cache hit",
            many_vary,
            # One URL per size: its Vary record holds that size's names.
            lambda n: make_environ(path=f"/v{n}", **{"wsgi_mw.vary": many("X-H", n)}),
            16 * KIB,
        ),
        Row(
            "X-Forwarded-For hops, Logger(trusted_proxies)",
            logger,
            lambda n: make_environ(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=hops(n)),
            128 * KIB,
        ),
        Row(
            "PATH_INFO length, Router 404",
            router,
            lambda n: make_environ(path="/" + "p" * n),
            128 * KIB,
        ),
        Row(
            "QUERY_STRING length with control bytes, Router 308",
            router,
            lambda n: make_environ(path="/dir", QUERY_STRING="a=\r\n\x00" * (n // 5)),
            128 * KIB,
        ),
        Row(
            "regex `\\w+X|a` on a*n (over budget: sent unchanged)",
            regex,
            lambda n: make_environ(**{"wsgi_mw.n": n}),
            128 * KIB,
        ),
        Row(
            "regex `\\bHello\\b` on non-ASCII text (windowed path)",
            word_boundary,
            lambda n: make_environ(**{"wsgi_mw.n": n}),
            128 * KIB,
        ),
        Row(
            "1-byte chunks, Gzip(Rewrite)",
            tiny_chunks,
            lambda n: make_environ(HTTP_ACCEPT_ENCODING="gzip", **{"wsgi_mw.n": n}),
            16 * KIB,
        ),
    ]


def run(settings: Settings = FULL) -> str:
    """Cost growth of every hostile input shape: ratio of time at 2n to time at n."""
    table = []
    misses = 0
    for row in rows():
        small, large = measure_growth(
            row.app, row.environ(row.small), row.environ(2 * row.small), settings
        )
        ratio = large.median / small.median
        missed = ratio > TARGET
        misses += missed
        table.append(
            [
                row.name,
                f"{row.small // KIB} KiB",
                format_us(small.median),
                format_us(large.median),
                f"{ratio:.2f} MISS" if missed else f"{ratio:.2f}",
            ]
        )
    verdict = (
        "Every shape grows linearly."
        if not misses
        else f"{misses} shape(s) grow faster than linearly (MISS)."
    )
    return section(
        "Hostile input: cost growth",
        __doc__.split("\n\n")[0].replace("\n", " "),
        markdown_table(["input", "n", "µs at n", "µs at 2n", f"2n/n (target ≤ {TARGET:g})"], table),
        f"Times are µs per request, median over {settings.repetitions} interleaved samples "
        f"of the two sizes, the same requests per sample. {verdict}",
    )


if __name__ == "__main__":
    bench_main(run)
