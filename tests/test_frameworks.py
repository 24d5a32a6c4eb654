"""Flask and Django glue and the examples, through the frameworks' own test clients and a real
wsgiref server (127.0.0.1, port 0, in a thread, always shut down).

Oracles: Flask's test client, Django's test client (for the views: it bypasses the WSGI stack
by design), `gzip.decompress`, `wsgiref.validate` around the built stack (and around the
framework app inside it), and `http.client` talking to a real server.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import pathlib
import subprocess
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.validate import validator

import pytest
from conftest import header, make_environ, run

import wsgi_mw.flask
from wsgi_mw import Cache, Gzip, Logger, build

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

import flask_app  # examples/ went on sys.path above
from flask import Flask

FLASK_PAGE = b"Hello from Flask! " * 40
DJANGO_PAGE = b"Hello from Django! " * 40


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(app):
    """Serve `app` with wsgiref on 127.0.0.1 and a free port; yields a connection factory."""
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield lambda: http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert not thread.is_alive()


def get(connect, path, **headers):
    conn = connect()
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def check_stack_over_http(connect, page):
    status, headers, body = get(connect, "/", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == page
    status, headers, body = get(connect, "/")
    assert status == 200 and "Content-Encoding" not in headers and body == page
    caches = []
    for _ in range(2):
        status, headers, body = get(connect, "/data")
        assert status == 200
        assert json.loads(body) == {"numbers": list(range(100))}
        caches.append(headers["X-Cache"])
    assert caches == ["MISS", "HIT"]


def no_framework_import(module, framework):
    code = f"import sys, {module}; assert {framework!r} not in sys.modules, {framework!r}"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=EXAMPLES.parent)


# --------------------------------------------------------------------------- Flask


def test_importing_the_flask_glue_does_not_import_flask():
    no_framework_import("wsgi_mw.flask", "flask")


def fetch(client, path, **kw):
    """GET through Flask's test client, closing the response as a server would: Cache stores
    a response only when it is closed (Werkzeug leaves that to the caller)."""
    with client.get(path, **kw) as response:
        response.get_data()  # read the body, then close
    return response


def test_flask_example_stack_and_test_client():
    app = flask_app.create_app()
    stack = app.wsgi_app
    assert type(stack) is Logger and type(stack.app) is Cache and type(stack.app.app) is Gzip
    assert stack.app.default_ttl == 30 and stack.app.app.min_size == 200
    client = app.test_client()
    response = fetch(client, "/", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == FLASK_PAGE
    assert [fetch(client, "/data").headers["X-Cache"] for _ in range(2)] == ["MISS", "HIT"]
    assert fetch(client, "/missing").status_code == 404


def test_flask_module_app_is_wrapped():
    assert type(flask_app.app.wsgi_app) is Logger


@pytest.mark.parametrize("config", [{}, {"WSGI_MW": []}, {"WSGI_MW": None}])
def test_init_app_without_a_spec_wraps_nothing(config):
    app = Flask(__name__)
    app.config.update(config)
    original = app.wsgi_app
    assert wsgi_mw.flask.init_app(app) is app
    assert app.wsgi_app == original


def test_init_app_bad_spec_names_the_culprit():
    app = Flask(__name__)
    app.config["WSGI_MW"] = ["gzip", "compres"]
    with pytest.raises(ValueError, match="unknown middleware 'compres'"):
        wsgi_mw.flask.init_app(app)


def test_flask_wsgi_app_by_hand_matches_init_app():
    # The documented by-hand style; the same behaviour as init_app.
    app = flask_app.create_app([])
    app.wsgi_app = Gzip(Cache(app.wsgi_app))
    client = app.test_client()
    response = fetch(client, "/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["X-Cache"] == "MISS"
    assert gzip.decompress(response.data) == FLASK_PAGE
    # Cache is inside Gzip: it keeps the identity body and serves it to any client.
    again = fetch(client, "/")
    assert again.headers["X-Cache"] == "HIT" and again.data == FLASK_PAGE


def test_flask_under_validator_in_process():
    app = flask_app.create_app([])
    app.wsgi_app = validator(build(validator(app.wsgi_app), flask_app.WSGI_MW))
    response = run(app, make_environ(HTTP_ACCEPT_ENCODING="gzip"))
    assert gzip.decompress(response.body) == FLASK_PAGE


def test_flask_through_a_real_server():
    app = flask_app.create_app([])
    # validator on both sides of the stack that init_app builds.
    app.wsgi_app = validator(app.wsgi_app)
    app.config["WSGI_MW"] = flask_app.WSGI_MW
    wsgi_mw.flask.init_app(app)
    with serve(validator(app)) as connect:
        check_stack_over_http(connect, FLASK_PAGE)


# --------------------------------------------------------------------------- Django


@pytest.fixture(scope="module")
def django_application():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")
    if os.environ["DJANGO_SETTINGS_MODULE"] != "django_site.settings":
        pytest.fail("DJANGO_SETTINGS_MODULE points elsewhere; these tests need django_site")
    from django_site.wsgi import application

    return application


def test_importing_the_django_glue_does_not_import_django():
    no_framework_import("wsgi_mw.django", "django")


def test_django_wsgi_py_is_the_configured_stack(django_application):
    from django.core.handlers.wsgi import WSGIHandler

    stack = django_application
    assert type(stack) is Logger and type(stack.app) is Cache and type(stack.app.app) is Gzip
    assert isinstance(stack.app.app.app, WSGIHandler)
    assert stack.app.default_ttl == 30 and stack.app.app.min_size == 200


def test_django_test_client_serves_the_views(django_application):
    # Django's test client calls the handler directly: it checks the views, not the stack.
    from django.test import Client

    client = Client()
    response = client.get("/")
    assert response.status_code == 200 and response.content == DJANGO_PAGE
    response = client.get("/data")
    assert response.json() == {"numbers": list(range(100))}
    assert response["Cache-Control"] == "max-age=60"
    assert client.get("/missing").status_code == 404


def test_django_stack_in_process_under_validator(django_application):
    stack = validator(django_application)
    response = run(stack, make_environ(HTTP_ACCEPT_ENCODING="gzip"))
    assert response.status == "200 OK"
    assert header(response.headers, "Content-Encoding") == "gzip"
    assert gzip.decompress(response.body) == DJANGO_PAGE


def test_django_through_a_real_server(django_application):
    from django.core.wsgi import get_wsgi_application

    # A fresh stack (its own cache), validator outside it and around Django inside it.
    stack = validator(build(validator(get_wsgi_application()), [*_settings_spec()]))
    with serve(stack) as connect:
        check_stack_over_http(connect, DJANGO_PAGE)


def _settings_spec():
    from django.conf import settings

    return settings.WSGI_MW


@pytest.mark.parametrize("value", ["deleted", [], None])
def test_django_without_wsgi_mw_is_the_plain_handler(django_application, value):
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    import wsgi_mw.django

    with override_settings():
        if value == "deleted":
            del settings.WSGI_MW
            assert not hasattr(settings, "WSGI_MW")
        else:
            settings.WSGI_MW = value
        application = wsgi_mw.django.get_wsgi_application()
    assert type(application) is WSGIHandler
    assert settings.WSGI_MW  # restored


def test_django_setting_read_at_call_time(django_application):
    from django.test import override_settings

    import wsgi_mw.django

    with override_settings(WSGI_MW=[("gzip", {"level": 1})]):
        application = wsgi_mw.django.get_wsgi_application()
    assert type(application) is Gzip and application.level == 1
    with (
        override_settings(WSGI_MW=["gzip", "nope"]),
        pytest.raises(ValueError, match="unknown middleware 'nope'"),
    ):
        wsgi_mw.django.get_wsgi_application()


def test_flask_static_folder_through_init_app(tmp_path):
    # Static in front of Flask's own static route, configured by WSGI_MW: Flask's view is
    # never reached for a file, and every other URL is Flask's.
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "app.3f2a9c1d.js").write_bytes(b"console.log(1);\n")
    app = Flask(__name__, static_folder=str(folder))
    app.config["WSGI_MW"] = [
        ("static", {"root": app.static_folder, "prefix": app.static_url_path}),
    ]
    wsgi_mw.flask.init_app(app)
    assert type(app.wsgi_app) is wsgi_mw.Static
    client = app.test_client()
    response = fetch(client, "/static/app.3f2a9c1d.js")
    assert response.data == b"console.log(1);\n"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert fetch(client, "/static/missing.js").status_code == 404  # Flask's own 404


def test_django_static_root_through_the_setting(django_application, tmp_path):
    from django.test import override_settings

    import wsgi_mw.django

    # What collectstatic with ManifestStaticFilesStorage writes: hashed names.
    (tmp_path / "site.55e7cbb9ba48.css").write_bytes(b"body{}\n")
    with override_settings(
        STATIC_ROOT=str(tmp_path),
        WSGI_MW=[("static", {"root": str(tmp_path), "prefix": "/static/"})],
    ):
        application = wsgi_mw.django.get_wsgi_application()
    assert type(application) is wsgi_mw.Static
    response = run(validator(application), make_environ(PATH_INFO="/static/site.55e7cbb9ba48.css"))
    assert response.body == b"body{}\n"
    assert header(response.headers, "Cache-Control") == "public, max-age=31536000, immutable"
    # Every other path is Django's.
    assert run(application, make_environ(PATH_INFO="/nowhere")).status.startswith("404")
