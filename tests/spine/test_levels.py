import pytest

from discmri.spine import (
    NATIVE_VERTEBRA,
    disc_name,
    native_disc_labels,
    native_label_table,
)


def test_native_integers():
    assert NATIVE_VERTEBRA["L1"] == 20 and NATIVE_VERTEBRA["L5"] == 24
    assert NATIVE_VERTEBRA["S1"] == 26 and NATIVE_VERTEBRA["T12"] == 19
    assert native_disc_labels("L4") == (123, 223)
    assert native_disc_labels("T12") == (119, 219)


def test_disc_names():
    assert disc_name("L5", "S1") == "L5-S1"
    with pytest.raises(ValueError, match="not cranial"):
        disc_name("S1", "L5")
    with pytest.raises(ValueError, match="unknown vertebra"):
        disc_name("L7", "S1")


def test_label_table_is_unique_and_complete():
    table = native_label_table(("T12", "L1", "L2", "L3", "L4", "L5", "S1"))
    values = [v for v, _ in table]
    assert len(values) == len(set(values)) == 7 + 6 * 2 + 2
    assert (124, "L5-S1 annulus") in table and (224, "L5-S1 nucleus") in table
    six = dict(native_label_table(("L4", "L5", "L6", "S1")))
    assert six[124] == "L5-L6 annulus" and six[25] == "L6" and six[125] == "L6-S1 annulus"


def test_label_schemes_pickle_for_worker_processes():
    import pickle

    from discmri.spine import SCHEMES

    for scheme in SCHEMES.values():
        back = pickle.loads(pickle.dumps(scheme))
        assert back == scheme and back.known == scheme.known
