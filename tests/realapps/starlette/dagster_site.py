"""dagster-webserver's UI and GraphQL server (plain Starlette) under the path prefix
/dagster, on a sqlite instance in a temporary DAGSTER_HOME and an empty workspace (no
code server, no daemon): `dagster_site:app`."""

import os
import tempfile

os.environ.setdefault("DAGSTER_HOME", tempfile.mkdtemp(prefix="routewall-dagster-"))
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

from dagster import DagsterInstance  # noqa: E402
from dagster._core.workspace.context import WorkspaceProcessContext  # noqa: E402
from dagster._core.workspace.load_target import EmptyWorkspaceTarget  # noqa: E402
from dagster_webserver.app import create_app_from_workspace_process_context  # noqa: E402

instance = DagsterInstance.get()
context = WorkspaceProcessContext(instance, EmptyWorkspaceTarget(), version="routewall")
app = create_app_from_workspace_process_context(context, path_prefix="/dagster")
