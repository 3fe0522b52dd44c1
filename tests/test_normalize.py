"""Each normaliser the duplicate-contact matcher relies on."""

import pandas as pd
import pytest
from hypothesis import given, strategies as st

from audits.household.matching import normalize
from audits.household.wordlists import nickname_groups


def series(*values):
    return pd.Series(list(values), dtype=object)


def test_fold_names_folds_accents_case_and_spacing():
    folded = normalize.fold_names(series("  Hélène  TREMBLAY ", "José", "O'Neil", "Tremblay - Roy", None))
    assert folded.tolist() == ["helene tremblay", "jose", "o neil", "tremblay-roy", ""]


def test_surname_parts_split_compound_surnames():
    assert normalize.surname_parts("tremblay-roy") == ("tremblay", "roy")
    assert normalize.surname_parts("van der berg") == ("van", "der", "berg")
    assert normalize.surname_parts("") == ()


def test_nickname_groups_put_nicknames_together_and_strangers_apart():
    index = normalize.nickname_index(nickname_groups())
    names = ("jennifer", "jenny", "robert", "bob", "william", "bill", "katherine", "kathy",
             "zorro", "jennifer anne")
    groups = normalize.first_name_groups(series(*names), index, width=len(nickname_groups()))
    as_sets = [set(row) - {-1} for row in groups.itertuples(index=False)]
    assert as_sets[0] & as_sets[1]
    assert as_sets[2] & as_sets[3]
    assert as_sets[4] & as_sets[5]
    assert as_sets[6] & as_sets[7]
    assert not as_sets[0] & as_sets[2]
    assert as_sets[8] == set()
    assert as_sets[9] == as_sets[0]


def test_a_reversed_row_of_the_dataset_joins_two_names_only():
    # The dataset lists "bill has_nickname robert" and "bill has_nickname william": Robert and
    # William are each Bill, never each other.
    index = normalize.nickname_index(nickname_groups())
    assert set(index["robert"]) & set(index["bill"])
    assert set(index["william"]) & set(index["bill"])
    assert not set(index["robert"]) & set(index["william"])


def test_a_names_own_group_comes_first_in_its_block_keys():
    groups = nickname_groups()
    index = normalize.nickname_index(groups)
    first = normalize.first_name_groups(series("jennifer", "robert"), index, width=1)
    assert "jenny" in groups[first.iloc[0, 0]] and "bob" in groups[first.iloc[1, 0]]


def test_email_ignores_case_and_spaces_and_drops_non_emails():
    emails = normalize.normalize_email(series(" J.Smith@X.CA ", "j.smith @x.ca", "none", "", None))
    assert emails.tolist() == ["j.smith@x.ca", "j.smith@x.ca", "", "", ""]


@pytest.mark.parametrize("raw, digits", [
    ("(613) 555-0101", "6135550101"),
    ("613.555.0101", "6135550101"),
    ("1-613-555-0101", "6135550101"),
    ("+1 613 555 0101", "6135550101"),
    ("613-555-0101 ext 22", "6135550101"),
    ("555-0101", ""),
    ("", ""),
    ("n/a", ""),
])
def test_phone_is_ten_north_american_digits(raw, digits):
    assert normalize.phone_digits(raw) == digits
    assert normalize.normalize_phone(series(raw)).tolist() == [digits]


def test_postal_code_ignores_spacing_and_case():
    codes = normalize.normalize_postal_code(series("k1a 0b1", "K1A0B1", " K1A-0B1 ", ""))
    assert codes.tolist() == ["K1A0B1", "K1A0B1", "K1A0B1", ""]


@pytest.mark.parametrize("raw", ["Apt 4, 55 Elm Ave", "4-55 Elm Avenue", "55 Elm Avenue #4",
                                 "55 elm ave. unit 4", "Unit 4 - 55 ELM AVE", "55 Elm Ave, Suite 4"])
def test_street_formats_of_one_unit_agree(raw):
    assert normalize.split_street(raw) == ("55", "elmave", "4")


def test_street_keeps_other_units_and_streets_apart():
    assert normalize.split_street("Apt 101, 300 King St W")[2] == "101"
    assert normalize.split_street("Apt 205, 300 King St W")[2] == "205"
    assert normalize.split_street("12 Elm St") == ("12", "elmst", "")
    assert normalize.split_street("12 Elm Street") == normalize.split_street("12 elm st.")
    assert normalize.split_street("12 Oak St") != normalize.split_street("12 Elm St")
    assert normalize.split_street("") == ("", "", "")


def test_normalize_street_is_a_frame_of_parts():
    frame = normalize.normalize_street(series("Apt 4, 55 Elm Ave", "12 Rue Saint-Jean"))
    assert frame["civic"].tolist() == ["55", "12"]
    assert frame["street_name"].tolist() == ["elmave", "ruesaintjean"]
    assert frame["unit"].tolist() == ["4", ""]
    assert frame["street_words"].tolist() == ["elm ave", "rue saint jean"]


def test_a_unit_word_must_be_a_whole_word():
    assert normalize.split_street("86 North Arm Rd") == ("86", "narmrd", "")
    assert normalize.split_street("12 Noble St No 5")[2] == "5"


# The column normalisers read most values by a faster path (a civic number then a street
# name; plain ASCII phone text); every value must come out exactly as the per-value rules say.
_STREET_CHARS = st.sampled_from(list("0123456789 aApPtT#-.,éÉ٣uniUNI ste"))
_STREET_TEXT = st.one_of(
    st.text(alphabet=_STREET_CHARS, max_size=24),
    st.builds(lambda civic, first, rest: f"{civic} {first}{rest}",
              st.from_regex(r"[0-9]{1,5}", fullmatch=True), st.sampled_from(list("aSnNu")),
              st.text(alphabet=_STREET_CHARS, max_size=20)))
_PHONE_TEXT = st.text(alphabet=st.sampled_from(list("0123456789 1()-.+xXeEpP٣/n")), max_size=30)


@given(st.lists(_STREET_TEXT, max_size=12))
def test_normalize_street_agrees_with_split_street(values):
    values = values + ["12 Ste Catherine St", "0012 apt 5 elm", "12 -5 main", "12 Brébeuf Way",
                       "٣ Main St", "12 main\n", "1 2 3", "12 st-laurent blvd., unit 0045"]
    frame = normalize.normalize_street(series(*values))
    expected = [normalize._street_parts(value) for value in values]
    assert list(frame.itertuples(index=False, name=None)) == expected


@given(st.lists(_PHONE_TEXT, max_size=12))
def test_normalize_phone_agrees_with_phone_digits(values):
    values = values + ["1-613-555-0101", "613 555 0101 x12", "٦١٣5550101", "2613555010",
                       "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3"]
    assert normalize.normalize_phone(series(*values)).tolist() == [normalize.phone_digits(v)
                                                                   for v in values]


def test_phones_in_other_scripts_digits_read_as_their_digits():
    phones = normalize.normalize_phone(series("６１３-５５５-０１０１", "٦١٣٥٥٥٠١٠١", "613-555-0101"))
    assert phones.tolist() == ["6135550101"] * 3


@given(st.lists(st.text(alphabet="aB @.x_-\t\u00a0é", max_size=12), max_size=30))
def test_email_key_reads_one_email_as_normalize_email_reads_a_column(texts):
    from audits.household.matching.normalize import email_key, normalize_email

    column = normalize_email(pd.Series(texts + ["noemail@board.ca", " A@B.CA "], dtype=object))
    assert column.tolist() == [email_key(t) for t in texts + ["noemail@board.ca", " A@B.CA "]]


def test_no_values_normalise_to_no_values():
    for normaliser in (normalize.normalize_email, normalize.normalize_phone,
                       normalize.normalize_postal_code, normalize.fold_names):
        assert normaliser(series()).tolist() == []
    assert normalize.normalize_street(series()).empty
