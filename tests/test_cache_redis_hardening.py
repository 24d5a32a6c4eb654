"""What a hostile probe found in Cache's shared store (issue 26), each against a real
redis-server and, where processes matter, two gunicorn workers:

- the indexes by path and tag hold about the live entries, whatever a client makes the app
  store, and invalidation and purges cost the same while a client grows them tenfold;
- a request waits at most ``store_timeout`` in all for a store that accepts and never
  answers (connecting and the first command together);
- an outage that begins while a request polls another process's flight lock writes its one
  line, in every process it reaches;
- when a flight's leader fails or outlives ``single_flight_timeout``, exactly one waiter
  takes the lead (in process, in memory and on Redis, and across processes); stale-if-error
  answers the waiters when it applies.

Every in-process request goes through ``wsgiref.validate.validator`` on both sides.
"""

from __future__ import annotations

import concurrent.futures
import socket
import statistics
import threading
import time
from wsgiref.validate import validator

import pytest
from conftest import error_text, gunicorn_on_redis, header, make_environ, run
from redis_server import RedisServer

from wsgi_mw import Cache

TEXT = "text/plain"


def index_sizes(client, prefix=b"wsgi_mw:"):
    """{key: members} of every index the cache keeps (whatever type and name it uses)."""
    sizes = {}
    for key in client.scan_iter(match=prefix + b"*", count=1000):
        kind = client.type(key)
        if kind == b"set":
            sizes[key] = client.scard(key)
        elif kind == b"zset":
            sizes[key] = client.zcard(key)
    return sizes


def live_entries(client, prefix=b"wsgi_mw:"):
    return sum(1 for _ in client.scan_iter(match=prefix + b"e:*", count=1000))


def searches(max_age):
    """A search page any client can make the cache store once per query string."""

    def app(environ, start_response):
        start_response(
            "200 OK",
            [
                ("Content-Type", TEXT),
                ("Cache-Control", f"max-age={max_age}"),
                ("Surrogate-Key", "search"),
            ],
        )
        return [environ.get("QUERY_STRING", "").encode()]

    return app


def timed(call, repeat=7):
    """The median seconds of `call()`."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# --------------------------------------------------------------------------- 1. indexes


def test_indexes_hold_the_live_entries_and_purges_stay_flat_as_a_client_grows_them(
    redis_server,
):
    """A client sends distinct query strings to one path without pause (each entry lives
    a second), first for one second, then for ten: the indexes hold about the live entries,
    and an invalidating POST and a purge cost the same at both points."""
    client = redis_server.client()
    mw = Cache(searches(max_age=1), store=redis_server.url)
    query = iter(range(10**9))

    def fill(seconds):
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            environ = make_environ(PATH_INFO="/search", QUERY_STRING=f"q={next(query)}")
            assert header(run(mw, environ).headers, "X-Cache") == "MISS"

    def post():
        environ = make_environ(PATH_INFO="/search", REQUEST_METHOD="POST")
        response = run(mw, environ)
        assert response.status == "200 OK"
        assert error_text(environ) == ""

    def measure():
        live = live_entries(client)
        sizes = index_sizes(client)
        assert sizes, "the cache keeps indexes by path and by tag"
        for key, members in sizes.items():
            # A member per live entry, and at most a batch of expired ones not yet dropped.
            assert members <= 2 * live + 100, (key, members, live)
        return timed(post), timed(lambda: mw.purge_tag("search"), repeat=1)

    fill(1.0)
    post_once, purge_once = measure()
    fill(10.0)
    post_tenfold, purge_tenfold = measure()
    assert mw.stats()["store_errors"] == 0
    # Cost growth as a ratio with a generous margin: flat, not tenfold.
    assert post_tenfold < 4 * post_once + 0.002, (post_once, post_tenfold)
    assert purge_tenfold < 4 * purge_once + 0.005, (purge_once, purge_tenfold)


def test_a_purge_of_many_entries_is_read_in_batches_and_is_not_an_outage(redis_server):
    """Purges never ask for a whole index in one reply: one purge of 5 000 entries succeeds
    within a store_timeout far shorter than it takes in all, and the store stays up."""
    client = redis_server.client()
    mw = Cache(searches(max_age=300), store=redis_server.url, store_timeout=0.05)
    for n in range(5000):
        run(mw, make_environ(PATH_INFO="/search", QUERY_STRING=f"q={n}"))
    assert live_entries(client) == 5000
    client.config_resetstat()
    assert mw.purge("/search") == 5000
    stats = client.info("commandstats")
    assert "cmdstat_smembers" not in stats and "cmdstat_zrange" not in stats
    assert stats["cmdstat_zscan"]["calls"] > 1, "read in batches"
    assert live_entries(client) == 0
    assert mw.stats()["store_errors"] == 0
    response = run(mw, make_environ(PATH_INFO="/search", QUERY_STRING="q=1"))
    assert header(response.headers, "X-Cache") == "MISS", "the store is not in an outage"


def test_an_invalidation_removes_only_its_uri_among_many(redis_server):
    mw = validator(Cache(searches(max_age=300), store=redis_server.url))
    for n in range(300):
        run(mw, make_environ(PATH_INFO="/search", QUERY_STRING=f"q={n}"))
    run(mw, make_environ(PATH_INFO="/search", QUERY_STRING="q=7", REQUEST_METHOD="POST"))
    again = [
        header(run(mw, make_environ(PATH_INFO="/search", QUERY_STRING=f"q={n}")).headers, "X-Cache")
        for n in (6, 7, 8)
    ]
    assert again == ["HIT", "MISS", "HIT"]


# --------------------------------------------------------------------------- 3. one deadline


@pytest.fixture
def silent_store():
    """A TCP port that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()


def ok_app(environ, start_response):
    start_response("200 OK", [("Content-Type", TEXT)])
    return [b"ok"]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("store_timeout", [0.2, 0.5, 1.0])
def test_a_store_that_never_answers_costs_a_request_one_store_timeout(
    silent_store, store_timeout, method
):
    mw = validator(Cache(ok_app, store=silent_store, store_timeout=store_timeout))
    environ = make_environ(REQUEST_METHOD=method)
    started = time.monotonic()
    response = run(mw, environ)
    waited = time.monotonic() - started
    assert response.status == "200 OK"
    assert header(response.headers, "X-Cache") == "BYPASS"
    assert "the shared store is unreachable" in error_text(environ)
    # One deadline for connecting and the command together, with a generous margin (it
    # was twice store_timeout).
    assert waited / store_timeout < 1.5, (store_timeout, waited)


# --------------------------------------------------------------------------- 2. one line


def test_an_outage_that_begins_while_polling_a_flight_lock_writes_its_line():
    server = RedisServer().start()
    try:
        leader_app_started = threading.Event()

        def slow(environ, start_response):
            leader_app_started.set()
            time.sleep(1.0)
            start_response("200 OK", [("Content-Type", TEXT), ("Cache-Control", "max-age=60")])
            return [b"slow"]

        # Two processes sharing the store: the first leads the flight, the second polls its
        # lock when Redis goes away.
        leader = Cache(slow, store=server.url, store_timeout=0.2)
        poller = Cache(slow, store=server.url, store_timeout=0.2)
        led = concurrent.futures.ThreadPoolExecutor(1).submit(
            run, leader, make_environ(PATH_INFO="/p")
        )
        assert leader_app_started.wait(5)
        environ = make_environ(PATH_INFO="/p")
        polled = concurrent.futures.ThreadPoolExecutor(1).submit(run, validator(poller), environ)
        time.sleep(0.3)
        assert not polled.done(), "it waits on the leader's lock"
        server.stop()
        response = polled.result(10)
        assert response.status == "200 OK"
        assert header(response.headers, "X-Cache") == "BYPASS"
        assert error_text(environ).count("the shared store is unreachable") == 1
        # The rest of the outage is counted, not written again.
        later = make_environ(PATH_INFO="/p")
        assert header(run(validator(poller), later).headers, "X-Cache") == "BYPASS"
        assert error_text(later) == ""
        led.result(10)
    finally:
        server.stop()


def gunicorn_workers(redis_url, tmp_path, *options):
    return gunicorn_on_redis(redis_url, tmp_path, "cache_redis_burst_app", *options)


def test_every_gunicorn_worker_an_outage_reaches_writes_one_line(tmp_path):
    import requests

    server = RedisServer().start()
    try:
        workers, log = gunicorn_workers(server.url, tmp_path, "--worker-class", "sync")
        with workers as url, concurrent.futures.ThreadPoolExecutor(6) as pool:
            burst = [pool.submit(requests.get, f"{url}/slow", timeout=20) for _ in range(6)]
            # Mid-burst: one worker leads /slow, the other polls its lock.
            time.sleep(0.6)
            server.stop()
            responses = [future.result() for future in burst]
            # Each worker serves more requests through the outage.
            responses += [
                requests.get(f"{url}/slow", timeout=20, headers={"Connection": "close"})
                for _ in range(6)
            ]
        assert {r.status_code for r in responses} == {200}
        bypassed = {r.headers["X-Worker"] for r in responses if r.headers["X-Cache"] == "BYPASS"}
        assert len(bypassed) == 2, "the outage reached both workers"
        lines = [line for line in log.read_text().splitlines() if "unreachable" in line]
        for pid in bypassed:
            mine = [line for line in lines if line.startswith(f"[{pid}] ")]
            assert len(mine) == 1, (pid, lines)
    finally:
        server.stop()


# --------------------------------------------------------------------------- 5. flights


class Backend:
    """An app for one URL that counts its calls and how many ran at once; `fail(n)` says
    whether call n raises, `pause(n)` how long it takes."""

    def __init__(self, fail=lambda n: False, pause=lambda n: 0.2, headers=()):
        self.fail = fail
        self.pause = pause
        self.headers = [("Content-Type", TEXT), ("Cache-Control", "max-age=60"), *headers]
        self.calls = 0
        self.running = 0
        self.most_running = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.calls += 1
            n = self.calls
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            time.sleep(self.pause(n))
        finally:
            with self.lock:
                self.running -= 1
        if self.fail(n):
            raise RuntimeError(f"call {n} fails")
        start_response("200 OK", self.headers)
        return [f"call {n}".encode()]


def burst(mw, count, path="/k"):
    """`count` concurrent requests for `path`: each a Response, or the exception it raised."""
    start = threading.Barrier(count)

    def one(_):
        start.wait()
        try:
            return run(mw, make_environ(PATH_INFO=path))
        except RuntimeError as err:
            return err

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return {}
    server = request.getfixturevalue("redis_server")
    return {"store": server.url}


def test_when_the_leader_raises_exactly_one_waiter_takes_the_lead(store):
    backend = Backend(fail=lambda n: n == 1, pause=lambda n: 0.3)
    results = burst(Cache(backend, **store), 30)
    failed = [r for r in results if isinstance(r, Exception)]
    answered = [r for r in results if not isinstance(r, Exception)]
    assert len(failed) == 1, "the leader's own request fails"
    assert backend.calls == 2, "one waiter called the app again; it was 30 of 30"
    assert {r.body for r in answered} == {b"call 2"}
    assert sorted(header(r.headers, "X-Cache") for r in answered) == ["HIT"] * 28 + ["MISS"]


def test_a_failing_backend_gets_one_call_at_a_time(store):
    backend = Backend(fail=lambda n: True, pause=lambda n: 0.05)
    results = burst(Cache(backend, **store), 12)
    assert all(isinstance(r, Exception) for r in results)
    assert backend.calls == 12, "each request tries, one after another"
    assert backend.most_running == 1, "never a stampede on a failing backend"


def test_when_the_leader_hangs_past_its_lease_exactly_one_waiter_takes_the_lead(store):
    backend = Backend(pause=lambda n: 1.5 if n == 1 else 0.1)
    mw = Cache(backend, single_flight_timeout=0.5, **store)
    results = burst(mw, 20)
    assert backend.calls == 2, "the hung leader and one waiter; it was 20 of 20"
    bodies = sorted(r.body for r in results)
    assert bodies == [b"call 1"] + [b"call 2"] * 19


def test_a_response_that_may_not_be_stored_lets_every_waiter_go_at_once(store):
    backend = Backend(pause=lambda n: 0.3, headers=[("Set-Cookie", "s=1")])
    results = burst(Cache(backend, **store), 8)
    assert backend.calls == 8
    assert {r.status for r in results} == {"200 OK"}
    # Not one after another: the waiters went together once the leader's head said the
    # response is not stored.
    assert backend.most_running > 1


def test_stale_if_error_answers_the_waiters_of_a_failed_leader(store):
    backend = Backend(fail=lambda n: n >= 2, pause=lambda n: 0.0 if n == 1 else 0.3)
    backend.headers[1] = ("Cache-Control", "max-age=1, stale-if-error=60")
    mw = Cache(backend, **store)
    assert run(mw, make_environ(PATH_INFO="/k")).body == b"call 1"
    time.sleep(1.1)
    results = burst(mw, 10)
    assert backend.calls == 2, "only the leader tried the failing backend"
    assert {r.body for r in results} == {b"call 1"}
    assert {header(r.headers, "X-Cache") for r in results} == {"STALE"}


def test_across_gunicorn_workers_one_waiter_takes_the_lead_of_a_failed_flight(
    redis_server, tmp_path
):
    import requests

    client = redis_server.client()
    # Each worker holds at most 6 connections, so the burst reaches both.
    workers, _ = gunicorn_workers(
        redis_server.url,
        tmp_path,
        *("--worker-class", "gthread", "--threads", "6", "--worker-connections", "6"),
    )
    with workers as url, concurrent.futures.ThreadPoolExecutor(24) as pool:
        responses = list(
            pool.map(lambda _: requests.get(f"{url}/fail-once", timeout=20), range(24))
        )
        most_running = int(requests.get(f"{url}/inflight", timeout=5).text)
    served = [r for r in responses if r.status_code == 200]
    assert len(responses) - len(served) == 1, "the leader's request fails"
    assert int(client.get("test-calls:/fail-once")) == 2, "it was every request"
    assert most_running == 1
    assert {r.text for r in served} == {"/fail-once call 2"}
    assert len({r.headers["X-Worker"] for r in served}) == 2, "both workers answered"


def test_a_store_that_lost_its_scripts_is_written_as_before(redis_server):
    """Index writes run their script by SHA (EVALSHA); a server without it (restarted,
    SCRIPT FLUSH) gets it again, and the write is not lost nor counted as an error."""
    client = redis_server.client()
    mw = Cache(searches(max_age=300), store=redis_server.url)
    run(mw, make_environ(PATH_INFO="/search", QUERY_STRING="q=1"))
    client.script_flush()
    response = run(mw, make_environ(PATH_INFO="/search", QUERY_STRING="q=2"))
    assert header(response.headers, "X-Cache") == "MISS"
    assert mw.stats()["store_errors"] == 0
    assert live_entries(client) == 2
    assert sum(index_sizes(client).values()) == 4, "both entries in the path and tag indexes"
    again = run(mw, make_environ(PATH_INFO="/search", QUERY_STRING="q=2"))
    assert header(again.headers, "X-Cache") == "HIT"
    assert mw.purge_tag("search") == 2
