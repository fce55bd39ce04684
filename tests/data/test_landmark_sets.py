import pytest

from zoo.data import LandmarkSetError, get_landmark_set, list_landmark_sets

ISBI = ["S", "N", "Or", "Po", "A", "B", "Pog", "Me", "Gn", "Go", "LIT", "UIT", "Ls", "Li", "Sn", "Pog'", "PNS",
        "ANS", "Ar"]
AARIZ = ["A", "ANS", "B", "Me", "N", "Or", "Pog", "PNS", "Pn", "R", "S", "Ar", "Co", "Gn", "Go", "Po", "LPM",
         "LIT", "LMT", "UPM", "UIA", "UIT", "UMT", "LIA", "Li", "Ls", "N'", "Pog'", "Sn"]


def test_builtin_sets_have_the_contracted_symbols_in_order():
    assert set(list_landmark_sets()) >= {"isbi2015", "aariz", "ceph31", "ruler"}
    assert get_landmark_set("isbi2015").symbols == ISBI
    assert get_landmark_set("aariz").symbols == AARIZ
    assert get_landmark_set("ceph31").symbols == AARIZ + ["p1", "p2"]
    assert get_landmark_set("ruler").symbols == ["p1", "p2"]
    for name in list_landmark_sets():
        s = get_landmark_set(name)
        assert len(s) == len(s.names) == len(s.symbols) and s.name == name


def test_index_map_pairs_shared_symbols():
    isbi, aariz, ceph31 = (get_landmark_set(n) for n in ("isbi2015", "aariz", "ceph31"))
    pairs = isbi.index_map(aariz)
    assert len(pairs) == 19  # every ISBI landmark is an Aariz landmark
    for i, j in pairs:
        assert isbi.symbols[i] == aariz.symbols[j]
    assert ceph31.index_map("ruler") == [(29, 0), (30, 1)]
    assert get_landmark_set("ruler").index_map(isbi) == []


def test_lookup_accepts_case_and_aliases():
    s = get_landmark_set("ceph31")
    assert s.lookup("P1") == 29
    assert s.lookup("soft tissue pogonion") == s.symbols.index("Pog'")
    assert s.lookup("Sella") == s.symbols.index("S")
    assert s.lookup("nonsense") is None
    with pytest.raises(LandmarkSetError, match="not in the landmark set 'ceph31'"):
        s.index("nonsense")


def test_unknown_set_suggests_and_round_trips_through_dict():
    with pytest.raises(LandmarkSetError, match="isbi2015"):
        get_landmark_set("isbi2016")
    s = get_landmark_set("isbi2015")
    again = get_landmark_set(s.to_dict())
    assert again.symbols == s.symbols and again.names == s.names
