"""The component registry: lookup, helpful errors, parameter checks, built-ins and plugins."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from mlconf.core.component_registry import KINDS, REGISTRY, Component, Registry, check_params
from mlconf.core.errors import MlconfError


@pytest.fixture
def registry() -> Registry:
    """A fresh registry per test: nothing registered here leaks into the global one."""
    return Registry()


def forest(task: str, n_trees: int = 10, depth: int | None = None) -> dict[str, Any]:
    """A fake model factory."""
    return {"task": task, "n_trees": n_trees, "depth": depth}


def boosted(task: str) -> str:
    """Another fake model factory."""
    return task


def error_text(exc: pytest.ExceptionInfo[MlconfError]) -> str:
    return str(exc.value)


# --- add / get --------------------------------------------------------------------------------


def test_add_then_get_returns_the_component(registry: Registry) -> None:
    registry.add("model", "my_forest", forest, tasks=("classification",))
    component = registry.get("model", "my_forest")
    assert component.factory is forest
    assert component.kind == "model"
    assert component.name == "my_forest"
    assert component.meta == {"tasks": ("classification",)}
    assert component.origin == f"module {__name__}"
    assert component.summary == "A fake model factory."
    assert "my_forest" in registry.names("model")


def test_a_fresh_registry_does_not_see_the_global_one(registry: Registry) -> None:
    registry.add("model", "only_here", forest)
    assert "only_here" not in REGISTRY.names("model")
    assert "only_here" not in Registry().names("model")


def test_unknown_name_names_kind_known_names_and_closest(registry: Registry) -> None:
    registry.add("model", "my_forest", forest)
    registry.add("model", "boosted", boosted)
    with pytest.raises(MlconfError) as info:
        registry.get("model", "my_forrest")
    message = error_text(info)
    assert "unknown model 'my_forrest'" in message
    assert "Did you mean 'my_forest'?" in message
    assert "Known models: boosted, dummy" in message  # built-ins are listed too
    assert "my_forest" in message
    assert "@mlconf.register('model', 'my_forrest')" in message


def test_unknown_name_without_close_match_has_no_guess(registry: Registry) -> None:
    registry.add("model", "my_forest", forest)
    with pytest.raises(MlconfError) as info:
        registry.get("model", "zzzzzz")
    assert "Did you mean" not in error_text(info)
    assert "my_forest" in error_text(info)


def test_unknown_kind_on_get_and_add(registry: Registry) -> None:
    with pytest.raises(MlconfError) as info:
        registry.get("modle", "xgboost")
    assert "unknown component kind 'modle'" in error_text(info)
    assert "Did you mean 'model'?" in error_text(info)
    with pytest.raises(MlconfError) as info:
        registry.add("transfrom", "x", forest)
    assert "unknown component kind 'transfrom'" in error_text(info)
    assert "Did you mean 'transform'?" in error_text(info)
    for kind in KINDS:
        assert kind in error_text(info)


def test_non_callable_factory_is_refused(registry: Registry) -> None:
    with pytest.raises(MlconfError, match="must be a function or class"):
        registry.add("model", "broken", 42)  # type: ignore[arg-type]


def test_name_clash_from_a_different_function_is_an_error(registry: Registry) -> None:
    registry.add("model", "clash", forest)
    with pytest.raises(MlconfError) as info:
        registry.add("model", "clash", boosted)
    message = error_text(info)
    assert "model 'clash' is already registered by" in message
    assert f"module {__name__}" in message
    assert registry.get("model", "clash").factory is forest


def test_registering_the_same_function_twice_is_fine(registry: Registry) -> None:
    registry.add("model", "again", forest)
    registry.add("model", "again", forest)
    assert registry.get("model", "again").factory is forest


def test_same_name_in_another_kind_is_no_clash(registry: Registry) -> None:
    registry.add("model", "shared", forest)
    registry.add("transform", "shared", boosted)
    assert registry.get("transform", "shared").factory is boosted


# --- check_params -----------------------------------------------------------------------------


def test_check_params_rejects_unknown_parameter_with_a_guess() -> None:
    component = Component("model", "my_forest", forest, origin="test")
    check_params(component, {"n_trees": 3, "depth": 2})
    with pytest.raises(MlconfError) as info:
        check_params(component, {"n_tress": 3})
    message = error_text(info)
    assert "model 'my_forest' has no parameter 'n_tress'" in message
    assert "Did you mean 'n_trees'?" in message
    assert "task, n_trees, depth" in message


def test_check_params_accepts_anything_with_var_keywords() -> None:
    def open_factory(task: str, **params: Any) -> None:
        return None

    check_params(Component("model", "open", open_factory, origin="test"), {"whatever": 1})


def test_builtin_params_are_checked_through_build() -> None:
    from mlconf.core.component_registry import build

    with pytest.raises(MlconfError) as info:
        build("source", "csv", paht="x.csv")
    assert "source 'csv' has no parameter 'paht'. Did you mean 'path'?" in error_text(info)


# --- built-ins --------------------------------------------------------------------------------


def test_global_listing_includes_builtins_with_origin_builtin() -> None:
    components = list(REGISTRY)
    by_key = {(c.kind, c.name): c for c in components}
    for key in [
        ("model", "xgboost"),
        ("model", "logistic"),
        ("source", "csv"),
        ("source", "sql"),
        ("splitter", "holdout"),
        ("splitter", "group"),
        ("splitter", "time"),
        ("splitter", "predefined"),
    ]:
        assert key in by_key, key
        assert by_key[key].origin == "builtin"
    kinds_in_order = [c.kind for c in components]
    assert kinds_in_order == sorted(kinds_in_order, key=KINDS.index)


def test_fresh_registry_lists_builtins(registry: Registry) -> None:
    registry.load_builtins()
    assert "xgboost" in registry.names("model")
    assert registry.get("model", "xgboost").origin == "builtin"


# --- entry points -----------------------------------------------------------------------------


def fake_distribution(root: Path, dist: str, entry_points: dict[str, str]) -> None:
    """A minimal installed distribution (dist-info folder) declaring mlconf plugins."""
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text("[mlconf.plugins]\n" + "\n".join(lines) + "\n")


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for fake plugin distributions and their modules."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def forget_module(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Drop the module from sys.modules when the test ends."""
    monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]
    monkeypatch.delitem(sys.modules, name)


def test_entry_point_function_registers_into_the_loading_registry(
    plugin_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    module = unique("fakeplug_fn")
    forget_module(monkeypatch, module)
    (plugin_path / f"{module}.py").write_text(
        "def factory(task, **params):\n"
        '    """A model from a fake plugin package."""\n'
        "    return None\n\n"
        "def setup(registry):\n"
        '    registry.add("model", "fake_model", factory)\n'
    )
    fake_distribution(plugin_path, "fakeplug", {"fakeplug": f"{module}:setup"})
    importlib.invalidate_caches()

    registry.load_entry_points()
    component = registry.get("model", "fake_model")
    assert "entry point fakeplug" in component.origin
    assert "fakeplug" in component.origin.split("(")[-1]
    assert component.summary == "A model from a fake plugin package."


def test_get_loads_entry_points_on_a_miss(
    plugin_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    module = unique("fakeplug_lazy")
    forget_module(monkeypatch, module)
    (plugin_path / f"{module}.py").write_text(
        "def setup(registry):\n    registry.add('metric', 'fake_metric', lambda *a, **k: 0.0)\n"
    )
    fake_distribution(plugin_path, "fakelazy", {"lazy": f"{module}:setup"})
    importlib.invalidate_caches()
    assert registry.get("metric", "fake_metric").origin.startswith("entry point lazy")


def test_module_entry_point_registers_into_a_fresh_registry(
    plugin_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    module = unique("fakeplug_mod")
    forget_module(monkeypatch, module)
    (plugin_path / f"{module}.py").write_text(
        "from mlconf import register\n\n"
        f"@register('model', '{module}_model')\n"
        "def factory(task, **params):\n    return None\n"
    )
    fake_distribution(plugin_path, "fakemod", {"fakemod": module})
    importlib.invalidate_caches()
    registry.load_entry_points()
    assert "entry point fakemod" in registry.get("model", f"{module}_model").origin


def test_module_entry_point_registers_globally_with_entry_point_origin(
    plugin_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented way: a module named in the entry point calls @mlconf.register."""
    module = unique("fakeplug_mod")
    forget_module(monkeypatch, module)
    # Keep the global registry as it was once the test is over.
    monkeypatch.setattr(REGISTRY, "_items", {k: dict(v) for k, v in REGISTRY._items.items()})
    monkeypatch.setattr(REGISTRY, "_loaded_entry_points", False)
    (plugin_path / f"{module}.py").write_text(
        "from mlconf import register\n\n"
        f"@register('model', '{module}_model')\n"
        "def factory(task, **params):\n"
        '    """Registered by a module entry point."""\n'
        "    return None\n"
    )
    fake_distribution(plugin_path, "fakemod", {"fakemod": module})
    importlib.invalidate_caches()
    REGISTRY.load_entry_points()
    component = REGISTRY.get("model", f"{module}_model")
    assert component.origin == "entry point fakemod (fakemod)"


def test_broken_entry_point_names_itself(
    plugin_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    module = unique("fakeplug_broken")
    forget_module(monkeypatch, module)
    (plugin_path / f"{module}.py").write_text("raise RuntimeError('plugin exploded')\n")
    fake_distribution(plugin_path, "brokenplug", {"broken_ep": module})
    importlib.invalidate_caches()
    with pytest.raises(MlconfError) as info:
        registry.load_entry_points()
    message = error_text(info)
    assert "plugin entry point 'broken_ep'" in message
    assert module in message
    assert "plugin exploded" in message
    assert "brokenplug" in message


def test_entry_point_to_a_missing_module_names_itself(
    plugin_path: Path, registry: Registry
) -> None:
    fake_distribution(plugin_path, "ghostplug", {"ghost": "no_such_module_xyz.components"})
    importlib.invalidate_caches()
    with pytest.raises(MlconfError, match="plugin entry point 'ghost'"):
        registry.load_entry_points()


# --- plugin modules named in config -----------------------------------------------------------


def test_import_plugins_missing_module_is_a_config_error(registry: Registry) -> None:
    with pytest.raises(MlconfError) as info:
        registry.import_plugins(["no_such_plugin_module_xyz"])
    assert "plugin module 'no_such_plugin_module_xyz' cannot be imported" in error_text(info)
    assert "config key plugins" in error_text(info)
