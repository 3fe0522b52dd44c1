"""OneRoster 1.1 and 1.2 CSV (1EdTech, formerly IMS Global), bulk mode, read into the board.

The field names are the published specifications': *OneRoster v1.1 CSV Tables* (IMS Final
Release) and *OneRoster 1.2 CSV Binding* (1EdTech), each file's table of fields:

- ``manifest.csv`` (``propertyName``, ``value``): ``oneroster.version`` says 1.1 or 1.2;
  ``file.<name>`` is ``bulk``, ``delta`` or ``absent``. A delta export holds only what
  changed, so it is refused: a board is audited whole.
- ``orgs.csv`` (``sourcedId``, ``status``, ``dateLastModified``, ``name``, ``type``,
  ``identifier``, ``parentSourcedId``) -> schools: ``type`` ``district`` is the central office,
  every other org a school of type ``other`` (OneRoster has no elementary/secondary).
- ``users.csv`` (``sourcedId``, ``status``, ``dateLastModified``, ``enabledUser``, 1.1 only:
  ``orgSourcedIds``, ``role``; then ``username``, ``userIds``, ``givenName``, ``familyName``,
  ``middleName``, ``identifier``, ``email``, ``sms``, ``phone``, ``agentSourcedIds``,
  ``grades``, ``password``; 1.2 adds ``userMasterIdentifier``, ``preferredGivenName`` ...
  ``primaryOrgSourcedId``) -> students (role ``student``), contacts (``parent``, ``guardian``,
  ``relative``) and staff (every other role: ``teacher``, ``administrator``, ``aide``,
  ``proctor``; 1.2's ``principal``, ``counselor``, ``siteAdministrator``,
  ``districtAdministrator``, ``systemAdministrator``). ``sourcedId`` is the record id (what
  CONNECT's accounts.csv ``person_id`` must name); ``identifier`` and 1.2's
  ``userMasterIdentifier`` are kept as extra columns. Names are ``givenName``/``familyName``
  (the legal names, not the preferred ones); a contact's ``phone`` is its home phone and
  ``sms`` its cell phone; a student's ``grades`` is its grade.
- 1.2's ``roles.csv`` (``sourcedId``, ``status``, ``dateLastModified``, ``userSourcedId``,
  ``roleType``, ``role``, ``beginDate``, ``endDate``, ``orgSourcedId``,
  ``userProfileSourcedId``) gives each user's role and org: the ``primary`` row (``roleType``),
  else the first. 1.2's ``userProfiles.csv`` (application credentials) is not read.
- ``demographics.csv`` (``sourcedId`` = the user's, ``birthDate``, ``sex``, ...): a student's
  ``birthDate`` is its date of birth.
- ``agentSourcedIds`` links a student and its parents, guardians and relatives (listed on
  either side): each such pair is a student_contacts link, whose relationship is the contact's
  role. OneRoster keeps one role per user, so a grandparent who is also one child's guardian
  reads as one role for every child linked. The link has portal access when that role is in
  ``[input] portal_access_roles`` (``parent`` and ``guardian`` by default).

``status`` ``tobedeleted``: a student so marked is inactive; any other user so marked is left
out with its links (a record being removed gets no account). Siblings are not in OneRoster and
nothing is derived in their place.
"""

from __future__ import annotations

import pandas as pd

from audits.model.board import BoardSource, TableSource
from audits.model.config import InputLimits
from audits.model.errors import ProblemCollector
from audits.io.formats._files import (ExportFiles, column, id_list, read_side_tables,
                                   read_table, schools_from_orgs)

CONTACT_ROLES = frozenset({"parent", "guardian", "relative"})
ORG_FIELDS = ("sourcedId", "status", "dateLastModified", "name", "type", "identifier",
              "parentSourcedId")
USER_FIELDS_11 = ("sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds",
                  "role", "username", "userIds", "givenName", "familyName", "middleName",
                  "identifier", "email", "sms", "phone", "agentSourcedIds", "grades",
                  "password")
USER_FIELDS_12 = ("sourcedId", "status", "dateLastModified", "enabledUser", "username",
                  "userIds", "givenName", "familyName", "middleName", "identifier", "email",
                  "sms", "phone", "agentSourcedIds", "grades", "password",
                  "userMasterIdentifier", "resourceSourcedIds", "preferredGivenName",
                  "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId",
                  "pronouns")
ROLE_FIELDS_12 = ("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType",
                  "role", "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId")
DEMOGRAPHIC_FIELDS = ("sourcedId", "status", "dateLastModified", "birthDate", "sex",
                      "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
                      "nativeHawaiianOrOtherPacificIslander", "white",
                      "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity",
                      "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth",
                      "publicSchoolResidenceStatus")
MANIFEST_FIELDS = ("propertyName", "value")
DELETED = "tobedeleted"


def read_oneroster(files: ExportFiles, kind: str, mapping, problems: ProblemCollector,
                   limits: InputLimits):
    from audits.io.loading.tables import Export

    version = kind.rpartition("-")[2]
    manifest = files.manifest() or {}
    _delta_problems(files, manifest, version, problems)
    if problems:
        return None
    orgs, users, roles, demographics = _read_files(files, manifest, version, problems, limits)
    if orgs is None or users is None or (version == "1.2" and roles is None):
        return None
    org_frame, org_source = orgs
    user_frame, user_source = users
    role_of, org_of = _roles(user_frame, roles[0] if roles else None, version)
    frames, sources = {}, {}
    frames["schools"] = schools_from_orgs(org_frame)
    sources["schools"] = org_source
    ids = column(user_frame, "sourcedId")
    status = column(user_frame, "status").str.lower()
    role = ids.map(role_of).fillna("")
    deleted = status == DELETED
    is_student = role == "student"
    is_contact = role.isin(CONTACT_ROLES) & ~deleted
    is_staff = ~is_student & ~role.isin(CONTACT_ROLES) & (role != "") & ~deleted
    for row in user_frame.index[role == ""]:
        problems.add("no-role", "the user has no role" + (" (no row in roles.csv)"
                     if version == "1.2" else ""), file=user_source.file, row=int(row),
                     column="role" if version == "1.1" else "sourcedId")
    born = {}
    if demographics is not None:
        demo = demographics[0]
        born = dict(zip(column(demo, "sourcedId"), column(demo, "birthDate")))
    people = _people(user_frame, ids, ids.map(org_of).fillna(""), ids.map(born).fillna(""),
                     deleted)
    masks = {"students": is_student, "contacts": is_contact, "staff": is_staff}
    links = _agent_links(user_frame, ids, role, is_student, is_contact, deleted, user_source,
                         problems, limits)
    for name, frame in people.items():
        frames[name] = frame[masks[name]].astype(str)
        sources[name] = user_source
    frames["student_contacts"] = links
    sources["student_contacts"] = TableSource(file=user_source.file,
                                              headers=("agentSourcedIds",))
    lines: dict = {}
    read_side_tables(files, mapping, problems, limits, frames, sources, lines)
    return Export(frames, BoardSource(path=str(files.path), kind=kind, tables=sources), lines)


def _delta_problems(files: ExportFiles, manifest: dict[str, str], version: str,
                    problems: ProblemCollector) -> None:
    """Every file the manifest says is not in bulk mode: a board is audited whole."""
    for name in ("orgs", "users", *(("roles",) if version == "1.2" else ())):
        mode = manifest.get(f"file.{name}", "bulk").strip().lower()
        if mode not in ("bulk", ""):
            problems.add("delta-export", f"manifest.csv says file.{name} = {mode}: "
                         + ("a delta export holds only what changed since the last one, and "
                            "a board is audited whole" if mode == "delta" else
                            f"the export has no {name}.csv, which a board needs")
                         + "; export it again in bulk mode", file=files.label("manifest.csv"))


def _read_files(files: ExportFiles, manifest: dict[str, str], version: str,
                problems: ProblemCollector, limits: InputLimits) -> tuple:
    """orgs.csv, users.csv, roles.csv (1.2) and demographics.csv (when given) as read, each
    ``None`` when absent or unreadable."""
    orgs = read_table(files, "orgs.csv", ("sourcedId", "name", "type"), problems, limits,
                      ORG_FIELDS)
    required = ("sourcedId", "orgSourcedIds", "role", "givenName", "familyName") \
        if version == "1.1" else ("sourcedId", "givenName", "familyName")
    users = read_table(files, "users.csv", required, problems, limits,
                       USER_FIELDS_11 if version == "1.1" else USER_FIELDS_12)
    roles = None
    if version == "1.2":
        roles = read_table(files, "roles.csv", ("userSourcedId", "roleType", "role",
                                                "orgSourcedId"), problems, limits,
                           ROLE_FIELDS_12)
    demographics = None
    if files.has("demographics.csv") and \
            manifest.get("file.demographics", "bulk").strip().lower() != "absent":
        demographics = read_table(files, "demographics.csv", ("sourcedId", "birthDate"),
                                  problems, limits, DEMOGRAPHIC_FIELDS)
    return orgs, users, roles, demographics


def _people(users: pd.DataFrame, ids: pd.Series, org: pd.Series, born: pd.Series,
            deleted: pd.Series) -> dict[str, pd.DataFrame]:
    """Every user as a student, a contact and a staff member, in contract columns: the
    caller keeps each table's rows by role."""
    extra = {name: column(users, name) for name in ("identifier", "userMasterIdentifier")
             if name in users.columns}
    first, last = column(users, "givenName"), column(users, "familyName")
    return {
        "students": pd.DataFrame({
            "student_id": ids, "school_id": org, "first_name": first, "last_name": last,
            "date_of_birth": born, "grade": column(users, "grades"),
            "status": deleted.map({True: "inactive", False: "active"}), **extra}),
        "contacts": pd.DataFrame({
            "contact_id": ids, "first_name": first, "last_name": last,
            "email": column(users, "email"), "home_phone": column(users, "phone"),
            "cell_phone": column(users, "sms"), **extra}),
        "staff": pd.DataFrame({
            "staff_id": ids, "school_id": org, "first_name": first, "last_name": last,
            "email": column(users, "email"), **extra}),
    }


def _roles(users: pd.DataFrame, roles: pd.DataFrame | None, version: str
           ) -> tuple[dict[str, str], dict[str, str]]:
    """Each user's role (lowercased) and org: 1.1's users.csv ``role`` and first of
    ``orgSourcedIds``; 1.2's roles.csv primary row (else the first), its org, or the user's
    ``primaryOrgSourcedId``."""
    ids = column(users, "sourcedId")
    if version == "1.1":
        role = dict(zip(ids, column(users, "role").str.lower()))
        org = {i: (id_list(o) or [""])[0] for i, o in zip(ids, column(users, "orgSourcedIds"))}
        return role, org
    # A role being deleted still says who the user is; one in force says it first.
    kept = column(roles, "status").str.lower() != DELETED
    primary = column(roles, "roleType").str.lower() == "primary"
    ordered = pd.concat([roles[kept & primary], roles[kept & ~primary],
                         roles[~kept & primary], roles[~kept & ~primary]])
    first = ordered.drop_duplicates("userSourcedId")
    role = dict(zip(column(first, "userSourcedId"), column(first, "role").str.lower()))
    org = dict(zip(column(first, "userSourcedId"), column(first, "orgSourcedId")))
    for user, primary_org in zip(ids, column(users, "primaryOrgSourcedId")):
        if primary_org:
            org[user] = primary_org
    return role, org


def _agent_links(users: pd.DataFrame, ids: pd.Series, role: pd.Series, is_student: pd.Series,
                 is_contact: pd.Series, deleted: pd.Series, source: TableSource,
                 problems: ProblemCollector, limits: InputLimits) -> pd.DataFrame:
    """student_contacts from ``agentSourcedIds``: every (student, contact) pair listed on either
    side, once, in the order the students come; an agent id naming no user is a problem."""
    known = set(ids)
    removed = set(ids[deleted & ~is_student])
    students = set(ids[is_student])
    contacts = set(ids[is_contact])
    portal = frozenset(limits.portal_access_roles)
    role_of = dict(zip(ids, role))
    pairs: dict[tuple[str, str], None] = {}
    for row, user, agents in zip(users.index, ids, column(users, "agentSourcedIds")):
        for agent in id_list(agents):
            if agent not in known:
                problems.add("unknown-reference", f"agentSourcedIds names {agent}, which is no "
                             "user's sourcedId in users.csv", file=source.file, row=int(row),
                             column="agentSourcedIds")
                continue
            if agent in removed or user in removed:
                continue
            if user in students and agent in contacts:
                pairs.setdefault((user, agent), None)
            elif user in contacts and agent in students:
                pairs.setdefault((agent, user), None)
    order = {sid: n for n, sid in enumerate(ids[is_student])}
    ordered = sorted(pairs, key=lambda pair: order.get(pair[0], 0))
    relationship = [role_of[contact] for _, contact in ordered]
    return pd.DataFrame({
        "student_id": [s for s, _ in ordered], "contact_id": [c for _, c in ordered],
        "relationship": relationship,
        "portal_access": ["Y" if r in portal else "N" for r in relationship],
    }, index=pd.RangeIndex(2, 2 + len(ordered)), dtype=str)
