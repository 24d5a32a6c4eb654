"""The app benches/bench_static.py serves under granian: BENCH_STATIC_KIND picks Static,
WhiteNoise, or (for granian's own --static-path-mount) the bare fallback app."""

from __future__ import annotations

import os
from collections.abc import Callable

from whitenoise import WhiteNoise

from wsgi_mw import Static


def fallback(environ: dict, start_response: Callable) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "4")])
    return [b"app\n"]


ROOT = os.environ["BENCH_STATIC_ROOT"]
KIND = os.environ["BENCH_STATIC_KIND"]
if KIND == "Static":
    application = Static(fallback, ROOT)
elif KIND == "WhiteNoise":
    application = WhiteNoise(fallback, root=ROOT, prefix="static/", max_age=60)
else:
    application = fallback
