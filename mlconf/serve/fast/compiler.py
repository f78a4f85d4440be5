"""Compile a fitted pipeline into a `CompiledScorer`, or say why it cannot be compiled.

Supported: a ColumnTransformer whose branches are imputers, scalers and one-hot or ordinal
encoders (or plugin fast paths), the feature-name step, and an xgboost model (with or
without a decision threshold). Anything else raises CannotCompileError with the step's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlconf.serve.fast.model import FinalStep, final_step
from mlconf.serve.fast.steps import NUMERIC, TEXT, CannotCompileError, Step, kind_of

if TYPE_CHECKING:
    from mlconf.serve.schema import FieldRule
    from mlconf.store.artifacts import TrainedModel

FEATURE_NAMES = "mlconf.components.transformers.feature_names.SafeFeatureNames"
COLUMN_TRANSFORMER = "sklearn.compose._column_transformer.ColumnTransformer"


@dataclass(frozen=True)
class Branch:
    """One ColumnTransformer branch: its input columns, kind and steps, and where its
    output goes in the feature matrix."""

    inputs: tuple[int, ...]
    text: bool
    steps: tuple[Step, ...]
    out: slice


@dataclass(frozen=True)
class CompiledScorer:
    """Request columns -> predictions and probabilities, with numpy and the model's fast path."""

    branches: tuple[Branch, ...]
    width: int
    final: FinalStep
    classes: tuple[Any, ...]
    task: str

    def features(self, columns: Sequence[Sequence[Any]], n: int) -> np.ndarray:
        """The feature matrix the model sees, from the request's columns (None = missing)."""
        out = np.empty((n, self.width), dtype=np.float64)
        for branch in self.branches:
            picked = [columns[i] for i in branch.inputs]
            x = np.array(picked, dtype=object if branch.text else np.float64).T
            for step in branch.steps:
                x = step(x)
            out[:, branch.out] = x
        return out

    def score(self, columns: Sequence[Sequence[Any]], n: int) -> tuple[list[Any], Any]:
        """(labels or values, probabilities as lists or None), as `Loaded.score` answers."""
        result = self.final.predict(self.features(columns, n))
        if self.final.decide is None:
            return np.asarray(result, dtype=float).tolist(), None
        positions = self.final.decide(result)
        labels = [self.classes[p] for p in positions.tolist()]
        return labels, np.asarray(result).tolist()


def _branch_steps(transformer: Any, text: bool) -> tuple[Step, ...]:
    from mlconf.serve.fast.plugins import plugin_fast_path

    steps = getattr(transformer, "steps", None)
    fitted = [s for _, s in steps] if steps is not None else [transformer]
    out: list[Step] = []
    for step in fitted:
        if step == "passthrough" or step is None:
            continue
        table = TEXT if text else NUMERIC
        factory = table.get(kind_of(step))
        if factory is not None:
            out.append(factory(step))
        elif not text and (offered := plugin_fast_path(step)) is not None:
            out.append(offered)
        else:
            raise CannotCompileError(f"no fast path for the {'text' if text else 'numeric'} step "
                              f"{kind_of(step)}")  # fmt: skip
        if text and kind_of(step).endswith("Encoder"):
            text = False  # encoders turn text into numbers; what follows is numeric
    if text:
        raise CannotCompileError("a text branch that ends without an encoder")
    return tuple(out)


def _branch(
    name: str, transformer: Any, cols: Any, ct: Any, rules: list[FieldRule]
) -> Branch | None:
    index = {rule.column: i for i, rule in enumerate(rules)}
    if transformer == "drop" or len(cols) == 0:
        return None
    if not all(isinstance(c, str) and c in index for c in cols):
        raise CannotCompileError(f"branch '{name}' picks columns by position or unknown names")
    inputs = tuple(index[c] for c in cols)
    kinds = {rules[i].kind for i in inputs}
    if kinds <= {"float", "int"}:
        text = False
    elif kinds == {"str"}:
        text = True
    else:
        raise CannotCompileError(f"branch '{name}' mixes or has untyped columns ({sorted(kinds)})")
    if transformer == "passthrough":
        if text:
            raise CannotCompileError(f"branch '{name}' passes text through")
        steps: tuple[Step, ...] = ()
    else:
        steps = _branch_steps(transformer, text)
    return Branch(inputs, text, steps, ct.output_indices_[name])


def compile_scorer(model: TrainedModel, rules: list[FieldRule]) -> CompiledScorer:
    """The compiled scorer of `model`; CannotCompileError naming the first step it cannot do."""
    steps = list(getattr(model.pipeline, "steps", []))
    if len(steps) < 2 or kind_of(steps[0][1]) != COLUMN_TRANSFORMER:
        first = kind_of(steps[0][1]) if steps else kind_of(model.pipeline)
        raise CannotCompileError(f"the pipeline starts with {first}, not the feature column sets")
    ct = steps[0][1]
    for name, step in steps[1:-1]:
        if kind_of(step) != FEATURE_NAMES:
            raise CannotCompileError(f"no fast path for pipeline step '{name}' ({kind_of(step)})")
    branches = []
    for name, transformer, cols in ct.transformers_:
        branch = _branch(name, transformer, cols, ct, rules)
        if branch is not None:
            branches.append(branch)
    width = int(sum(s.stop - s.start for s in ct.output_indices_.values()))
    if sum(b.out.stop - b.out.start for b in branches) != width:
        raise CannotCompileError("some feature columns come from no compiled branch")
    classes = tuple(model.classes)
    final = final_step(steps[-1][1], model.task, len(classes))
    return CompiledScorer(tuple(branches), width, final, classes, model.task)
