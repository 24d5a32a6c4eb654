"""Flask glue: wrap ``app.wsgi_app`` in the stack ``app.config["WSGI_MW"]`` names.

Flask is imported only for type checking, so importing this module does not import Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._build import build

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> Flask:
    """Wrap ``app.wsgi_app`` in ``build(app.wsgi_app, app.config["WSGI_MW"])`` and return app.

    ``WSGI_MW`` is a :func:`wsgi_mw.build` spec, outermost first::

        app.config["WSGI_MW"] = ["logger", ("cache", {"default_ttl": 30}), "compress"]
        wsgi_mw.flask.init_app(app)

    A missing or empty ``WSGI_MW`` wraps nothing. Wrapping ``wsgi_app`` rather than the app
    keeps ``app`` a Flask object (its test client, CLI and ``app.run`` go through the stack).
    Call it once per app: a second call wraps a second time.
    """
    spec = app.config.get("WSGI_MW")
    if spec:
        # Flask types wsgi_app as a method with named parameters; any WSGI callable works.
        app.wsgi_app = build(app.wsgi_app, spec)  # type: ignore[method-assign, assignment]
    return app
