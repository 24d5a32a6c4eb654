"""Django glue: the WSGI application of ``wsgi.py``, wrapped in ``settings.WSGI_MW``."""

from __future__ import annotations

from ._build import WSGIApp, build


def get_wsgi_application() -> WSGIApp:
    """Django's WSGI handler wrapped in the stack ``settings.WSGI_MW`` names.

    Use it in ``wsgi.py`` in place of ``django.core.wsgi.get_wsgi_application``::

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
        application = wsgi_mw.django.get_wsgi_application()

    ``WSGI_MW`` is a :func:`wsgi_mw.build` spec, outermost first, e.g.
    ``WSGI_MW = ["logger", "cache", "compress"]``. Without the setting (or with an empty one) the
    plain Django handler is returned. These are WSGI middleware around the whole site, not
    entries of Django's ``MIDDLEWARE`` (see docs/frameworks.md).
    """
    # Django's own function runs django.setup(), so settings are read after it.
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application as django_application

    application: WSGIApp = django_application()
    spec = getattr(settings, "WSGI_MW", None)
    if spec:
        application = build(application, spec)
    return application
