"""Router against Werkzeug's routing, a dict of static paths and DispatcherMiddleware.

Route sets of 10, 100, 1 000 and 10 000 routes shaped like a REST API: resources under
``/api/v1/``, ten routes each (static list, create, search and export routes; one or two
params, ``{id:int}`` typed, a ``{slug}``, a ``{name:path}``). Each set is served by
``Router(routes)``, by ``WerkzeugDispatch`` (benches/peers.py: ``Map.bind_to_environ(
environ).match()``, then the endpoint's app) on the equivalent Werkzeug rules, and, for
its static GET routes, by a dict from path to app (the floor). Mounts: ``Router.mount``
against Werkzeug's ``DispatcherMiddleware`` on the same ten sub-apps.

Four tables: routes against Werkzeug; static routes against the dict; Router at each
route count against Router at 10 routes; mounts. Before timing, every request is
checked to reach the same route with the same params in every competitor.

Run alone: ``python benches/bench_router.py [--quick]``; ``run_all.py`` runs it too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version

from peers import WerkzeugDispatch, check_werkzeug_dispatch
from runner import (
    FULL,
    Case,
    CaseResult,
    Ratio,
    Settings,
    WSGIApp,
    bench_main,
    count_misses,
    make_environ,
    measure_all,
    results_table,
    section,
    timing_legend,
)
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.routing import Map, Rule

import wsgi_mw
from wsgi_mw import Router

ROUTE_COUNTS = (10, 100, 1_000, 10_000)
ROUTES_PER_RESOURCE = 10
API_PREFIX = "/api/v1/"

# Targets (issue 5).
WERKZEUG_TARGET = 0.05  # Router / Werkzeug ...
WERKZEUG_TARGET_ROUTES = 100  # ... on the rows with this many routes
DICT_FLOOR_TARGET = 1.0  # Router / the dict, on static routes
SCALING_TARGET = 1.5  # Router at 10 000 routes / Router at 10

# Rounds of every table: a share of the settings' repetitions, so that the section takes
# about a minute on 2 cores (building the 10 000-rule Werkzeug Map alone takes seconds).
ROUNDS_DIVISOR = 2

# Competitors.
WERKZEUG = "Werkzeug"
DICT = "dict"
ROUTER = "Router"
DISPATCHER = "DispatcherMiddleware"
ROUTER_MOUNT = "Router.mount"

NOT_FOUND_BODY = b"Not Found\n"  # Router's own 404 body; the peers answer the same

REPRODUCE = (
    "Reproduce: `python benches/bench_router.py` (this section alone) or "
    "`python benches/run_all.py` (every section, into `docs/benchmarks.md`)."
)


# --- the route sets -------------------------------------------------------------------

NOUNS = (
    "users",
    "orders",
    "products",
    "invoices",
    "customers",
    "payments",
    "shipments",
    "reviews",
    "carts",
    "coupons",
    "categories",
    "suppliers",
    "warehouses",
    "refunds",
    "subscriptions",
    "tickets",
    "projects",
    "teams",
    "events",
    "reports",
)

# One resource's routes, in the order they are added: (methods, path after the resource
# prefix). The first resource's list is the first route of a set, the last resource's
# two-param route its last.
RESOURCE_ROUTES: tuple[tuple[str | tuple[str, ...], str], ...] = (
    ("GET", "/"),
    ("POST", "/"),
    ("GET", "/search"),
    ("GET", "/export"),
    ("GET", "/by-slug/{slug}"),
    ("GET", "/{id:int}"),
    (("PUT", "PATCH"), "/{id:int}"),
    ("DELETE", "/{id:int}"),
    ("GET", "/{id:int}/files/{name:path}"),
    ("GET", "/{id:int}/comments/{comment_id:int}"),
)
assert len(RESOURCE_ROUTES) == ROUTES_PER_RESOURCE


def resource_prefix(index: int) -> str:
    """``/api/v1/users``, ``/api/v1/orders``, ..., then ``/api/v1/users1``, ..."""
    noun = NOUNS[index % len(NOUNS)]
    round_ = index // len(NOUNS)
    return f"{API_PREFIX}{noun}{round_ or ''}"


def methods_text(methods: str | tuple[str, ...]) -> str:
    return methods if isinstance(methods, str) else ", ".join(methods)


def endpoint(body: bytes, status: str = "200 OK") -> WSGIApp:
    """A plain WSGI app answering ``body`` as text/plain, with a Content-Length."""
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    chunks = [body]

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        start_response(status, list(headers))
        return chunks

    return app


# Router's own 404, answered by hand by the peers (Werkzeug's own is an HTML page).
not_found = endpoint(NOT_FOUND_BODY, "404 Not Found")

_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


def werkzeug_rule_path(template: str) -> str:
    """Router's template as a Werkzeug rule path.

    ``{id:int}`` -> ``<int:id>``, ``{slug}`` -> ``<slug>`` (Werkzeug's default converter:
    one non-empty segment), ``{name:path}`` -> ``<path:name>``.
    """
    return _PARAM.sub(
        lambda match: f"<{match[2]}:{match[1]}>" if match[2] else f"<{match[1]}>", template
    )


@dataclass(frozen=True)
class Route:
    methods: str | tuple[str, ...]
    template: str
    app: WSGIApp


@dataclass(frozen=True)
class RouteSet:
    """``count`` routes of ``count // 10`` resources, one app per route."""

    count: int
    routes: tuple[Route, ...]

    def router(self) -> Router:
        return Router([(route.methods, route.template, route.app) for route in self.routes])

    def werkzeug(self) -> WerkzeugDispatch:
        rules = []
        endpoints = {}
        for index, route in enumerate(self.routes):
            methods = [route.methods] if isinstance(route.methods, str) else route.methods
            name = f"route{index}"
            rules.append(Rule(werkzeug_rule_path(route.template), methods=methods, endpoint=name))
            endpoints[name] = route.app
        return WerkzeugDispatch(Map(rules), endpoints, not_found)

    def static_dict(self) -> WSGIApp:
        """The floor for static routes: a dict from PATH_INFO to the GET route's app."""
        routes = {
            route.template: route.app
            for route in self.routes
            if route.methods == "GET" and "{" not in route.template
        }
        return dict_dispatch(routes, not_found)


def dict_dispatch(routes: dict[str, WSGIApp], default: WSGIApp) -> WSGIApp:
    """``routes[environ["PATH_INFO"]](environ, start_response)``, ``default`` if absent.

    No method check, no params, no slash redirect: the least a Python dispatcher does.
    """
    get = routes.get

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        return get(environ["PATH_INFO"], default)(environ, start_response)

    return app


def resources(count: int) -> int:
    return count // ROUTES_PER_RESOURCE


def route_set(count: int, first_moved_to: int = 0) -> RouteSet:
    """``count`` routes, each answering its methods and template (the body shows which
    route ran).

    With ``first_moved_to``, the first resource (``/api/v1/users``) trades places with
    the resource at that index, so that one path can be added first, in the middle or
    last.
    """
    prefixes = [resource_prefix(index) for index in range(resources(count))]
    prefixes[0], prefixes[first_moved_to] = prefixes[first_moved_to], prefixes[0]
    routes = []
    for prefix in prefixes:
        for methods, suffix in RESOURCE_ROUTES:
            template = prefix + suffix
            app = endpoint(f"{methods_text(methods)} {template}\n".encode())
            routes.append(Route(methods, template, app))
    return RouteSet(count, tuple(routes))


# --- the requests ---------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A request: its path, and the route it must reach (None: a 404) with its params."""

    path: str
    template: str | None
    params: Mapping[str, object]


def list_request(prefix: str) -> Request:
    return Request(prefix + "/", prefix + "/", {})


def search_request(prefix: str) -> Request:
    return Request(prefix + "/search", prefix + "/search", {})


def export_request(prefix: str) -> Request:
    return Request(prefix + "/export", prefix + "/export", {})


def detail_request(prefix: str) -> Request:
    return Request(prefix + "/42", prefix + "/{id:int}", {"id": 42})


def comment_request(prefix: str) -> Request:
    return Request(
        prefix + "/42/comments/7",
        prefix + "/{id:int}/comments/{comment_id:int}",
        {"id": 42, "comment_id": 7},
    )


def missing_request(prefix: str) -> Request:
    """A path under the resource that no route matches, with or without a final slash."""
    return Request(prefix + "/42/likes", None, {})


def first(resource_count: int) -> int:
    return 0


def middle(resource_count: int) -> int:
    return resource_count // 2


def last(resource_count: int) -> int:
    return resource_count - 1


# Rows: (label, the resource requested, the request to it).
Position = Callable[[int], int]
ROUTE_REQUESTS: tuple[tuple[str, Position, Callable[[str], Request]], ...] = (
    ("first (static)", first, list_request),  # the first route added
    ("middle (1 param)", middle, detail_request),
    ("last (2 params)", last, comment_request),  # the last route added
    ("404", middle, missing_request),
)
STATIC_REQUESTS: tuple[tuple[str, Position, Callable[[str], Request]], ...] = (
    ("first", first, list_request),
    ("middle", middle, search_request),
    ("last", last, export_request),  # the last static route added
    ("404", middle, missing_request),
)
SCALING_REQUESTS = (*ROUTE_REQUESTS[:3], ("last (static)", last, export_request), ROUTE_REQUESTS[3])


def request_environ(path: str) -> dict:
    return make_environ("GET", path, SCRIPT_NAME="")


def count_label(count: int) -> str:
    return f"{count:,}".replace(",", " ")


# --- checks ---------------------------------------------------------------------------


def routed(app: WSGIApp, environ: Mapping[str, object]) -> tuple[str, dict, bytes]:
    """Serve one request; return its status, the environ the app saw, and the body."""
    seen = dict(environ)
    statuses: list[str] = []

    def start_response(status: str, headers: list, exc_info: object = None) -> Callable:
        statuses.append(status)
        return lambda data: None

    result = app(seen, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return statuses[-1], seen, body


def check_request(app: WSGIApp, request: Request, where: str, *, router: bool) -> None:
    """The request reaches ``request.template`` with ``request.params``, or is a 404.

    The params must be in ``wsgiorg.routing_args``; Router must also name the route in
    ``wsgi_mw.route``. (The dict floor is checked by the body alone: it has no params.)
    """
    status, environ, body = routed(app, request_environ(request.path))
    where = f"{where}, GET {request.path}"
    if request.template is None:
        if not status.startswith("404 ") or body != NOT_FOUND_BODY:
            raise AssertionError(f"{where}: {status} {body!r}, not a 404")
        return
    if not status.startswith("200 "):
        raise AssertionError(f"{where}: {status} {body!r}")
    routing_args = environ.get("wsgiorg.routing_args")
    if routing_args != ((), dict(request.params)):
        raise AssertionError(f"{where}: wsgiorg.routing_args {routing_args!r}")
    if router and environ.get("wsgi_mw.route") != request.template:
        raise AssertionError(f"{where}: wsgi_mw.route {environ.get('wsgi_mw.route')!r}")


# --- routes against Werkzeug, static routes against the dict --------------------------


@dataclass(frozen=True)
class RatioAt:
    """A ratio column whose target holds on the rows whose ``label`` is in ``values``."""

    candidate: str
    baseline: str
    target: float
    label: str
    values: tuple[str, ...]
    where: str

    @property
    def header(self) -> str:
        return f"{self.candidate}/{self.baseline} (target ≤ {self.target:g} {self.where})"

    def missed(self, result: CaseResult) -> bool:
        return (
            result.case.labels[self.label] in self.values
            and result.ratio(self.candidate, self.baseline) > self.target
        )

    def cell(self, result: CaseResult) -> str:
        value = f"{result.ratio(self.candidate, self.baseline):.2f}"
        return f"{value} MISS" if self.missed(result) else value


ROUTES_RATIOS = [
    RatioAt(
        ROUTER,
        WERKZEUG,
        WERKZEUG_TARGET,
        "routes",
        (count_label(WERKZEUG_TARGET_ROUTES),),
        f"at {WERKZEUG_TARGET_ROUTES} routes",
    )
]
STATIC_RATIOS = [
    RatioAt(
        ROUTER, DICT, DICT_FLOOR_TARGET, "request", ("first", "middle", "last"), "on static routes"
    ),
    Ratio(DICT, WERKZEUG),
    *ROUTES_RATIOS,
]


class Dispatchers:
    """Every route set and dispatcher of the section, each built once, on first use.

    ``moved_to``: the set of ``route_set(count, first_moved_to=moved_to)``. Building a
    Werkzeug ``Map`` or a Router of 10 000 routes takes seconds, and the tables share them.
    """

    def __init__(self) -> None:
        self._sets: dict[tuple[int, int], RouteSet] = {}
        self._built: dict[tuple[str, int, int], WSGIApp] = {}

    def routes(self, count: int, moved_to: int = 0) -> RouteSet:
        key = (count, moved_to)
        if key not in self._sets:
            self._sets[key] = route_set(count, first_moved_to=moved_to)
        return self._sets[key]

    def get(self, name: str, count: int, moved_to: int = 0) -> WSGIApp:
        key = (name, count, moved_to)
        if key not in self._built:
            routes = self.routes(count, moved_to)
            build = {WERKZEUG: routes.werkzeug, DICT: routes.static_dict, ROUTER: routes.router}
            self._built[key] = build[name]()
        return self._built[key]


def match_cases(
    dispatchers: Dispatchers,
    names: Sequence[str],
    requests: Sequence[tuple[str, Position, Callable[[str], Request]]],
) -> list[Case]:
    """One case per route count and request; every competitor checked on it first."""
    cases = []
    for count in ROUTE_COUNTS:
        competitors = {name: dispatchers.get(name, count) for name in names}
        for label, position, make_request in requests:
            request = make_request(resource_prefix(position(resources(count))))
            for name, app in competitors.items():
                if name != DICT:  # no params: its body is checked by the runner
                    where = f"{count_label(count)} routes, {name}"
                    check_request(app, request, where, router=name == ROUTER)
            cases.append(
                Case(
                    {"routes": count_label(count), "request": label, "path": f"`{request.path}`"},
                    competitors,
                    request_environ(request.path),
                )
            )
    return cases


# --- route count ----------------------------------------------------------------------


def scaling_name(count: int) -> str:
    return f"{count_label(count)} routes"


SCALING_RATIOS = [
    *(Ratio(scaling_name(count), scaling_name(ROUTE_COUNTS[0])) for count in ROUTE_COUNTS[1:-1]),
    Ratio(scaling_name(ROUTE_COUNTS[-1]), scaling_name(ROUTE_COUNTS[0]), target=SCALING_TARGET),
]


def scaling_cases(dispatchers: Dispatchers) -> list[Case]:
    """One case per request, its competitors Router at every route count.

    The request goes to the first resource, ``/api/v1/users``, moved in each set to the
    row's position: one path, one environ, for every competitor of the case.
    """
    prefix = resource_prefix(0)
    cases = []
    for label, position, make_request in SCALING_REQUESTS:
        request = make_request(prefix)
        routers = {}
        for count in ROUTE_COUNTS:
            router = dispatchers.get(ROUTER, count, moved_to=position(resources(count)))
            check_request(router, request, f"route count, {count} routes", router=True)
            routers[scaling_name(count)] = router
        cases.append(
            Case(
                {"request": label, "path": f"`{request.path}`"},
                routers,
                request_environ(request.path),
            )
        )
    return cases


# --- mounts ---------------------------------------------------------------------------

MOUNT_PREFIXES = (
    "/api",
    "/api/v2",
    "/admin",
    "/static",
    "/blog",
    "/shop",
    "/docs",
    "/auth",
    "/media",
    "/status",
)

# (row label, path, the app it must reach, SCRIPT_NAME and PATH_INFO that app sees)
MOUNT_REQUESTS = (
    ("one-segment mount", "/admin/users/42", "/admin", "/admin", "/users/42"),
    ("longest prefix", "/api/v2/orders/42/items", "/api/v2", "/api/v2", "/orders/42/items"),
    ("the prefix itself", "/api", "/api", "/api", ""),
    ("no mount: root app", "/about/team/jobs/42", "", "", "/about/team/jobs/42"),
)


def echo_app(name: str) -> WSGIApp:
    """A sub-app that answers its name, SCRIPT_NAME and PATH_INFO: the body shows both
    where the request went and how the environ was split."""

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        body = f"{name} {environ['SCRIPT_NAME']} {environ['PATH_INFO']}\n".encode()
        start_response(
            "200 OK",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return app


def mount_cases() -> list[Case]:
    root = echo_app("root")
    apps = {prefix: echo_app(prefix) for prefix in MOUNT_PREFIXES}
    dispatcher = DispatcherMiddleware(root, apps)
    router = Router(default=root)
    for prefix, app in apps.items():
        router.mount(prefix, app)
    competitors = {DISPATCHER: dispatcher, ROUTER_MOUNT: router}
    cases = []
    for label, path, target, script_name, path_info in MOUNT_REQUESTS:
        expected = f"{target or 'root'} {script_name} {path_info}\n".encode()
        for name, app in competitors.items():
            status, _environ, body = routed(app, request_environ(path))
            if body != expected:
                raise AssertionError(f"mounts, {name}, GET {path}: {status} {body!r}")
        cases.append(
            Case({"request": label, "path": f"`{path}`"}, competitors, request_environ(path))
        )
    return cases


MOUNT_RATIOS = [Ratio(ROUTER_MOUNT, DISPATCHER)]


# --- the section ----------------------------------------------------------------------


def table_settings(settings: Settings) -> Settings:
    return Settings(max(1, settings.repetitions // ROUNDS_DIVISOR), settings.sample_seconds)


def run(settings: Settings = FULL) -> str:
    """Time Router against Werkzeug's routing, a dict of static paths and DispatcherMiddleware."""
    check_werkzeug_dispatch()
    tables = table_settings(settings)
    dispatchers = Dispatchers()
    routes = measure_all(match_cases(dispatchers, (WERKZEUG, ROUTER), ROUTE_REQUESTS), tables)
    static = measure_all(
        match_cases(dispatchers, (WERKZEUG, DICT, ROUTER), STATIC_REQUESTS), tables
    )
    scaling = measure_all(scaling_cases(dispatchers), tables)
    mounts = measure_all(mount_cases(), tables)
    missed = (
        sum(column.missed(result) for result in routes for column in ROUTES_RATIOS)
        + sum(
            column.missed(result)
            for result in static
            for column in STATIC_RATIOS
            if isinstance(column, RatioAt)
        )
        + count_misses(scaling, SCALING_RATIOS)
    )
    first, last = resource_prefix(0), resource_prefix(ROUTE_COUNTS[-1] // ROUTES_PER_RESOURCE - 1)
    return section(
        "Router: method and path dispatch",
        f"`wsgi_mw.Router` from wsgi_mw {wsgi_mw.__version__} with its defaults "
        "(`redirect_slashes=True`), against Werkzeug "
        f"{version('werkzeug')}'s routing and a plain dict. The route sets have 10, 100, "
        f"1 000 and 10 000 routes: resources under `{API_PREFIX}` (`{first}`, ..., "
        f"`{last}`), ten routes each, added in this order: "
        + ", ".join(f"`{methods_text(methods)} {suffix}`" for methods, suffix in RESOURCE_ROUTES)
        + ", each path after the resource's prefix; every route is its own WSGI app, "
        "answering a short text/plain body. Werkzeug: `WerkzeugDispatch` (benches/peers.py), "
        "the dispatch of Werkzeug's documentation: `url_map.bind_to_environ(environ)"
        ".match()` on a `Map` of the same routes as `Rule`s (`<int:id>`, `<slug>`, "
        "`<path:name>`, string endpoints), then the endpoint's app, the values added to "
        "`wsgiorg.routing_args`; its 404 is answered by the same plain-text app as the "
        "dict's (Werkzeug's own is an HTML page), so that every competitor sends Router's "
        '`Not Found` body. The dict: `routes.get(environ["PATH_INFO"], not_found)'
        "(environ, start_response)` over the set's static GET routes, no method check: the "
        f"floor of any Python dispatch. {REPRODUCE}",
        "### Routes against Werkzeug",
        "One request per row: the first route added (the first resource's list, static), "
        "the middle resource's `{id:int}` route, the last route added (the last "
        "resource's two-param route) and a 404 under the middle resource (neither the path "
        "nor its slash twin is a route: Router also tries the redirect). Before timing, "
        "each request is checked to reach the route it names in both competitors, with the "
        "same `wsgiorg.routing_args` (ints converted), and Router's `wsgi_mw.route` to be "
        "that route's template; the runner checks that both send the same body, which "
        "names the route. The target, Router at 0.05x Werkzeug, holds on the 100-route "
        "rows; the other rows show how both scale.",
        results_table(routes, ROUTES_RATIOS),
        "### Static routes against a dict",
        "Requests for static paths: the first route added, the middle resource's `search` "
        "and the last resource's `export` (the last static route added), and the same 404 "
        "as above. The dict holds only the static GET paths and answers a path it does not "
        "know with the 404 app: Router matches method and path over the whole set, params "
        "and all, and must still be no slower than that dict on a static route (target ≤ "
        "1.0); the 404 row has no target (Router tries the slash redirect first). "
        "`dict/Werkzeug` shows how far below Werkzeug the floor is.",
        results_table(static, STATIC_RATIOS),
        "### Route count",
        "Router alone at every route count, interleaved in one case per row: its time at "
        "N routes against its time at 10. Each row requests one path of `/api/v1/users`; "
        "in each set that resource trades places with the one at the row's position (the "
        "first, the middle or the last resource added), so the path, its route and the "
        "body are the same at every count and only the size of the table and where the "
        "route sits in it change. At 10 routes the set is that one resource. Each Router "
        "is checked to reach the same route (`wsgi_mw.route`, `wsgiorg.routing_args`) "
        "before timing. Target: 10 000 routes at ≤ 1.5x 10 routes.",
        results_table(scaling, SCALING_RATIOS),
        "### Mounts",
        f"Ten sub-apps mounted at {', '.join(f'`{p}`' for p in MOUNT_PREFIXES)} and a "
        "root app for the rest, by Werkzeug's `DispatcherMiddleware(root, mounts)` and by "
        "`Router(default=root)` with one `mount(prefix, app)` each. Every app answers its "
        "name, `SCRIPT_NAME` and `PATH_INFO`, so the body check is also a check that both "
        "split the path the same way. `DispatcherMiddleware` looks the path up in its dict, "
        "then strips one segment at a time from the right until a prefix matches, so its "
        "cost grows with the depth of the path, not with the number of mounts.",
        results_table(mounts, MOUNT_RATIOS),
        timing_legend(tables),
        f"Ratios marked MISS in this section: {missed}."
        if missed
        else "Every ratio in this section meets its target.",
    )


if __name__ == "__main__":
    bench_main(run)
