"""Django's command line for the example site: ``python examples/django_site/manage.py check``."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    # The project package is django_site, so its parent (examples/) goes on the path.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
