"""PII detectors: which share of a column's values look like one kind of personal data.

Each detector takes the non-missing values of one column as text and returns a boolean
array (a value matches or not), using pandas' vectorised string methods; card numbers
are confirmed with the Luhn checksum, computed on a digit matrix. Kinds:

- email: local@domain.tld anywhere in the value
- phone: a whole value of 8-15 digits written with `+` or separators (space . - ( )), so
  plain digit strings (ids, amounts) are not taken for phone numbers; dates are not either
- card: a whole value of 13-19 digits (spaces or dashes allowed) passing the Luhn check
- national_id: US Social Security numbers written 123-45-6789 (area not 000, 666 or
  9xx; group not 00; serial not 0000) and UK National Insurance numbers (AB 12 34 56 C:
  two letters from the allowed prefixes (no D F I Q U V first, no BG GB KN NK NT TN ZZ),
  six digits, suffix A-D)
- ip: an IPv4 address anywhere in the value, or a whole value that is an IPv6 address
- name: the column's name says a person's name and values are capitalised words: one
  to four for a part of a name (first_name, surname, ...), two to four for a whole name
  (name, full_name, customer_name, customer, ...); `city_name` or `product name` are not
  hints
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

KINDS: tuple[str, ...] = ("email", "card", "national_id", "ip", "phone", "name")

EMAIL = r"[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
PHONE = r"\+?[\d\s().\-]{8,24}"
PHONE_SEPARATED = r"^\+|[\s().\-]"
DATE = r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
CARD = r"[0-9](?:[ \-]?[0-9]){12,18}"
SSN = r"(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)"
NINO = (
    r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\d.])"
IPV6 = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?"
NAME_WORDS = r"[^\W\d_]+(?:['\-][^\W\d_]+)*(?:\s+[^\W\d_]+(?:['\-][^\W\d_]+)*\.?){0,3}"
# a column holding one part of a person's name: one capitalised word is enough
PART_NAMES = frozenset(
    {
        "first_name",
        "firstname",
        "last_name",
        "lastname",
        "surname",
        "given_name",
        "givenname",
        "family_name",
        "familyname",
        "forename",
        "middle_name",
        "maiden_name",
        "nickname",
        "nick_name",
    }
)
# a column holding a person's whole name ("name", "full_name", "customer_name",
# "customer"): two to four capitalised words. "city_name" or "product_name" are not.
PERSONS = frozenset(
    {
        "customer",
        "client",
        "patient",
        "employee",
        "person",
        "owner",
        "holder",
        "account_holder",
        "card_holder",
        "cardholder",
        "contact",
        "user",
        "member",
        "student",
        "applicant",
        "recipient",
        "sender",
        "driver",
        "passenger",
        "full",
        "legal",
    }
)


def luhn_valid(digits: pd.Series) -> np.ndarray:
    """True where a string of digits passes the Luhn checksum (vectorised over values)."""
    if len(digits) == 0:
        return np.zeros(0, dtype=bool)
    width = int(digits.str.len().max())
    padded = digits.str.pad(width, side="left", fillchar="0")
    matrix = (
        np.frombuffer("".join(padded).encode("ascii"), dtype=np.uint8).reshape(-1, width) - 48
    ).astype(np.int64)
    # double every second digit counted from the right (the check digit is not doubled)
    doubled = np.zeros(width, dtype=bool)
    doubled[width - 2 :: -2] = True
    values = np.where(doubled, matrix * 2, matrix)
    values = np.where(values > 9, values - 9, values)
    return np.asarray(values.sum(axis=1) % 10 == 0)


def _email(values: pd.Series) -> np.ndarray:
    return values.str.contains(EMAIL, regex=True).to_numpy(dtype=bool)


def _card(values: pd.Series) -> np.ndarray:
    stripped = values.str.strip()
    shaped = stripped.str.fullmatch(CARD).to_numpy(dtype=bool)
    found = np.zeros(len(values), dtype=bool)
    if shaped.any():
        digits = stripped[shaped].str.replace(r"[^0-9]", "", regex=True)
        found[np.flatnonzero(shaped)] = luhn_valid(digits)
    return found


def _national_id(values: pd.Series) -> np.ndarray:
    ssn = values.str.contains(SSN, regex=True).to_numpy(dtype=bool)
    nino = values.str.upper().str.contains(NINO, regex=True).to_numpy(dtype=bool)
    return ssn | nino


def _ip(values: pd.Series) -> np.ndarray:
    v4 = values.str.contains(IPV4, regex=True).to_numpy(dtype=bool)
    stripped = values.str.strip()
    v6 = stripped.str.fullmatch(IPV6).to_numpy(dtype=bool) & (
        stripped.str.count(":").to_numpy() >= 2
    )
    if v6.any():
        import ipaddress

        def is_v6(text: str) -> bool:
            try:
                return ipaddress.ip_address(text.split("%")[0]).version == 6
            except ValueError:
                return False

        # only the few candidates shaped like IPv6 are parsed one by one
        v6[np.flatnonzero(v6)] = stripped[v6].map(is_v6).to_numpy(dtype=bool)
    return v4 | v6


def _phone(values: pd.Series) -> np.ndarray:
    stripped = values.str.strip()
    shaped = stripped.str.fullmatch(PHONE).to_numpy(dtype=bool)
    digits = stripped.str.count(r"\d").to_numpy()
    separated = stripped.str.contains(PHONE_SEPARATED, regex=True).to_numpy(dtype=bool)
    dates = stripped.str.fullmatch(DATE).to_numpy(dtype=bool)
    return shaped & separated & ~dates & (digits >= 8) & (digits <= 15)


def _name(values: pd.Series, min_words: int = 1) -> np.ndarray:
    stripped = values.str.strip()
    words = stripped.str.fullmatch(NAME_WORDS).to_numpy(dtype=bool)
    many = (stripped.str.count(r"\s+").to_numpy() + 1) >= min_words
    return words & many & stripped.str.istitle().to_numpy(dtype=bool)


DETECTORS: dict[str, Callable[[pd.Series], np.ndarray]] = {
    "email": _email,
    "card": _card,
    "national_id": _national_id,
    "ip": _ip,
    "phone": _phone,
    "name": _name,
}


def name_hint(column: object) -> str | None:
    """ "part" for a column named like part of a person's name, "full" for a whole name.

    camelCase, spaces and case do not matter: `FirstName`, `first name` and `first_name`
    are the same hint.
    """
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(column))
    text = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")
    if text in PART_NAMES:
        return "part"
    if text in ("name", "names", "fullname") or text in PERSONS:
        return "full"
    head, _, tail = text.rpartition("_")
    if tail in ("name", "names") and head in PERSONS:
        return "full"
    return None


def is_text(series: pd.Series) -> bool:
    """String-like columns are scanned: str, object and categorical dtypes."""
    dtype = series.dtype
    return bool(
        pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def scan_column(column: object, series: pd.Series) -> dict[str, tuple[float, np.ndarray]]:
    """Share of non-missing values matching each kind, with the matching values' mask."""
    values = series.dropna().astype(str)
    values = values[values.str.strip() != ""]
    if len(values) == 0:
        return {}
    found = {}
    values = values.reset_index(drop=True)
    specific = np.zeros(len(values), dtype=bool)
    for kind, detect in DETECTORS.items():
        if kind == "name":
            hint = name_hint(column)
            if hint is None:
                continue
            mask = _name(values, min_words=1 if hint == "part" else 2)
        else:
            mask = detect(values)
        if kind in ("card", "national_id", "ip"):
            specific |= mask
        elif kind == "phone":
            mask &= ~specific  # an SSN, a card number or an address is not a phone number
        if mask.any():
            found[kind] = (float(mask.mean()), values.to_numpy()[mask])
    return found


def mask(value: str, kind: str) -> str:
    """A value shown with almost every character hidden: j***@e***.com, ****1234."""
    text = str(value).strip()
    if kind == "email":
        match = re.search(EMAIL, text)
        if match:
            local, _, domain = match.group(0).partition("@")
            host, _, tld = domain.rpartition(".")
            return f"{local[:1]}***@{host[:1]}***.{tld}"
    if kind == "card":
        digits = re.sub(r"\D", "", text)
        return f"****{digits[-4:]}"
    if kind == "ip":
        head = re.split(r"[.:]", text, maxsplit=1)[0]
        return f"{head}.***" if "." in text else f"{head}:***"
    if kind == "name":
        return " ".join(f"{word[:1]}***" for word in text.split())
    return f"***{text[-2:]}" if len(text) > 4 else "***"
