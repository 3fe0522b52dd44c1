"""Blocking of the duplicate-contact matcher: which contact records are compared at all."""

from __future__ import annotations

from audits.household.matching.blocking import candidate_pairs
from audits.household.matching.features import contact_features
from audits.household.matching.matcher import match_contacts
from audits.model.board import board_from_frames
from audits.model.config import Config


def contact(cid, first, last, street, city, postal):
    return {"contact_id": cid, "first_name": first, "last_name": last, "street": street,
            "city": city, "postal_code": postal}


def compared(contacts) -> set[tuple[str, str]]:
    f = contact_features(board_from_frames({"contacts": contacts}), Config())
    pairs = candidate_pairs(f, 200, 8)
    return {tuple(sorted((str(f.ids[a]), str(f.ids[b])))) for a, b in pairs}


# Four households at one civic number of four streets that begin alike, in four towns:
# nothing else shared, so only the address passes (civic number + street prefix) can pair them.
HOUSES = [
    contact("A1", "Quentin", "Abernathy", "12 Maple Street", "Ottawa", "K1A 0B1"),
    contact("B1", "Rosalind", "Bystrzycki", "12 Maplewood Avenue", "Kingston", "K7L 2C3"),
    contact("C1", "Sebastian", "Czerniawski", "12 Mapleton Road", "Toronto", "M4C 1D2"),
    contact("D1", "Theodora", "Dziedzic", "12 Maplehurst Crescent", "Laval", "H7N 3E4"),
]


def test_a_civic_number_and_street_shared_across_towns_is_compared_by_place():
    # The key "12 mapl" recurs in every town of a large board: the records it holds are
    # compared within a town or postal area, not with every other town's.
    records = HOUSES + [contact("A2", "Ulrich", "Eberhardt", "12 Maple St", "Ottawa", "K1A 0B1")]
    pairs = compared(records)
    assert ("A1", "A2") in pairs
    assert not pairs & {("A1", "B1"), ("A1", "C1"), ("B1", "C1"), ("C1", "D1"), ("A2", "D1")}


def test_two_records_of_a_street_address_are_compared_whatever_their_towns():
    # A block of two is compared whole: a record whose city and postal code were both mistyped.
    pairs = compared([HOUSES[0], contact("A2", "Quentin", "Abernathy", "12 Maple Street",
                                         "Otawa", "K2A 0B1")])
    assert pairs == {("A1", "A2")}


def test_records_at_one_street_address_meet_when_town_and_postal_code_are_mistyped():
    # In a split block the whole street name is a place too: the same street address with the
    # city and the postal code both mistyped (and both names, so no name key is shared) still
    # meets, as hand-keyed lists need.
    records = HOUSES + [contact("A2", "Uentin", "Bernathy", "12 Maple Street", "Otawa",
                                "K2A 0B1")]
    pairs = compared(records)
    assert ("A1", "A2") in pairs
    # Across towns, only records that share something beyond the recurring key meet (here the
    # initial of a surname, B: Bernathy and Bystrzycki); the rest stay apart.
    assert pairs <= {("A1", "A2"), ("A2", "B1")}
    clusters = match_contacts(board_from_frames({"contacts": records}),
                                       Config()).clusters
    assert [c.contacts for c in clusters] == [("A1", "A2")]


def test_the_blocking_passes_are_a_declared_list_the_em_sessions_name():
    from audits.household.matching import blocking
    from audits.household.matching.model import SESSIONS

    names = [rule.name for rule in blocking.PASSES]
    assert len(set(names)) == len(names) <= 1 << blocking._PASS_BITS
    assert {name for session in SESSIONS for name in session.passes} <= set(names)
    f = contact_features(board_from_frames({"contacts": [
        contact("R1", "ann", "lee", "4 oak st", "york", "K1A0B1"),
        contact("R2", "anne", "lee", "4 oak street", "york", "K1A0B1")]}), Config())
    walked = [name for name, _, _ in blocking.block_passes(f)]
    assert walked == names
    pairs, masks, made = blocking.candidate_pairs_by_pass(f, 200)
    assert pairs.tolist() == [[0, 1]] and {"name", "postal+surname2"} <= set(made)
    # Bit i of a pair's mask: pass ``made[i]`` put the two records in one block.
    assert masks[0] >> made.index("name") & 1 and masks[0] >> made.index("postal+surname2") & 1
    assert masks[0] < 1 << len(made)
