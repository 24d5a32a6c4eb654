"""A minimal Django project served through wsgi_mw (see wsgi.py and settings.WSGI_MW)."""
