"""The `mlflow` tracker: each run logged to an MLflow tracking store through `MlflowClient`.

One MLflow run per mlconf run: the composed config as parameters (flattened, secrets
masked), the metrics with their intervals, the verdicts, tags (run id, data fingerprints,
git commit) and the run folder's report, model card, plots and leaderboard as artifacts.
The jobs of a multirun are nested under one parent run per sweep folder; with
`log_trials` a tuning study's trials are nested under their run. MLflow is imported only
here and only when the tracker is used (an optional extra, `mlconf-tabular[mlflow]`).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from mlconf.components.trackers._base import TrackedRun, Tracker, flatten, run_metrics
from mlconf.components.trackers._mlflow_io import probe_http, sqlite_folder, trial_rows
from mlconf.core.component_registry import register
from mlconf.core.distribution import install_hint
from mlconf.core.errors import MlconfError
from mlconf.core.secrets import mask_url

# MLflow's limits: a parameter value of at most 6000 characters, 100 parameters and 1000
# metrics per batch call.
MAX_PARAM = 6000
BATCH = 100
STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "crashed": "FAILED"}


def _client(uri: str) -> Any:
    try:
        from mlflow import MlflowClient
    except ImportError as exc:
        raise MlconfError(
            f"tracker 'mlflow' needs MLflow, which is not installed ({exc})",
            where="config key tracker.name",
            fix=f"{install_hint('mlflow')}, or drop tracker=mlflow",
        ) from exc
    return MlflowClient(tracking_uri=uri)


def _ms(stamp: str | None) -> int:
    if stamp:
        try:
            return int(datetime.fromisoformat(stamp).timestamp() * 1000)
        except ValueError:
            pass
    return int(time.time() * 1000)


class MlflowTracker(Tracker):
    """Logs runs to the MLflow tracking store at `uri`."""

    def __init__(
        self,
        uri: str,
        experiment: str | None = None,
        log_trials: bool = False,
        artifacts: bool = True,
        timeout: float = 5.0,
    ) -> None:
        self.uri = str(uri)
        self.experiment = experiment
        self.log_trials = log_trials
        self.artifacts = artifacts
        self.timeout = float(timeout)

    def _unreachable(self, reason: str) -> MlconfError:
        return MlconfError(
            f"the MLflow tracking store {mask_url(self.uri)} cannot be reached: {reason}",
            where="config key tracker.params.uri",
            fix="start the tracking server (e.g. `mlflow server --port 5000`) or correct "
            "tracker.params.uri; tracker.on_unreachable=warn trains without logging, "
            "tracker=none turns tracking off",
        )

    def check(self) -> None:
        scheme = urlsplit(self.uri).scheme
        if scheme in ("http", "https"):
            reason = probe_http(self.uri, self.timeout)
            if reason is not None:
                raise self._unreachable(reason)
            return
        if scheme == "sqlite":
            sqlite_folder(self.uri).mkdir(parents=True, exist_ok=True)
        client = _client(self.uri)
        try:
            client.search_experiments(max_results=1)
        except Exception as exc:  # any store error: say which store, and how to fix it
            raise self._unreachable(f"{type(exc).__name__}: {str(exc)[:300]}") from exc

    def _artifacts(self) -> str | None:
        """Where a new experiment keeps its artifacts: beside a SQLite store's file (MLflow's
        own default is ./mlruns under whatever folder the run started in); a server or
        database store decides for itself."""
        if urlsplit(self.uri).scheme != "sqlite":
            return None
        return (sqlite_folder(self.uri) / "mlflow-artifacts").resolve().as_uri()

    def _experiment_id(self, client: Any, name: str) -> str:
        from mlflow.exceptions import MlflowException

        found = client.get_experiment_by_name(name)
        if found is None:
            try:
                return str(client.create_experiment(name, artifact_location=self._artifacts()))
            except MlflowException:  # a parallel job made it first
                found = client.get_experiment_by_name(name)
        if found is None or found.lifecycle_stage == "deleted":
            raise MlconfError(
                f"the MLflow experiment '{name}' is deleted in {mask_url(self.uri)}",
                where="config key tracker.params.experiment",
                fix="restore it in MLflow, or log to another: tracker.params.experiment=NAME",
            )
        return str(found.experiment_id)

    def log_run(self, run: TrackedRun) -> None:
        client = _client(self.uri)
        experiment_id = self._experiment_id(client, self.experiment or run.experiment)
        tags = _tags(run)
        if run.sweep is not None:
            tags["mlflow.parentRunId"] = self._sweep_parent(client, experiment_id, run)
        created = client.create_run(
            experiment_id, start_time=_ms(run.started), tags=tags, run_name=run.run_dir.name
        )
        run_id = created.info.run_id
        _log_values(client, run_id, flatten(run.config), run_metrics(run.metrics))
        client.log_dict(
            run_id,
            {"passed": run.metrics.get("passed"), "success_criteria": run.verdicts},
            "verdicts.json",
        )
        if self.artifacts:
            for file in run.files():
                client.log_artifact(run_id, str(file))
            for folder in run.folders():
                client.log_artifacts(run_id, str(folder), artifact_path=folder.name)
            manifest = run.run_dir / "model" / "manifest.json"
            if manifest.is_file():
                client.log_artifact(run_id, str(manifest), artifact_path="model")
        if self.log_trials:
            self._log_trials(client, experiment_id, run, run_id)
        client.set_terminated(run_id, status=STATUS.get(run.status, "FAILED"))
        if run.sweep is not None:  # the last job to end leaves the parent's end time
            client.set_terminated(tags["mlflow.parentRunId"], status="FINISHED")

    def _sweep_parent(self, client: Any, experiment_id: str, run: TrackedRun) -> str:
        """The parent run of the run's sweep: found by the sweep folder's digest, else made.
        Jobs in parallel processes may both make one; each then keeps the earliest."""
        if run.sweep is None:
            raise RuntimeError("internal error: expected a sweep")
        digest = hashlib.sha256(run.sweep.folder.encode()).hexdigest()[:16]
        query = f"tags.`mlconf.sweep_id` = '{digest}'"

        def earliest() -> Any:
            found = client.search_runs([experiment_id], filter_string=query, max_results=50)
            return min(found, key=lambda r: (r.info.start_time, r.info.run_id), default=None)

        parent = earliest()
        if parent is not None:
            return str(parent.info.run_id)
        mine = client.create_run(
            experiment_id,
            tags={"mlconf.sweep_id": digest, "mlconf.sweep_dir": run.sweep.folder},
            run_name=f"sweep {run.sweep.folder.rstrip('/').rpartition('/')[2]}",
        )
        parent = earliest()
        if parent.info.run_id != mine.info.run_id:
            client.delete_run(mine.info.run_id)
        return str(parent.info.run_id)

    def _log_trials(self, client: Any, experiment_id: str, run: TrackedRun, parent: str) -> None:
        """Each row of trials.csv as a run nested under the training run."""
        for number, state, params, values in trial_rows(run.run_dir / "trials.csv"):
            trial = client.create_run(
                experiment_id,
                tags={
                    "mlflow.parentRunId": parent,
                    "mlconf.trial": number,
                    "mlconf.trial_state": state,
                },
                run_name=f"trial {number}",
            )
            _log_values(client, trial.info.run_id, params, values)
            done = "FINISHED" if state == "COMPLETE" else "FAILED"
            client.set_terminated(trial.info.run_id, status=done)


def _tags(run: TrackedRun) -> dict[str, str]:
    tags = {
        "mlconf.run_id": run.run_id,
        "mlconf.run_dir": str(run.run_dir),
        "mlconf.status": run.status,
    }
    if run.metrics.get("passed") is not None:
        tags["mlconf.passed"] = str(bool(run.metrics.get("passed"))).lower()
    for verdict in run.verdicts:
        tags[f"mlconf.verdict.{verdict.get('metric')}"] = str(verdict.get("statement", ""))
    for source, fingerprint in run.fingerprints.items():
        tags[f"mlconf.data.{source}.sha256"] = str(fingerprint.get("sha256", ""))
        tags[f"mlconf.data.{source}.rows"] = str(fingerprint.get("rows", ""))
    if run.git:
        tags["mlflow.source.git.commit"] = str(run.git.get("commit", ""))
        tags["mlconf.git_dirty"] = str(bool(run.git.get("dirty"))).lower()
    if run.error:
        tags["mlconf.error"] = run.error[:5000]
    if run.sweep is not None:
        tags["mlconf.sweep_job"] = str(run.sweep.job)
        tags["mlconf.sweep_overrides"] = run.sweep.overrides
    return tags


def _log_values(client: Any, run_id: str, params: dict[str, str], values: dict[str, float]) -> None:
    """Parameters and metrics in batches within MLflow's limits."""
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    items = [
        Param(k[:250], v if len(v) <= MAX_PARAM else v[: MAX_PARAM - 3] + "...")
        for k, v in params.items()
    ]
    for start in range(0, len(items), BATCH):
        client.log_batch(run_id, params=items[start : start + BATCH])
    metrics = [Metric(k, v, now, 0) for k, v in values.items()]
    for start in range(0, len(metrics), BATCH * 10):
        client.log_batch(run_id, metrics=metrics[start : start + BATCH * 10])


@register("tracker", "mlflow")
def mlflow_tracker(
    uri: str = "sqlite:///experiments/mlflow.db",
    experiment: str | None = None,
    log_trials: bool = False,
    artifacts: bool = True,
    timeout: float = 5.0,
) -> Tracker:
    """Log each run to an MLflow tracking store (params, metrics, tags, artifacts)."""
    return MlflowTracker(uri, experiment, log_trials, artifacts, timeout)
