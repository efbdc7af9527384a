"""gradio 6 (a FastAPI app with included routers) mounted with `gr.mount_gradio_app` at
/gradio on a FastAPI app with an APIRouter of its own: `gradio_site:app`."""

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="routewall-gradio-")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GRADIO_TEMP_DIR", _TMP)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HOME", os.path.join(_TMP, "hf"))
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_TMP, "mpl"))

import gradio as gr  # noqa: E402
from fastapi import APIRouter, FastAPI  # noqa: E402


def greet(name: str) -> str:
    return "Hello " + name


with gr.Blocks() as demo:
    box = gr.Textbox(label="name")
    out = gr.Textbox(label="greeting")
    gr.Button("greet").click(greet, box, out, api_name="greet")

api = APIRouter(prefix="/api/v1")


@api.get("/items/{item_id}")
def item(item_id: int):
    return {"id": item_id}


@api.get("/status")
def status():
    return {"ok": True}


app = FastAPI()
app.include_router(api)
app = gr.mount_gradio_app(app, demo, path="/gradio")
