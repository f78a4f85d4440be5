"""Rebuild `cars.csv` from the vega `cars` table that the vega_datasets package ships.

    python -m mlconf.core.datasets.build_cars

The output is deterministic: the same vega_datasets version gives the same bytes.
Derived columns: `Make` (first word of the name, normalised) and `Year` as an integer,
so that the table has a string feature with repeats, missing numbers and a string target.
"""

from __future__ import annotations

import sys
from pathlib import Path

MAKE_ALIASES = {
    "chevy": "chevrolet",
    "chevroelt": "chevrolet",
    "maxda": "mazda",
    "mercedes-benz": "mercedes",
    "toyouta": "toyota",
    "vokswagen": "volkswagen",
    "vw": "volkswagen",
}


def build(out: Path) -> int:
    try:
        from vega_datasets import local_data
    except ImportError:
        sys.stderr.write("vega_datasets is needed: pip install vega-datasets\n")
        return 2
    cars = local_data.cars()
    make = cars["Name"].str.split().str[0].str.lower()
    cars.insert(1, "Make", make.replace(MAKE_ALIASES))
    cars["Year"] = cars["Year"].dt.year.astype("int64")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    cars.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(out)
    print(f"wrote {out} ({len(cars)} rows, {cars.shape[1]} columns)")
    return 0


if __name__ == "__main__":
    raise SystemExit(build(Path(__file__).with_name("cars.csv")))
