"""The router's leads come one by one from a CRM (a new-user QA pass on the service): a lead
without an attribute a rule reads is blank there, and a normal lead a rule cannot read is
refused before it is buffered. Before, such a lead got 202, then failed every later micro-batch
and the service's restart; and a lead without the attribute was refused as 'unknown field'."""

from datetime import UTC, datetime, timedelta

import pytest

from solver.domain.errors import InputError
from solver.domain.model import Lead, Policy, Rep
from solver.online.memory_store import MemoryStore
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
REPS = [Rep(id="R1", capacity=5, territories=["US"]), Rep(id="R2", capacity=5, territories=["US"])]
POLICY = Policy.model_validate({
    "routing_rules": [{"name": "big to R2", "when": "employees >= 2000", "then": {"admit": {"reps": ["R2"]}}}],
    "batch": {"max_size": 10, "max_wait_s": 60},
})


def lead(lead_id: str, urgent: bool = False, **attributes: str) -> Lead:
    return Lead(id=lead_id, value=100.0, territory="US", urgent=urgent, attributes=attributes)


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_a_normal_lead_a_rule_cannot_read_is_refused_before_it_is_buffered(tmp_path, store_kind):
    store = MemoryStore() if store_kind == "memory" else SqliteStore(tmp_path / "ledger.db")
    router = Router(REPS, POLICY, store)
    with pytest.raises(InputError, match=r"lead 'N-1'.*employees"):
        router.submit(lead("N-1", employees="lots"), T0)
    assert store.status("N-1") is None and router.pending == 0  # nothing accepted
    assert router.submit(lead("N-2", employees="10"), T0) is None
    answers = router.flush(T0 + timedelta(seconds=1))
    assert [(a.lead_id, a.rep_id is not None) for a in answers] == [("N-2", True)]


def test_a_lead_without_the_attribute_is_routed_by_the_other_rules():
    router = Router(REPS, POLICY, MemoryStore())
    urgent = router.submit(lead("U-1", urgent=True), T0)
    assert urgent is not None and urgent.rep_id in {"R1", "R2"}
    assert router.submit(lead("M-1"), T0) is None
    (answer,) = router.flush(T0 + timedelta(seconds=1))
    assert answer.lead_id == "M-1" and answer.rep_id in {"R1", "R2"}
    big = router.submit(lead("B-1", urgent=True, employees="5000"), T0)
    assert big is not None and big.rep_id == "R2"  # the rule still reads the attribute where given
