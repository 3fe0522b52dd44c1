"""The ``missing-username-source`` check: a parent who would get an account but has no username."""

from __future__ import annotations

from typing import Iterator

from audits.engine.context import AuditContext
from audits.model.findings import Finding, Severity, stable_id
from audits.model.actions import Manual
from audits.preview import FAILS_NO_USERNAME, split_ids
from audits.household.graph import CONTACT, STUDENT
from audits.checks.spec import check
from audits.checks.steps import CONTACTS, FAMILY_CONTACTS, names_of, numbered, record, screen

CODE = "missing-username-source"


@check(CODE, severity=Severity.ERROR,
       needs=frozenset({"graph", "matches", "preview"}))
def missing_username_source(context: AuditContext) -> Iterator[Finding]:
    """A contact record would get a parent account but has no usable username under the naming schema.

    Why it matters: Under the email naming schema a parent's username is the email on the
    contact record. When the email is blank, malformed or a placeholder such as "none",
    generation fails for that record and the parent gets no account at all, while the
    generation screen still listed it as "Will be created".

    How to fix: Open Family & Contacts > Contacts, open the contact record, and in Email enter
    the parent's own personal email (not a shared family address or a work address that is
    also a staff username), then save and generate again.
    """
    preview = context.preview
    failing = preview[preview["outcome"] == FAILS_NO_USERNAME]
    if failing.empty:
        return
    schema = context.config.naming_schema.get("parent", "email")
    contacts = context.board.contacts
    failing = failing.merge(contacts[["contact_id", "email"]].drop_duplicates("contact_id"),
                            on="contact_id", how="left")
    graph = context.graph
    columns = ["contact_id", "school_id", "student_ids", "username_problem", "email"]
    for contact_id, school_id, student_ids, problem, email in zip(
            *(failing[column].fillna("").tolist() for column in columns)):
        students = split_ids(student_ids)
        names = {**names_of(graph, CONTACT, [contact_id]), **names_of(graph, STUDENT, students)}
        if schema == "email":
            steps = [
                f"{screen(FAMILY_CONTACTS, CONTACTS, record(names, contact_id))} > Email: enter "
                "the parent's personal email (one no other parent or staff member uses), save.",
                "Generate parent accounts again; the username will be that email.",
            ]
        else:
            steps = [
                f"{screen(FAMILY_CONTACTS, CONTACTS, record(names, contact_id))}: enter the "
                "missing first or last name, save.",
                "Generate parent accounts again.",
            ]
        yield Finding(
            id=stable_id(CODE, [contact_id]),
            check=CODE,
            severity=Severity.ERROR,
            title=(f"Contact record {record(names, contact_id)} would get a parent account but "
                   f"has no usable username ({problem})"),
            school_ids=(school_id,),
            students=tuple(students),
            contacts=(contact_id,),
            evidence={"naming_schema": schema, "problem": problem, "email": str(email),
                      "portal_access_to": ", ".join(students)},
            fix=Manual(details={"contact_id": contact_id, "field": "email"
                                if schema == "email" else "name", "current_value": str(email)},
                       steps=tuple(numbered(steps))),
            names=names,
            household=graph.household_snapshot(
                [(CONTACT, contact_id), *((STUDENT, s) for s in students)]),
        )
