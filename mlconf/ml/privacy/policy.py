"""The privacy policy as one value: which columns are dropped, which hashed, and with which salt.

Training decides it (stage `privacy`) and saves it in the model's manifest, so batch scoring,
serving and monitoring apply the same policy without the training config. Everything mlconf
writes goes through two functions: `PrivacyPolicy.rows` for rows (a frame or JSON records) and
`PrivacyPolicy.text` for free text built from rows (quarantine reasons, error messages).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_SALT_ENV = "MLCONF_PII_SALT"
DROPPED = "<dropped>"
# How validation shows a long value cut short: its repr's first characters and "...".
_CUT = re.compile(r"""(['"])((?:(?!\1).){1,200}?)\.\.\.""")


@dataclass(frozen=True)
class PrivacyPolicy:
    """Columns to drop and to hash (HMAC-sha256 keyed with the salt in `salt_env`)."""

    drop: tuple[str, ...] = ()
    hash: tuple[str, ...] = ()
    salt_env: str = DEFAULT_SALT_ENV

    def __bool__(self) -> bool:
        return bool(self.drop or self.hash)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.drop, *self.hash)

    def as_dict(self) -> dict[str, Any]:
        """The manifest's `privacy` entry (the salt's variable name, never the salt)."""
        return {"drop": list(self.drop), "hash": list(self.hash), "salt_env": self.salt_env}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> PrivacyPolicy:
        if not raw:
            return cls()
        return cls(
            drop=tuple(str(c) for c in raw.get("drop") or ()),
            hash=tuple(str(c) for c in raw.get("hash") or ()),
            salt_env=str(raw.get("salt_env") or DEFAULT_SALT_ENV),
        )

    def rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` with the dropped columns removed and the hashed columns hashed."""
        from mlconf.components.pii_guard import protect

        if not self:
            return frame
        return protect(frame, list(self.drop), list(self.hash), self.salt_env)

    def records(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """JSON records (one dict per row) protected as `rows` protects a frame; other fields
        keep their values and types exactly."""
        import pandas as pd

        touched = [c for c in self.columns if any(c in r for r in records)]
        if not touched:
            return records
        frame = self.rows(pd.DataFrame([{c: r.get(c) for c in touched} for r in records]))
        out = []
        for i, record in enumerate(records):
            kept = {k: v for k, v in record.items() if k not in self.drop}
            for column in self.hash:
                if column in kept and kept[column] is not None:
                    kept[column] = frame[column].iloc[i]
            out.append(kept)
        return out

    def text(self, text: str, rows: pd.DataFrame | Mapping[str, Iterable[Any]]) -> str:
        """`text` with every value of a protected column of `rows` (as written, or cut short
        as validation shows long values: `'abc...`) replaced by its hashed form, or by
        `<dropped>` for a dropped column."""
        if not self or not text:
            return text
        return _scrub(text, self._replacements(rows))

    def texts(self, texts: Iterable[str], rows: pd.DataFrame) -> list[str]:
        """`text` of each row's own text (a quarantine reason per row), hashing each distinct
        value once for all rows."""
        texts = list(texts)
        if not self:
            return texts
        found = self._replacements(rows)
        present = [c for c in self.columns if c in rows.columns]
        out = []
        for i, text in enumerate(texts):
            values = (str(rows[c].iloc[i]) for c in present)
            mine = {v: found[v] for v in values if v in found}
            out.append(_scrub(text, mine) if mine and isinstance(text, str) else text)
        return out

    def error(self, exc: MlconfError, rows: pd.DataFrame) -> MlconfError:
        """`exc` with `text` applied to its message (what and fix); `exc` if nothing changed."""
        if not self:
            return exc
        found = self._replacements(rows)
        what, fix = _scrub(exc.what, found), _scrub(exc.fix, found) if exc.fix else exc.fix
        if (what, fix) == (exc.what, exc.fix):
            return exc
        return MlconfError(what, where=exc.where, fix=fix)

    def _replacements(self, rows: pd.DataFrame | Mapping[str, Iterable[Any]]) -> dict[str, str]:
        """Each distinct raw value (as text) of a protected column and what replaces it."""
        import pandas as pd

        out: dict[str, str] = {}
        for column in self.columns:
            if column not in rows:
                continue
            values = pd.Series(list(rows[column]), dtype=object).dropna().astype(str)
            values = values[(values.str.strip() != "") & ~values.str.fullmatch(_hashed())]
            distinct = pd.Series(values.unique(), dtype=object)
            if not len(distinct):
                continue
            if column in self.drop:
                shown = [DROPPED] * len(distinct)
            else:
                from mlconf.components.pii_guard import hash_values, read_salt

                shown = list(hash_values(distinct, read_salt(self.salt_env, [column])))
            out.update(zip(distinct, shown, strict=True))
        return out


def _scrub(text: str, replacements: dict[str, str]) -> str:
    """`text` with each raw value of `replacements` (whole, or cut short as `'abc...`)
    replaced by what replaces it."""
    if not replacements:
        return text
    by_length = sorted(replacements, key=len, reverse=True)

    def cut(match: re.Match[str]) -> str:
        shown = match.group(2)
        for raw in by_length:
            if raw.startswith(shown) or _repr_body(raw).startswith(shown):
                return f"{match.group(1)}{replacements[raw]}{match.group(1)}"
        return match.group(0)

    text = _CUT.sub(cut, text)
    lookup = {_repr_body(raw): replacements[raw] for raw in by_length}
    lookup.update(replacements)
    pattern = "|".join(re.escape(v) for v in sorted(lookup, key=len, reverse=True))
    # a value inside a longer word or number is not that value (row 12 is not value 1)
    return re.sub(rf"(?<![\w@.+-])(?:{pattern})(?![\w@-])", lambda m: lookup[m.group(0)], text)


def _hashed() -> str:
    from mlconf.components.pii_guard import HASHED

    return HASHED


def _repr_body(value: str) -> str:
    """How the value reads inside its repr (quotes off): backslashes and quotes escaped."""
    return repr(value)[1:-1]


def model_policy(model: Any) -> PrivacyPolicy:
    """The policy a trained model was trained under: the manifest's `privacy` entry, or, for
    a model saved before it was recorded, its pipeline's `pii_guard` step."""
    manifest = getattr(model, "manifest", None) or {}
    if isinstance(manifest.get("privacy"), Mapping):
        return PrivacyPolicy.from_dict(manifest["privacy"])
    from mlconf.components.pii_guard import PiiGuard

    for _, step in getattr(getattr(model, "pipeline", None), "steps", []) or []:
        if isinstance(step, PiiGuard):
            return PrivacyPolicy(
                drop=tuple(step.drop_columns),
                hash=tuple(step.hash_columns),
                salt_env=step.salt_env,
            )
    return PrivacyPolicy()


def logged_inputs(model: Any, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records as the log stores them: the model's privacy policy applied (its dropped
    columns left out, its hashed columns hashed), never the raw personal values."""
    return model_policy(model).records(records)
