"""The methods a Django view accepts, for `--methods`. Concatenated after read_table.py.

`view_methods(view)` answers with the sorted upper-case methods Django dispatches to the
view's own code for (any other method gets Django's 405, whose `Allow` header lists the
same methods), or None when it cannot know, and the allowlist then lets every method
through. Django is asked, never modelled:

* `require_http_methods` (and `require_GET`, `require_POST`, `require_safe`, which are
  it): its wrapper is recognised by its code object, which Django's own decorator is asked
  for (every `inner` it makes shares it), and the method list is read from the wrapper's
  closure (`request_method_list`, compared with `request.method` as Django compares it);
* a class-based view (`as_view()`: `view_class`, `view_initkwargs`): an instance, set up
  by `View.setup` (which lends `get` to `head`), asked for `http_method_names` and the
  handlers it has, as `View.dispatch` asks it (`OPTIONS` is `View.options`);
* a Django REST framework viewset (`as_view({"get": "list"})`: `cls`, `initkwargs`,
  `actions`): its actions' methods, `head` lent `get`'s action as the viewset's `view`
  lends it, and the class's own handlers (DRF's `APIView` is a class-based view above);
* other decorators made with `functools.wraps` (`login_required`, `csrf_exempt`,
  `never_cache`…) are looked through (`__wrapped__`), as not choosing methods.

A plain function view, a decorator without `__wrapped__`, a callable object: None.
"""


def view_methods(view):
    """Sorted upper-case methods Django runs `view`'s code for, or None for any method."""
    try:
        return _view_methods(view)
    except Exception:
        # Reading a view must never fail the table: unknown means every method.
        return None


def _view_methods(view):
    allowed = None  # methods the decorators met so far let through; None: any
    seen = set()
    while id(view) not in seen:
        seen.add(id(view))
        own = _dispatcher_methods(view)
        if own is not None:
            return _finish(own if allowed is None else own & allowed)
        listed = _required_methods(view)
        if listed is not None:
            allowed = listed if allowed is None else allowed & listed
        wrapped = getattr(view, "__wrapped__", None)
        if wrapped is None or isinstance(wrapped, type):
            break
        view = wrapped
    return None if allowed is None else _finish(allowed)


def _finish(methods):
    # An empty set would be a route no method reaches: Django answers its 405 then, and
    # letting every method through to it is the honest allowlist.
    return sorted(methods) if methods else None


def _dispatcher_methods(view):
    """The methods of a class-based view or a DRF viewset, None for anything else (or for
    a wrapper whose `__wrapped__` is the same dispatcher, as `csrf_exempt(view)`: its
    copied attributes are read where they belong)."""
    inner = getattr(view, "__wrapped__", None)
    cls = getattr(view, "view_class", None)
    if isinstance(cls, type) and getattr(inner, "view_class", None) is not cls:
        return _class_view_methods(cls, getattr(view, "view_initkwargs", None) or {})
    cls, actions = getattr(view, "cls", None), getattr(view, "actions", None)
    if isinstance(cls, type) and isinstance(actions, dict) and getattr(inner, "cls", None) is not cls:
        return _viewset_methods(cls, getattr(view, "initkwargs", None) or {}, actions)
    return None


def _class_view_methods(cls, initkwargs):
    """What `View.dispatch` dispatches to a handler: `request.method.lower()` in the
    instance's `http_method_names`, and an attribute of that name (after `View.setup`)."""
    from django.http import HttpRequest
    from django.views import View

    instance = cls(**initkwargs)
    View.setup(instance, HttpRequest())
    return _handled(instance)


def _viewset_methods(cls, initkwargs, actions):
    """DRF's `ViewSetMixin.as_view` view binds each action to its method (and `get`'s to
    `head` when `head` has none) before `APIView.dispatch`, which dispatches as Django's."""
    instance = cls(**initkwargs)
    bound = dict(actions)
    if "get" in bound and "head" not in bound:
        bound["head"] = bound["get"]
    for method, action in bound.items():
        handler = getattr(instance, action, None)
        if handler is not None:
            setattr(instance, method, handler)
    return _handled(instance)


def _handled(instance):
    names = instance.http_method_names
    # `request.method` is upper case (HttpRequest upper-cases it), so its lower() is what
    # dispatch looks up: a name with an upper-case letter never matches.
    return {
        name.upper()
        for name in names
        if isinstance(name, str) and name == name.lower() and _is_token(name.upper())
        and getattr(instance, name, None) is not None
    }


_REQUIRE_CODES = None


def _require_codes():
    """The code objects of `require_http_methods`'s wrappers (one sync, one async), read
    from Django's decorator itself."""
    global _REQUIRE_CODES
    if _REQUIRE_CODES is None:
        from django.views.decorators.http import require_http_methods

        def plain(request):
            return None

        async def coroutine(request):
            return None

        decorate = require_http_methods([])
        _REQUIRE_CODES = {decorate(plain).__code__, decorate(coroutine).__code__}
    return _REQUIRE_CODES


def _required_methods(view):
    """The methods `require_http_methods` lets through when `view` is its wrapper, else
    None. Django tests `request.method not in request_method_list`."""
    code = getattr(view, "__code__", None)
    if code is None or code not in _require_codes():
        return None
    cells = dict(zip(code.co_freevars, view.__closure__ or ()))
    listed = cells["request_method_list"].cell_contents
    return {m for m in listed if isinstance(m, str) and m == m.upper() and _is_token(m)}


def _is_token(method):
    """A method nginx can read and the allowlist can name (letters, digits, `_`, `-`)."""
    return bool(re.fullmatch(r"[A-Z0-9_-]+", method))
