"""Microsoft School Data Sync (SDS) v2.1 CSV, read into the board.

The field names are Microsoft's *SDS V2.1 CSV File Format* page (learn.microsoft.com,
schooldatasync/sds-v2.1-csv-file-format) and its sample set (the O365-EDU-Tools repository,
"CSV Samples/SDS v2.1"):

- ``orgs.csv`` (``sourcedId``, ``name``, ``type``, ``parentSourcedId``) -> schools: ``type``
  ``district`` is the central office, every other org a school of type ``other``.
- ``users.csv`` (``sourcedId``, ``username``, ``givenName``, ``familyName``, ``password``,
  ``activeDirectoryMatchId``, ``email``, ``phone``, ``sms``) -> people; ``sourcedId`` is the
  record id, ``phone`` a contact's home phone and ``sms`` its cell phone.
- ``roles.csv`` (``userSourcedId``, ``orgSourcedId``, ``role``, ``sessionSourcedIds``,
  ``grade``, ``isPrimary``, ``roleStartDate``, ``roleEndDate``): a user with role ``student``
  is a student of that org (the ``isPrimary`` row first), with its ``grade``; any other role
  (``teacher``, ``administrator``, ``principal``, ...) makes staff. A student whose student
  roles have all ended (``roleEndDate`` before today) is inactive: SDS has no status field.
- ``relationships.csv`` (``userSourcedId`` the student, ``relationshipUserSourcedId`` the
  contact, ``relationshipRole``): a student_contacts link whose relationship is that role
  (``parent``, ``guardian``, ``relative``, ``other``, ...), with portal access when the role is
  in ``[input] portal_access_roles``. SDS's guardians are users with no roles.csv row: every
  such user is a contact record.
- ``demographics.csv`` (``userSourcedId``, ``sex``, ``birthDate``, ...): a student's date of
  birth (``YYYY-MM-DD``, or ``M/D/YYYY`` as the sample set writes it).

Siblings, addresses and the parent-access flag are not in SDS; nothing is derived in their
place (see :mod:`audits.io.formats`).
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from audits.model.board import BoardSource, TableSource
from audits.model.config import InputLimits
from audits.model.errors import ProblemCollector
from audits.io.formats._files import (ExportFiles, column, read_side_tables, read_table,
                                   schools_from_orgs)

ORG_FIELDS = ("sourcedId", "name", "type", "parentSourcedId")
USER_FIELDS = ("sourcedId", "username", "givenName", "familyName", "password",
               "activeDirectoryMatchId", "email", "phone", "sms")
ROLE_FIELDS = ("userSourcedId", "orgSourcedId", "role", "sessionSourcedIds", "grade",
               "isPrimary", "roleStartDate", "roleEndDate")
RELATIONSHIP_FIELDS = ("userSourcedId", "relationshipUserSourcedId", "relationshipRole")
DEMOGRAPHIC_FIELDS = ("userSourcedId", "sex", "birthDate", "birthCity", "birthState",
                      "birthCountry", "ethnicityCodes", "raceCodes")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def iso_date(text: str) -> str:
    """``M/D/YYYY`` as ``YYYY-MM-DD``; ``YYYYMMDD`` likewise; anything else as it is (the
    board's validation reports a date it cannot read)."""
    text = text.strip()
    match = _US_DATE.fullmatch(text)
    if match:
        month, day, year = (int(part) for part in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def read_sds(files: ExportFiles, mapping, problems: ProblemCollector, limits: InputLimits,
             today: dt.date | None = None):
    from audits.io.loading.tables import Export

    orgs, users, roles, relationships, demographics = _read_files(files, problems, limits)
    if orgs is None or users is None or roles is None:
        return None
    org_frame, org_source = orgs
    user_frame, user_source = users
    frames, sources = {}, {}
    frames["schools"] = schools_from_orgs(org_frame)
    sources["schools"] = org_source
    school_of, grade_of, current, staff_school = _by_role(roles[0], today or dt.date.today())
    ids = column(user_frame, "sourcedId")
    is_student = ids.isin(school_of.keys())
    is_staff = ids.isin(staff_school.keys()) & ~is_student
    is_contact = ~is_student & ~is_staff
    born = {}
    if demographics is not None:
        demo = demographics[0]
        born = dict(zip(column(demo, "userSourcedId"), column(demo, "birthDate").map(iso_date)))
    first, last = column(user_frame, "givenName"), column(user_frame, "familyName")
    frames["students"] = pd.DataFrame({
        "student_id": ids, "school_id": ids.map(school_of).fillna(""), "first_name": first,
        "last_name": last, "date_of_birth": ids.map(born).fillna(""),
        "grade": ids.map(grade_of).fillna(""),
        "status": ids.isin(current).map({True: "active", False: "inactive"}),
    })[is_student].astype(str)
    frames["contacts"] = pd.DataFrame({
        "contact_id": ids, "first_name": first, "last_name": last,
        "email": column(user_frame, "email"), "home_phone": column(user_frame, "phone"),
        "cell_phone": column(user_frame, "sms"),
    })[is_contact].astype(str)
    frames["staff"] = pd.DataFrame({
        "staff_id": ids, "school_id": ids.map(staff_school).fillna(""), "first_name": first,
        "last_name": last, "email": column(user_frame, "email"),
    })[is_staff].astype(str)
    for name in ("students", "contacts", "staff"):
        sources[name] = user_source
    frames["student_contacts"], sources["student_contacts"] = _student_contacts(
        files, relationships, limits)
    lines: dict = {}
    read_side_tables(files, mapping, problems, limits, frames, sources, lines)
    return Export(frames, BoardSource(path=str(files.path), kind="sds-2.1", tables=sources),
                  lines)


def _read_files(files: ExportFiles, problems: ProblemCollector, limits: InputLimits) -> tuple:
    """orgs.csv, users.csv, roles.csv, and relationships.csv and demographics.csv when given,
    as read; each ``None`` when absent or unreadable."""
    orgs = read_table(files, "orgs.csv", ("sourcedId", "name", "type"), problems, limits,
                      ORG_FIELDS)
    users = read_table(files, "users.csv", ("sourcedId", "givenName", "familyName"), problems,
                       limits, USER_FIELDS)
    roles = read_table(files, "roles.csv", ("userSourcedId", "orgSourcedId", "role"),
                       problems, limits, ROLE_FIELDS)
    relationships = read_table(files, "relationships.csv", RELATIONSHIP_FIELDS, problems,
                               limits) if files.has("relationships.csv") else None
    demographics = read_table(files, "demographics.csv", ("userSourcedId", "birthDate"),
                              problems, limits, DEMOGRAPHIC_FIELDS) \
        if files.has("demographics.csv") else None
    return orgs, users, roles, relationships, demographics


def _by_role(role_frame: pd.DataFrame, today: dt.date) -> tuple[dict, dict, set, dict]:
    """From roles.csv (primary roles first): each student's school and grade, the students
    with a role not ended by ``today``, and each staff member's school."""
    primary = column(role_frame, "isPrimary").str.lower() == "true"
    ordered = pd.concat([role_frame[primary], role_frame[~primary]])
    role = column(ordered, "role").str.lower()
    ended = column(ordered, "roleEndDate").map(iso_date).map(lambda d: _before(d, today))
    student_roles = ordered[role == "student"]
    first_student = student_roles.drop_duplicates("userSourcedId")
    school_of = dict(zip(column(first_student, "userSourcedId"),
                         column(first_student, "orgSourcedId")))
    grade_of = dict(zip(column(first_student, "userSourcedId"), column(first_student, "grade")))
    current = set(column(student_roles[~ended[role == "student"]], "userSourcedId"))
    staff_roles = ordered[role != "student"].drop_duplicates("userSourcedId")
    staff_school = dict(zip(column(staff_roles, "userSourcedId"),
                            column(staff_roles, "orgSourcedId")))
    return school_of, grade_of, current, staff_school


def _student_contacts(files: ExportFiles, relationships, limits: InputLimits
                      ) -> tuple[pd.DataFrame, TableSource]:
    """The student-contact links of relationships.csv, portal access from the contact's role
    (``[input] portal_access_roles``); none, recorded absent, without the file."""
    if relationships is None:
        frame = pd.DataFrame({c: pd.Series([], dtype=str) for c in (
            "student_id", "contact_id", "relationship", "portal_access")})
        return frame, TableSource(file=files.label("relationships.csv"), present=False)
    portal = frozenset(limits.portal_access_roles)
    links, link_source = relationships
    relationship = column(links, "relationshipRole")
    frame = pd.DataFrame({
        "student_id": column(links, "userSourcedId"),
        "contact_id": column(links, "relationshipUserSourcedId"),
        "relationship": relationship,
        "portal_access": relationship.str.lower().isin(portal).map({True: "Y", False: "N"}),
    })
    return frame.drop_duplicates(["student_id", "contact_id"]).astype(str), link_source


def _before(date: str, today: dt.date) -> bool:
    try:
        return dt.date.fromisoformat(date) < today
    except ValueError:
        return False
