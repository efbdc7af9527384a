"""Prefect 3.9.1's server (its API, mounted at /api, and the UI, FastAPI frontend routes)
as an in-process ASGI app, with every file it writes under a temporary PREFECT_HOME: the
UI bundles create_app() copies (by default into site-packages) and the sqlite database
(only the lifespan or a request would create it): `prefect_site:app`."""

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="routewall-prefect-")
os.environ.setdefault("PREFECT_HOME", _HOME)
os.environ.setdefault("PREFECT_SERVER_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{_HOME}/prefect.db")
os.environ.setdefault("PREFECT_UI_STATIC_DIRECTORY", os.path.join(_HOME, "ui"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from prefect.server.api.server import create_app  # noqa: E402

app = create_app()
