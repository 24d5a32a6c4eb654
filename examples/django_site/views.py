"""Views of the example site."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello from Django! " * 40, content_type="text/plain; charset=utf-8")


def data(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"numbers": list(range(100))})
    # Cache keeps it for 60 s: the response's own freshness wins over default_ttl.
    response["Cache-Control"] = "max-age=60"
    return response
