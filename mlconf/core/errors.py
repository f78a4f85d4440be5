"""The one exception type users see: a message that says what, where and how to fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MlconfError(Exception):
    """A user-facing error. The CLI prints its message without a traceback and exits non-zero."""

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        parts = [self.what if self.where is None else f"{self.where}: {self.what}"]
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        return "\n".join(parts)


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The known name a typo most likely meant, if any is close enough."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean X?' suffix, or an empty string."""
    guess = closest(name, candidates)
    return f" Did you mean '{guess}'?" if guess else ""


def unknown_parameter(
    owner: str, key: str, known: Iterable[str], *, where: str | None = None
) -> MlconfError:
    """The one error for a parameter a component, model or factory does not take: it names
    the closest known one and lists them all (in the order given), whichever config key it
    came from."""
    names = list(dict.fromkeys(str(name) for name in known))
    return MlconfError(
        f"{owner} has no parameter '{key}'.{did_you_mean(key, names)}",
        where=where,
        fix=f"use one of: {', '.join(names)}" if names else "it takes no parameters: remove it",
    )
