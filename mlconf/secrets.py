"""Credentials never leave in output: one place that hides them in URLs and free text.

Database URLs may carry a password (`postgresql://user:s3cret@host/db`); configs, run
records, reports, logs and error messages show such URLs with `***` in its place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TextIO
from urllib.parse import unquote

MASK = "***"
# scheme://user:password@  -> the password is group 2 (anything up to the last @ of the
# authority, so a password holding '@' or ':' is still hidden whole).
_CREDENTIALS = re.compile(r"(\b[A-Za-z][\w+.-]*://[^\s:/@]*:)([^\s/]*)@")


def mask_url(url: str | None) -> str | None:
    """The URL with its password replaced by ***; None stays None. Never fails."""
    if url is None:
        return None
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # only for display: any odd URL is masked as text instead
        return mask_text(url)


def passwords_in(text: str) -> set[str]:
    """The passwords of the URLs in `text`, as written and as %-decoded."""
    found: set[str] = set()
    for match in _CREDENTIALS.finditer(text):
        password = match.group(2)
        if password and password != MASK:
            found.update({password, unquote(password)})
    return found


def mask_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with URL passwords and every given secret (API keys, ...) replaced by ***.

    Passwords of URLs in `secrets` are hidden wherever they appear in `text`, also outside
    a URL (a driver may quote them in an error message)."""
    hidden: set[str] = set()
    for secret in secrets:
        if secret:
            hidden |= passwords_in(secret) if "://" in secret else {secret}
    text = _CREDENTIALS.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    for secret in sorted(hidden, key=len, reverse=True):
        if len(secret) >= 3:  # a one- or two-letter "secret" would mask ordinary words
            text = text.replace(secret, MASK)
    return text


class MaskedStream:
    """A text stream that hides URL passwords in everything written to it (for stderr while
    Hydra runs a job: it echoes the overrides, as typed, when a job fails)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(mask_text(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
