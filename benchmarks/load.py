"""A bounded load test of `mlconf serve` on loopback, beside a plain FastAPI app (issue 7, item 6).

Trains a tiny xgboost breast_cancer model (20 trees; or serves `--model DIR`), then for
each server in its own process on a free loopback port (`serve.server_command`):

- mlconf: `mlconf serve model=DIR`, defaults (validation, metrics, every prediction logged
  to SQLite by the background writer);
- plain: FastAPI + uvicorn whose /predict calls the same pipeline's `predict_proba`, no
  logging (`serve.plain_app`);

drives `--warmup` then `--requests` single-record POST /predict from `--clients` concurrent
httpx clients, stopping at the count or after `--max-seconds`, whichever comes first. It
reports requests sent, errors (non-2xx or transport), throughput, p50/p95/p99 latency,
the server's RSS (itself and its children) after warm-up and at the end, and for mlconf,
after a graceful stop, whether every prediction id returned is in the prediction log.
The harness is tests/loadgen.py, shared with tests/test_load.py. Results: README.md.

    python benchmarks/load.py                        # 20,000 requests, 16 clients
    python benchmarks/load.py --requests 2000 --only mlconf
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the harness, shared with tests/test_load.py

from loadgen import LoadReport, load_test, record_body  # noqa: E402
from serve import server_command  # noqa: E402  (benchmarks/serve.py, beside this file)
from serve_helpers import free_port, train_model  # noqa: E402

KINDS = ("mlconf", "plain")


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip()


def line(kind: str, report: LoadReport) -> str:
    load = report.load
    text = (
        f"{kind:7s} sent={load['sent']} errors={load['errors']} ({load['stopped_by']}) "
        f"{load['throughput_rps']:.1f} req/s p50={load['p50_ms']:.1f} ms "
        f"p95={load['p95_ms']:.1f} ms p99={load['p99_ms']:.1f} ms "
        f"RSS {report.rss_after_warmup_kib / 1024:.1f} -> {report.rss_end_kib / 1024:.1f} MiB "
        f"({report.rss_growth:+.1%}) server CPU {report.cpu_ms_per_request:.1f} ms/request"
    )
    if report.ids_missing is not None:
        text += (
            f" log: {report.ids_returned - report.ids_missing}/{report.ids_returned} ids "
            f"present, shutdown {'complete' if report.shutdown_complete else 'INCOMPLETE'}"
        )
    if load["error_samples"]:
        text += f"\n  first errors: {load['error_samples']}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=900, help="per server and phase")
    parser.add_argument("--model", type=Path, help="serve this model folder (no training)")
    parser.add_argument("--only", choices=KINDS, help="run one server only")
    ns = parser.parse_args()
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit(),
        "cpus": os.cpu_count(),
        "settings": {k: str(v) for k, v in vars(ns).items()},
        "servers": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_dir = ns.model.resolve() if ns.model else train_model(workdir / "run")
        body = record_body(model_dir)
        for kind in [ns.only] if ns.only else KINDS:
            port = free_port()
            before = loadavg()
            report = load_test(
                server_command(kind, model_dir, port, workdir),
                port,
                workdir,
                body,
                requests=ns.requests,
                warmup=ns.warmup,
                clients=ns.clients,
                max_seconds=ns.max_seconds,
                db_url=f"sqlite:///{workdir / 'mlconf.db'}" if kind == "mlconf" else None,
            )
            after = loadavg()
            results["servers"][kind] = {
                **report.as_dict(),
                "loadavg_before": before,
                "loadavg_after": after,
            }
            print(f"{line(kind, report)}\n  load average before {before}, after {after}")
    servers = results["servers"]
    if len(servers) == 2:
        ours, base = servers["mlconf"]["load"], servers["plain"]["load"]
        ratios = {
            "throughput": ours["throughput_rps"] / base["throughput_rps"],
            **{k: ours[f"{k}_ms"] / base[f"{k}_ms"] for k in ("p50", "p95", "p99")},
            "cpu_per_request": servers["mlconf"]["cpu_ms_per_request"]
            / servers["plain"]["cpu_ms_per_request"],
        }
        results["ratios_mlconf_over_plain"] = ratios
        print("mlconf / plain: " + ", ".join(f"{k} x{v:.2f}" for k, v in ratios.items()))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"load-{results['when'].replace(':', '-')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
