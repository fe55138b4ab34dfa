"""Every endpoint and page that accepts a file, found from the routing tables (not from a hand-kept list).

- API operations: a parameter annotated ``File[...]`` (multipart), or a JSON body with a field that carries a
  file's text (named ``csv``, ``json`` or ``file_text``: the research and Kano imports take CSV text in JSON).
- Pages: the view, or a function or form of its own module that it names, reads ``request.FILES``, installs
  upload handlers, or is a form with a ``FileField`` that it binds to posted data.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass

from django import forms

from tests.routes import api_operations, pages

FILE_TEXT_FIELDS = {"csv", "json", "file_text"}


@dataclass(frozen=True)
class UploadRoute:
    key: str  # the API operation id, or the page's URL name
    kind: str  # "multipart" | "json-text" | "page"
    path: str  # /api/v1/... or the page's route template
    method: str = "POST"


def _unwrap(view):
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    return view


def _api_upload_kind(view) -> str | None:
    from ninja.files import UploadedFile
    from pydantic import BaseModel

    for parameter in inspect.signature(_unwrap(view)).parameters.values():
        annotation = parameter.annotation
        text = str(annotation)
        if "UploadedFile" in text or annotation is UploadedFile:
            return "multipart"
        model = getattr(annotation, "__origin__", annotation)
        if isinstance(model, type) and issubclass(model, BaseModel) and FILE_TEXT_FIELDS & set(model.model_fields):
            return "json-text"
    return None


def _binds_posted_data(source: str) -> bool:
    return "request.POST" in source or "posted(request)" in source or "request.method" in source


def _reads_files(function, module, depth: int = 0) -> bool:
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    if "request.FILES" in source or "upload_handlers" in source:
        return True
    for name, value in vars(module).items():
        if name not in source:
            continue
        if isinstance(value, type) and issubclass(value, forms.BaseForm):
            # Only where the form is bound to what was posted: a GET page that shows the empty upload form (posting
            # to another URL) accepts no file itself.
            if _binds_posted_data(source) and any(isinstance(f, forms.FileField) for f in value.base_fields.values()):
                return True
        elif inspect.isfunction(value) and value.__module__ == module.__name__ and depth < 2 and value is not function:
            if _reads_files(value, module, depth + 1):
                return True
    return False


def upload_routes() -> list[UploadRoute]:
    routes = []
    for op in api_operations():
        kind = _api_upload_kind(op.view)
        if kind and op.method == "POST":
            routes.append(UploadRoute(op.operation_id, kind, op.path))
    for page in pages():
        view = _unwrap(page.view)
        module = sys.modules.get(getattr(view, "__module__", ""), None)
        if module is not None and _reads_files(view, module):
            routes.append(UploadRoute(page.name, "page", page.route))
    return sorted(routes, key=lambda r: r.key)
