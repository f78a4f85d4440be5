"""Credentials never leave in output: one place that hides them in URLs and free text.

A URL may carry a credential in three places, and configs, run records, reports, logs,
error messages and tracebacks show each as `***`:
- the password of its authority (`postgresql://user:s3cret@host/db`);
- a query or fragment parameter whose name says secret (`?token=`, `&api_key=`, `sig=`,
  `X-Amz-Signature=`, `sslpassword=`, ...);
- the path of a web hook, which is itself the credential: everything after a `services`,
  `hooks`, `webhook(s)` or `bot...` segment (`https://hooks.example.com/services/***`), and
  elsewhere any long token-like segment (20+ characters mixing letters and digits).
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
# A whole URL in free text (quotes, brackets and whitespace end it); also a web URL whose
# `//` a file path collapsed (`Path("https://h/x")` prints as `https:/h/x`).
_URL = re.compile(
    r"\b((?:https?|wss?)(?=:/[^/])|[A-Za-z][\w+.-]*(?=://)):(/{1,2})([^\s'\"<>()\[\]{}`,]+)"
)
# A query/fragment parameter that holds a secret: (separator name=)(value).
_SECRET_PARAM = re.compile(
    r"(?i)([?&;#][\w.-]*(?:token|key|secret|passw(?:or)?d|pwd|sig|signature|auth|credential)"
    r"[\w.-]*=)([^&;#\s]*)"
)
# A field whose name says secret, in YAML, JSON, headers or overrides: (name: )(value).
# The value must be on the name's line (a YAML key with a nested block is not a secret),
# and a number or boolean is a setting (`max_tokens: 512`), never masked: a masked saved
# config must still load and type-check when a retrain reads it back.
_SECRET_FIELD = re.compile(
    r"(?i)(\b[\w-]*(?:token|api[_-]?key|access[_-]?key|secret|passw(?:or)?d|pwd|authorization)"
    r"[\w-]*['\"]?[ \t]*[:=][ \t]*['\"]?(?:(?:Bearer|Basic|Token)[ \t]+)?)"
    r"(?!(?:null|None|true|false|True|False|-?\d+(?:\.\d+)?|\*\*\*)(?:[\s'\",}\]]|$))"
    r"([^\s'\",}\]&;#]+)"
)
_WEB = ("http", "https", "ws", "wss")
# Path segments after which a web hook's path is its credential (Slack, Teams, Discord, ...).
_HOOK_SEGMENT = re.compile(r"(?i)^(services|hooks?|webhooks?|webhookb2|triggers)$")
_TOKEN_SEGMENT = re.compile(r"^(?=[^/]*[A-Za-z])(?=[^/]*\d)[\w\-.~:=+%]{20,}$")


def mask_url(url: str | None) -> str | None:
    """The URL with its password replaced by ***; None stays None. Never fails."""
    if url is None:
        return None
    try:
        from sqlalchemy.engine import make_url

        return mask_text(make_url(url).render_as_string(hide_password=True))
    except Exception:  # only for display: any odd URL is masked as text instead
        return mask_text(url)


def _query_start(rest: str) -> int:
    """Where the query or fragment of a URL (without its scheme) starts."""
    return min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))


def _secret_segments(scheme: str, rest: str) -> tuple[str, list[str]]:
    """(authority and path up to the secret segments, the secret segments) of a web URL."""
    if scheme.lower() not in _WEB:
        return rest, []
    authority, _, path = rest[: _query_start(rest)].partition("/")
    parts = path.split("/")
    for i, part in enumerate(parts):
        if _HOOK_SEGMENT.match(part) and any(parts[i + 1 :]):
            return "/".join([authority, *parts[: i + 1]]), [p for p in parts[i + 1 :] if p]
        if _TOKEN_SEGMENT.match(part) or (part.lower().startswith("bot") and ":" in part):
            return "/".join([authority, *parts[:i]]), [p for p in parts[i:] if p]
    return rest, []


def _mask_one(match: re.Match[str]) -> str:
    """One URL with its secret path segments and secret query values replaced by ***."""
    scheme, slashes, rest = match.groups()
    kept, secret = _secret_segments(scheme, rest)
    if secret:
        rest = f"{kept}/{MASK}{rest[_query_start(rest) :]}"
    rest = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}{MASK}" if m.group(2) else m.group(0), rest)
    return f"{scheme}:{slashes}{rest}"


def passwords_in(text: str) -> set[str]:
    """The secrets of the URLs in `text` (passwords, secret query values, web hook path
    tokens), as written and as %-decoded."""
    found: set[str] = set()
    for match in _CREDENTIALS.finditer(text):
        found.add(match.group(2))
    for match in _URL.finditer(text):
        scheme, _, rest = match.groups()
        found.update(m.group(2) for m in _SECRET_PARAM.finditer(rest))
        _, segments = _secret_segments(scheme, rest)
        found.update(s for s in segments if len(s) >= 8)
    found.discard(MASK)
    found.discard("")
    return found | {unquote(secret) for secret in found}


# A secret-named field that only names where the secret is (`api_key_env: MLCONF_API_KEY`).
_POINTER = re.compile(r"(?i)[_-](env|var|file|path|header|name|min_length)['\"]?\s*[:=]")


def _mask_field(match: re.Match[str]) -> str:
    return match.group(0) if _POINTER.search(match.group(1)) else f"{match.group(1)}{MASK}"


_REMEMBERED: set[str] = set()


def remember(secrets: Iterable[str | None]) -> None:
    """Hide these secrets (a command's config URLs and keys) in every later `mask_text` of
    this process: the last-resort traceback printer does not see the config."""
    _REMEMBERED.update(s for s in secrets if s)


def mask_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with URL credentials and every given secret (API keys, ...) replaced by ***.

    The credentials of URLs in `secrets` (and in those `remember`ed) are hidden wherever they
    appear in `text`, also outside a URL (a driver may quote them in an error message)."""
    hidden: set[str] = set()
    for secret in [*secrets, *_REMEMBERED]:
        if secret:
            hidden |= passwords_in(secret) if "://" in secret else {secret}
    text = _CREDENTIALS.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _URL.sub(_mask_one, text)
    text = _SECRET_FIELD.sub(_mask_field, text)
    for secret in sorted(hidden, key=len, reverse=True):
        if len(secret) >= 3:  # a one- or two-letter "secret" would mask ordinary words
            text = text.replace(secret, MASK)
    return text


def secrets_in(obj: Any) -> list[str]:
    """Every URL and every value of a secret-named key in a config (nested dicts, lists,
    dataclasses): what `mask_text` should also hide where it appears outside a URL."""
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj) and not isinstance(obj, type):
        obj = asdict(obj)
    found: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            field = f"{key}: {value}"
            if (
                isinstance(value, str)
                and _SECRET_FIELD.fullmatch(field)
                and not _POINTER.search(field)
            ):
                found.append(value)
            else:
                found += secrets_in(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            found += secrets_in(value)
    elif isinstance(obj, str) and "://" in obj:
        found.append(obj)
    return found


def format_exception(exc: BaseException) -> str:
    """The traceback Python would print for `exc`, with credentials masked."""
    import traceback

    return mask_text("".join(traceback.format_exception(exc)))


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
