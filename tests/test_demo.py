"""examples/demo.py (what `make demo` serves) through a real wsgiref server and http.client:
six of the classes, Static serving examples/static/, Router dispatching the seed's hello-style routes, the curl commands it prints
doing what their comments say."""

import gzip
import io
import sys
import time
from urllib.parse import urlencode
from wsgiref.validate import validator

import brotli
from conftest import http_request, load_example

from wsgi_mw import Cache, Compress, Logger, Rewrite, Router, Static

try:
    from compression import zstd  # type: ignore[import-not-found]  # Python 3.14
except ImportError:
    from backports import zstd  # type: ignore[import-not-found,no-redef]


def load(monkeypatch, log):
    # The demo logs to sys.stdout: capture it, the log lines are part of what it shows.
    monkeypatch.setattr(sys, "stdout", log)
    return load_example("demo")


request = http_request


def test_demo_stacks_six_classes(monkeypatch):
    module = load(monkeypatch, io.StringIO())
    layers = []
    app = module.application
    while not isinstance(app, Router):
        layers.append(type(app))
        app = app.app
    assert layers == [Logger, Static, Cache, Compress, Rewrite]
    assert app is module.router


def test_demo_end_to_end(serve, monkeypatch):
    log = io.StringIO()
    module = load(monkeypatch, log)
    port = serve(validator(module.application))

    status, headers, body = request(port, "GET", "/")
    assert status == 200
    assert b"Goodbye world" in body and b"Hello" not in body
    assert headers["Content-Length"] == str(len(body))

    status, headers, body = request(port, "GET", "/", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert b"Goodbye world" in gzip.decompress(body)

    # A browser's list gets zstd; q-values decide between the others.
    status, headers, body = request(
        port, "GET", "/", headers={"Accept-Encoding": "gzip, deflate, br, zstd"}
    )
    assert status == 200 and headers["Content-Encoding"] == "zstd"
    assert b"Goodbye world" in zstd.decompress(body)
    status, headers, body = request(port, "GET", "/", headers={"Accept-Encoding": "gzip;q=0.5, br"})
    assert headers["Content-Encoding"] == "br"
    assert b"Goodbye world" in brotli.decompress(body)

    form = urlencode({"name": "Ada"}).encode()
    status, _, body = request(
        port,
        "POST",
        "/sign",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and body == b"<p>Goodbye, Ada! You are in.</p>\n"

    status, headers, _ = request(port, "GET", "/sign")
    assert status == 405 and headers["Allow"] == "POST"
    status, _, _ = request(port, "GET", "/nowhere")
    assert status == 404

    first = request(port, "GET", "/data.json")
    second = request(port, "GET", "/data.json", headers={"Cache-Control": "no-cache"})
    assert first[1]["X-Cache"] == "MISS" and second[1]["X-Cache"] == "HIT"
    assert second[2] == b'{"greeting": "Goodbye"}\n'

    status, headers, body = request(port, "GET", "/pixel.png")
    assert status == 200 and body == module.PIXEL and "Content-Encoding" not in headers

    # Logger writes a line when the server closes the response, which wsgiref's thread does
    # after the client has read it: wait for the last one.
    deadline = time.monotonic() + 10
    while len(log.getvalue().splitlines()) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    lines = log.getvalue().splitlines()
    assert len(lines) == 10
    assert '"POST /sign HTTP/1.1" 200' in lines[4] and '"GET /sign HTTP/1.1" 405' in lines[5]


def test_demo_static_files(serve, monkeypatch):
    module = load(monkeypatch, io.StringIO())
    port = serve(validator(module.application))
    root = module.STATIC_ROOT
    css = (root / "css" / "demo.css").read_bytes()
    js = (root / "js" / "app.3f2a9c1d.js").read_bytes()
    # The checked-in sibling is the bundle's own bytes, compressed.
    assert gzip.decompress((root / "js" / "app.3f2a9c1d.js.gz").read_bytes()) == js

    status, headers, body = request(port, "GET", "/static/css/demo.css")
    assert (status, body) == (200, css)
    assert headers["Cache-Control"] == "public, max-age=60" and "X-Cache" not in headers
    status, _, _ = request(
        port, "GET", "/static/css/demo.css", headers={"If-None-Match": headers["ETag"]}
    )
    assert status == 304
    status, headers, body = request(
        port, "GET", "/static/js/app.3f2a9c1d.js", headers={"Accept-Encoding": "gzip"}
    )
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == js
    assert b"Hello" in js, "files are not rewritten: Static is outside Rewrite"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    status, headers, body = request(
        port, "GET", "/static/css/demo.css", headers={"Range": "bytes=0-40"}
    )
    assert (status, body) == (206, css[:41])


def test_demo_events_are_compressed_and_flushed_one_by_one(monkeypatch):
    # /events is a stream type: each event is decodable as soon as it is out, gzipped.
    import zlib

    module = load(monkeypatch, io.StringIO())
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/events",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_ACCEPT_ENCODING": "gzip",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    heads = []
    body = validator(module.application)(environ, lambda s, h, e=None: heads.append(h))
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    seen = []
    try:
        for chunk in body:
            text = decoder.decompress(chunk)
            if text:
                seen.append(text)
    finally:
        body.close()
    assert dict(heads[0])["Content-Encoding"] == "gzip"
    # One decoded piece per event, each whole when it arrived.
    assert seen == [b"data: Hello %d\n\n" % i for i in range(3)]
