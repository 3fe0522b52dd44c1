"""The ``portal-access-non-parent`` check: a contact who is not a parent would get an account."""

from __future__ import annotations

from typing import Iterator

import pandas as pd

from audits.checks.spec import check
from audits.checks.steps import CONTACTS, FAMILY_CONTACTS, names_of, numbered, record, screen
from audits.engine.context import AuditContext
from audits.household.graph import CONTACT, STUDENT
from audits.model.findings import Finding, Severity, stable_id
from audits.model.actions import Manual

CODE = "portal-access-non-parent"


@check(CODE, severity=Severity.WARNING, needs=frozenset({"graph", "matches", "preview"}))
def portal_access_non_parent(context: AuditContext) -> Iterator[Finding]:
    """A contact whose relationship is not parental has portal access, so generation would make them a parent account.

    Why it matters: Generation makes a parent account for every contact record with portal
    access to an active student, whatever the relationship says. A neighbour, an emergency
    contact or an "Other" with the flag set gets a CONNECT account that shows the child's
    marks, attendance and timetable. Sometimes that is intended (a grandparent with custody);
    often the flag was ticked by habit when the contact was added. The parental words are
    [relationships] parental in the config.

    How to fix: Ask the school whether this person should see the child in CONNECT. If not,
    open the student, go to Family & Contacts > Contacts, open the contact, clear Portal
    access and save. If they should (a guardian in all but the word), change the relationship
    to Guardian, or record the decision with connect-audit suppress. Then generate.
    """
    links = _non_parental_access(context)
    if links.empty:
        return
    graph = context.graph
    for contact_id, group in links.groupby("contact_id", sort=True):
        students = sorted(set(group["student_id"]))
        schools = tuple(sorted(set(group["school_id"])))
        words = sorted(set(group["relationship"]))
        names = {**names_of(graph, CONTACT, [contact_id]), **names_of(graph, STUDENT, students)}
        yield Finding(
            id=stable_id(CODE, [contact_id]),
            check=CODE,
            severity=Severity.WARNING,
            title=(f"Contact record {record(names, contact_id)} "
                   f"({', '.join(words) or 'no relationship'}) has portal access and would get "
                   f"a parent account"),
            school_ids=schools,
            students=tuple(students),
            contacts=(contact_id,),
            evidence={"relationship": ", ".join(words) or "(blank)",
                      "portal_access_to": ", ".join(students)},
            fix=Manual(details={"contact_id": contact_id},
                       steps=tuple(numbered(_steps(names, contact_id, students)))),
            names=names,
            household=graph.household_snapshot(
                [(CONTACT, contact_id), *((STUDENT, s) for s in students)]),
        )


def _non_parental_access(context: AuditContext) -> pd.DataFrame:
    """Each portal-access link to an active student, not parental, of a contact the generation
    preview would make an account for (an existing account is not regenerated). Overlinked
    placeholder records are left to overlinked-contact."""
    preview = context.preview
    would_create = set(preview["contact_id"].astype(str)) - context.overlinked_contacts
    access = context.portal_access_links
    access = access[access["contact_id"].isin(would_create)]
    links = context.board.student_contacts
    links = links.loc[links["portal_access"], ["contact_id", "student_id", "relationship"]]
    links = links.assign(relationship=links["relationship"].astype(str).str.strip())
    links = links[~context.config.parental_mask(links["relationship"])]
    return access.merge(links, on=["contact_id", "student_id"], how="inner")


def _steps(names: dict[str, str], contact_id: str, students: list[str]) -> list[str]:
    steps = ["Ask the school whether this person should see these children in CONNECT."]
    contact = record(names, contact_id)
    for student in students:
        where = screen("Students", record(names, student), FAMILY_CONTACTS, CONTACTS, contact)
        steps.append(f"If not: {where} > Portal access: clear it, save.")
    steps.append("If they should: change the relationship to Guardian, or record the decision "
                 "with connect-audit suppress.")
    return steps
