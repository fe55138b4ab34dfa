"""Edge rules (issue 11, section 3): page views take their input through Django forms.

Every ``src/valueloop/<app>/views.py`` is parsed with ``ast``. A view may hand ``request.POST`` to a call (a form:
``SomeForm(request.POST, actor=...)``), but never read it field by field: no ``.get``/``.getlist``/any other method,
no ``[...]``, no ``in``, no alias (``data = request.POST``), and no passing it to a helper defined in the views module
(the old ``_form(request.POST)`` pattern). Nor may a views module define an ``_int``-style helper that turns text
into numbers by hand (by its name, or by its shape: ``int()``/``float()``/``Decimal()`` inside a ``try`` that
catches ``ValueError``/``TypeError``); a form field does that.

A converted app's API schemas take their choices from its models: a ``Literal[...]`` in ``schemas.py`` that spells
out the values of one of the app's model choices (all of them, perhaps with more) must be built from the model
(``core.api_support.choice_literal``), so a new value cannot be forgotten in one place.

App CSS and JS are linked from ``{% block head %}`` of the page templates (those that extend ``base.html``), never
from a nav partial, an include or the content block: every template but ``base.html`` is read, its page head block
cut out, and no ``<link rel="stylesheet">`` or ``<script>`` may be left.

Apps in ``NOT_YET_CONVERTED`` are skipped by the views rule until they are converted (the schemas rule checks every
app), and the set may only shrink: an app in it that breaks no rule any more fails
``test_not_yet_converted__lists_only_apps_that_still_break_a_rule``.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "valueloop"
APPS = sorted(path.parent.name for path in SRC.glob("*/views.py"))
NOT_YET_CONVERTED = {
    "flags",
}
INT_HELPER_NAME = re.compile(r"^_+(int|integer|to_int|as_int|int_or_none|parse_int|whole|number)(_|$)")
CONVERTERS = {"int", "float", "Decimal"}
CAUGHT = {"ValueError", "TypeError", "InvalidOperation", "Exception"}


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _post_reads(tree: ast.Module) -> list[str]:
    parents = _parents(tree)
    local_functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr == "POST"):
            continue
        used, parent = node, parents.get(node)
        while isinstance(parent, ast.IfExp | ast.BoolOp):  # FormClass(request.POST if ... else None)
            used, parent = parent, parents.get(parent)
        if isinstance(parent, ast.keyword):
            used, parent = parent, parents.get(parent)
        handed_on = isinstance(parent, ast.Call) and (used in parent.args or used in parent.keywords)
        to_local_helper = handed_on and isinstance(parent.func, ast.Name) and parent.func.id in local_functions
        if not handed_on or to_local_helper:
            found.append(f"line {node.lineno}: {ast.unparse(parent if parent is not None else node)[:80]}")
    return found


def _converts_by_hand(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for node in ast.walk(function):
        if not isinstance(node, ast.Try):
            continue
        catches = set()
        for handler in node.handlers:
            types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            catches |= {t.id for t in types if isinstance(t, ast.Name)}
        calls = {
            call.func.id
            for statement in node.body
            for call in ast.walk(statement)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
        }
        if catches & CAUGHT and calls & CONVERTERS:
            return True
    return False


def _int_helpers(tree: ast.Module) -> list[str]:
    return [
        f"line {node.lineno}: def {node.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (INT_HELPER_NAME.match(node.name) or _converts_by_hand(node))
    ]


def violations(source: str) -> list[str]:
    tree = ast.parse(source)
    return [f"reads request.POST by hand, {v}" for v in _post_reads(tree)] + [
        f"converts text to numbers by hand, {v}" for v in _int_helpers(tree)
    ]


def _model_choices(app: str) -> list[tuple[str, set]]:
    """The module-level ``choices`` lists of ``valueloop.<app>.models``: (name, set of values)."""
    models = importlib.import_module(f"valueloop.{app}.models")
    found = []
    for name, value in vars(models).items():
        if name.isupper() and isinstance(value, list | tuple) and len(value) >= 2:
            if all(isinstance(pair, tuple) and len(pair) == 2 for pair in value):
                found.append((name, {v for v, _ in value}))
    return found


def copied_choices(schemas_source: str, choices: list[tuple[str, set]]) -> list[str]:
    """``Literal[...]`` subscripts whose constant values include every value of one model choices list."""
    found = []
    for node in ast.walk(ast.parse(schemas_source)):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            values = {e.value for e in elements if isinstance(e, ast.Constant)}
            found += [f"line {node.lineno}: copies {name}" for name, wanted in choices if wanted <= values]
    return found


def _views(app: str) -> str:
    return (SRC / app / "views.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("app", [a for a in APPS if a not in NOT_YET_CONVERTED])
def test_views__take_their_input_through_forms(app):
    found = violations(_views(app))
    assert not found, f"{app}/views.py: " + "; ".join(found)


# Every app's schemas, NOT_YET_CONVERTED ones too: an app converts its schemas before its views (flags did).
@pytest.mark.parametrize("app", [a for a in APPS if (SRC / a / "schemas.py").exists()])
def test_schemas__take_their_choices_from_the_models(app):
    source = (SRC / app / "schemas.py").read_text(encoding="utf-8")
    found = copied_choices(source, _model_choices(app))
    assert not found, f"{app}/schemas.py: " + "; ".join(found)


def test_copied_choices__finds_a_literal_that_spells_out_model_choices():
    choices = [("STATUS", {"open", "done"})]
    assert copied_choices('S = Literal["open", "done"]\nT = Literal["open", "done", "any"]', choices) == [
        "line 1: copies STATUS",
        "line 2: copies STATUS",
    ]
    assert copied_choices('K = Literal["when", "how_many"]\nS = choice_literal(STATUS)', choices) == []


@pytest.mark.parametrize("app", sorted(NOT_YET_CONVERTED))
def test_not_yet_converted__lists_only_apps_that_still_break_a_rule(app):
    assert app in APPS, f"{app} has no views.py: drop it from NOT_YET_CONVERTED"
    assert violations(_views(app)), f"{app}/views.py follows the rules now: drop it from NOT_YET_CONVERTED"


BAD = """
def _int(value):
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None

def _weeks(text):
    try:
        return float(text)
    except ValueError:
        return 0

def _form(post):
    return {"title": post.get("title")}

def view(request):
    a = request.POST.get("a")
    b = request.POST["b"]
    c = request.POST.getlist("c")
    d = "d" in request.POST
    data = request.POST
    e = _form(request.POST)
    items = dict(request.POST.items())
"""

GOOD = """
def view(request):
    form = ThingForm(request.POST, actor=request.actor)
    other = OtherForm(data=request.POST if request.method == "POST" else None)
    files = UploadForm(request.POST, request.FILES)
    query = request.GET.get("q", "")
    return form, other, files, query
"""


def test_violations__catch_every_hand_read_and_int_helper():
    found = violations(BAD)
    assert [v.split(",")[0] for v in found] == ["reads request.POST by hand"] * 7 + [
        "converts text to numbers by hand"
    ] * 2, found
    assert any("def _int" in v for v in found) and any("def _weeks" in v for v in found)


def test_violations__allow_posting_to_a_form():
    assert violations(GOOD) == []


# --- CSS and JS only from the page head -----------------------------------------------------------------------------

BASE_TEMPLATE = SRC / "templates" / "base.html"
ASSET_TAG = re.compile(r"<link\b[^>]*\brel=[\"']?stylesheet|<script\b", re.IGNORECASE)
HEAD_BLOCK = re.compile(r"\{%\s*block head\s*%\}.*?\{%\s*endblock[^%]*%\}", re.DOTALL)


def assets_outside_the_head(template: str) -> list[str]:
    """The CSS/JS tags of a template that are not inside a page's ``{% block head %}`` (a partial has no head)."""
    is_page = re.search(r"\{%\s*extends\s+[\"']base.html[\"']", template) is not None
    rest = HEAD_BLOCK.sub("", template) if is_page else template
    return [rest[m.start() : m.start() + 80] for m in ASSET_TAG.finditer(rest)]


def test_templates__link_css_and_js_only_from_the_page_head():
    templates = [p for p in SRC.glob("**/templates/**/*.html") if p != BASE_TEMPLATE]
    assert len(templates) > 50
    found = {str(p.relative_to(SRC)): hits for p in templates if (hits := assets_outside_the_head(p.read_text()))}
    assert not found, f"move these into the page's {{% block head %}}: {found}"


def test_assets_outside_the_head__finds_links_in_partials_and_content_but_not_in_the_head():
    page = (
        '{% extends "base.html" %}{% load static %}'
        '{% block head %}<link rel="stylesheet" href="a.css"><script src="a.js" defer></script>{% endblock %}'
        "{% block content %}<p>hi</p>{% endblock %}"
    )
    assert assets_outside_the_head(page) == []
    assert len(assets_outside_the_head(page.replace("<p>hi</p>", '<script src="b.js"></script>'))) == 1
    partial = '{% load static %}<link rel="stylesheet" href="{% static \'x.css\' %}"><nav>…</nav>'
    assert len(assets_outside_the_head(partial)) == 1
    not_a_page = "{% block head %}<link rel='stylesheet' href='x.css'>{% endblock %}"
    assert len(assets_outside_the_head(not_a_page)) == 1
