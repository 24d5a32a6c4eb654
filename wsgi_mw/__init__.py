"""wsgi_mw: fast WSGI middleware written in Rust.

Every class wraps a WSGI application and is itself a WSGI application, so they stack::

    from wsgi_mw import Cache, Gzip, Logger, Rewrite
    application = Logger(Cache(Gzip(Rewrite(app, [("Hello", "Goodbye")]))))

or, from data (a config file, Flask config, Django settings), outermost first::

    from wsgi_mw import build
    application = build(app, ["logger", "cache", ("gzip", {"level": 9})])
"""

from ._build import build
from ._native import Cache, Gzip, Logger, Rewrite, Router, __version__

__all__ = ["Cache", "Gzip", "Logger", "Rewrite", "Router", "__version__", "build"]
