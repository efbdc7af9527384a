"""The demo app: a small shop, run with the debugger on by mistake (`flask run --debug`).

Its url_map knows the routes below. The debugger's `/console` is not among them: it is
served by Werkzeug's middleware, outside the url_map, which is exactly why a url_map
allowlist in nginx stops it.
"""

from flask import Flask, jsonify

app = Flask(__name__, static_folder=None)


@app.get("/")
def index():
    return "routewall demo shop\n"


@app.get("/products/<int:product_id>")
def product(product_id):
    return jsonify(id=product_id, name=f"product {product_id}")


@app.get("/users/<username>/orders/")
def orders(username):
    return jsonify(user=username, orders=[])


@app.post("/login")
def login():
    return jsonify(ok=True)
