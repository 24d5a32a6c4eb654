"""WSGI entry point: Django's handler wrapped in settings.WSGI_MW.

Serve it with any WSGI server from the examples/ folder, e.g.
``gunicorn django_site.wsgi:application``.
"""

from __future__ import annotations

import os

import wsgi_mw.django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")

application = wsgi_mw.django.get_wsgi_application()
