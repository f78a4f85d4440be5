"""What keeps a default run short without changing a result (issue 19).

The drawing process starts before the checks and draws the evaluation plots without
importing scikit-learn (the curves are computed where the plots are listed); the imports
later stages need are not queued behind the drawing; and save's reference profile reuses
the predictions evaluate made instead of predicting the held-out rows again.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import FAST, compose_train, quiet_console

from mlconf.core.background import Background
from mlconf.report.evaluation_plots import drawn_by, save_evaluation_plots
from mlconf.report.figures import prepare_drawing

# Run in a fresh interpreter, as the drawing process is: draw what stdin holds (a pickled
# job and its arguments) and say which heavy libraries that imported.
_DRAW = """
import json, pickle, sys
job, args = pickle.loads(sys.stdin.buffer.read())
job(*args)
print(json.dumps({m: m in sys.modules for m in ("sklearn", "scipy")}))
"""


def test_the_evaluation_plots_are_drawn_without_scikit_learn(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, 200)
    score = np.clip(y_true * 0.6 + rng.normal(0.2, 0.25, 200), 0, 1)
    proba = np.column_stack([1 - score, score])
    threshold = {
        "value": 0.4,
        "score_name": "f1",
        "greater_is_better": True,
        "curve": [{"threshold": t, "score": 1 - abs(t - 0.4)} for t in (0.1, 0.4, 0.7)],
    }
    handed: list[tuple[Any, tuple[Any, ...]]] = []
    with drawn_by(lambda job, *args: handed.append((job, args))):
        listed = save_evaluation_plots(
            tmp_path,
            task="classification",
            y_true=y_true,
            y_pred=(score >= 0.4).astype(int),
            proba=proba,
            classes=["no", "yes"],
            threshold=threshold,
        )
    [(job, args)] = handed
    done = subprocess.run(
        [sys.executable, "-c", _DRAW],
        input=pickle.dumps((job, args)),
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert json.loads(done.stdout) == {"sklearn": False, "scipy": False}
    names = {Path(p["path"]).stem for p in listed}
    assert names == {"confusion_matrix", "roc", "precision_recall", "calibration", "threshold"}
    assert all((tmp_path / p["path"]).stat().st_size > 1000 for p in listed)


def test_the_confusion_matrix_counts_as_scikit_learn_does() -> None:
    from sklearn.metrics import confusion_matrix

    from mlconf.report.evaluation_plots import _confusion_matrix

    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    expected = confusion_matrix(y_true, y_pred, labels=[0, 1, 2])
    assert (_confusion_matrix(y_true, y_pred, 3) == expected).all()
    assert _confusion_matrix(np.array([], dtype=int), np.array([], dtype=int), 2).sum() == 0


def _modules_loaded(path: Path) -> None:
    """A drawing job: which modules its process had loaded when it ran."""
    path.write_text(json.dumps("matplotlib.pyplot" in sys.modules))


def test_the_drawing_process_starts_with_matplotlib_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLCONF_DRAWING", "process")
    worker = Background()
    worker.start_drawing(prepare_drawing, ["mlconf.report.evaluation_plots"])
    assert worker._process is not None  # started before any plot is handed in
    worker.draw("evaluate", _modules_loaded, tmp_path / "seen.json")
    worker.wait()
    worker.close()
    assert json.loads((tmp_path / "seen.json").read_text()) is True
    monkeypatch.setenv("MLCONF_DRAWING", "thread")
    worker = Background()
    worker.start_drawing(prepare_drawing, ["mlconf.report.evaluation_plots"])
    assert worker._process is None  # the thread draws: no process, no imports taking turns
    worker.close()


@pytest.mark.parametrize("lane", ["thread", "process"])
def test_warming_up_does_not_wait_for_the_drawing(
    lane: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLCONF_DRAWING", lane)
    probe = f"mlconf_warm_probe_{lane}"
    (tmp_path / f"{probe}.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    worker = Background()
    worker.draw("explore", time.sleep, 2)
    worker.warm("train", ["mlconf_no_such_module", probe])  # a failed import is left for its stage
    deadline = time.monotonic() + 1.5
    while probe not in sys.modules and time.monotonic() < deadline:
        time.sleep(0.05)
    imported = probe in sys.modules
    worker.close()
    assert imported, "the warm-up import waited for the drawing"
    assert "train" in worker.seconds  # run.json's `background` counts it for its stage


def test_save_reuses_the_predictions_of_evaluate(tmp_path: Path) -> None:
    from mlconf.run_state import RunState
    from mlconf.runner import preflight, typed
    from mlconf.stages.save import _held_out_outputs, trained_model
    from mlconf.store.runs import RunRecord

    conf = typed(compose_train([*FAST, "explore.plots=false"]))
    stages = preflight(conf)
    record = RunRecord(run_dir=tmp_path, experiment=conf.experiment_name, seed=conf.seed)
    ctx = RunState(conf=conf, run_dir=tmp_path, record=record, console=quiet_console())
    with ctx.resources:
        for name in ("load", "validate", "prepare", "split", "train", "evaluate"):
            stages[name](ctx)
        ctx.background.wait()
    model = trained_model(ctx)
    held_out = ctx.parts["validation"]
    labels, scores = _held_out_outputs(ctx, model, held_out, "validation")
    evaluated = ctx.predicted["validation"].by_role["model"][1]
    assert np.shares_memory(scores, evaluated)  # evaluate's probabilities, not new ones
    ctx.predicted = {}
    again_labels, again_scores = _held_out_outputs(ctx, model, held_out, "validation")
    assert list(labels) == list(again_labels)
    assert np.array_equal(scores, again_scores)
    assert set(labels) <= set(model.classes)


def test_a_command_leaves_its_objects_to_the_operating_system_at_exit() -> None:
    """The interpreter's collections at shutdown would walk every imported object again."""
    code = (
        "import atexit, gc\n"
        # registered first, so it runs last: after mlconf's own exit hook
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "from mlconf.cli.main import main\n"
        "main(['plugins', '--kind', 'splitter'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.rstrip().endswith("frozen True"), done.stdout[-300:]


def test_the_schema_is_stored_once_per_process() -> None:
    """Every compose registers the schema; converting it again would cost about 0.08 s."""
    from hydra.core.config_store import ConfigStore

    from mlconf.config import store_schemas

    store_schemas()
    stored = ConfigStore.instance().repo["base_train.yaml"]
    store_schemas()
    assert ConfigStore.instance().repo["base_train.yaml"] is stored


def test_typed_merges_onto_the_schema_node_hydra_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """typed() reuses the node store_schemas registered (Hydra copies it on load, a merge
    copies it): the same result as a fresh conversion, and the node is left unchanged."""
    from hydra.core.config_store import ConfigNode, ConfigStore
    from omegaconf import OmegaConf

    from mlconf.config import TrainConfig
    from mlconf.config.compose import schema_node
    from mlconf.runner import typed

    cfg = compose_train(["experiment=diabetes"])
    node = schema_node()
    assert node is ConfigStore.instance().repo["base_train.yaml"].node
    before = OmegaConf.to_yaml(node)
    fresh = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TrainConfig), cfg))
    assert typed(cfg) == fresh
    assert OmegaConf.to_yaml(node) == before
    # A project's own base_train: typed() still merges onto TrainConfig's schema.
    own = ConfigNode("base_train.yaml", OmegaConf.create({"x": 1}), None, None, "a project")
    monkeypatch.setitem(ConfigStore.instance().repo, "base_train.yaml", own)
    assert OmegaConf.get_type(schema_node()) is TrainConfig
    assert typed(cfg) == fresh
