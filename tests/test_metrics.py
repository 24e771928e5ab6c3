import pytest

from sim.metrics import flatten, gini, summarize


def test_gini_of_equal_wealth_is_zero_and_of_one_owner_approaches_one():
    assert gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 100]) == pytest.approx(0.75)
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0


def test_gini_known_value():
    assert gini([1, 2, 3, 4, 5]) == pytest.approx(4 / 15)


def test_flatten_and_summarize():
    rows = [flatten({"gini": 0.1, "prices": {"honey": 10}, "moods": [1, 2]}),
            flatten({"gini": 0.3, "prices": {"honey": 4}})]
    assert rows[0] == {"gini": 0.1, "prices.honey": 10.0}
    summary = summarize(rows)
    assert summary["gini"]["first"] == 0.1 and summary["gini"]["last"] == 0.3
    assert summary["prices.honey"]["mean"] == 7.0
