"""Lead streams: seeded, shaped by the weekday/hour profile, accounts keep their attributes."""

from __future__ import annotations

import numpy as np
import pytest

from solver.sim.scenario import Scenario, StreamSpec, TeamSpec
from solver.sim.stream import make_stream


def scenario(**stream: object) -> Scenario:
    return Scenario(name="t", horizon_days=14, team=TeamSpec(reps=[{"id": "a", "capacity": 1}]),
                    stream=StreamSpec(**stream))


def test_same_seed_same_stream_other_seed_differs() -> None:
    s = scenario(leads_per_week=300, territory={"EU": 1, "US": 1})
    a, b, c = make_stream(s, 3), make_stream(s, 3), make_stream(s, 4)
    np.testing.assert_array_equal(a.arrival_s, b.arrival_s)
    np.testing.assert_array_equal(a.territory, b.territory)
    assert a.n != c.n or not np.array_equal(a.arrival_s, c.arrival_s)


def test_arrivals_follow_weekday_and_hour_profile() -> None:
    # Only Mondays 10:00-11:00 (the scenario starts on a Monday, UTC).
    hours = [0.0] * 24
    hours[10] = 1.0
    s = scenario(leads_per_week=500, weekday_weights=[1, 0, 0, 0, 0, 0, 0], hour_weights=hours)
    st = make_stream(s, 0)
    assert np.all(np.diff(st.arrival_s) >= 0)
    day, hour = st.arrival_s // 86400, (st.arrival_s % 86400) // 3600
    assert set(day.astype(int)) == {0, 7}
    assert set(hour.astype(int)) == {10}
    assert st.n == pytest.approx(1000, rel=0.15)  # two weeks of 500


def test_repeat_leads_keep_their_account_attributes() -> None:
    s = scenario(leads_per_week=2000, repeat_rate=0.5, territory={"A": 1, "B": 1, "C": 1},
                 industry={"x": 1, "y": 1}, segment={"SMB": 1, "ENT": 1})
    st = make_stream(s, 1)
    accounts, first = np.unique(st.account, return_index=True)
    assert 0.4 < 1 - accounts.size / st.n < 0.6  # about half the leads repeat an account
    for field in ("territory", "industry", "segment"):
        column = getattr(st, field)
        by_account = dict(zip(st.account[first], column[first], strict=True))
        assert all(by_account[a] == v for a, v in zip(st.account, column, strict=True))


def test_values_by_segment_and_urgent_share() -> None:
    s = scenario(leads_per_week=3000, segment={"SMB": 1, "ENT": 1}, urgent_share=0.2,
                 value={"median": 1000, "sigma": 0.1},
                 value_by_segment={"ENT": {"median": 100000, "sigma": 0.1}})
    st = make_stream(s, 2)
    assert np.median(st.value[st.segment == "SMB"]) == pytest.approx(1000, rel=0.05)
    assert np.median(st.value[st.segment == "ENT"]) == pytest.approx(100000, rel=0.05)
    assert st.urgent.mean() == pytest.approx(0.2, abs=0.03)
