"""Modules split into packages keep one import path: the package re-exports every public name of its modules, so
``from valueloop.engines.prioritisation import cd3`` and ``selectors.ranking(...)`` work whichever module holds them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

SPLIT_PACKAGES = ["valueloop.engines.prioritisation", "valueloop.engines.flags", "valueloop.planning.selectors"]


@pytest.mark.parametrize("package_name", SPLIT_PACKAGES)
def test_package__reexports_every_public_function_and_class_of_its_modules(package_name):
    package = importlib.import_module(package_name)
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package_name}.{info.name}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if name.startswith("_") or not (inspect.isclass(value) or inspect.isfunction(value)) or not defined_here:
                continue
            assert name in package.__all__, f"{module.__name__}.{name} is not in {package_name}.__all__"
            assert getattr(package, name) is value


@pytest.mark.parametrize("package_name", SPLIT_PACKAGES)
def test_package__every_name_in_all_resolves_once(package_name):
    package = importlib.import_module(package_name)
    assert [name for name in package.__all__ if not hasattr(package, name)] == []
    assert len(set(package.__all__)) == len(package.__all__)
