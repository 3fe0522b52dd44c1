"""The ``duplicate-contact`` check: contact records that are the same human."""

from __future__ import annotations

import re
from typing import Iterator, Mapping, Sequence

import pandas as pd

from audits.model.board import TABLES
from audits.engine.context import AuditContext
from audits.model.findings import Finding, Severity, stable_id
from audits.household.graph import CONTACT, STUDENT
from audits.household.matching.evidence import PairEvidence
from audits.household.matching.matcher import ContactCluster
from audits.checks.spec import FixSpec, check
from audits.household.survivor import SURVIVOR_FIELDS, choose_survivor
from audits.model.actions import MergeContacts
from audits.checks.steps import (CONNECT_ACCOUNTS, CONTACTS, FAMILY_CONTACTS, NEVER_REGENERATE,
                          PERMISSIONS, SIBLINGS, numbered, record, screen)

CODE = "duplicate-contact"
CONTACT_COLUMNS = TABLES["contacts"].columns
EVIDENCE_FIELDS = ("first_name", "last_name", "email", "phone", "address", "city")


@check(CODE, severity=Severity.ERROR,
       fix=FixSpec(MergeContacts, required=("survivor", "retire")),
       needs=frozenset({"graph", "matches"}))
def duplicate_contact(context: AuditContext) -> Iterator[Finding]:
    """Two or more contact records are the same parent or guardian.

    Why it matters: Parent-account generation makes one CONNECT account per contact record
    with portal access. A parent typed twice (usually once per child, often when the children
    are at different schools or were never linked as siblings) gets two accounts, each seeing
    only some of the children, two usernames to juggle, and a username clash when both records
    carry the same email. Every later fix (sibling links, permissions) starts from one record
    per person.

    How to fix: Keep one record (the one that already holds the parent account, else the one
    linked to the most students) and retire the others. Copy onto the kept record anything only
    a retired record has (email, phones, address). Then, for each student the retired record is
    linked to: open the student, go to Family & Contacts > Contacts, delete the duplicate
    contact, click + and choose "Person exists as a contact for the related student", pick the
    kept record and set the same relationship and portal access. When the kept record does not
    show up to pick, the students are not linked as siblings: link them first in Family &
    Contacts > Siblings, then add the contact again. A group that holds a contact record
    linked to more students than any family has is left to overlinked-contact until its links
    are removed.
    """
    matches = context.contact_matches
    # A merge with an overlinked record would move its links to every student onto a parent
    # (or a parent's onto a placeholder): overlinked-contact reports it, and once its links
    # are removed the records are compared again.
    clusters = [cluster for cluster in matches.clusters
                if context.overlinked_contacts.isdisjoint(cluster.contacts)]
    if not clusters:
        return
    board = context.board
    members = sorted({c for cluster in clusters for c in cluster.contacts})
    rows = _contact_rows(board, members)
    links_of = _links_of(board, members)
    accounts = _accounts(board, members)
    students = board.students.drop_duplicates("student_id").set_index("student_id")
    active = active_students(students)  # once: it is a set of every active student of the board
    school_of = dict(zip(students.index.to_numpy(dtype=object),
                         (str(school) for school in students["school_id"].to_numpy(dtype=object))))
    for cluster in clusters:
        yield _finding(context, cluster, rows, links_of, accounts, school_of, active)


def _contact_rows(board, members: list[str]) -> dict[str, dict[str, str]]:
    """Each clustered contact record's columns, by contact id."""
    contacts = board.contacts
    contacts = contacts[contacts["contact_id"].isin(members)].drop_duplicates("contact_id")
    # Whole columns at once: a ``DataFrame.at`` per value is slow for thousands of records.
    values = [[str(value) for value in contacts[column].to_numpy(dtype=object)]
              for column in CONTACT_COLUMNS]
    return {str(cid): dict(zip(CONTACT_COLUMNS, record))
            for cid, record in zip(contacts["contact_id"], zip(*values))}


def _links_of(board, members: list[str]) -> dict[str, list[dict]]:
    """Each clustered contact record's student links, sorted, so the finding (its links,
    students and steps) is the same for any row order."""
    links = board.student_contacts
    links = links[links["contact_id"].isin(members)]
    links_of: dict[str, list[dict]] = {}
    for sid, cid, rel, portal in sorted(zip(links["student_id"].astype(str),
                                            links["contact_id"].astype(str),
                                            links["relationship"].astype(str).str.strip(),
                                            links["portal_access"].astype(bool))):
        links_of.setdefault(cid, []).append(
            {"contact_id": cid, "student_id": sid, "relationship": rel,
             "portal_access": bool(portal)})
    return links_of


def _accounts(board, members: list[str]) -> "Accounts":
    """The parent accounts of the clustered contact records, and what each one can see."""
    accounts = board.accounts
    parent_accounts = accounts[(accounts["account_type"] == "parent")
                               & accounts["person_id"].isin(members)]
    accounts_of: dict[str, list[str]] = {}
    account_rows: dict[str, dict[str, str]] = {}
    for aid, person, username, status in sorted(zip(
            parent_accounts["account_id"].astype(str), parent_accounts["person_id"].astype(str),
            parent_accounts["username"].astype(str), parent_accounts["status"].astype(str))):
        accounts_of.setdefault(person, []).append(aid)
        account_rows.setdefault(aid, {"account_id": aid, "username": username.strip(),
                                      "status": status})
    granted = board.account_students
    granted = granted[granted["account_id"].isin(list(account_rows))]
    sees: dict[str, set[str]] = {}
    for aid, sid in zip(granted["account_id"].astype(str), granted["student_id"].astype(str)):
        sees.setdefault(aid, set()).add(sid)
    return Accounts(accounts_of, account_rows, sees)


class Accounts:
    """The parent accounts of a board's clustered contact records: ids per contact record,
    each account's username and status, and the students each one can see."""

    def __init__(self, of: dict[str, list[str]], rows: dict[str, dict[str, str]],
                 sees: dict[str, set[str]]) -> None:
        self.of, self.rows, self.sees = of, rows, sees

    def active_of(self, contact_id: str) -> list[dict[str, str]]:
        return [self.rows[aid] for aid in self.of.get(contact_id, [])
                if self.rows[aid]["status"] == "active"]


def _finding(context: AuditContext, cluster: ContactCluster, rows: dict, links_of: dict,
             accounts: Accounts, school_of: Mapping[str, str], active: frozenset[str]
             ) -> Finding:
    graph = context.graph
    accounts_of = accounts.of
    ids = list(cluster.contacts)
    # The survivor is chosen here, once: the fix planner keeps the record the runbook names.
    keep, reason = choose_survivor(ids, rows, [link for cid in ids
                                               for link in links_of.get(cid, [])], accounts_of)
    retire = [cid for cid in ids if cid != keep]
    cluster_links = sorted((link for cid in ids for link in links_of.get(cid, [])),
                           key=lambda link: (link["student_id"], link["contact_id"],
                                             link["relationship"], link["portal_access"]))
    student_ids = sorted({link["student_id"] for link in cluster_links})
    names = {cid: graph.label((CONTACT, cid)) for cid in ids}
    names.update({sid: graph.label((STUDENT, sid)) for sid in student_ids})
    schools = sorted({school_of[sid] for sid in student_ids if sid in school_of})
    evidence = _evidence(cluster, names)
    evidence["family"] = _family_words(graph, cluster_links, ids)
    evidence["score"] = f"match confidence {cluster.confidence:.2f}"
    evidence["weights"] = _waterfall_words(cluster)
    waits_for: list[dict] = []
    steps = _steps(keep, retire, rows, links_of, accounts, names, graph, context.config, active,
                   waits_for)
    fix = MergeContacts(
        keep=keep, keep_reason=reason, retire=tuple(retire),
        students={cid: [{"student_id": link["student_id"], "relationship": link["relationship"],
                         "portal_access": link["portal_access"]}
                        for link in links_of.get(cid, [])] for cid in retire},
        records={cid: dict(rows.get(cid, {})) for cid in ids},
        links=tuple(cluster_links),
        accounts={cid: tuple(accounts_of[cid]) for cid in ids if accounts_of.get(cid)},
        # The kept record's parent accounts (generation never touches them): the moved
        # children must be added to their permissions by hand.
        kept_accounts=tuple(dict(accounts.rows[aid]) for aid in accounts_of.get(keep, [])),
        steps=tuple(steps), waits_for=tuple(waits_for))
    seeds = [(CONTACT, cid) for cid in ids] + [(STUDENT, sid) for sid in student_ids]
    return Finding(
        id=stable_id(CODE, cluster.contacts),
        check=CODE,
        severity=Severity.ERROR,
        title=f"Contact records {_and(ids)} look like one person ({names.get(keep) or keep})",
        confidence=cluster.confidence,
        school_ids=tuple(schools),
        students=tuple(student_ids),
        contacts=tuple(ids),
        evidence=evidence,
        fix=fix,
        names=names,
        household=graph.household_snapshot(seeds),
        match=match_record(cluster),
    )


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_SPACES = re.compile(r"^\s+|\s+$|\s{2,}|[^\S ]")


def visible(text: str) -> str:
    """``text`` with the spacing a reader cannot see shown: leading, trailing, doubled and
    non-space whitespace (a tab, a no-break space) as ``␣``, one per character."""
    return _SPACES.sub(lambda m: "␣" * len(m.group()), text)


def _field_words(name: str, field: Mapping[str, str]) -> str:
    verdict, note = field["verdict"], field.get("note", "")
    a, b = visible(str(field["a"])), visible(str(field["b"]))
    if verdict == "same":
        # Names as typed on both records (a clerk searches by them); an email or an address
        # compares without case, so one value says it.
        names = name in ("first_name", "last_name")
        shown = f"{a} / {b}" if names and a != b else a
        text = f"same ({shown})" if shown else "same"
        if names and a != b:
            raw_a, raw_b = str(field["a"]), str(field["b"])
            squeezed_a, squeezed_b = "".join(raw_a.split()), "".join(raw_b.split())
            if squeezed_a.lower() == squeezed_b.lower():
                spacing = raw_a.lower() != raw_b.lower()
                case = squeezed_a != squeezed_b
                text += " (spacing and case differ)" if spacing and case else \
                    " (spacing differs)" if spacing else " (case differs)" if case else ""
        return text + (f", {note}" if note and name == "phone" else "")
    if verdict == "missing":
        # Nothing to show where neither record has it, or where both do and another
        # comparison has read it (the city of two different addresses).
        if bool(a.strip()) == bool(b.strip()):
            return ""
        return f"on one record only ({a.strip() or b.strip()})"
    joiner = " ~ " if verdict == "similar" else " / "
    text = f"{verdict}: {a}{joiner}{b}"
    return text + (f" ({note})" if note else "")


def _evidence(cluster: ContactCluster, names: Mapping[str, str]) -> dict[str, str]:
    """Field by field, in words: from the one pair, or per pair when the group is larger."""
    pairs: Sequence[PairEvidence] = sorted(cluster.pairs, key=lambda p: -p.score)
    evidence: dict[str, str] = {}
    for name in EVIDENCE_FIELDS:
        seen: list[str] = []
        for pair in pairs:
            field = pair.fields.get(name)
            if not field:
                continue
            words = _field_words(name, field)
            if not words:
                continue
            if len(pairs) > 1:
                words = f"{pair.a}~{pair.b}: {words}"
            seen.append(words)
        if seen:
            evidence[name] = "; ".join(seen)
    return evidence


def _waterfall_words(cluster: ContactCluster) -> str:
    """Each pair's match weights in bits, splink's waterfall: the prior, every comparison
    with something to compare (its level and weight), what a household or family member
    would explain, and the match probability they add up to."""
    pairs = sorted(cluster.pairs, key=lambda p: (-p.score, p.a, p.b))
    texts = []
    for pair in pairs:
        parts = [f"prior {pair.prior:+.1f}"]
        parts += [f"{name} {field['level']} {field['weight']:+.1f}"
                  for name, field in pair.fields.items() if field.get("level", "null") != "null"]
        if pair.others:
            parts.append(f"household or relative {pair.others:+.1f}")
        text = "; ".join(parts) + f" = {pair.score:.2f}"
        texts.append(f"{pair.a}~{pair.b}: {text}" if len(pairs) > 1 else text)
    return " | ".join(texts)


def match_record(cluster: ContactCluster) -> dict:
    """The finding's ``match`` (a data-contract extension): the group's probability and, per
    accepted pair, the waterfall as data."""
    return {"probability": cluster.confidence,
            "pairs": [{"a": pair.a, "b": pair.b, "probability": pair.score,
                       "prior": pair.prior, "others": pair.others,
                       "fields": [{"comparison": name, "level": field.get("level"),
                                   "a": str(field.get("a", "")), "b": str(field.get("b", "")),
                                   "weight": field.get("weight"),
                                   "household_weight": field.get("household_weight")}
                                  for name, field in pair.fields.items()]}
                      for pair in cluster.pairs]}


def _family_words(graph, links: Sequence[Mapping], ids: Sequence[str]) -> str:
    if not links:
        return "not linked to any student"
    students = sorted({link["student_id"] for link in links})
    by_role: dict[str, set[str]] = {}
    for link in links:
        by_role.setdefault(link["relationship"] or "no relationship", set()).add(link["student_id"])
    roles = sorted(by_role)
    # Which student in which role: a record linked as Mother to one family and as Friend to
    # another is a parent of the first only.
    role_text = f"both as {roles[0]}" if len(roles) == 1 and len(students) > 1 else \
        f"as {roles[0]}" if len(roles) == 1 else \
        "; ".join(f"{_and(sorted(by_role[role]))} as {role}" for role in roles)
    if len(students) == 1:
        return f"linked to student {students[0]} as {' / '.join(roles)}"
    linked = all(other in graph.linked_siblings(s) for i, s in enumerate(students)
                 for other in students[i + 1:])
    kind = "siblings" if linked else "students"
    text = f"linked to {kind} {_and(students)}, {role_text}" if len(roles) == 1 else \
        f"linked to {kind} {role_text}"
    if not linked:
        text += " (not linked as siblings)"
    return text


def active_students(students: pd.DataFrame) -> frozenset[str]:
    if "status" not in students.columns:
        return frozenset(str(s) for s in students.index.to_numpy(dtype=object))
    active = students.index[(students["status"] == "active").to_numpy(dtype=bool)]
    return frozenset(str(s) for s in active.to_numpy(dtype=object))


def _steps(keep: str, retire: Sequence[str], rows: Mapping, links_of: Mapping,
           accounts: Accounts, names: Mapping[str, str], graph, config,
           active: frozenset[str] = frozenset(),
           waits_for: list[dict] | None = None) -> list[str]:
    """The merge's steps; ``waits_for`` gets each step that needs a sibling link first (its
    number, and the students to be linked), so a runbook can name the finding that links them."""
    steps = _fill_steps(keep, retire, rows, names)
    # Only the kept record's own children make a student their sibling: a record that is also
    # an emergency contact (Friend, Neighbour) of another family's students says nothing about
    # whose sibling anyone is.
    kept_students = sorted({link["student_id"] for link in links_of.get(keep, [])
                            if config.is_parental(link["relationship"])})
    for cid in retire:
        for link in links_of.get(cid, []):
            _relink_steps(steps, keep, cid, link, names, graph, kept_students, waits_for)
    steps += _account_steps(keep, retire, links_of, accounts, names, active)
    return numbered(steps)


def _fill_steps(keep: str, retire: Sequence[str], rows: Mapping,
                names: Mapping[str, str]) -> list[str]:
    """Copy onto the kept record what only a retired record has (a record's names are never
    blank in an export the audit reads, so only the other columns ever show up here)."""
    steps = []
    for cid in retire:
        missing = [column for column in SURVIVOR_FIELDS
                   if not rows.get(keep, {}).get(column, "").strip()
                   and rows.get(cid, {}).get(column, "").strip()]
        if missing:
            steps.append(f"Open contact {record(names, keep)} and fill in {', '.join(missing)} "
                         f"as on {record(names, cid)}, so nothing is lost when that record goes.")
    return steps


def _relink_steps(steps: list[str], keep: str, cid: str, link: Mapping,
                  names: Mapping[str, str], graph, kept_students: list[str],
                  waits_for: list[dict] | None) -> None:
    """Move one link of a retired record to the kept record: delete it, add the kept record
    (after linking the student as a sibling, when the SIS would not offer the kept record)."""
    kept, old = record(names, keep), record(names, cid)
    sid = link["student_id"]
    student = record(names, sid)
    portal = "Y" if link["portal_access"] else "N"
    relationship = link["relationship"] or "the same relationship"
    steps.append(f"Open student {student}, go to {screen(FAMILY_CONTACTS, CONTACTS)} and "
                 f"delete contact {old} ({relationship}).")
    steps.append(f"Still on {screen(FAMILY_CONTACTS, CONTACTS)} of {student}, click + and "
                 f"choose \"Person exists as a contact for the related student\"; pick "
                 f"{kept}, relationship {relationship}, portal access {portal}.")
    if kept_students and sid not in kept_students and not any(
            sid in graph.linked_siblings(other) for other in kept_students):
        steps.append(f"If {kept} does not show up to pick, {student} is not linked as a "
                     f"sibling of {_and([record(names, s) for s in kept_students])}: "
                     f"link them in {screen(FAMILY_CONTACTS, SIBLINGS)} first, then add "
                     "the contact again.")
        if waits_for is not None:
            waits_for.append({"step": len(steps), "check": "unlinked-siblings",
                              "student": sid, "siblings": kept_students})


def _account_steps(keep: str, retire: Sequence[str], links_of: Mapping, accounts: Accounts,
                   names: Mapping[str, str], active: frozenset[str]) -> list[str]:
    """The kept record's accounts given the moved children, the retired records' disabled."""
    steps = []
    kept = record(names, keep)
    # Generation skips a record that already holds an account, so the kept record's account
    # sees a moved child only when someone adds it (what ``fix apply`` does in account_students).
    moved = sorted({link["student_id"] for cid in retire for link in links_of.get(cid, [])
                    if link["portal_access"] and link["student_id"] in active})
    granted = False
    for account in accounts.active_of(keep):
        username = account["username"] or account["account_id"]
        account_screen = screen(*CONNECT_ACCOUNTS, f"{username} (account {account['account_id']})",
                                PERMISSIONS)
        for sid in moved:
            if sid in accounts.sees.get(account["account_id"], set()):
                continue
            steps.append(f"{account_screen}: click +, choose {record(names, sid)}, save.")
            granted = True
    if granted:
        steps.append(NEVER_REGENERATE)
    for cid in retire:
        for account in accounts.of.get(cid, []):
            steps.append(f"Contact {record(names, cid)} holds CONNECT parent account {account}: "
                         f"disable it once {kept} can see every child, so the parent has one "
                         "login.")
    return steps
