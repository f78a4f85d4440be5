"""No config or file on disk can make mlconf run code: `_target_` in a config is refused
by name, and no code path unpickles a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import cli, compose_train, output_of

from mlconf.core.errors import MlconfError
from mlconf.runner import typed

PACKAGE = Path(__file__).resolve().parents[1] / "mlconf"

# Calls that would build objects from bytes on disk. Only skops (with a verified digest and
# a type allow-list) may load a model; nothing else may deserialise code.
UNPICKLING = re.compile(
    r"\b(import\s+(c?pickle|dill|cloudpickle|joblib|shelve|marshal)\b"
    r"|from\s+(c?pickle|dill|cloudpickle|joblib|shelve|marshal)\s+import"
    r"|(c?pickle|dill|cloudpickle|joblib|marshal)\.loads?\("
    r"|read_pickle\(|allow_pickle\s*=\s*True|torch\.load\(|__reduce__)"
)
# path (relative to the package) -> why the match there is safe. Empty today: keep it so.
ALLOWED: dict[str, str] = {}


def test_no_code_path_unpickles_a_file() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE)) not in ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if UNPICKLING.search(line)
    ]
    assert found == [], "pickle-style loading outside the allow-list:\n" + "\n".join(found)


def test_the_scan_would_see_a_pickle_load() -> None:
    """The pattern is not vacuous: the usual spellings all match."""
    for line in [
        "import pickle",
        "from joblib import load",
        "model = joblib.load(path)",
        "obj = pickle.loads(data)",
        "frame = pd.read_pickle(p)",
        "np.load(p, allow_pickle=True)",
        "import cloudpickle",
    ]:
        assert UNPICKLING.search(line), line


def refusal(overrides: list[str]) -> str:
    with pytest.raises(MlconfError) as info:
        typed(compose_train(overrides))
    return str(info.value)


def test_target_override_is_refused_by_name() -> None:
    message = refusal(["+model._target_=os.system"])
    assert "`_target_` is not allowed" in message
    assert "config key model._target_" in message
    assert "never name a Python callable" in message


def test_target_inside_free_form_params_is_refused() -> None:
    """`model.params` takes any key; `_target_` there is refused too, not passed on."""
    message = refusal(["+model.params._target_=os.system"])
    assert "config key model.params._target_" in message


def searchpath_model(tmp_path: Path, text: str) -> list[str]:
    """Overrides choosing `model=evil`, a YAML in a conf folder of the user's own."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "evil.yaml").write_text(text)
    return [f"hydra.searchpath=[file://{tmp_path}]", "model=evil"]


def test_target_in_a_yaml_on_the_search_path_is_refused(tmp_path: Path) -> None:
    """In a free-form node (`params`) Hydra composes it; mlconf then refuses it by name."""
    overrides = searchpath_model(
        tmp_path, "name: xgboost\nparams:\n  _target_: os.system\n  _args_: [echo owned]\n"
    )
    message = refusal(overrides)
    assert "`_target_` is not allowed" in message
    assert "config key model.params._target_" in message


def test_target_at_the_top_of_a_typed_yaml_node_fails_composition(tmp_path: Path) -> None:
    """In a typed node the structured schema already refuses it while composing, naming the
    key and the file; nothing is instantiated either way."""
    from hydra.errors import ConfigCompositionException

    overrides = searchpath_model(tmp_path, "name: xgboost\n_target_: os.system\n")
    with pytest.raises(ConfigCompositionException) as info:
        compose_train(overrides)
    assert "model/evil" in str(info.value)
    assert "_target_" in str(info.value)


@pytest.mark.slow
def test_cli_train_refuses_target_before_reading_data(tmp_path: Path) -> None:
    proc = cli(["train", "+model._target_=os.system"], cwd=tmp_path)
    out = output_of(proc)
    assert proc.returncode != 0
    assert "`_target_` is not allowed" in out
    assert "Traceback" not in out
    assert not list(tmp_path.rglob("model")), "nothing was trained"
