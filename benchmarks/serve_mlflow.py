"""MLflow's scoring server for benchmarks/serve.py: its own venv, never an mlconf dependency.

    python benchmarks/serve_mlflow.py --setup          # build /work/venvs/mlflow (pip)
    VENV/bin/python benchmarks/serve_mlflow.py --export MODEL_DIR OUT_DIR

`--setup` creates the venv with mlflow, the libraries the mlconf pipeline unpickles with
(omegaconf, hydra-core; scikit-learn, xgboost and pandas come with mlflow) and uvloop,
the event loop mlconf's server runs on too. `--export` runs in
that venv (PYTHONPATH = this repository, so the pipeline's mlconf classes import) and saves
the fitted pipeline with `mlflow.sklearn.save_model`; `mlflow models serve -m OUT_DIR
--env-manager local` then serves it with MLflow's own scoring server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("MLFLOW_VENV", "/work/venvs/mlflow"))
PACKAGES = ["mlflow", "omegaconf", "hydra-core", "uvloop"]


def python() -> Path:
    return VENV / "bin" / "python"


def setup() -> None:
    """Create the venv (once) and install MLflow into it."""
    if not python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python()), "-m", "pip", "install", "-q", *PACKAGES], check=True)


def export(model_dir: Path, out: Path) -> None:
    """Save the mlconf model's fitted pipeline as an MLflow sklearn model (in the venv)."""
    import mlflow.sklearn

    from mlconf.store.artifacts import load_model

    model = load_model(model_dir)
    mlflow.sklearn.save_model(model.pipeline, str(out), serialization_format="cloudpickle")


def export_command(model_dir: Path, out: Path) -> list[str]:
    return [str(python()), __file__, "--export", str(model_dir), str(out)]


def serve_command(mlflow_model: Path, port: int) -> list[str]:
    mlflow = VENV / "bin" / "mlflow"
    return [str(mlflow), "models", "serve", "-m", str(mlflow_model), "-p", str(port),
            "-h", "127.0.0.1", "--env-manager", "local"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--export", nargs=2, type=Path, metavar=("MODEL_DIR", "OUT_DIR"))
    ns = parser.parse_args()
    if ns.setup:
        setup()
    if ns.export:
        sys.path.insert(0, str(ROOT))
        export(*ns.export)


if __name__ == "__main__":
    main()
