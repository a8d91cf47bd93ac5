"""Issue 16: two service replicas and a `run` job on one PostgreSQL ledger, one replica killed -9.

The scenario is benchmarks/service/replicas.py's (its docstring has the protocol), shorter: two
`leadsolver serve` processes on loopback take 200 leads a second for 10 s, round robin, 30%
urgent, under daily caps the load exceeds; a `leadsolver run` job routes 150 leads of its own
a tenth of the way in; the replica leading the micro-batches is killed with SIGKILL from halfway
(once the job is done and it holds buffered leads), requests it fails are sent again to the
other, and so are leads it had assigned. Then, from the database: every accepted lead decided exactly once, no cap exceeded, every answer a client
got is the ledger's first, and the leads the dead replica had buffered were decided after its
death by the survivor, which took the lead. About 20 s; a slow variant runs 300 leads a second
for 20 s.
"""

import pytest

from benchmarks.service.replicas import CAP_PER_DAY, JOB_LEADS, REPS, Scenario, check_ledger, run_scenario
from tests.pg_server import pg_schema_url

pytest.importorskip("uvicorn", reason="the service extra is not installed")


@pytest.mark.parametrize(("rate", "duration_s"), [
    (200.0, 10.0),  # CI: ~20 s
    pytest.param(300.0, 20.0, marks=pytest.mark.slow),  # the "few hundred a second", ~30 s
])
def test_two_replicas_and_a_job_one_killed_lose_nothing_double_nothing_and_keep_the_caps(
        tmp_path, rate, duration_s):
    with pg_schema_url() as url:
        scenario = run_scenario(Scenario("postgresql", replicas=2, rate=rate, duration_s=duration_s), url,
                                tmp_path)
        check = check_ledger(scenario, url)
    assert scenario.job_returncode == 0 and scenario.killed_at is not None
    answered = sum(1 for s in scenario.sent if s.answer is not None)
    # the balancer found a live replica for every lead
    assert answered == len(scenario.sent) == int(rate * duration_s)
    assert check.accepted == answered + JOB_LEADS
    assert (check.lost, check.doubled, check.over_cap, check.answers_differ) == ([], [], [], [])
    # the caps bound: every seat of the day was taken (more leads than seats), none beyond its cap
    assert check.placed >= REPS * CAP_PER_DAY
    # the killed replica led the micro-batches and held buffered leads; every one of them was
    # decided after its death, by the survivor that took the lead (not only by the job)
    assert scenario.killed is not None and check.dead_buffered > 0
    assert check.dead_buffered_decided_after == check.dead_buffered and check.dead_buffered_by_a_replica > 0
    # requests the dead replica failed were retried on the other; leads it had assigned, sent again
    assert any(s.tries > 1 for s in scenario.sent) and len(scenario.again) > 0
    assert scenario.settle_s < 10  # within a batch window or so of the end of the load
