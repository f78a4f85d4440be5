"""Structured configs: the schema of every config group, stored in Hydra's ConfigStore.

Because the primary configs extend `base_train`, a misspelled key or a value of the
wrong type fails when Hydra composes the config, naming the key, before any work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

# The monitoring group's schema is written beside the monitor that reads it.
from mlconf.config.monitoring import MonitoringConfig
from mlconf.config.tracker import TrackerConfig
from mlconf.config.tune import TuneConfig


@dataclass
class NamedSpec:
    """A registered component picked by name, with its parameters."""

    name: str = MISSING
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceConfig:
    """One data source. `kind` names a registered source; the other keys are its inputs."""

    kind: str = MISSING
    path: str | None = None
    url: str | None = None
    query: str | None = None
    dataset: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    join_on: list[str] = field(default_factory=list)
    how: str = "left"


@dataclass
class DataConfig:
    """Where the rows come from: one source, or several joined on keys in order."""

    name: str = MISSING
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    id_columns: list[str] = field(default_factory=list)
    drop_columns: list[str] = field(default_factory=list)
    # pandas: read everything into memory. dask: read partitioned Parquet/CSV (a folder or a
    # glob) partition by partition (mlconf.scale); whole-frame stages see `sample_rows` rows.
    engine: str = "pandas"
    sample_rows: int = 100_000


@dataclass
class ColumnSchema:
    dtype: str | None = None
    nullable: bool = True
    unique: bool = False
    required: bool = True
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None
    regex: str | None = None
    checks: list[NamedSpec] = field(default_factory=list)


@dataclass
class SchemaConfig:
    """Column rules checked with pandera; failures stop the run or go to quarantine."""

    on_error: str = "fail"
    coerce: bool = True
    strict: bool = False
    columns: dict[str, ColumnSchema] = field(default_factory=dict)


@dataclass
class Criterion:
    min: float | None = None
    max: float | None = None


@dataclass
class ThresholdConfig:
    """How a binary classifier turns the positive class's probability into a label.

    `optimize`: none (0.5), cost (least expected cost under `problem.costs`) or a label
    metric's name (e.g. f1), chosen on the validation part and saved with the model.
    """

    optimize: str = "none"


@dataclass
class ProblemConfig:
    """What is predicted, how success is judged, and why the model exists."""

    task: str = MISSING
    target: str = MISSING
    positive_class: Any = None
    primary_metric: str = MISSING
    objective: str = ""
    stakeholders: list[str] = field(default_factory=list)
    # real_time | batch | decision_support; null: not stated
    usage: str | None = None
    # cost per row of each outcome of a binary decision: {tp, fp, fn, tn}; unset keys cost 0.
    # Empty: no costs. (Not None: OmegaConf cannot merge `problem.costs={...}` into a None.)
    costs: dict[str, Any] = field(default_factory=dict)
    success_criteria: dict[str, Criterion] = field(default_factory=dict)
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    # none | balanced: weight each training row by the inverse of its class's share, so a
    # rare class counts as much as a common one (classification; models whose fit takes
    # sample_weight)
    class_weight: str = "none"


@dataclass
class MissingConfig:
    drop_rows_over: float | None = None
    drop_columns_over: float | None = 0.99


@dataclass
class OutlierConfig:
    method: str = "none"
    action: str = "clip"
    columns: list[str] = field(default_factory=list)
    factor: float = 1.5
    threshold: float = 3.0


@dataclass
class DuplicateConfig:
    drop_exact: bool = True
    key_columns: list[str] = field(default_factory=list)


@dataclass
class PrepareConfig:
    """Row-level cleaning before the split; value-level cleaning lives in the pipeline."""

    missing: MissingConfig = field(default_factory=MissingConfig)
    outliers: OutlierConfig = field(default_factory=OutlierConfig)
    duplicates: DuplicateConfig = field(default_factory=DuplicateConfig)
    cast: dict[str, str] = field(default_factory=dict)


@dataclass
class ColumnSetConfig:
    """A set of columns (picked by dtype or by name) and the transforms applied to it."""

    select: str = "numeric"
    columns: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    steps: list[NamedSpec] = field(default_factory=list)


@dataclass
class FeaturesConfig:
    """The feature pipeline: derived columns, column sets, then optional selection."""

    derived: dict[str, str] = field(default_factory=dict)
    column_sets: dict[str, ColumnSetConfig] = field(default_factory=dict)
    interactions: NamedSpec | None = None
    selection: NamedSpec | None = None
    remainder: str = "drop"


@dataclass
class LeakageConfig:
    target_in_features: str = "error"
    identical_rows: str = "warn"
    group_overlap: str = "error"
    time_overlap: str = "error"


PART_LABELS = {"train": ["train"], "validation": ["validation", "valid", "val"], "test": ["test"]}


@dataclass
class SplitConfig:
    """How rows are divided into train, validation and test parts."""

    method: str = "holdout"
    test_size: float = 0.2
    validation_size: float = 0.2
    stratify: bool = True
    shuffle: bool = True
    group_column: str | None = None
    time_column: str | None = None
    # method=predefined: a column saying each row's part, and the source of the test rows
    part_column: str | None = None
    part_labels: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in PART_LABELS.items()}
    )
    test_source: str = "test"
    folds: int = 0
    leakage: LeakageConfig = field(default_factory=LeakageConfig)


@dataclass
class ModelConfig:
    name: str = MISSING
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelSelectionConfig:
    """Candidates compared by k-fold CV on the training part; the best is trained.

    A candidate is a registered model name, or `{name: ..., params: {...}}`.
    """

    candidates: list[Any] = field(default_factory=list)
    folds: int = 5


@dataclass
class SearchConfig:
    """An Optuna search space for one model family (conf/search/<model>.yaml)."""

    model: str | None = None
    space: dict[str, Any] = field(default_factory=dict)
    portfolio: list[Any] = field(default_factory=list)  # known-good starts (issue 18)


@dataclass
class MetricsConfig:
    """Metric names per task and how confidence intervals are computed."""

    classification: list[str] = field(default_factory=list)
    regression: list[str] = field(default_factory=list)
    bootstrap: int = 200
    confidence: float = 0.95
    max_bootstrap_rows: int = 100_000


@dataclass
class ExplainConfig:
    """Interpretation after evaluation: permutation importance, contributions, partial dependence.

    `shap` picks the contribution method: `auto` (exact TreeSHAP for xgboost through
    xgboost itself, sampled Shapley values for other models), `xgboost` (xgboost only),
    `off`. `background_rows` training rows are kept in the model folder so that
    `mlconf.explain` can explain any model later (0 keeps none).
    """

    enabled: bool = True
    n_repeats: int = 3
    max_rows: int = 1000
    top_k: int = 5
    grid_resolution: int = 20
    shap: str = "auto"
    sampled_rows: int = 100
    background_rows: int = 100


@dataclass
class SensitiveAttribute:
    column: str = MISSING
    use_as_feature: bool = False


@dataclass
class FairnessLimits:
    """Each limit is checked when set (null: reported, not checked)."""

    demographic_parity_difference: float | None = 0.1
    demographic_parity_ratio: float | None = 0.8
    equalized_odds_difference: float | None = 0.1
    four_fifths: bool = False  # deprecated alias: demographic_parity_ratio of at least 0.8
    accuracy_difference: float | None = 0.1
    error_difference: float | None = None


@dataclass
class FairnessConfig:
    """Sensitive attributes (kept out of the features unless use_as_feature) and limits."""

    sensitive: list[SensitiveAttribute] = field(default_factory=list)
    intersections: list[list[str]] = field(default_factory=list)
    min_group_size: int = 30
    part: str = "test"
    on_fail: str = "warn"
    limits: FairnessLimits = field(default_factory=FairnessLimits)


@dataclass
class RegisterConfig:
    """After a run: register the model as a new version when its success criteria pass."""

    enabled: bool = True
    force: bool = False
    alias: str = "candidate"


@dataclass
class ServeConfig:
    """`mlconf serve`: the REST service around one registered model."""

    model: str | None = None  # a model folder or registry ref; null: <model_name>@production
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_body_bytes: int = 1_000_000
    max_records: int = 10_000
    api_key_env: str | None = None
    reload_interval: float | None = 60.0
    extra_fields: str = "ignore"
    log_predictions: bool = True
    log_queue_size: int = 10_000
    # micro-batching: concurrent requests wait at most this long to be scored together
    batch_window_ms: float = 1.0
    batch_max_records: int = 256  # a batch is scored once it holds this many records


@dataclass
class BatchConfig:
    """`mlconf predict`: chunked batch scoring of a file or query with a model."""

    model: str | None = None  # a model folder or registry ref; null: <model_name>@production
    input: str | None = None  # .csv, .csv.gz, .parquet, a folder of parts, or 'sql:SELECT ...'
    output: str | None = None  # .csv or .parquet, refused if it exists (unless overwrite)
    quarantine: str | None = None  # rows failing the schema; null: OUTPUT.quarantine.csv
    keep: list[str] = field(default_factory=list)  # more input columns copied to the output
    overwrite: bool = False
    url: str | None = None  # the database of a sql: input
    cluster: str | None = None  # local or tcp://host:port: score chunks on Dask workers
    chunk_rows: int = 100_000


@dataclass
class DeployConfig:
    """Where models are registered and how they are served and batch-scored."""

    registry_url: str = "sqlite:///experiments/mlconf.db"
    model_name: str = "${experiment_name}"
    register: RegisterConfig = field(default_factory=RegisterConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)


@dataclass
class ReportConfig:
    """The report stage: `report.html` (images wider than `max_image_px` are scaled down,
    and left out past `max_bytes`) and `model_card.md`."""

    enabled: bool = True
    max_image_px: int = 900
    max_bytes: int = 5_000_000


@dataclass
class ExploreConfig:
    """The data profile (stage explore): what is computed, on how many rows, what is flagged."""

    enabled: bool = True
    max_rows: int = 20_000
    max_mi_columns: int = 50
    association_rows: int = 5_000
    bins: int = 20
    top_values: int = 10
    correlation_threshold: float = 0.9
    heatmap_columns: int = 15
    high_missing_share: float = 0.5
    id_like_share: float = 0.95
    leakage_correlation: float = 0.98
    leakage_mi_share: float = 0.95
    outlier_factor: float = 1.5
    plots: bool = True


@dataclass
class PrivacyConfig:
    """The PII scan (stage privacy): what counts as a finding and what happens to it.

    A policy is fail, drop, hash or ignore; `policy` sets it per kind of PII, `columns`
    per column (overrides the kind's). Hashing uses a salt read from `salt_env`.
    """

    scan: bool = True
    sample_rows: int = 10_000
    min_share: float = 0.3
    policy: dict[str, str] = field(
        default_factory=lambda: {
            "email": "fail",
            "phone": "fail",
            "card": "fail",
            "national_id": "fail",
            "ip": "fail",
            "name": "fail",
        }
    )
    columns: dict[str, str] = field(default_factory=dict)
    salt_env: str = "MLCONF_PII_SALT"


@dataclass
class ClusterConfig:
    """Where Dask work runs (conf/cluster/): `none` (this process), `local` (a LocalCluster of
    worker processes started for the run and closed after it) or the existing cluster at
    `address` (tcp://host:port). `model=xgboost_dask` trains on it."""

    kind: str = "none"
    address: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str = "auto"
    dashboard_address: str | None = "127.0.0.1:0"
    timeout: float = 10.0


@dataclass
class TrainConfig:
    """The primary config of `mlconf train`."""

    experiment_name: str = "default"
    seed: int = 42
    plugins: list[str] = field(default_factory=list)
    stages: list[str] = field(
        default_factory=lambda: [
            "load",
            "validate",
            "privacy",
            "explore",
            "prepare",
            "split",
            "select",
            "tune",
            "train",
            "evaluate",
            "explain",
            "fairness",
            "save",
            "report",
            "register",
        ]
    )
    data: DataConfig = field(default_factory=DataConfig)
    schema: SchemaConfig = field(default_factory=SchemaConfig)
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    prepare: PrepareConfig = field(default_factory=PrepareConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    model_selection: ModelSelectionConfig = field(default_factory=ModelSelectionConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    explain: ExplainConfig = field(default_factory=ExplainConfig)
    fairness: FairnessConfig = field(default_factory=FairnessConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    explore: ExploreConfig = field(default_factory=ExploreConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)


# The primary config of each command that composes with Hydra, and its schema.
SCHEMAS: dict[str, type] = {
    command: TrainConfig for command in ("train", "predict", "serve", "monitor")
}


def top_level_keys() -> list[str]:
    """The config's top-level keys and groups: what a bare `key=value` override may name."""
    import dataclasses

    return [f.name for f in dataclasses.fields(TrainConfig)] + ["experiment", "local"]


def store_schemas() -> None:
    """Register the primary schema; it types every group's node through its fields.

    Once per process: converting the dataclass tree costs about 0.08 s, which a notebook or
    a service composing many configs would otherwise pay on every `compose`."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    if "base_train.yaml" not in store.repo:
        store.store(name="base_train", node=TrainConfig)
