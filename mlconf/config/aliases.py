"""The short forms users type (`mlconf serve model=cars@production port=8080`), as the Hydra
overrides they stand for (`deploy.serve.model='cars@production' deploy.serve.port=8080`).

Every command composes the same config tree; the short forms only spell its keys. String
values are quoted for Hydra's grammar, so a path, a registry ref or an SQL query with
commas and spaces is taken whole; `keep=a,b` is a list, not a sweep.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlconf.core.errors import MlconfError, did_you_mean


@dataclass(frozen=True)
class Alias:
    key: str  # the full config key
    text: bool = False  # a string: quoted for Hydra
    listed: bool = False  # comma-separated: a list


@dataclass(frozen=True)
class AliasTable:
    command: str
    aliases: dict[str, Alias]
    prefixes: dict[str, str] = field(default_factory=dict)  # short prefix -> full prefix

    def expand(self, args: list[str], known_roots: list[str]) -> list[str]:
        """Rewrite the short forms; a bare key that is neither an alias nor a config key is
        an error naming the closest of both."""
        from mlconf.config.command_line import override_positions

        multirun = any(a in ("-m", "--multirun") for a in args)
        out = list(args)
        for i in override_positions(args):
            key, sep, value = args[i].partition("=")
            if not sep and not key.startswith("~"):
                raise MlconfError(
                    f"'{args[i]}' is not KEY=VALUE",
                    where="command line",
                    fix=f"e.g. mlconf {self.command} {next(iter(self.aliases))}=...",
                )
            if not sep or key.startswith(("+", "~")):
                continue
            if key in self.aliases:
                out[i] = self._spell(self.aliases[key], value)
                continue
            prefix = next((p for p in self.prefixes if key.startswith(p)), None)
            if prefix is not None:
                full = f"{self.prefixes[prefix]}{key[len(prefix) :]}"
                out[i] = f"{full}={_listed(value, multirun) if full in LIST_KEYS else value}"
            elif "." not in key and "@" not in key and key not in known_roots:
                names = [*self.aliases, *known_roots]
                raise MlconfError(
                    f"unknown setting '{key}'.{did_you_mean(key, names)}",
                    where="command line",
                    fix=f"use one of: {', '.join(self.aliases)}, or any config key "
                    f"(`mlconf {self.command} --cfg job` prints them)",
                )
        return out

    @staticmethod
    def _spell(alias: Alias, value: str) -> str:
        if alias.listed:
            items = [quote(v.strip()) for v in value.split(",") if v.strip()]
            return f"{alias.key}=[{','.join(items)}]"
        return f"{alias.key}={quote(value) if alias.text else value}"


# List-typed keys reached through a prefix: `drift.numeric=psi,ks` is the list [psi, ks],
# and with -m a sweep over one-element lists, [psi] then [ks].
LIST_KEYS = ("monitoring.drift.numeric", "monitoring.drift.categorical")


def _listed(value: str, multirun: bool) -> str:
    if value.lstrip().startswith(("[", "choice(", "glob(", "range(")):
        return value
    items = [v.strip() for v in value.split(",") if v.strip()]
    if multirun:
        return ",".join(f"[{item}]" for item in items)
    return f"[{','.join(items)}]"


def quote(value: str) -> str:
    """`value` as one Hydra quoted string (backslashes before a quote escaped)."""
    if value in ("null", "None"):
        return "null"
    # Hydra keeps a backslash as typed unless it precedes a quote or the end of the string.
    escaped = re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + ("\\'" if m[2] else ""), value)
    return f"'{escaped}'"


def _texts(prefix: str, names: str) -> dict[str, Alias]:
    return {name: Alias(f"{prefix}{name}", text=True) for name in names.split()}


def _plain(prefix: str, names: str) -> dict[str, Alias]:
    return {name: Alias(f"{prefix}{name}") for name in names.split()}


REGISTRY_URL = {"registry_url": Alias("deploy.registry_url", text=True)}

PREDICT = AliasTable(
    "predict",
    {
        **_texts("deploy.batch.", "model input output quarantine url cluster"),
        "keep": Alias("deploy.batch.keep", listed=True),
        **_plain("deploy.batch.", "overwrite chunk_rows"),
        **REGISTRY_URL,
    },
    {"batch.": "deploy.batch."},
)

SERVE = AliasTable(
    "serve",
    {
        **_texts("deploy.serve.", "model host api_key_env extra_fields"),
        **_plain(
            "deploy.serve.",
            "port workers max_body_bytes max_records reload_interval log_predictions "
            "log_queue_size batch_window_ms batch_max_records",
        ),
        **REGISTRY_URL,
    },
    {"serve.": "deploy.serve."},
)

MONITOR = AliasTable(
    "monitor",
    {
        **_texts("monitoring.", "model current window reference cluster"),
        "out": Alias("monitoring.out_dir", text=True),
        **_texts("monitoring.", "out_dir"),
        **_plain("monitoring.", "last interval times limit watch rules notifiers sections"),
        **REGISTRY_URL,
    },
    {
        f"{group}.": f"monitoring.{group}."
        for group in ("drift", "quality", "performance", "health", "impact", "retrain")
    },
)

TABLES = {table.command: table for table in (PREDICT, SERVE, MONITOR)}


def expand(command: str, args: list[str]) -> list[str]:
    """`args` with the command's short forms spelled out (train has none)."""
    from mlconf.config import top_level_keys

    table = TABLES.get(command)
    return table.expand(args, top_level_keys()) if table else args
