"""Rewrite against its pure-Python peers: literal replacement in HTML, and passthrough.

Run alone: ``python benches/bench_rewrite.py [--quick]``; ``run_all.py`` runs it too.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence

from peers import (
    GoodbyeJoin,
    MinimalPassthrough,
    StreamingReplace,
    check_streaming_replace,
)
from runner import (
    FULL,
    Case,
    Ratio,
    Settings,
    WSGIApp,
    bench_main,
    count_misses,
    make_environ,
    measure_all,
    results_table,
    section,
    timing_legend,
)

import wsgi_mw
from wsgi_mw import Rewrite

KIB = 1024
BODY_SIZES = {"1 KiB": KIB, "64 KiB": 64 * KIB, "1 MiB": 1024 * KIB}
CHUNK_COUNTS = (1, 64)
RULE_COUNTS = (1, 10)
MATCH_EVERY = 256  # body bytes between two matches: four per KiB, rules taking turns

# Rewrites a site really does when moved behind a CDN or rebranded. No pattern overlaps
# another or appears in a replacement, so applying them one after another (GoodbyeJoin)
# and in one pass (Rewrite, StreamingReplace) gives the same body; measure() checks it.
RULES = [
    (b"http://static.internal.example/", b"https://cdn.example.com/"),
    (b"http://api.internal.example/v1/", b"https://api.example.com/v1/"),
    (b"&copy; 2023 ACME Widgets Ltd", b"&copy; 2025 ACME Widgets Inc."),
    (b"<!--#include analytics-->", b'<script src="/a.js" defer></script>'),
    (b"{{csrf_token}}", b"3f9c2a7b1e8d4c60"),
    (b'class="btn-old"', b'class="btn btn-primary"'),
    (b"support@old-domain.example", b"help@example.com"),
    (b"/legacy/assets/", b"/assets/v2/"),
    (b"Beta feature", b"New feature"),
    (b"data-track-legacy", b"data-track"),
]

WORDS = (
    b"widget gadget order shipping basket review price stock colour size delivery "
    b"returns account wishlist compare offer bundle warranty manual support"
).split()
FILLER_LINES = (
    b'<li class="item"><a href="/catalog/%d">%s</a></li>\n',
    b'<div class="card"><h3>%d %s</h3><span class="price">from 9.99</span></div>\n',
    b'<p data-id="%d">%s.</p>\n',
)
MATCH_LINE = b'<p data-id="%d">%s %s.</p>\n'


def html_body(size: int, patterns: Sequence[bytes]) -> bytes:
    """A catalog-like HTML page of ``size`` bytes, a pattern every MATCH_EVERY bytes."""
    rng = random.Random(size)
    lines = [b"<!DOCTYPE html>\n<html><head><title>Catalog</title></head><body>\n"]
    length = len(lines[0])
    next_match = MATCH_EVERY
    next_pattern = itertools.cycle(patterns)
    while length < size:
        words = b" ".join(rng.choices(WORDS, k=rng.randint(2, 8)))
        if length >= next_match:
            line = MATCH_LINE % (rng.randint(1, 9999), words, next(next_pattern))
            next_match += MATCH_EVERY
        else:
            line = rng.choice(FILLER_LINES) % (rng.randint(1, 9999), words)
        lines.append(line)
        length += len(line)
    return b"".join(lines)[:size]


def split_evenly(body: bytes, count: int) -> list[bytes]:
    """``count`` chunks of near-equal size, in order."""
    bounds = [len(body) * i // count for i in range(count + 1)]
    return [body[start:end] for start, end in zip(bounds, bounds[1:])]


def list_app(chunks: list[bytes], content_type: str) -> WSGIApp:
    """An app answering with ``chunks``, a Content-Length and a strong ETag."""
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(sum(map(len, chunks)))),
        ("ETag", '"v1"'),
    ]

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        start_response("200 OK", list(headers))
        return chunks

    return app


def replacement_cases() -> list[Case]:
    environ = make_environ(path="/catalog")
    cases = []
    for (size_label, size), chunk_count, rule_count in itertools.product(
        BODY_SIZES.items(), CHUNK_COUNTS, RULE_COUNTS
    ):
        rules = RULES[:rule_count]
        body = html_body(size, [old for old, _new in rules])
        app = list_app(split_evenly(body, chunk_count), "text/html; charset=utf-8")
        cases.append(
            Case(
                labels={
                    "body": size_label,
                    "chunks": str(chunk_count),
                    "rules": str(rule_count),
                },
                competitors={
                    "Rewrite": Rewrite(app, rules),
                    "StreamingReplace": StreamingReplace(app, rules),
                    "GoodbyeJoin": GoodbyeJoin(app, rules),
                },
                environ=environ,
            )
        )
    return cases


def passthrough_case() -> Case:
    png = b"\x89PNG\r\n\x1a\n" + random.Random(0).randbytes(KIB - 8)
    app = list_app([png], "image/png")
    return Case(
        labels={"response": "image/png, 1 KiB, 1 chunk"},
        competitors={
            "Rewrite": Rewrite(app, RULES),
            "MinimalPassthrough": MinimalPassthrough(app),
            "app alone": app,
        },
        environ=make_environ(path="/logo.png"),
    )


REPLACEMENT_RATIOS = [
    Ratio("Rewrite", "StreamingReplace", target=0.5),
    Ratio("Rewrite", "GoodbyeJoin"),
]
PASSTHROUGH_RATIOS = [Ratio("Rewrite", "MinimalPassthrough", target=1.0)]


def run(settings: Settings = FULL) -> str:
    """Time Rewrite against StreamingReplace, GoodbyeJoin and MinimalPassthrough."""
    check_streaming_replace(trials=500)
    replacement = measure_all(replacement_cases(), settings)
    passthrough = measure_all([passthrough_case()], settings)
    misses = count_misses(replacement, REPLACEMENT_RATIOS) + count_misses(
        passthrough, PASSTHROUGH_RATIOS
    )
    return section(
        "Rewrite: literal replacement",
        f"`wsgi_mw.Rewrite` from wsgi_mw {wsgi_mw.__version__}, against the "
        "pure-Python peers in `benches/peers.py`: `StreamingReplace` (streaming, one "
        "`re` pass per chunk with a carry window) and `GoodbyeJoin` (buffers the "
        "body, `bytes.replace` per rule).",
        "The app answers `GET /catalog` with a catalog-like `text/html` page of the "
        "given size, split into equal chunks of a list; a rule pattern occurs every "
        f"{MATCH_EVERY} bytes, the rules taking turns. All competitors are checked to "
        "send the same body first.",
        results_table(replacement, REPLACEMENT_RATIOS),
        "Passthrough: a response Rewrite does not transform, against the least a "
        "Python body-transforming middleware does (`MinimalPassthrough`) and the app "
        "alone.",
        results_table(passthrough, PASSTHROUGH_RATIOS),
        timing_legend(settings),
        f"Ratios marked MISS: {misses}." if misses else "Every ratio meets its target.",
    )


if __name__ == "__main__":
    bench_main(run)
