"""The typed fix of a finding: one frozen dataclass per fix action, made by the check that
finds the problem and read by the fix planner (``audits/checks/*/fix.py``) as it is.

Each action reads as the ``fix`` mapping of findings.json (``action["steps"]``,
``action.get("keep")``), so the reports read it as before; :meth:`FixAction.to_dict` is that
mapping, key for key. :func:`fix_from_dict` is the one way back from findings.json: it accepts
the shapes earlier versions and hand-made findings use (the merge's accounts as a list of
account rows or on the records) and turns them into the one shape the planners read. An action
read from a document writes back exactly what the document said, so a findings.json read and
written again (``diff``, ``redact``) keeps its own words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Iterable, Iterator

from audits.model.board import cell_flag, cell_text

MANUAL = "manual"


def _strings(value: object) -> tuple[str, ...]:
    """A list of ids as read from a document: ``()`` for a missing one; a bare string or a
    mapping is refused, since reading it as a list would make ids of its letters or keys."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"expected a list of ids, not {type(value).__name__}")
    return tuple(cell_text(item) for item in value)


def _rows(value: object) -> tuple[Mapping[str, Any], ...]:
    """A list of records (links, accounts) as read: the ones that are mappings."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"expected a list of records, not {type(value).__name__}")
    return tuple(row for row in value if isinstance(row, Mapping))


@dataclass(frozen=True, kw_only=True, eq=False)
class FixAction(Mapping):
    """What every fix action has: the runbook steps a person follows, and the steps that wait
    for another finding's fix (``waits_for``: the step's number and that finding's ids)."""

    name: ClassVar[str] = ""
    steps: tuple[str, ...] = ()
    waits_for: tuple[Mapping[str, Any], ...] = ()
    _source: Mapping[str, Any] | None = field(default=None, init=False, repr=False,
                                              compare=False)
    """The mapping the action was read from (:func:`fix_from_dict`): what it writes back. Not
    an init field, so ``dataclasses.replace`` makes an action that writes its own fields."""

    def _fields(self) -> dict[str, Any]:
        """The action's own keys, in findings.json's order, between ``action`` and ``steps``."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """The ``fix`` mapping of findings.json (a fresh top level; nested values are shared)."""
        return dict(self._dict)

    @cached_property
    def _dict(self) -> dict[str, Any]:
        if self._source is not None:
            return dict(self._source)
        written = {"action": self.name, **self._fields(), "steps": list(self.steps)}
        if self.waits_for:
            written["waits_for"] = [dict(wait) for wait in self.waits_for]
        return written

    def __getitem__(self, key: str) -> Any:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    @classmethod
    def _read(cls, data: Mapping[str, Any], contacts: Iterable[str]) -> dict[str, Any]:
        """The init arguments of the action from its findings.json mapping."""
        return {}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, contacts: Iterable[str] = ()) -> "FixAction":
        """The action read from its findings.json mapping; ``contacts`` are the finding's
        contact records (a merge reads them as members of the group)."""
        steps = data.get("steps") or ()
        if isinstance(steps, (str, Mapping)):
            raise TypeError("steps must be a list")
        action = cls(steps=tuple(str(step) for step in steps),
                     waits_for=_rows(data.get("waits_for")), **cls._read(data, contacts))
        object.__setattr__(action, "_source", data)
        return action


@dataclass(frozen=True, kw_only=True, eq=False)
class UntypedFix(FixAction):
    """A fix this version has no type for: none at all (an empty mapping), or an action of
    another version. It is carried as it was read; the planner makes a manual action of it
    when it has steps or names an action."""

    problem: str = field(default="", compare=False)
    """Why an action of a known name did not read as its type (the planner says it)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, contacts: Iterable[str] = (),
                  problem: str = "") -> "UntypedFix":
        steps = data.get("steps")
        action = cls(steps=tuple(steps) if isinstance(steps, (list, tuple)) else (),
                     problem=problem)
        object.__setattr__(action, "_source", data)
        return action


NO_FIX = UntypedFix.from_dict({})
"""The fix of a finding that has none."""


@dataclass(frozen=True, kw_only=True, eq=False)
class MergeContacts(FixAction):
    """duplicate-contact: merge the group into ``keep``, retiring the others."""

    name: ClassVar[str] = "merge-contacts"
    keep: str = ""
    keep_reason: str = field(default="", compare=False)
    """Why the survivor rule keeps ``keep`` (not in findings.json; see :attr:`survivor`)."""
    retire: tuple[str, ...] = ()
    students: Mapping[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    """Each retired record's links (student, relationship, portal access)."""
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Every record of the group, its contact columns."""
    links: tuple[Mapping[str, Any], ...] = ()
    """The group's student_contacts rows (contact_id, student_id, relationship, portal_access)."""
    accounts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The parent account ids each record holds (records holding none are left out)."""
    kept_accounts: tuple[Mapping[str, Any], ...] = ()
    """The kept record's parent accounts (id, username, status)."""

    def _fields(self) -> dict[str, Any]:
        return {"keep": self.keep, "retire": list(self.retire),
                "students": self.students, "records": self.records, "links": list(self.links),
                "accounts": {cid: list(ids) for cid, ids in self.accounts.items()},
                "kept_accounts": [dict(account) for account in self.kept_accounts]}

    @cached_property
    def survivor(self) -> tuple[str, str]:
        """The record the merge keeps, and why. The check chose it (``keep``, ``keep_reason``);
        findings.json carries the choice but not its reason, so an action read from a document
        asks the same survivor rule over the same records, links and accounts. Where the rule
        keeps another record than the document's ``keep`` (a findings.json of an earlier
        version, or edited), the rule's answer stands: the plan notes the document's."""
        if self.keep_reason:
            return self.keep, self.keep_reason
        from audits.household.survivor import choose_survivor

        return choose_survivor(self.records, self.records, self.links, self.accounts)

    @classmethod
    def _read(cls, data: Mapping[str, Any], contacts: Iterable[str]) -> dict[str, Any]:
        records: dict[str, dict[str, Any]] = {
            cell_text(cid): dict(values or {}) for cid, values in (data.get("records") or {}).items()}
        keep, retire = cell_text(data.get("keep")), _strings(data.get("retire"))
        for cid in [*_strings(contacts), *([keep] if keep else []), *retire]:
            records.setdefault(cid, {})
        links = tuple({"contact_id": cell_text(link.get("contact_id")),
                       "student_id": cell_text(link.get("student_id")),
                       "relationship": cell_text(link.get("relationship")),
                       "portal_access": cell_flag(link.get("portal_access"))}
                      for link in _rows(data.get("links")))
        return {"keep": keep, "retire": retire, "students": data.get("students") or {},
                "records": records, "links": links,
                "accounts": _held_accounts(data, records),
                "kept_accounts": _rows(data.get("kept_accounts"))}


def _held_accounts(data: Mapping[str, Any], records: Mapping[str, Mapping[str, Any]]
                   ) -> dict[str, tuple[str, ...]]:
    """The parent accounts of each record of a merge, from any of the shapes a findings.json
    has carried them in: contact id -> account ids (the check's), a list of account rows
    (``account_type``, ``person_id`` or ``contact_id``, ``account_id``), or an account id on
    the record itself (``parent_account``, ``account_id``)."""
    held: dict[str, list[str]] = {cid: [] for cid in records}
    given = data.get("accounts") or []
    if isinstance(given, Mapping):
        for cid, ids in given.items():
            if cell_text(cid) in held:
                held[cell_text(cid)].extend(_strings(ids))
        given = []
    for account in _rows(given):
        if cell_text(account.get("account_type", "parent")).lower() != "parent":
            continue
        person = cell_text(account.get("person_id") or account.get("contact_id"))
        if person in held:
            held[person].append(cell_text(account.get("account_id")))
    for cid, record in records.items():
        for key in ("parent_account", "account_id"):
            if cell_text(record.get(key)) and cell_text(record.get(key)) not in held[cid]:
                held[cid].append(cell_text(record[key]))
    return {cid: tuple(ids) for cid, ids in held.items()}


@dataclass(frozen=True, kw_only=True, eq=False)
class LinkSiblings(FixAction):
    """unlinked-siblings: add the missing sibling links of one family."""

    name: ClassVar[str] = "link-siblings"
    pairs: tuple[tuple[str, str], ...] = ()
    students: tuple[str, ...] = ()

    def _fields(self) -> dict[str, Any]:
        return {"pairs": [list(pair) for pair in self.pairs], "students": list(self.students)}

    @classmethod
    def _read(cls, data: Mapping[str, Any], contacts: Iterable[str]) -> dict[str, Any]:
        pairs = []
        for pair in data.get("pairs") or ():
            a, b = pair
            pairs.append((cell_text(a), cell_text(b)))
        return {"pairs": tuple(pairs), "students": _strings(data.get("students"))}


@dataclass(frozen=True, kw_only=True, eq=False)
class AddPermission(FixAction):
    """missing-sibling-access: let an existing parent account see the students it misses."""

    name: ClassVar[str] = "add-permission"
    account_id: str = ""
    username: str = ""
    contact_id: str = ""
    students: tuple[str, ...] = ()
    regenerate: bool = False
    """Always False: regenerating an account replaces what it sees instead of adding to it."""

    def _fields(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "username": self.username,
                "contact_id": self.contact_id, "students": list(self.students),
                "regenerate": self.regenerate}

    @classmethod
    def _read(cls, data: Mapping[str, Any], contacts: Iterable[str]) -> dict[str, Any]:
        return {"account_id": cell_text(data.get("account_id")),
                "username": cell_text(data.get("username")),
                "contact_id": cell_text(data.get("contact_id")),
                "students": _strings(data.get("students")),
                "regenerate": bool(data.get("regenerate", False))}


@dataclass(frozen=True, kw_only=True, eq=False)
class RenameUsername(FixAction):
    """username-clash: the holders of one username, among whom a person decides who changes."""

    name: ClassVar[str] = "rename-username"
    username: str = ""
    needs_decision: bool = True
    cause: str = ""
    scope: str = ""
    accounts: tuple[Mapping[str, Any], ...] = ()
    """The existing accounts holding the username (account_id, school_id, account_type,
    person_id)."""
    contacts: tuple[Mapping[str, Any], ...] = ()
    """The contact records whose would-be account takes it (contact_id, email)."""
    staff: tuple[Mapping[str, Any], ...] = ()
    """The staff records whose would-be account takes it (staff_id, email)."""
    recommended_contact: str = ""
    """The parent record the steps recommend to take a personal email ("" for none)."""

    def _fields(self) -> dict[str, Any]:
        written = {"username": self.username, "needs_decision": self.needs_decision,
                   "cause": self.cause, "scope": self.scope,
                   "accounts": [dict(a) for a in self.accounts],
                   "contacts": [dict(c) for c in self.contacts],
                   "staff": [dict(s) for s in self.staff]}
        if self.recommended_contact:
            written["recommended_contact"] = self.recommended_contact
        return written

    @classmethod
    def _read(cls, data: Mapping[str, Any], contacts: Iterable[str]) -> dict[str, Any]:
        return {"username": cell_text(data.get("username")),
                "needs_decision": bool(data.get("needs_decision", True)),
                "cause": cell_text(data.get("cause")), "scope": cell_text(data.get("scope")),
                "accounts": _rows(data.get("accounts")), "contacts": _rows(data.get("contacts")),
                "staff": _rows(data.get("staff")),
                "recommended_contact": cell_text(data.get("recommended_contact"))}


@dataclass(frozen=True, kw_only=True, eq=False)
class Manual(FixAction):
    """No automatic fix: a person follows the steps. ``details`` are the check's own fields
    (the record, the field to fill, the students concerned), shown beside the steps."""

    name: ClassVar[str] = MANUAL
    details: Mapping[str, Any] = field(default_factory=dict)

    def _fields(self) -> dict[str, Any]:
        return dict(self.details)

    @classmethod
    def _read(cls, data: Mapping[str, Any], contacts: Iterable[str]) -> dict[str, Any]:
        return {"details": {key: value for key, value in data.items()
                            if key not in ("action", "steps", "waits_for")}}


ACTION_TYPES: dict[str, type[FixAction]] = {}
"""Every typed action, by its name in findings.json and the plan: the five here, and any a
check declares in its own folder (its ``FixSpec`` registers it, :func:`register_action`)."""


def register_action(kind: type[FixAction]) -> type[FixAction]:
    """Make ``kind`` the type :func:`fix_from_dict` reads an action of its name as. Two classes
    under one name are refused: a findings.json entry could only be read as one of them."""
    if not (isinstance(kind, type) and issubclass(kind, FixAction)) or not kind.name:
        raise TypeError(f"{kind!r} is not a fix action with a name")
    known = ACTION_TYPES.setdefault(kind.name, kind)
    if known is not kind:
        raise ValueError(f"two fix actions are named {kind.name!r}: "
                         f"{known.__qualname__} and {kind.__qualname__}")
    return kind


for _kind in (MergeContacts, LinkSiblings, AddPermission, RenameUsername, Manual):
    register_action(_kind)


def fix_from_dict(data: Mapping[str, Any] | None, *, contacts: Iterable[str] = ()) -> FixAction:
    """The typed action of a findings.json ``fix`` mapping. One that does not read as its
    action (a wrong type where a list of ids belongs) is carried untyped, as read: the reports
    show it, and the planner names it as a fix it cannot plan."""
    if isinstance(data, FixAction):
        return data
    if not data:
        return NO_FIX
    kind = ACTION_TYPES.get(data.get("action")) if isinstance(data.get("action"), str) else None
    if kind is None:
        return UntypedFix.from_dict(data)
    try:
        return kind.from_dict(data, contacts=contacts)
    except (TypeError, ValueError, AttributeError) as error:
        return UntypedFix.from_dict(data, problem=str(error))
