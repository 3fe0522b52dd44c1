"""The audit's settings: naming schemas, relationship words, thresholds and word lists.

Everything a board may need to tune lives here, with its default, and can be overridden
from a TOML file (``--config FILE``). See docs/config.md for every key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from audits.household import wordlists
from audits.model.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

NAMING_SCHEMAS = ("email", "first.last")


@dataclass(frozen=True)
class InputLimits:
    """How large an export the loader reads, checked before a file is parsed: a file that would
    take minutes or all the memory to read is refused at once, naming its size (docs/config.md).

    The defaults fit a 1,000,000-student board with room to spare: the sample board's largest
    table (contacts.csv) is about 160 MB at that size and its workbook about 2.4 GB unpacked."""

    max_csv_mb: float = 1024.0
    """A CSV file larger than this (its size on disk) is refused unread."""
    max_workbook_mb: float = 4096.0
    """A workbook whose parts unpack to more than this in all is refused unopened."""
    max_compression_ratio: float = 100.0
    """A workbook part (over 1 MB unpacked) that unpacks to more than this many times its
    packed size is refused: spreadsheet XML packs about 10 to 1; a zip bomb packs thousands."""
    portal_access_roles: tuple[str, ...] = ("parent", "guardian")
    """OneRoster and SDS exports carry no CONNECT parent-access flag: a contact's link to a
    student reads as portal access when its role (OneRoster's user role, SDS's
    relationshipRole) is one of these, compared lowercased (docs/input-format.md)."""


@dataclass(frozen=True)
class Config:
    naming_schema: Mapping[str, str] = field(
        default_factory=lambda: {"parent": "email", "staff": "email", "student": "first.last"}
    )
    """Username schema per account type: ``email`` (the person's email) or ``first.last``."""
    parental_relationships: frozenset[str] = wordlists.PARENTAL_RELATIONSHIPS
    """Relationship words (lowercased) that make students of one contact a family."""
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    nicknames: tuple[frozenset[str], ...] = field(default_factory=wordlists.nickname_groups)
    street_suffixes: Mapping[str, str] = field(default_factory=lambda: dict(wordlists.STREET_SUFFIXES))
    max_fix_share: float = 0.05
    """A fix plan that changes more than this share of any table needs ``--force``."""
    max_students_per_contact: int = 30
    """A contact record linked to more students than this is no family's parent (a placeholder
    such as "Office", or one record picked for every family by mistake): the
    ``overlinked-contact`` check reports it, and the family checks leave its links out."""
    max_pairs_listed: int = 200
    """A finding lists at most this many pairs (an ``overlinked-contact`` finding at most this
    many students) and gives the total beside them."""
    input_limits: InputLimits = field(default_factory=InputLimits)
    """How large an export the loader reads (``[input]``)."""
    vetoes: tuple[str, ...] = ()
    """Extra hard vetoes of the matcher, ``comparison=level`` (e.g. ``first_name=different``):
    a pair in that level is never one person, whatever else agrees."""

    def threshold(self, name: str) -> float:
        return float(self.thresholds[name])

    def is_parental(self, relationship: str) -> bool:
        return str(relationship).strip().lower() in self.parental_relationships

    def parental_mask(self, relationships: "pd.Series") -> "pd.Series":
        """Per relationship (trimmed, lowercased): whether it is parental, as a bool Series with
        the same index; the vectorised :meth:`is_parental`."""
        import pandas as pd

        words = pd.Series(relationships, copy=False).astype(str).str.strip().str.lower()
        return words.isin(self.parental_relationships).astype(bool)


DEFAULT_THRESHOLDS: dict[str, float] = {
    # A pair of contact records whose match probability (the board's model) is at least this
    # is reported as one person.
    "duplicate_contact": 0.5,
    # Blocks larger than this are split further before comparing (keeps the work near-linear).
    "max_block_size": 200.0,
    # Name blocks (similar names) larger than this are split by postal code, civic number and
    # city first: a common name alone is never evidence enough, so comparing it board-wide is waste.
    "name_block_size": 8.0,
    # The board's model is estimated (EM) when blocking finds at least this many candidate
    # pairs; on a smaller board the fixed priors of audits/household/matching/model.py decide.
    "em_min_pairs": 500.0,
}


def load_config(path: str | Path | None) -> Config:
    """The default config, overridden by the TOML file at ``path`` when one is given."""
    config = Config()
    if path is None:
        return config
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise UserError(f"Config file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"Config file {path} is not valid TOML: {exc}") from None
    return apply_overrides(config, data, source=str(path))


def apply_overrides(config: Config, data: Mapping[str, Any], source: str = "config") -> Config:
    known = {"naming_schema", "relationships", "thresholds", "nicknames", "street_suffixes", "fixes",
             "matching", "checks", "input"}
    unknown = set(data) - known
    if unknown:
        raise UserError(f"{source}: unknown section(s) {sorted(unknown)}; known: {sorted(known)}")
    changes: dict[str, Any] = {}
    if "naming_schema" in data:
        schema = dict(config.naming_schema)
        for account_type, name in data["naming_schema"].items():
            if account_type not in ("parent", "staff", "student"):
                raise UserError(f"{source}: naming_schema.{account_type}: not an account type "
                                "(parent, staff, student)")
            if name not in NAMING_SCHEMAS:
                raise UserError(f"{source}: naming_schema.{account_type} = {name!r}: "
                                f"expected one of {', '.join(NAMING_SCHEMAS)}")
            schema[account_type] = name
        changes["naming_schema"] = schema
    relationships = data.get("relationships", {})
    if "parental" in relationships:
        changes["parental_relationships"] = frozenset(
            str(word).strip().lower() for word in relationships["parental"])
    if "thresholds" in data:
        thresholds = dict(config.thresholds)
        for name, value in data["thresholds"].items():
            if name not in thresholds:
                raise UserError(f"{source}: thresholds.{name}: unknown; known: {sorted(thresholds)}")
            thresholds[name] = float(value)
        changes["thresholds"] = thresholds
    if "nicknames" in data:
        # Extra groups add to the built-in table: each key with its list is one group of names.
        extra = tuple(frozenset([str(key).lower(), *(str(v).lower() for v in values)])
                      for key, values in data["nicknames"].items())
        changes["nicknames"] = config.nicknames + extra
    if "street_suffixes" in data:
        suffixes = dict(config.street_suffixes)
        suffixes.update({str(k).lower(): str(v).lower() for k, v in data["street_suffixes"].items()})
        changes["street_suffixes"] = suffixes
    if "matching" in data:
        changes["vetoes"] = _vetoes(data["matching"], source)
    if "checks" in data:
        changes.update(_check_limits(data["checks"], source))
    if "fixes" in data and "max_share" in data["fixes"]:
        changes["max_fix_share"] = float(data["fixes"]["max_share"])
    if "input" in data:
        changes["input_limits"] = _input_limits(config.input_limits, data["input"], source)
    return replace(config, **changes)


CHECK_LIMITS = {"max_students_per_contact": "max_students_per_contact",
                "max_pairs_listed": "max_pairs_listed"}


def _check_limits(section: Mapping[str, Any], source: str) -> dict[str, int]:
    if not isinstance(section, Mapping):
        raise UserError(f"{source}: checks: expected a table ([checks] with "
                        f"{' / '.join(CHECK_LIMITS)} = N)")
    unknown = set(section) - set(CHECK_LIMITS)
    if unknown:
        raise UserError(f"{source}: checks: unknown key(s) {sorted(unknown)}; "
                        f"known: {sorted(CHECK_LIMITS)}")
    limits = {}
    for key, value in section.items():
        # A bool is an int to Python, and a limit of True is a typo, not a number.
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"{source}: checks.{key} = {value!r}: expected a whole number, "
                            "1 or more")
        limits[CHECK_LIMITS[key]] = value
    return limits


def _input_limits(limits: InputLimits, section: Any, source: str) -> InputLimits:
    known = ("max_csv_mb", "max_workbook_mb", "max_compression_ratio", "portal_access_roles")
    if not isinstance(section, Mapping):
        raise UserError(f"{source}: input: expected a table ([input] with max_csv_mb = ...)")
    unknown = set(section) - set(known)
    if unknown:
        raise UserError(f"{source}: input: unknown key(s) {sorted(unknown)}; known: {list(known)}")
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key == "portal_access_roles":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UserError(f"{source}: input.portal_access_roles = {value!r}: expected a "
                                "list of role names, e.g. [\"parent\", \"guardian\"]")
            values[key] = tuple(v.strip().lower() for v in value)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise UserError(f"{source}: input.{key} = {value!r}: expected a positive number")
        values[key] = float(value)
    return replace(limits, **values)


def _vetoes(section: Mapping[str, Any], source: str) -> tuple[str, ...]:
    from audits.household.matching.model import BY_NAME

    if not isinstance(section, Mapping):
        raise UserError(f"{source}: matching: expected a table ([matching] with vetoes = [...])")
    unknown = set(section) - {"vetoes"}
    if unknown:
        raise UserError(f"{source}: matching: unknown key(s) {sorted(unknown)}; known: ['vetoes']")
    rules = section.get("vetoes", [])
    if not isinstance(rules, list):
        raise UserError(f"{source}: matching.vetoes: expected a list of \"comparison=level\"")
    out = []
    for rule in rules:
        name, _, level = str(rule).partition("=")
        comparison = BY_NAME.get(name.strip())
        levels = [lv.name for lv in comparison.levels] if comparison else []
        if comparison is None or level.strip() not in levels[1:]:
            known = ", ".join(f"{c}=<{'|'.join(lv.name for lv in BY_NAME[c].levels[1:])}>"
                              for c in BY_NAME)
            raise UserError(f"{source}: matching.vetoes: {rule!r} is not comparison=level; "
                            f"known: {known}")
        rule = f"{name.strip()}={level.strip()}"
        if rule not in out:
            out.append(rule)
    return tuple(out)
