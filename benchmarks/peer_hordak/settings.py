"""Django settings for the django-hordak peer: only hordak and what it needs, on one database.

Run inside the peer's own virtual environment (never Jifen's). The database comes from
`JIFEN_PEER_DATABASE_URL` (`postgresql://user@host:port/name`), a fresh `jifen_bench_*`
database the runner created for this run.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

_url = urlsplit(os.environ["JIFEN_PEER_DATABASE_URL"])

SECRET_KEY = "jifen-bench-peer-not-secret"  # noqa: S105 - a throw-away benchmark project
DEBUG = False  # with DEBUG on, Django keeps every query in memory
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "mptt",
    "hordak",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",  # psycopg 3
        "NAME": _url.path.lstrip("/"),
        "USER": unquote(_url.username or "postgres"),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": str(_url.port or 5432),
        "CONN_MAX_AGE": None,  # one connection for the whole run, as Jifen's pool keeps its own
    }
}
DEFAULT_CURRENCY = "CNY"
HORDAK_CURRENCIES = ["CNY"]
CURRENCIES = ["CNY"]
