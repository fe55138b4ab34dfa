"""Money prints one way (issue 11, section 3): templates print amounts only through the ``money``/``money_compact``
filters (``core.money``), and no template library defines another money filter.

Every ``{{ ... }}`` in the app templates whose variable is named like money (``arr``, ``arr_base``, ``*_revenue``,
``*_cost``, ``cod_per_week``, ``amount``, ``value_per_week``, ``penalty``, ``cd3_saving``...) must pass through one of
the two filters. Form fields (``form.arr``, a formset's ``f.cod``) and machine values in attributes
(``value="..."``, ``data-fill-value="..."``) are not printed money and are left alone.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from django.template import engines

SRC = Path(__file__).resolve().parent.parent / "src" / "valueloop"
TEMPLATES = sorted(SRC.glob("**/templates/**/*.html"))
MONEY_FILTERS = {"money", "money_compact"}
MONEY_NAME = re.compile(
    r"^(arr|arr_base|arr_total|recent_arr|previous_arr|amount|revenue|.*_revenue|cost|.*_cost|cod|cod_now"
    r"|cod_reduce_risk|cod_per_week|value_per_week|urgency_rise_per_week|.*_penalty|penalty|cd3_saving|current_gain"
    r"|before|after)$"
)
# Roots of bound form fields: their widgets and errors, not amounts.
FORM_ROOTS = {"form", "f", "formset", "move_form", "reset_form", "errors"}
FORM_PARTS = {"errors", "id_for_label", "html_name", "label", "value", "auto_id", "help_text"}
MACHINE_ATTRIBUTE = re.compile(r'(?:\bvalue|data-[\w-]+)="[^"]*$')
VARIABLE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def _unfiltered_money(path: Path, root: Path = SRC) -> list[str]:
    found = []
    text = path.read_text()
    for match in VARIABLE.finditer(text):
        expression = match.group(1)
        variable, *filters = (part.strip() for part in expression.split("|"))
        parts = variable.split(".")
        if not MONEY_NAME.match(parts[-1]) or parts[0] in FORM_ROOTS or FORM_PARTS & set(parts[1:]):
            continue
        if MACHINE_ATTRIBUTE.search(text[max(0, match.start() - 200) : match.start()]):
            continue
        if not {f.split(":")[0] for f in filters} & MONEY_FILTERS:
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(root)}:{line}: {{{{ {expression} }}}}")
    return found


def test_templates__print_money_only_through_the_money_filters() -> None:
    assert TEMPLATES, "no templates found"
    problems = [problem for path in TEMPLATES for problem in _unfiltered_money(path)]
    assert not problems, "Money printed without |money or |money_compact:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("snippet", "caught"),
    [
        ("<td>{{ customer.arr_base }}</td>", True),
        ('<td>{{ s.arr|floatformat:"0g" }} {{ currency }}</td>', True),
        ("<td>{{ view.total_delay_cost|intcomma }}</td>", True),
        ("<td>{{ feature.cod_increase_revenue|money }}</td>", False),
        ("<td>{{ s.arr|money_compact }}</td>", False),
        ("<td>{{ c.arr|money:c.arr_currency }}</td>", False),
        ('<input name="arr" value="{{ form.arr|default:\'\' }}">', False),
        ('<button data-fill-value="{{ suggestion.protect_revenue }}">', False),
        ("{{ f.cod }}{{ f.cod.errors }}", False),
        ("<td>{{ feature.title }}</td>", False),
    ],
)
def test_unfiltered_money__catches_what_it_names(tmp_path, snippet, caught) -> None:
    page = tmp_path / "page.html"
    page.write_text(snippet)
    assert bool(_unfiltered_money(page, root=tmp_path)) is caught


def test_template_libraries__define_no_other_money_filter() -> None:
    libraries = engines["django"].engine.template_libraries
    builtins = engines["django"].engine.template_builtins
    owners = {}
    for name, library in [*libraries.items(), *(("(builtin)", b) for b in builtins)]:
        for filter_name, function in library.filters.items():
            if "money" in filter_name:
                owners.setdefault(filter_name, set()).add(function.__module__)
    assert owners == {
        "money": {"valueloop.core.templatetags.money"},
        "money_compact": {"valueloop.core.templatetags.money"},
    }
    # And the filters are built in: a template need not (and cannot forget to) load them.
    assert importlib.import_module("valueloop.core.templatetags.money").register in builtins
