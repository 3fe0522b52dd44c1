"""Redaction for reports shared outside the data office: the same findings (same ids, same
counts, same ids of records) with the board's personal values replaced wherever they occur:
names reduced to initials, emails, usernames and phones masked except their last characters,
street addresses and postal codes withheld.

Redaction is a transformation of the findings and the generation preview *before* any report is
written, so every output (workbook, HTML with its embedded JSON and household pictures,
runbooks, findings.json) is made from redacted data and nothing downstream can forget it.

What is replaced is the board's own values, not shapes of words. The board is read once to learn
them: every first name, last name and street of students, contact records and staff (matched
as whole words, case- and accent-insensitive, longest first, so ``Jean-Baptiste O'Brien`` goes
as one), every postal code, every email and username (and any token with an ``@``), and every
phone whose digits are a board phone's. The tool's own wording stays: a verdict
(``same (A.)``, ``similar: L. ~ L.``) and the words of titles and steps ("generation will be
refused") are never reduced, even when someone on the board is called Will. Such a word *is*
reduced where it stands in a name slot: a field that is a name, the name fields of the evidence,
a whole value that is a board name, one of the finding's own display names (``Will Smith``),
or the full name of a person on the board.

Known limit: school and city names are not personal data and are kept, so a school named for a
saint keeps that saint's name.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from audits.model.board import Board
from audits.model.findings import Finding

MASK = "•••"
KEEP_LAST = 4
"""Characters of an email, username or phone left visible: enough to tell two apart."""

NAME_KEYS = frozenset({"first_name", "last_name", "name", "full_name"})
EMAIL_KEYS = frozenset({"email", "username", "username_key", "before", "after", "new_value",
                        "value", "current_value"})
PHONE_KEYS = frozenset({"home_phone", "cell_phone", "work_phone", "phone"})
WITHHELD_KEYS = frozenset({"street", "address", "postal_code"})
ID_KEYS = frozenset({"id", "ref", "source", "target", "contact_id", "student_id", "account_id",
                     "staff_id", "school_id", "person_id", "finding", "check", "severity", "kind",
                     "keep", "retire", "action", "relationship", "portal_access", "account_type",
                     "status", "column", "table", "key", "from"})

NAME, STREET, POSTAL = "name", "street", "postal"
VERDICT_WORDS = frozenset({"same", "similar", "different", "on", "one", "record", "only",
                           "missing", "spelling", "nickname", "letter", "apart", "part", "of",
                           "a", "compound", "surname", "shared", "withheld"})
"""The evidence's own words: they stay even inside the name fields of the evidence."""
ENGLISH_WORDS = frozenset({"may", "will", "can", "grant", "must", "might", "shall", "should"})
"""Words of the tool's sentences that are also first or last names, kept even before the
tool's wording uses them."""
TOOL_MODULES = ("checks/steps.py", "checks/*/check.py", "preview.py", "household/usernames.py",
                "household/matching/evidence.py", "household/matching/links.py")
"""Where the tool's wording (titles, steps, reasons, notes) is written: patterns under
``audits/``, each of which must match a module."""

_WORD = re.compile(r"[^\W\d_]+")
_SPAN_TOKEN = re.compile(r"[^\W_]+")
_SPAN_GAP = re.compile(r"[ \t'’\-]{1,3}")
_AT_TOKEN = re.compile(r"[^\s()\[\]{}<>\"',;]*@[^\s()\[\]{}<>\"',;]*")
_TOKEN = re.compile(r"[^\s()\[\]{}<>\"',;]+")
_PHONE = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
_PHONE_ONLY = re.compile(r"[\d\s().+\-x]+")
_DIGITS = re.compile(r"\D+")
_VERDICT = re.compile(r"^((?:\S+~\S+: )?)(same|similar|different|on one record only|missing)")


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a word: ``Hélène`` and ``HELENE`` are one."""
    text = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def _key(text: str) -> tuple[str, ...]:
    return tuple(_SPAN_TOKEN.findall(fold(text)))


@lru_cache(maxsize=1)
def tool_words() -> frozenset[str]:
    """Every word of the tool's own wording: the string literals (not docstrings) of the modules
    that write titles, steps, evidence and preview reasons. Read from the source, so new wording
    is protected without a list to keep up to date."""
    root = Path(__file__).parent.parent
    files: list[Path] = []
    for pattern in TOOL_MODULES:
        found = sorted(root.glob(pattern))
        if not found:
            raise FileNotFoundError(f"redact.TOOL_MODULES: no module matches {pattern}")
        files.extend(found)
    words: set[str] = set(VERDICT_WORDS) | ENGLISH_WORDS
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        docstrings = {id(node.value) for node in ast.walk(tree)
                      if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docstrings:
                words.update(fold(w) for w in _WORD.findall(node.value))
    return frozenset(words)


def _text_values(series: pd.Series) -> list[str]:
    values = series.astype(object).where(series.notna(), "").astype(str).str.strip()
    return values[values != ""].unique().tolist()


@dataclass(frozen=True)
class Redactor:
    """The board's personal values, and how each kind of value is reduced."""

    spans: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    """Folded word sequence of a board value (a name, a street, a postal code) -> its kind."""
    emails: frozenset[str] = frozenset()
    """Casefolded board emails and usernames (including malformed ones)."""
    phone_digits: frozenset[str] = frozenset()
    protected: frozenset[str] = field(default_factory=tool_words)
    """Words of the tool's own wording: reduced only in a name slot."""

    @classmethod
    def from_values(cls, names: Iterable[str] = (), *, streets: Iterable[str] = (),
                    postal_codes: Iterable[str] = (), emails: Iterable[str] = (),
                    phones: Iterable[str] = (), full_names: Iterable[str] = ()) -> "Redactor":
        """A redactor for these values (``from_board`` gathers them from an export)."""
        spans: dict[tuple[str, ...], str] = {}
        for kind, values in ((POSTAL, postal_codes), (STREET, streets), (NAME, names),
                             (NAME, full_names)):
            for value in values:
                key = _key(value)
                if key and (kind != STREET or len(key) >= 2):
                    spans[key] = kind
        digits = {_DIGITS.sub("", str(p))[-10:] for p in phones}
        return cls(spans=spans,
                   emails=frozenset(e.strip().casefold() for e in emails if len(e.strip()) >= 4
                                    and ("@" in e or "." in e)),
                   phone_digits=frozenset(d for d in digits if len(d) >= 7))

    @classmethod
    def from_board(cls, board: Board) -> "Redactor":
        names: set[str] = set()
        full_names: set[str] = set()
        streets: set[str] = set()
        postal: set[str] = set()
        protected = tool_words()
        for table in ("students", "contacts", "staff"):
            frame = board[table]
            for column in ("first_name", "last_name"):
                if column in frame.columns:
                    names.update(_text_values(frame[column]))
            if "street" in frame.columns:
                streets.update(_text_values(frame["street"]))
            if "postal_code" in frame.columns:
                postal.update(_text_values(frame["postal_code"]))
            if {"first_name", "last_name"} <= set(frame.columns):
                # A full name is needed only where a part of it is also one of the tool's
                # words ("Will Smith"): every other part is replaced on its own.
                first = frame["first_name"].astype(str).str.strip()
                last = frame["last_name"].astype(str).str.strip()
                risky = first.str.casefold().isin(protected) | last.str.casefold().isin(protected)
                full_names.update((first[risky] + " " + last[risky]).unique().tolist())
        emails: set[str] = set()
        for table, column in (("contacts", "email"), ("staff", "email"), ("accounts", "username")):
            frame = board[table]
            if column in frame.columns:
                emails.update(_text_values(frame[column]))
        phones: list[str] = []
        for column in PHONE_KEYS & set(board.contacts.columns):
            phones.extend(_text_values(board.contacts[column]))
        return cls.from_values(names, streets=streets, postal_codes=postal, emails=emails,
                               phones=phones, full_names=full_names)

    # ------------------------------------------------------------------ one kind of value
    @staticmethod
    def initials(text: str) -> str:
        """``Jean-Baptiste O'Brien`` -> ``J.-B. O.'B.``: every word to its first letter."""
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

    def _mask_token(self, token: str) -> str:
        # A sentence may end right after an email: the full stop is not part of it.
        core = token.rstrip(".")
        return self.mask(core) + token[len(core):]

    def text(self, text: str, *, slot: bool = False,
             slots: frozenset[tuple[str, ...]] = frozenset()) -> str:
        """``text`` with every board value in it replaced, its other words kept.

        ``slot``: the whole text is a name slot (the tool's words are reduced too, except the
        evidence's verdict words). ``slots``: folded display names that are name slots
        wherever they occur (a finding's own names)."""
        text = str(text)
        text = _AT_TOKEN.sub(lambda m: self._mask_token(m.group(0)) if len(m.group(0)) > 1
                             else m.group(0), text)
        if self.emails:
            text = _TOKEN.sub(lambda m: self._mask_token(m.group(0))
                              if m.group(0).casefold().rstrip(".") in self.emails
                              else m.group(0), text)
        if self.phone_digits:
            text = _PHONE.sub(lambda m: self.mask_phone(m.group(0))
                              if _DIGITS.sub("", m.group(0))[-10:] in self.phone_digits
                              else m.group(0), text)
        if self.spans or slots:
            text = self._replace_spans(text, slot=slot, slots=slots)
        return text

    def _replace_spans(self, text: str, *, slot: bool,
                       slots: frozenset[tuple[str, ...]]) -> str:
        tokens = list(_SPAN_TOKEN.finditer(text))
        if not tokens:
            return text
        folded = [fold(t.group(0)) for t in tokens]
        # A whole value that is one board name is a name slot ("before": "Will").
        whole = text.strip() == text[tokens[0].start():tokens[-1].end()] \
            and self.spans.get(tuple(folded)) == NAME
        longest = max((len(k) for k in slots), default=1)
        longest = max(longest, 6)
        out: list[str] = []
        position = 0
        i = 0
        while i < len(tokens):
            found = None
            # Longest first: "Mary Ann Smith" goes as one, not as three names.
            limit = 1
            while limit < longest and i + limit < len(tokens) and _SPAN_GAP.fullmatch(
                    text[tokens[i + limit - 1].end():tokens[i + limit].start()]):
                limit += 1
            for length in range(limit, 0, -1):
                key = tuple(folded[i:i + length])
                kind = NAME if key in slots else self.spans.get(key)
                if kind is None:
                    continue
                if kind == NAME and length > 1 and key not in slots and not slot \
                        and all(w in self.protected for w in key) \
                        and text[tokens[i].start():tokens[i + length - 1].end()].islower():
                    continue  # "you may grant it" is not May Grant
                if kind == NAME and length == 1 and key not in slots and not whole:
                    word = key[0]
                    if len(word) < 2 or word.isdigit():
                        continue
                    if word in self.protected and (not slot or word in VERDICT_WORDS):
                        continue
                found = (length, kind)
                break
            if found is None:
                i += 1
                continue
            length, kind = found
            start, end = tokens[i].start(), tokens[i + length - 1].end()
            out.append(text[position:start])
            out.append(self.initials(text[start:end]) if kind == NAME else MASK)
            position = end
            i += length
        out.append(text[position:])
        return "".join(out)

    def withheld(self, text: str) -> str:
        """An address in evidence: the verdict stays (``same``), the address goes."""
        parts = []
        for part in str(text).split("; "):
            found = _VERDICT.match(part)
            parts.append(found.group(1) + found.group(2) + " (withheld)" if found else MASK)
        return "; ".join(parts)

    def value(self, key: str | None, value: Any,
              slots: frozenset[tuple[str, ...]] = frozenset()) -> Any:
        """``value`` found under ``key`` in a finding, redacted by what the key says it is."""
        if isinstance(value, Mapping):
            if key == "names":
                return {k: self.label(v) for k, v in value.items()}
            return {k: self.value(str(k), v, slots) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(key, v, slots) for v in value)
        if not isinstance(value, str) or not value:
            return value
        if key in ID_KEYS:
            return value
        if key in NAME_KEYS:
            # A bare name is reduced whole; evidence ("same (Will)") keeps its verdict words.
            return self.text(value, slot=True, slots=slots) if _VERDICT.match(value) \
                else self.initials(value)
        if key in PHONE_KEYS:
            return self.mask_phone(value) if _PHONE_ONLY.fullmatch(value) \
                else self.text(value, slots=slots)
        if key in WITHHELD_KEYS:
            return self.withheld(value) if _VERDICT.match(value) else MASK
        if key in EMAIL_KEYS:
            single = value.strip() and not any(c.isspace() for c in value.strip())
            if single and ("@" in value or value.strip().casefold() in self.emails):
                return self.mask(value)
        return self.text(value, slots=slots)

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
        # The finding's own display names are name slots wherever its texts show them.
        slots = frozenset(key for key in (_key(v) for v in finding.names.values()
                                          if "@" not in str(v)) if key)
        return replace(
            finding,
            title=self.text(finding.title, slots=slots),
            username=self.mask(finding.username) if finding.username else finding.username,
            evidence={k: (self.withheld(v) if k in WITHHELD_KEYS and isinstance(v, str)
                          else self.value(k, v, slots)) for k, v in finding.evidence.items()},
            fix=self.value("fix", dict(finding.fix), slots),
            names={k: self.label(v) for k, v in finding.names.items()},
            household=self.household(finding.household) if finding.household else {},
            match=self.match(finding.match) if finding.match else {},
        )

    def match(self, match: Mapping[str, Any]) -> dict[str, Any]:
        """The waterfall keeps its levels and weights; the values compared are withheld (a
        redacted report shows that the emails agreed, not the email)."""
        pairs = [{**pair, "fields": [{**item, "a": MASK if item.get("a") else "",
                                      "b": MASK if item.get("b") else ""}
                                     for item in pair.get("fields", [])]}
                 for pair in match.get("pairs", [])]
        return {**match, "pairs": pairs}

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


__all__ = ["KEEP_LAST", "MASK", "Redactor", "fold", "redact_findings", "tool_words"]
