"""Naming schemas: the username CONNECT gives an account, and whether an email can be one.

The SIS builds a username from the person record with the naming schema of the account type
(set in the config): ``email`` makes it the person's email, ``first.last`` makes it the
ascii-folded first and last name. A contact record whose email is blank, malformed or a
placeholder cannot get a parent account under the ``email`` schema: generation fails for it.

The scalar functions answer for one record; the ``*_series`` functions answer for a whole
table at once (boards reach ~400,000 contact records) and agree with the scalar ones.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from unidecode import unidecode

# Values that clerks type into an email field when the parent has none. They are not emails,
# and an account generated from one would be shared by every family with the same placeholder.
PLACEHOLDER_EMAILS: frozenset[str] = frozenset({
    "none", "na", "n/a", "n.a.", "n.a", "unknown", "null", "nil", "no email", "noemail",
    "no-email", "no", "-", "--", ".", "x", "xx", "xxx", "tbd", "0", "none given", "not given",
    "refused", "declined",
})
# Local parts that make an otherwise well-formed address a placeholder (``noemail@board.ca``).
PLACEHOLDER_LOCAL_PARTS: frozenset[str] = frozenset({
    "none", "noemail", "no-email", "no.email", "no_email", "nomail", "na", "unknown", "null",
    "noreply", "no-reply", "donotreply", "do-not-reply", "test",
})

# One @, a non-empty local part of the usual characters, a domain of dot-separated labels
# ending in a label of two or more letters. Deliberately stricter than RFC 5322: a username
# CONNECT will accept and a parent can type.
EMAIL_PATTERN = (
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}"
)
_EMAIL_RE = re.compile(EMAIL_PATTERN)


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip().lower()


def email_problem(email: object) -> str | None:
    """Why ``email`` cannot be a username under the ``email`` schema; ``None`` when it can."""
    text = _clean(email)
    if not text:
        return "no email"
    if text in PLACEHOLDER_EMAILS:
        return f"not an email: {text!r}"
    if any(ch.isspace() for ch in text):
        return "contains a space"
    ats = text.count("@")
    if ats == 0:
        return "malformed: no @"
    if ats > 1:
        return "malformed: more than one @"
    local, domain = text.split("@")
    if not local:
        return "malformed: nothing before the @"
    if not domain:
        return "malformed: missing domain"
    if "." not in domain:
        return "malformed: domain has no dot"
    if local in PLACEHOLDER_LOCAL_PARTS:
        return f"a placeholder, not a personal email: {text!r}"
    if not _EMAIL_RE.fullmatch(text):
        return "malformed: not a valid email address"
    return None


def first_last(first: object, last: object) -> str | None:
    """The ``first.last`` username: ascii-folded, lowercased, spaces removed; ``None`` when
    either name is blank after folding."""
    parts = [re.sub(r"\s+", "", unidecode(_clean(name))).lower() for name in (first, last)]
    if not all(parts):
        return None
    return ".".join(parts)


def username_for(schema: str, email: object, first: object, last: object) -> str | None:
    """The username the SIS would give a person under ``schema``; ``None`` when it can't."""
    if schema == "email":
        return None if email_problem(email) else _clean(email)
    if schema == "first.last":
        return first_last(first, last)
    raise ValueError(f"unknown naming schema {schema!r}")


def username_problem(schema: str, email: object, first: object, last: object) -> str | None:
    """Why a person has no username under ``schema``; ``None`` when they have one."""
    if schema == "email":
        return email_problem(email)
    if first_last(first, last) is None:
        return "first or last name is blank"
    return None


# ------------------------------------------------------------------ whole tables at once

def _clean_series(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower()


def email_problem_series(emails: pd.Series) -> pd.Series:
    """:func:`email_problem` for every value: the problem text, ``""`` where the email is usable."""
    return _email_problems(_clean_series(emails))


# A well-formed email's local part has no @, so "its local part is a placeholder" is "it starts
# with a placeholder and an @": one startswith per email instead of a split.
_PLACEHOLDER_STARTS = tuple(sorted(f"{local}@" for local in PLACEHOLDER_LOCAL_PARTS))


def _email_problems(text: pd.Series) -> pd.Series:
    """:func:`email_problem_series` of emails already cleaned by :func:`_clean_series`."""
    # Most emails are well formed: for those the only possible problem is a placeholder local
    # part, so the slower tests below run on the rest only (a few percent of a board).
    valid = text.str.fullmatch(EMAIL_PATTERN).to_numpy(dtype=bool)
    placeholder_local = valid & text.str.startswith(_PLACEHOLDER_STARTS).to_numpy(dtype=bool)
    problems = pd.Series(np.where(placeholder_local, "placeholder-local", ""), index=text.index,
                         dtype=object)
    rest = ~valid
    if rest.any():
        problems[rest] = _email_problem_codes(text[rest])
    # The two messages that quote the value are few; format only those rows.
    quoted = problems == "placeholder"
    problems[quoted] = text[quoted].map(lambda t: f"not an email: {t!r}")
    quoted = problems == "placeholder-local"
    problems[quoted] = text[quoted].map(lambda t: f"a placeholder, not a personal email: {t!r}")
    return problems.astype(str)


def _email_problem_codes(text: pd.Series) -> pd.Series:
    """The problem of each cleaned email, in :func:`email_problem`'s precedence order, with the
    two quoting messages left as the codes ``placeholder`` and ``placeholder-local``."""
    ats = text.str.count("@")
    parts = text.str.split("@", n=1)
    local = parts.str[0].astype(object)
    local = local.where(local.notna(), "").astype(str)
    domain = parts.str[1].astype(object)
    domain = domain.where(domain.notna(), "").astype(str)
    placeholder = text.isin(PLACEHOLDER_EMAILS)
    conditions = [
        text == "",
        placeholder,
        text.str.contains(r"\s", regex=True),
        ats == 0,
        ats > 1,
        local == "",
        domain == "",
        ~domain.str.contains(".", regex=False),
        local.isin(PLACEHOLDER_LOCAL_PARTS),
        ~text.str.fullmatch(EMAIL_PATTERN),
    ]
    choices = [
        "no email", "placeholder", "contains a space", "malformed: no @",
        "malformed: more than one @", "malformed: nothing before the @",
        "malformed: missing domain", "malformed: domain has no dot", "placeholder-local",
        "malformed: not a valid email address",
    ]
    return pd.Series(np.select([c.to_numpy(dtype=bool) for c in conditions], choices,
                               default=""), index=text.index, dtype=object)


def first_last_series(first: pd.Series, last: pd.Series) -> pd.Series:
    """:func:`first_last` for every row: the username, ``""`` where either name is blank."""
    def fold(series: pd.Series) -> pd.Series:
        cleaned = _clean_series(series)
        mapping = {name: re.sub(r"\s+", "", unidecode(name)).lower()
                   for name in pd.unique(cleaned)}
        return cleaned.map(mapping)

    f, l_ = fold(first), fold(last)
    joined = f + "." + l_
    return joined.where((f != "") & (l_ != ""), "").astype(str)


def usernames_series(schema: str, emails: pd.Series, first: pd.Series,
                     last: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Usernames and problems for a whole table under ``schema``: two aligned series of text,
    the username (``""`` where there is none) and why there is none (``""`` where there is)."""
    if schema == "email":
        text = _clean_series(emails)
        problems = _email_problems(text)
        names = text.where(problems == "", "")
        return names.astype(str), problems
    if schema == "first.last":
        names = first_last_series(first, last)
        problems = pd.Series(np.where(names == "", "first or last name is blank", ""),
                             index=names.index, dtype=object).astype(str)
        return names, problems
    raise ValueError(f"unknown naming schema {schema!r}")
