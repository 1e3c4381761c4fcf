"""The one environment reader for settings.

A `.env` file is read only when DJANGO_READ_DOT_ENV_FILE is set, so a stray file in a
production checkout never silently overrides the real environment.
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))
