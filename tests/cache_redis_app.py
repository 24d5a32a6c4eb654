"""The app two gunicorn workers serve in test_cache_redis.py: a Cache on the redis-server the
test started (``WSGI_MW_TEST_REDIS``), with the app's calls counted in that Redis (under its
own key, outside the cache's prefix) so the test reads them across processes.

- ``/page`` and ``/slow`` (0.5 s): cacheable pages whose body names the call;
- ``/purge``: purges ``/page`` from whichever worker takes it.

Every response carries ``X-Worker: <pid>``, added outside the Cache so hits carry it too.
"""

from __future__ import annotations

import os
import time

import redis

from wsgi_mw import Cache

URL = os.environ["WSGI_MW_TEST_REDIS"]
counter = redis.Redis.from_url(URL)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    calls = counter.incr(f"test-calls:{path}")
    if path == "/slow":
        time.sleep(0.5)
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Cache-Control", "max-age=300")],
    )
    return [f"{path} call {calls}".encode()]


cache = Cache(app, store=URL)


def application(environ, start_response):
    if environ["PATH_INFO"] == "/purge":
        removed = cache.purge("/page")
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Worker", str(os.getpid()))])
        return [str(removed).encode()]

    def with_worker(status, headers, exc_info=None):
        return start_response(status, [*headers, ("X-Worker", str(os.getpid()))], exc_info)

    return cache(environ, with_worker)
