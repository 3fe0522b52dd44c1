"""What must be true of the export for an action of a fix plan to be applied, as data.

A plan is a file a person edits, and one made for another export can be handed to ``apply``.
So ``apply`` does not trust what an action says: before an action changes anything, each rule
of its kind is checked again on the export as it is at that moment (earlier actions of the plan
included). The rules follow from what the SIS does with the result:

- a merge hands the copy's children and accounts to the survivor, so the two must be records of
  one person, and records the finding showed;
- a parent account sees the students its permissions list, so a permission is only ever added
  for a student the account's contact record is linked to with portal access;
- a sibling link shares contacts between students, so it only joins students who already share
  a parental contact: one record, or two records of one person.

Each rule is checked from the action's operative fields, never from its ``preconditions`` list,
which only shows the reviewer the rules (deleting a line from it changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Mapping

from audits.household.matching import normalize

from audits.household import wordlists

if TYPE_CHECKING:
    from fixes.workspace import Workspace


class Refused(Exception):
    """A precondition of an action does not hold on this export."""

    rule: "Rule | None" = None
    """The rule that failed (set by :func:`check`)."""


class Undecided(Exception):
    """The export alone cannot show that a precondition holds, and no person has confirmed it:
    the action is skipped (nothing changes) until someone does."""


@dataclass(frozen=True)
class Rule:
    name: str
    text: str
    """What must hold, in the words the plan shows the reviewer."""
    test: Callable[["Workspace", Mapping[str, Any]], None]
    """Raises :class:`Refused` with the reason when the rule does not hold."""
    about_the_export: bool = True
    """False for a rule about the plan's own content: no change in the export explains it."""


# ----------------------------------------------------------------------------- same person

@lru_cache(maxsize=1)
def _nicknames() -> dict[str, tuple[int, ...]]:
    return normalize.nickname_index(wordlists.nickname_groups())


def _close(a: str, b: str, *, edits: int) -> bool:
    from rapidfuzz.distance import DamerauLevenshtein

    return DamerauLevenshtein.distance(a, b, score_cutoff=edits) <= edits


def same_first_name(a: str, b: str) -> bool:
    a, b = normalize.fold(a), normalize.fold(b)
    if not a or not b or a == b:
        return True
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    groups = _nicknames()
    if set(groups.get(a, ())) & set(groups.get(b, ())):
        return True
    if a.startswith(b) or b.startswith(a):
        return True
    return _close(a, b, edits=1 if min(len(a), len(b)) <= 4 else 2)


def same_surname(a: str, b: str) -> bool:
    a, b = normalize.fold(a), normalize.fold(b)
    if not a or not b or a == b:
        return True
    if set(normalize.surname_parts(a)) & set(normalize.surname_parts(b)):
        return True
    return _close(a, b, edits=1 if min(len(a), len(b)) <= 4 else 2)


def _contact_points(values: Mapping[str, str]) -> dict[str, set[str]]:
    email = normalize.email_key(values.get("email", ""))
    phones = {normalize.phone_digits(values.get(c, ""))[-7:]
              for c in ("home_phone", "cell_phone", "work_phone")}
    street = " ".join(normalize.fold(values.get("street", "")).split())
    postal = "".join(ch for ch in values.get("postal_code", "").upper() if ch.isalnum())
    return {"email": {email} - {""},
            "phone": {p for p in phones if len(p) == 7},
            "street": {street} - {""}, "postal": {postal} - {""}}


SAME = "same"
UNSURE = "unsure"


def same_person(a: Mapping[str, str], b: Mapping[str, str], *, one_family: bool = False
                ) -> tuple[str, str]:
    """Whether contact records ``a`` and ``b`` (column -> value) can be one person, from the
    export alone: ``(SAME, "")``, ``(UNSURE, why)`` or ``("different", why)``.

    The names must agree (a nickname, an initial, a slip or a compound surname counts), unless
    the records share two of email, phone and address. And something beyond the name must tie
    them: a shared email, phone, street or postal code, or one family's students
    (``one_family``). Two records with the same name and nothing else in common are *unsure*:
    namesakes are common (two Thomas Smiths of one board), so only a person can say. The
    matcher decided they are one person; this only stops a plan that names records nobody
    matched (a typed id, another export's action)."""
    pa, pb = _contact_points(a), _contact_points(b)
    shared = {kind for kind in pa if pa[kind] & pb[kind]}
    # Two of email, phone and address shared: a name typed in a form no list knows (Chas for
    # Charles, Mathieu for Matthew) does not make them two people. Spouses can pass this; they
    # share their children too, so a merge of the two can show nobody another family's child.
    strong = len({"address" if kind in ("street", "postal") else kind for kind in shared}) >= 2
    if not strong:
        for column, agree, what in (("last_name", same_surname, "last names"),
                                    ("first_name", same_first_name, "first names")):
            x, y = normalize.fold(a.get(column, "")), normalize.fold(b.get(column, ""))
            if not x or not y:
                return UNSURE, f"one of them has no {column.replace('_', ' ')}"
            if not agree(x, y):
                return "different", f"their {what} differ"
    if shared or one_family:
        return SAME, ""
    return UNSURE, ("their names agree but they share no email, phone, street or postal code, "
                    "and their students are not one family")


def one_family(ws: "Workspace", x: str, y: str) -> bool:
    """Whether contact records ``x`` and ``y`` are contacts of one family's students: a student
    they share, two students linked as siblings, or two students sharing a parental record."""
    def students(contact: str) -> set[str]:
        return {ws.get("student_contacts", r, "student_id").strip()
                for r in ws.find("student_contacts", contact_id=contact)}

    of_x, of_y = students(x), students(y)
    if of_x & of_y:
        return True
    if "siblings" in ws.export.tables:
        for student in of_x:
            linked = {ws.get("siblings", r, "sibling_id").strip()
                      for r in ws.find("siblings", student_id=student)}
            linked |= {ws.get("siblings", r, "student_id").strip()
                       for r in ws.find("siblings", sibling_id=student)}
            if linked & of_y:
                return True
    parents_y = set().union(*(_parental_records(ws, s) for s in of_y)) - {x, y}
    return any(_parental_records(ws, s) & parents_y for s in of_x)


# ----------------------------------------------------------------------------- the rules

def _flag(value: str) -> bool:
    from audits.model.board import parse_flag

    return parse_flag(value) is True


def contact_values(ws: "Workspace", contact_id: str) -> dict[str, str] | None:
    rows = ws.find("contacts", contact_id=contact_id)
    if not rows:
        return None
    table = ws.export.tables["contacts"]
    return {column: ws.get("contacts", rows[0], column) for column in table.position}


def _merge_planned(ws: "Workspace", action: Mapping[str, Any]) -> None:
    records = (action.get("expect") or {}).get("records")
    if not isinstance(records, Mapping) or not records:
        raise Refused("the action lists no records it expects (expect.records); plan again")
    retire = {str(c) for c in action["retire"]}
    for cid in [action["survivor"], *action["retire"]]:
        expected = records.get(str(cid))
        if not isinstance(expected, Mapping) or not str(expected.get("last_name") or "").strip():
            # The merge compares these values with the export's: without the name there is
            # nothing to compare, and any record would do.
            raise Refused(f"contact record {cid} is not one of the records the finding showed "
                          "(expect.records lists no name for it)")
    for fill in action.get("fill") or []:
        if str(fill.get("from")) not in retire:
            raise Refused(f"a fill of {fill.get('column')} comes from {fill.get('from')}, which "
                          "is not a record the merge retires")


def _confirmed(action: Mapping[str, Any], *records: str) -> bool:
    """Whether a person confirmed these records are one person: ``confirm_same_person`` lists
    exactly the records of the merge (so an id edited afterwards voids the confirmation)."""
    given = action.get("confirm_same_person")
    return isinstance(given, list) and sorted(map(str, given)) == sorted(records)


def _merge_same_person(ws: "Workspace", action: Mapping[str, Any]) -> None:
    survivor = str(action["survivor"])
    retire = [str(c) for c in action["retire"]]
    if survivor in retire:
        raise Refused(f"contact record {survivor} is both kept and retired")
    kept = contact_values(ws, survivor)
    if kept is None:
        return  # the merge itself reports a survivor that no longer exists
    unsure = []
    for cid in retire:
        other = contact_values(ws, cid)
        if other is None:
            continue
        verdict, why = same_person(kept, other, one_family=one_family(ws, survivor, cid))
        if verdict == "different":
            raise Refused(f"contact records {survivor} and {cid} cannot be one person: {why}")
        if verdict == UNSURE:
            unsure.append(f"{survivor} and {cid}: {why}")
    if unsure and not _confirmed(action, survivor, *retire):
        raise Undecided("needs a person's decision: "
                        f"contact records {'; '.join(unsure)}. Check in the SIS; if they are "
                        "one person, set \"confirm_same_person\" to the merge's records "
                        f"{sorted([survivor, *retire])}")


def _parental_records(ws: "Workspace", student: str) -> set[str]:
    parental = ws.config.is_parental
    return {ws.get("student_contacts", r, "contact_id").strip()
            for r in ws.find("student_contacts", student_id=student)
            if parental(ws.get("student_contacts", r, "relationship"))}


def _link_shared_parent(ws: "Workspace", action: Mapping[str, Any]) -> None:
    ws.table("student_contacts")
    for a, b in action["pairs"]:
        a, b = str(a), str(b)
        if a == b:
            raise Refused(f"student {a} cannot be their own sibling")
        of_a, of_b = _parental_records(ws, a), _parental_records(ws, b)
        if of_a & of_b:
            continue
        verdict = _one_person_in(ws, of_a, of_b)
        if verdict == SAME:
            continue
        if verdict == UNSURE:
            raise Undecided(f"students {a} and {b} share a parent only through two records the "
                            "export alone does not show are one person; merge them first "
                            "(their duplicate-contact action, confirmed)")
        raise Refused(f"students {a} and {b} share no parental contact (no record, and no two "
                      "records of one person); check the ids")


def _one_person_in(ws: "Workspace", left: set[str], right: set[str]) -> str:
    """The best verdict of :func:`same_person` over a record of ``left`` and one of ``right``
    (duplicate records of a parent, typed once per child, that no merge has joined yet)."""
    best = "different"
    for x in sorted(left):
        x_values = contact_values(ws, x)
        if x_values is None:
            continue
        for y in sorted(right):
            y_values = contact_values(ws, y)
            if y_values is None:
                continue
            verdict = same_person(x_values, y_values, one_family=one_family(ws, x, y))[0]
            if verdict == SAME:
                return SAME
            if verdict == UNSURE:
                best = UNSURE
    return best


def _permission_holder_linked(ws: "Workspace", action: Mapping[str, Any]) -> None:
    account_id = str(action["account_id"])
    rows = ws.find("accounts", account_id=account_id)
    if not rows:
        return  # the action reports an account that no longer exists
    if ws.get("accounts", rows[0], "account_type").strip().lower() != "parent":
        raise Refused(f"account {account_id} is not a parent account")
    holder = ws.get("accounts", rows[0], "person_id").strip()
    ws.table("student_contacts")
    for student in action["students"]:
        links = ws.find("student_contacts", student_id=str(student), contact_id=holder)
        if not any(_flag(ws.get("student_contacts", r, "portal_access")) for r in links):
            raise Refused(f"the holder of account {account_id} is not a contact of student "
                          f"{student} with portal access")


def _rename_is_an_option(ws: "Workspace", action: Mapping[str, Any]) -> None:
    from audits.checks.username_clash.fix import RENAME_KEYS, decisions

    username = str(action.get("username") or "").strip().lower()
    options = [o for o in action.get("options") or [] if isinstance(o, Mapping)]
    chosen_from = {(str(o.get("table")), str(o.get("key")), str(o.get("column")))
                   for o in options}
    if not username or not options:
        raise Refused("the action names no clashing username and options; plan again")
    holders = set()
    for table, key, column in chosen_from:
        if table not in RENAME_KEYS or table not in ws.export.tables or \
                not ws.export.tables[table].has(column):
            continue
        for row in ws.find(table, **{RENAME_KEYS[table]: key}):
            if ws.get(table, row, column).strip().lower() == username:
                holders.add((table, key, column))
    for decision in decisions(action):
        chosen = (str(decision.get("table")), str(decision.get("key")),
                  str(decision.get("column")))
        if chosen not in chosen_from:
            raise Refused(f"the decision names {chosen[0]} record {chosen[1]}, which is not "
                          "one of the action's options")
    if len(holders) < 2 and not _settled_by_a_merge(ws, action) and not _done(ws, action):
        # Only a username two records hold is a clash; renaming any other is no fix.
        # The username is an email: the refusal (printed, maybe into a log) names records only.
        raise Refused("fewer than two of the action's records hold its username now; it is no "
                      "clash here")


def _done(ws: "Workspace", action: Mapping[str, Any]) -> bool:
    """Whether every decision's record already holds its new value (the plan applied again)."""
    from audits.checks.username_clash.fix import RENAME_KEYS, decisions

    for decision in decisions(action):
        table, key = str(decision.get("table")), str(decision.get("key"))
        column, new = str(decision.get("column")), str(decision.get("new_value") or "").strip()
        if table not in RENAME_KEYS or table not in ws.export.tables or \
                not ws.export.tables[table].has(column):
            return False
        rows = ws.find(table, **{RENAME_KEYS[table]: key})
        if not new or not rows or ws.get(table, rows[0], column).strip().lower() != new.lower():
            return False
    return True


def _settled_by_a_merge(ws: "Workspace", action: Mapping[str, Any]) -> bool:
    """Whether a merge of this plan retired a record of the action's options (the rename then
    reports itself settled, or follows the record to its survivor)."""
    return any(str(o.get("table")) == "contacts" and str(o.get("key")) in ws.merged_into
               for o in action.get("options") or [] if isinstance(o, Mapping))


def _rename_value_unused(ws: "Workspace", action: Mapping[str, Any]) -> None:
    from audits.checks.username_clash.fix import decisions, follow_merge

    username = str(action.get("username") or "").strip().lower()
    for decision in decisions(action):
        new = str(decision.get("new_value") or "").strip().lower()
        if not new:
            continue
        if new == username:
            raise Refused("the new value is the clashing username itself")
        for table, column, key in (("accounts", "username", "account_id"),
                                   ("contacts", "email", "contact_id"),
                                   ("staff", "email", "staff_id")):
            if table not in ws.export.tables or not ws.export.tables[table].has(column):
                continue
            given = str(decision.get("new_value") or "").strip()
            for row in ws.find(table, **{column: new}) + ws.find(table, **{column: given}):
                holder = ws.get(table, row, key).strip()
                if holder not in (str(decision.get("key")),
                                  follow_merge(ws, str(decision.get("key")))[0]):
                    raise Refused(f"the new value is already the {column} of {table} record "
                                  f"{holder}: it would make another clash")


RULES: dict[str, tuple[Rule, ...]] = {
    "merge-contacts": (
        Rule("planned-records", "the survivor and every retired record are records the finding "
             "showed, with their names (expect.records), and every fill comes from a retired "
             "record", _merge_planned, about_the_export=False),
        Rule("same-person", "the survivor and each retired record can be one person: their "
             "names agree (or two of email, phone and address), and they share an email, "
             "phone, street or postal code, or are contacts of one family's students; else a "
             "person confirms it (confirm_same_person)",
             _merge_same_person),
    ),
    "link-siblings": (
        Rule("shared-parental-contact", "each pair of students shares a parental contact: "
             "one contact record, or two records of one person", _link_shared_parent),
    ),
    "add-permission": (
        Rule("holder-has-portal-access", "the account is a parent account whose contact record "
             "is linked to each student with portal access", _permission_holder_linked),
    ),
    "rename-username": (
        Rule("decision-is-an-option", "at least two of the action's options hold the username "
             "now, and each decision names one of them", _rename_is_an_option),
        Rule("new-value-unused", "the new value is no other record's username or email",
             _rename_value_unused),
    ),
    "manual": (),
}


def describe(kind: str) -> list[str]:
    """The rules of an action kind, as the plan lists them for the reviewer."""
    return [f"{rule.name}: {rule.text}" for rule in RULES.get(kind, ())]


def check(ws: "Workspace", action: Mapping[str, Any]) -> None:
    """Raise :class:`Refused` naming the first rule of the action's kind that does not hold, or
    :class:`Undecided` when one needs a person's confirmation."""
    for rule in RULES.get(str(action.get("action")), ()):
        try:
            rule.test(ws, action)
        except Refused as refused:
            failed = Refused(f"{rule.name}: {refused}")
            failed.rule = rule
            raise failed from None
        except Undecided as undecided:
            raise Undecided(f"{rule.name}: {undecided}") from None
