"""The order of a runbook's work: each finding's entry (its records, steps, and the findings
its fix waits for, found board-wide by the ids they share), and a school's entries grouped by
household, each household in the order of the work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from audits.model.findings import Finding
from reports import wording
from reports.svg import household_svg_text

if TYPE_CHECKING:
    from reports.input import ReportInput


OVERLINKED = "overlinked-contact"
RANKS = {OVERLINKED: 0, "unlinked-siblings": 1, "duplicate-contact": 2,
         "missing-sibling-access": 3, "username-clash": 4, "missing-username-source": 4}
"""The order of the work within a household: a record linked to strangers is cleaned first, then
sibling links (a merge picks the kept record through them), merges (every later fix starts from
one record per person), permission grants, username changes; any other check last."""
OTHER_RANK = 5
MERGE_RANK = RANKS["duplicate-contact"]

RECORDS_LISTED = 12
"""Records of one kind a finding's entry names; a family of 10,000 students names the first."""
PAIRS_LISTED = 10
STEPS_LISTED = 25
"""Steps an entry shows in full; a longer list (an overlinked record's 200 students) shows its
first and last steps and says where the whole list is, so it is not printed in every school."""
STEPS_HEAD, STEPS_TAIL = 18, 2
HIDDEN_EVIDENCE = frozenset({"weights"})
"""Evidence for the analyst (the model's weights), not for the person doing the steps: it is in
audit.html and audit.xlsx."""
PLURALS = {"student": "Students", "contact record": "Contact records",
           "staff record": "Staff records", "account": "Accounts"}


REFS_KEPT = 8


class Dependencies:
    """Which findings a finding's fix waits for, found board-wide by the ids they share: the
    sibling link a merge's step needs (the unlinked-siblings finding holding both students), the
    merge a one-person clash waits for (the duplicate-contact finding holding all its records),
    and the merge of any contact record a later fix touches. One pass over the findings; each
    look-up reads only the findings that hold one of the ids."""

    def __init__(self, findings: list[Finding]) -> None:
        self.siblings_of: dict[str, list[str]] = {}
        self.merges_of: dict[str, list[str]] = {}
        self.members: dict[str, tuple[str, ...]] = {}
        self._sets: dict[str, frozenset[str]] = {}
        for finding in findings:
            if finding.check == "unlinked-siblings":
                index, members = self.siblings_of, finding.students
            elif finding.check == "duplicate-contact":
                index, members = self.merges_of, finding.contacts
            else:
                continue
            self.members[finding.id] = members
            for ident in members:
                index.setdefault(ident, []).append(finding.id)

    def _set(self, finding_id: str) -> frozenset[str]:
        found = self._sets.get(finding_id)
        if found is None:
            found = self._sets[finding_id] = frozenset(self.members[finding_id])
        return found

    def waits(self, finding: Finding) -> list[tuple[int, str, list[str]]]:
        """``(step number, check, finding ids)`` for each step of the fix that waits for
        another finding's fix (``fix.waits_for``)."""
        found = []
        for wait in finding.fix.get("waits_for") or ():
            if not isinstance(wait, Mapping) or type(wait.get("step")) is not int:
                continue
            check = wait.get("check")
            if check == "unlinked-siblings":
                student = str(wait.get("student", ""))
                siblings = [str(s) for s in wait.get("siblings") or ()]
                ids = [u for u in self.siblings_of.get(student, ())
                       if any(s in self._set(u) for s in siblings)]
            elif check == "duplicate-contact":
                contacts = sorted({str(c) for c in wait.get("contacts") or ()})
                ids = [d for d in self.merges_of.get(contacts[0], ()) if
                       self._set(d).issuperset(contacts)] if contacts else []
            else:
                continue
            # A student is in one family and a record in one merge: more than a few is data
            # copied over itself, and naming them all would make each page quadratic.
            found.append((wait["step"], check, [i for i in ids if i != finding.id][:REFS_KEPT]))
        return found

    def merges(self, contacts: list[str], own: str) -> list[str]:
        """The merges of any of these contact records."""
        return list(dict.fromkeys(d for c in contacts for d in self.merges_of.get(c, ())
                                  if d != own))[:REFS_KEPT]


def _contact_ids(finding: Finding) -> list[str]:
    """Every contact record the finding touches: its entities, and a clash's holders (the fix
    names the records whose accounts hold the username)."""
    ids = list(finding.contacts)
    fix = finding.fix
    for contact in fix.get("contacts") or ():
        if isinstance(contact, Mapping) and contact.get("contact_id"):
            ids.append(str(contact["contact_id"]))
    if finding.check == "username-clash":
        for account in fix.get("accounts") or ():
            if isinstance(account, Mapping) and account.get("account_type") == "parent" \
                    and account.get("person_id"):
                ids.append(str(account["person_id"]))
    return list(dict.fromkeys(ids))


def _records(finding: Finding) -> list[tuple[str, str]]:
    """``(kind, "Name (id), ...")`` per kind of record the finding names, the first
    :data:`RECORDS_LISTED` of each."""
    by_kind: dict[str, list[str]] = {}
    for word, ident, name in wording.people(finding):
        by_kind.setdefault(word, []).append(f"{name} ({ident})" if name else ident)
    out = []
    for word, shown in by_kind.items():
        more = len(shown) - RECORDS_LISTED
        text = ", ".join(shown[:RECORDS_LISTED]) + (f" and {more:,} more" if more > 0 else "")
        out.append((PLURALS.get(word, word), text))
    return out


def _pairs(finding: Finding) -> str:
    pairs = finding.pairs
    if len(pairs) <= PAIRS_LISTED:
        return wording.pairs_text(finding)
    more = (finding.pairs_total or len(pairs)) - PAIRS_LISTED
    return ("; ".join(" & ".join(wording.named(x, finding.names) for x in pair)
                      for pair in pairs[:PAIRS_LISTED]) + f" and {more:,} more")


def runbook_entry(finding: Finding, report: "ReportInput", check_words: dict[str, tuple[str, str]],
          dependencies: Dependencies) -> dict[str, Any]:
    """A finding's runbook entry; ``check_words`` keeps each check's (why, how) for the run."""
    words = check_words.get(finding.check)
    if words is None:
        spec = report.checks.get(finding.check)
        words = (wording.check_text(spec, "why"), wording.check_text(spec, "how"))
        check_words[finding.check] = words
    how = words[1]
    steps = wording.fix_steps_plain(finding.fix)
    if not steps:
        steps = [how] if how else ["Review this finding with the SIS administrator."]
    # (number, text) of the steps shown; a long list keeps its first and last steps.
    numbered_steps = list(enumerate(steps, 1))
    hidden = 0
    if len(steps) > STEPS_LISTED:
        hidden = len(steps) - STEPS_HEAD - STEPS_TAIL
        numbered_steps = numbered_steps[:STEPS_HEAD] + numbered_steps[-STEPS_TAIL:]
    rank = RANKS.get(finding.check, OTHER_RANK)
    contacts = _contact_ids(finding)
    waits = dependencies.waits(finding)
    after = [i for _, _, ids in waits for i in ids]
    if rank > MERGE_RANK:
        after += dependencies.merges(contacts, finding.id)
    who = [wording.named(c, finding.names) for c in contacts[:3]] or \
        [wording.named(s, finding.names) for s in finding.students[:3]] or \
        [finding.username or finding.id]
    return {
        "id": finding.id, "check": finding.check, "rank": rank,
        "severity": finding.severity.value,
        "severity_word": wording.SEVERITY_WORDS[finding.severity.value],
        "title": finding.title, "confidence": f"{round(finding.confidence * 100)}%",
        "records": _records(finding),
        "username": finding.username, "pairs": _pairs(finding) if finding.pairs else "",
        "schools": [wording.school_label(s, report.schools) for s in finding.school_ids],
        "evidence": [(wording.evidence_field(k), str(v)) for k, v in finding.evidence.items()
                     if k not in HIDDEN_EVIDENCE],
        "action": wording.fix_action(finding.fix), "steps": numbered_steps,
        "hidden_steps": hidden, "picture": household_svg_text(finding),
        # What the school's page needs to place the entry: its household (the ids it shares
        # with other entries), what it waits for, and the names that title its household.
        "keys": ([f"s:{s}" for s in finding.students] + [f"c:{c}" for c in contacts]),
        "waits": {step: (check, ids) for step, check, ids in waits},
        "after": list(dict.fromkeys(after)), "who": who,
    }


def group_households(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The school's entries grouped by household (entries sharing a student or a contact
    record, however far the chain), each in the order of the work (:data:`RANKS`); households
    in the order of their first entry (highest severity first), an overlinked record's first:
    it is cleaned before anything else, and joins nobody's household (it is no one's parent)."""
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, item in enumerate(items):
        if item["check"] == OVERLINKED:
            continue
        for key in item["keys"]:
            j = owner.setdefault(key, i)
            if j != i:
                a, b = root(i), root(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(root(i), []).append(i)
    ordered = sorted(groups.values(),
                     key=lambda g: (items[g[0]]["check"] != OVERLINKED, g[0]))
    return [[items[i] for i in sorted(group, key=lambda i: (items[i]["rank"], i))]
            for group in ordered]
