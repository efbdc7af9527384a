"""marimo's editor server (plain Starlette, `marimo edit DIR`) built in-process the way
marimo._server.start.start() builds it, without uvicorn, lifespans or a kernel, in a
temporary HOME: `marimo_site:app`."""
import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="routewall-marimo-")
os.environ["HOME"] = _HOME
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, ".config")
os.environ["XDG_CACHE_HOME"] = os.path.join(_HOME, ".cache")
os.environ["XDG_STATE_HOME"] = os.path.join(_HOME, ".state")
NOTEBOOKS = os.path.join(_HOME, "notebooks")
os.makedirs(NOTEBOOKS, exist_ok=True)

from marimo._config.manager import get_default_config_manager  # noqa: E402
from marimo._server.config import StarletteServerStateInit  # noqa: E402
from marimo._server.lsp import NoopLspServer  # noqa: E402
from marimo._server.main import create_starlette_app  # noqa: E402
from marimo._server.session_manager import SessionManager  # noqa: E402
from marimo._server.tokens import AuthToken  # noqa: E402
from marimo._server.workspace import DirectoryWorkspace  # noqa: E402
from marimo._session.model import SessionMode  # noqa: E402

config_reader = get_default_config_manager(current_path=NOTEBOOKS)
session_manager = SessionManager(
    workspace=DirectoryWorkspace(NOTEBOOKS, include_markdown=False),
    mode=SessionMode.EDIT,
    quiet=True,
    include_code=True,
    ttl_seconds=None,
    lsp_server=NoopLspServer(),
    config_manager=config_reader,
    cli_args={},
    argv=[],
    auth_token=AuthToken(""),
    redirect_console_to_browser=False,
    watch=False,
    sandbox=False,
    isolate_apps=False,
    execute_opengraph_generators=False,
)
app = create_starlette_app(base_url="", host="localhost", enable_auth=False)
StarletteServerStateInit(
    port=2718, host="localhost", base_url="", asset_url=None, headless=True, quiet=True,
    session_manager=session_manager, config_manager=config_reader, remote_url=None,
    mcp_server_enabled=False, skew_protection=True, enable_auth=False,
).apply(app.state)
