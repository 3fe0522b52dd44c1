"""Redaction for reports shared outside the data office: the same findings (same ids, same
counts, same ids of records) with names reduced to initials, emails, usernames and phones masked
except their last characters, and street addresses withheld.

Redaction is a transformation of the findings and the generation preview *before* any report is
written, so every output (workbook, HTML with its embedded JSON and household pictures,
runbooks, findings.json) is made from redacted data and nothing downstream can forget it.

Fields are redacted by what they are where the finding says so (``first_name``, ``email``,
``cell_phone``, ``street``, the ``names`` map, household labels). Free text (titles, evidence,
fix steps, preview reasons) is searched for the board's own personal strings: every word of
every first and last name on the board (students, contact records, staff), every email-like
token and every board email, and every phone number whose digits are a board phone's. The
board is read once to learn those strings; the reports still never read it.

Known limits: a name word that is also an ordinary word (a surname "Hill") is reduced wherever
it appears in free text; school names are not personal data and are kept, so a school named for
a saint keeps that saint's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

import pandas as pd

from audits.board import Board
from audits.findings import Finding

MASK = "•••"
KEEP_LAST = 4
"""Characters of an email, username or phone left visible: enough to tell two apart."""

NAME_KEYS = frozenset({"first_name", "last_name", "name", "full_name"})
EMAIL_KEYS = frozenset({"email", "username", "username_key", "before", "after", "new_value",
                        "value"})
PHONE_KEYS = frozenset({"home_phone", "cell_phone", "work_phone", "phone"})
WITHHELD_KEYS = frozenset({"street", "address", "postal_code"})
ID_KEYS = frozenset({"id", "ref", "source", "target", "contact_id", "student_id", "account_id",
                     "staff_id", "school_id", "person_id", "finding", "check", "severity", "kind",
                     "keep", "retire", "action", "relationship", "portal_access", "account_type",
                     "status", "column", "table", "key", "from"})

_WORD = re.compile(r"[^\W\d_]+")
_AT_TOKEN = re.compile(r"[^\s()\[\]{}<>\"',;]*@[^\s()\[\]{}<>\"',;]*")
_TOKEN = re.compile(r"[^\s()\[\]{}<>\"',;]+")
_PHONE = re.compile(r"(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
_DIGITS = re.compile(r"\D+")
_VERDICT = re.compile(r"^((?:\S+~\S+: )?)(same|similar|different|on one record only|missing)")


def _text_values(series: pd.Series) -> list[str]:
    values = series.astype(object).where(series.notna(), "").astype(str).str.strip()
    return values[values != ""].unique().tolist()


@dataclass(frozen=True)
class Redactor:
    """The board's personal strings, and how each kind of value is reduced."""

    name_words: frozenset[str] = frozenset()
    """Casefolded words of every first and last name on the board."""
    emails: frozenset[str] = frozenset()
    """Casefolded board emails and usernames (including malformed ones)."""
    phone_digits: frozenset[str] = frozenset()

    @classmethod
    def from_board(cls, board: Board) -> "Redactor":
        words: set[str] = set()
        for table in ("students", "contacts", "staff"):
            frame = board[table]
            for column in ("first_name", "last_name"):
                if column in frame.columns:
                    for value in _text_values(frame[column]):
                        words.update(w.casefold() for w in _WORD.findall(value) if len(w) >= 2)
        emails: set[str] = set()
        for table, column in (("contacts", "email"), ("staff", "email"), ("accounts", "username")):
            frame = board[table]
            if column in frame.columns:
                emails.update(v.casefold() for v in _text_values(frame[column])
                              if len(v) >= 4 and ("@" in v or "." in v))
        digits: set[str] = set()
        contacts = board.contacts
        for column in PHONE_KEYS & set(contacts.columns):
            for value in _text_values(contacts[column]):
                number = _DIGITS.sub("", value)
                if len(number) >= 7:
                    digits.add(number[-10:])
        return cls(frozenset(words), frozenset(emails), frozenset(digits))

    # ------------------------------------------------------------------ one kind of value
    @staticmethod
    def initials(text: str) -> str:
        """``Jean-Baptiste O'Brien`` -> ``J.-B. O'B.``: every word to its first letter."""
        return _WORD.sub(lambda m: m.group(0)[0] + ".", str(text))

    @staticmethod
    def mask(text: str) -> str:
        """``jen.smith@example.ca`` -> ``•••e.ca``: only the last characters stay."""
        text = str(text).strip()
        if not text:
            return ""
        return MASK + (text[-KEEP_LAST:] if len(text) > KEEP_LAST + 2 else "")

    @staticmethod
    def mask_phone(text: str) -> str:
        digits = _DIGITS.sub("", str(text))
        return MASK + digits[-KEEP_LAST:] if digits else ""

    def label(self, text: str) -> str:
        """A display label: a username/email is masked, a name reduced to initials."""
        text = str(text)
        if "@" in text or text.strip().casefold() in self.emails:
            return self.mask(text)
        return self.initials(text)

    def text(self, text: str) -> str:
        """Free text with every board email, phone and name word in it reduced."""
        text = _AT_TOKEN.sub(lambda m: self.mask(m.group(0)) if len(m.group(0)) > 1 else m.group(0),
                             str(text))
        if self.emails:
            text = _TOKEN.sub(lambda m: self.mask(m.group(0))
                              if m.group(0).casefold().rstrip(".") in self.emails else m.group(0),
                              text)
        if self.phone_digits:
            text = _PHONE.sub(lambda m: self.mask_phone(m.group(0))
                              if _DIGITS.sub("", m.group(0))[-10:] in self.phone_digits
                              else m.group(0), text)
        if self.name_words:
            text = _WORD.sub(lambda m: m.group(0)[0] + "."
                             if len(m.group(0)) >= 2 and m.group(0).casefold() in self.name_words
                             else m.group(0), text)
        return text

    def withheld(self, text: str) -> str:
        """An address in evidence: the verdict stays (``same``), the address goes."""
        parts = []
        for part in str(text).split("; "):
            found = _VERDICT.match(part)
            parts.append(found.group(1) + found.group(2) + " (withheld)" if found else MASK)
        return "; ".join(parts)

    def value(self, key: str | None, value: Any) -> Any:
        """``value`` found under ``key`` in a finding, redacted by what the key says it is."""
        if isinstance(value, Mapping):
            if key == "names":
                return {k: self.label(v) for k, v in value.items()}
            return {k: self.value(str(k), v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(key, v) for v in value)
        if not isinstance(value, str) or not value:
            return value
        if key in ID_KEYS:
            return value
        if key in NAME_KEYS:
            return self.initials(value)
        if key in PHONE_KEYS:
            return self.mask_phone(value)
        if key in WITHHELD_KEYS:
            return self.withheld(value) if _VERDICT.match(value) else MASK
        if key in EMAIL_KEYS:
            return self.mask(value) if ("@" in value or value.casefold() in self.emails) \
                else self.text(value)
        return self.text(value)

    # ---------------------------------------------------------------- findings and frames
    def household(self, household: Mapping[str, Any]) -> dict[str, Any]:
        nodes = []
        for node in household.get("nodes", []) or []:
            node = dict(node)
            if "label" in node and node.get("kind") != "school":
                node["label"] = self.label(node["label"])
            nodes.append(node)
        edges = [self.value("edge", dict(edge)) for edge in household.get("edges", []) or []]
        return {**{k: v for k, v in household.items() if k not in ("nodes", "edges")},
                "nodes": nodes, "edges": edges}

    def finding(self, finding: Finding) -> Finding:
        """The same finding (id, check, severity, ids, counts) with its personal data reduced."""
        return replace(
            finding,
            title=self.text(finding.title),
            username=self.mask(finding.username) if finding.username else finding.username,
            evidence={k: (self.withheld(v) if k in WITHHELD_KEYS and isinstance(v, str)
                          else self.value(k, v)) for k, v in finding.evidence.items()},
            fix=self.value("fix", dict(finding.fix)),
            names={k: self.label(v) for k, v in finding.names.items()},
            household=self.household(finding.household) if finding.household else {},
        )

    def findings(self, findings: Iterable[Finding]) -> list[Finding]:
        return [self.finding(f) for f in findings]

    def preview(self, frame: pd.DataFrame | None) -> pd.DataFrame | None:
        """The generation preview with names, usernames and problem texts reduced."""
        if frame is None:
            return None
        out = frame.copy()
        for column in out.columns:
            if column in ID_KEYS or column in ("student_ids", "related", "student_count",
                                              "outcome"):
                continue
            values = out[column]
            if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
                continue
            text = values.astype(object).where(values.notna(), "").astype(str)
            if column in NAME_KEYS:
                reduce = self.initials
            elif column in EMAIL_KEYS or column in PHONE_KEYS:
                reduce = self.mask if column in EMAIL_KEYS else self.mask_phone
            else:
                reduce = self.text
            # Per distinct value: a 400k-row preview has far fewer distinct texts.
            distinct = {value: reduce(value) for value in text.unique().tolist()}
            out[column] = text.map(distinct).astype(str)
        return out


def redact_findings(findings: Iterable[Finding], board: Board) -> list[Finding]:
    return Redactor.from_board(board).findings(findings)


__all__ = ["KEEP_LAST", "MASK", "Redactor", "redact_findings"]
