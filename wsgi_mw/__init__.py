"""wsgi_mw: fast WSGI middleware written in Rust.

Every class wraps a WSGI application and is itself a WSGI application, so they stack::

    from wsgi_mw import Cache, Compress, Logger, Rewrite, Static
    application = Logger(Static(Cache(Compress(Rewrite(app, [("Hello", "Goodbye")]))), "static/"))

or, from data (a config file, Flask config, Django settings), outermost first::

    from wsgi_mw import build
    application = build(app, ["logger", "cache", ("compress", {"zstd_level": 5})])

Nested wsgi_mw layers run as one Rust pipeline per request ("fusion"): one start_response
capture and one response iterator however many layers there are. ``set_fusion(False)`` (or
``WSGI_MW_FUSION=0`` in the environment at import) makes each layer a separate WSGI hop
again, for A/B runs and bisecting; behaviour is the same either way.
"""

from ._build import build
from ._native import (
    Cache,
    Compress,
    Gzip,
    Logger,
    Rewrite,
    Router,
    Static,
    __version__,
    fusion_enabled,
    set_fusion,
)

__all__ = [
    "Cache",
    "Compress",
    "Gzip",
    "Logger",
    "Rewrite",
    "Router",
    "Static",
    "__version__",
    "build",
    "fusion_enabled",
    "set_fusion",
]
