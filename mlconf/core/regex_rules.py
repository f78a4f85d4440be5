"""Schema `regex:` rules applied to data with bounded work (no ReDoS).

One function, `full_matches`, is what the server's request check and the schema validation
of training, batch scoring and `mlconf monitor` call, so all of them agree on what matches.
A pattern that RE2 can compile runs in RE2 (linear time): pyarrow's, vectorised, when pyarrow
is installed, else the `re2` module of google-re2 (a core dependency). A pattern
RE2 refuses (lookarounds, backreferences, atomic groups) runs in the `regex` module, a
backtracking engine like `re` but with a timeout: a value that takes longer than `timeout`
seconds is *timed out*, and after `max_slow` such values the rest are *skipped*, so one
crafted value (e.g. "a" * 36 + "!" against `(?=a)(a|a)+`) costs a bounded time instead of
doubling with every character. Callers count both as not matching and say so.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Seconds per value (the engine notices a little late: up to about 3x). A sane pattern needs
# microseconds on a sane value.
TIMEOUT = 0.1
MAX_SLOW = 10


@dataclass
class RegexResult:
    """Per value: whether it matched the whole pattern; and which could not be decided."""

    matched: list[bool]
    timed_out: list[int] = field(default_factory=list)  # positions, counted as not matching
    skipped: list[int] = field(default_factory=list)  # not tried after max_slow timeouts
    engine: str = "re2"

    @property
    def undecided(self) -> list[int]:
        """Positions that count as not matching because the engine gave up on them."""
        return self.timed_out + self.skipped


@functools.cache
def _re2_library() -> str:
    """'pyarrow' when it can be imported (vectorised), else 're2' (google-re2); looked up
    once, as a failed import searches the whole path again."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return "re2"
    return "pyarrow"


def _re2_pattern(pattern: str) -> str | None:
    """The pattern anchored for RE2, or None when RE2 cannot compile it."""
    return _anchored(pattern, _re2_library())


@functools.lru_cache(maxsize=256)
def _anchored(pattern: str, library: str) -> str | None:
    anchored = rf"\A(?:{pattern})\z"
    if library == "re2":
        import re2

        try:
            _google_re2(anchored)
        except re2.error:
            return None
        return anchored
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array(["probe"], pa.large_string()), pattern=anchored)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return anchored


@functools.lru_cache(maxsize=256)
def _google_re2(anchored: str) -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # a refused pattern is expected here, not worth a log line
    return re2.compile(anchored, options)


def _re2_matches(anchored: str, texts: list[str]) -> list[bool] | None:
    """Each text's match, or None when a text is not valid UTF-8 (e.g. a lone surrogate),
    which RE2 cannot read."""
    if _re2_library() == "re2":
        compiled = _google_re2(anchored)
        try:
            return [compiled.search(text) is not None for text in texts]
        except UnicodeEncodeError:
            return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(texts, pa.large_string())
    except (UnicodeEncodeError, pa.ArrowException):
        return None
    found = pc.match_substring_regex(array, pattern=anchored)
    return [bool(x) for x in found.to_pylist()]


@functools.lru_cache(maxsize=256)
def _backtracking(pattern: str) -> Any:
    import regex

    return regex.compile(pattern)


def engine_of(pattern: str) -> str:
    """'re2' (linear time) or 'backtracking' (bounded by a timeout per value)."""
    return "re2" if _re2_pattern(pattern) is not None else "backtracking"


def full_matches(
    pattern: str,
    values: Sequence[Any],
    *,
    timeout: float = TIMEOUT,
    max_slow: int = MAX_SLOW,
) -> RegexResult:
    """Whether each value (as text) matches `pattern` as a whole, with bounded work."""
    texts = [v if isinstance(v, str) else str(v) for v in values]
    anchored = _re2_pattern(pattern)
    if anchored is not None:
        found = _re2_matches(anchored, texts)
        if found is not None:
            return RegexResult(found)
        # e.g. a lone surrogate: RE2 needs UTF-8; let the timed engine decide
    compiled = _backtracking(pattern)
    matched = [False] * len(texts)
    timed_out: list[int] = []
    for i, text in enumerate(texts):
        if len(timed_out) >= max_slow:
            return RegexResult(matched, timed_out, list(range(i, len(texts))), "backtracking")
        try:
            matched[i] = compiled.fullmatch(text, timeout=timeout) is not None
        except TimeoutError:
            timed_out.append(i)
    return RegexResult(matched, timed_out, [], "backtracking")


def slow_message(column: str, pattern: str, result: RegexResult, timeout: float = TIMEOUT) -> str:
    """What to tell the user when values could not be checked in time."""
    skipped = f", and {len(result.skipped)} more were not tried" if result.skipped else ""
    return (
        f"column '{column}': {len(result.timed_out)} value(s) could not be checked against its "
        f"rule regex({pattern!r}) within {timeout:g} s each{skipped}; they count as not "
        "matching. The pattern "
        "backtracks (nested quantifiers with lookarounds or backreferences): simplify "
        f"schema.columns.{column}.regex, e.g. without lookarounds so that RE2 can run it"
    )
