"""The app gunicorn workers serve in test_cache_redis_hardening.py: a Cache on the
redis-server the test started (``WSGI_MW_TEST_REDIS``), with the app's calls counted in that
Redis under its own keys (outside the cache's prefix), so the test reads them across
processes.

- ``/fail-once``: the first call raises after 0.3 s (a failing leader); later calls answer a
  cacheable page after 0.3 s, naming the call;
- ``/slow``: a cacheable page after 1 s (a leader that holds its flight lock meanwhile);
- ``/inflight``: the most calls of ``/fail-once`` that ran at once, across processes.

Every response carries ``X-Worker: <pid>``, added outside the Cache so hits carry it too, and
every line written to ``wsgi.errors`` is prefixed with ``[<pid>]`` so the test can tell which
worker wrote it.
"""

from __future__ import annotations

import os
import time

import redis

from wsgi_mw import Cache

URL = os.environ["WSGI_MW_TEST_REDIS"]
counter = redis.Redis.from_url(URL, socket_timeout=2)


def count(path):
    """This call's number; 0 while the Redis is down (the outage test stops it)."""
    try:
        return counter.incr(f"test-calls:{path}")
    except redis.RedisError:
        return 0


def app(environ, start_response):
    path = environ["PATH_INFO"]
    calls = count(path)
    if path == "/fail-once":
        running = counter.incr("test-running")
        counter.eval(
            "if tonumber(ARGV[1]) > tonumber(redis.call('get', KEYS[1]) or '0') then "
            "redis.call('set', KEYS[1], ARGV[1]) end",
            1,
            "test-most-running",
            running,
        )
        try:
            time.sleep(0.3)
        finally:
            counter.decr("test-running")
        if calls == 1:
            raise RuntimeError("the leader fails")
    elif path == "/slow":
        time.sleep(1.0)
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Cache-Control", "max-age=300")],
    )
    return [f"{path} call {calls}".encode()]


cache = Cache(app, store=URL, store_timeout=0.5)


class PidErrors:
    """wsgi.errors with each write prefixed by this worker's pid."""

    def __init__(self, errors):
        self.errors = errors

    def write(self, text):
        self.errors.write(f"[{os.getpid()}] {text}")

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        self.errors.flush()


def application(environ, start_response):
    environ["wsgi.errors"] = PidErrors(environ["wsgi.errors"])
    if environ["PATH_INFO"] == "/inflight":
        most = counter.get("test-most-running") or b"0"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [most]

    def with_worker(status, headers, exc_info=None):
        return start_response(status, [*headers, ("X-Worker", str(os.getpid()))], exc_info)

    return cache(environ, with_worker)
