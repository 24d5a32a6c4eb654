"""Settings of the example site: the least Django needs, plus WSGI_MW."""

from __future__ import annotations

from typing import Any

SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "django_site.urls"
WSGI_APPLICATION = "django_site.wsgi.application"
INSTALLED_APPS: list[str] = []
# Django's own middleware: request/response hooks inside Django (a different interface).
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES: dict[str, Any] = {}
USE_TZ = True

# wsgi_mw's stack around the whole WSGI handler, outermost first (wsgi_mw.build spec).
WSGI_MW: list[Any] = [
    "logger",
    ("cache", {"default_ttl": 30}),
    ("gzip", {"min_size": 200}),
]
