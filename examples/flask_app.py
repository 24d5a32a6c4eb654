"""A Flask app behind wsgi_mw, configured from ``app.config["WSGI_MW"]``.

Run it: ``.venv/bin/flask --app examples/flask_app.py run``, or under any WSGI server
(``gunicorn examples.flask_app:app``). The stack is the same as writing by hand::

    app.wsgi_app = Logger(Cache(Gzip(app.wsgi_app, min_size=200), default_ttl=30))
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

import wsgi_mw.flask

# Outermost first: Logger sees what went out (compressed sizes, cache hits); Cache outside Gzip
# stores the compressed variant, so a hit is not compressed again (docs/cache.md, ordering).
WSGI_MW: list[Any] = [
    "logger",
    ("cache", {"default_ttl": 30}),
    ("gzip", {"min_size": 200}),
]


def create_app(spec: list[Any] | None = None) -> Flask:
    """A new app, its ``wsgi_app`` wrapped in ``spec`` (default ``WSGI_MW``)."""
    app = Flask(__name__)
    app.config["WSGI_MW"] = WSGI_MW if spec is None else spec

    @app.get("/")
    def hello() -> Response:
        body = "Hello from Flask! " * 40
        return Response(body, content_type="text/plain; charset=utf-8")

    @app.get("/data")
    def data() -> dict[str, Any]:
        # Cache keeps it for 60 s (the response's own freshness wins over default_ttl).
        return {"numbers": list(range(100))}

    @app.after_request
    def cacheable(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "max-age=60")
        return response

    return wsgi_mw.flask.init_app(app)


app = create_app()

if __name__ == "__main__":
    app.run(port=8000)
