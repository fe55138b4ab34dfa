"""The import contracts in pyproject.toml cover every app, including the ones added after them.

Two rules hold inside every app (ARCHITECTURE.md, "Layout"): reads do not write (no ``selectors`` imports any
``services``; one wildcard contract covers every app), and the facade sits above the app's services (the facade
may import them, the services never import their own facade). import-linter cannot pair a module with its own
app's facade by wildcard, so the second rule is one contract per app; this test fails when an app has services
and a facade but no such contract.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import valueloop

PACKAGE_DIR = Path(valueloop.__file__).parent
PYPROJECT = PACKAGE_DIR.parents[1] / "pyproject.toml"


def _contracts() -> list[dict]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def _has_module(app_dir: Path, name: str) -> bool:
    return (app_dir / f"{name}.py").is_file() or (app_dir / name / "__init__.py").is_file()


def _apps_with(*modules: str) -> list[str]:
    return sorted(
        d.name for d in PACKAGE_DIR.iterdir() if (d / "apps.py").is_file() and all(_has_module(d, m) for m in modules)
    )


def test_contracts__selectors_never_import_services_in_any_app():
    matching = [
        c
        for c in _contracts()
        if c["type"] == "forbidden"
        and c["source_modules"] == ["valueloop.*.selectors"]
        and c["forbidden_modules"] == ["valueloop.*.services"]
    ]
    assert len(matching) == 1


def test_contracts__every_app_with_a_facade_forbids_its_services_to_import_it():
    forbidden_pairs = {
        (source, target)
        for c in _contracts()
        if c["type"] == "forbidden"
        for source in c["source_modules"]
        for target in c["forbidden_modules"]
    }
    apps = _apps_with("services", "facade")
    assert "events" in apps and "themes" in apps  # the scan finds the apps at all
    missing = [app for app in apps if (f"valueloop.{app}.services", f"valueloop.{app}.facade") not in forbidden_pairs]
    assert missing == [], f"add a contract 'services do not import the facade' for {missing} in pyproject.toml"


def test_contracts__every_app_with_a_facade_is_reached_only_through_it_by_every_other_app():
    """Another app's models, services, selectors, importers, schemas or signals are not imported, only its
    facade (ARCHITECTURE.md rule 4): each app with a facade has a contract forbidding ``valueloop.<app>.*`` to
    every other app, with only the facade (and the demo seeders) let through."""
    apps = _apps_with("facade")
    every_app = _apps_with()
    assert {"customers", "feedback", "evidence"} <= set(apps)
    problems = []
    for app in apps:
        contracts = [
            c for c in _contracts() if c["type"] == "forbidden" and c["forbidden_modules"] == [f"valueloop.{app}.*"]
        ]
        if len(contracts) != 1:
            problems.append(f"{app}: {len(contracts)} contracts forbid valueloop.{app}.*")
            continue
        contract = contracts[0]
        sources = set(contract["source_modules"])
        expected = {f"valueloop.{other}" for other in every_app if other not in (app, "core")}
        if not expected <= sources:
            problems.append(f"{app}: not forbidden to {sorted(expected - sources)}")
        let_through = [i.split(" -> ")[1] for i in contract.get("ignore_imports", [])]
        if let_through[:1] != [f"valueloop.{app}.facade"] or any(
            not (target == f"valueloop.{app}.*" or target == f"valueloop.{app}.facade") for target in let_through
        ):
            problems.append(f"{app}: ignores {contract.get('ignore_imports')}")
    assert problems == []
