"""The SQLite ledger: idempotent acceptance, transactional writes, reload state, audit trail."""

from datetime import UTC, datetime, timedelta

import pytest

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.ledger import Ledger

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def lead(i: int) -> Lead:
    return Lead(id=f"L{i}", value=100.0 + i)


def decided(lead_id: str, rep_id: str | None) -> Assignment:
    status = "assigned" if rep_id else "unassigned"
    return Assignment(lead_id, rep_id, status, "because", 1.0 if rep_id else 0.0, "flow")


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.db") as led:
        yield led


def test_accept_is_idempotent_and_first_decision_wins(ledger):
    assert ledger.accept(lead(1), T0)
    assert not ledger.accept(lead(1), T0 + timedelta(seconds=5))
    ledger.record_decisions([decided("L1", "R1")], T0)
    ledger.record_decisions([decided("L1", "R2")], T0)  # a replay changes nothing
    assert ledger.decision("L1").rep_id == "R1"
    kinds = [e["kind"] for e in ledger.history("L1")]
    assert kinds == ["accepted", "assigned"]


def test_deciding_a_lead_never_accepted_is_an_error(ledger):
    with pytest.raises(KeyError, match="never accepted"):
        ledger.record_decisions([decided("ghost", "R1")], T0)


def test_pending_open_leads_and_loads(ledger):
    for i in range(3):
        ledger.accept(lead(i), T0 + timedelta(seconds=i))
    ledger.record_decisions([decided("L0", "R1"), decided("L1", None)], T0, sla_due={"L0": T0 + timedelta(hours=4)})
    assert [x.id for x, _ in ledger.pending()] == ["L2"]
    [open_lead] = ledger.open_leads()
    assert (open_lead.lead, open_lead.rep_id, open_lead.sla_due) == (lead(0), "R1", T0 + timedelta(hours=4))
    assert ledger.rep_loads() == {"R1": 1}
    assert ledger.touch("L0", T0) and not ledger.touch("L0", T0)
    assert ledger.release("L0", T0) and not ledger.release("L0", T0)
    assert ledger.rep_loads() == {}
    assert not ledger.release("L1", T0)  # unassigned: nothing to release


def test_reassignment_is_recorded_with_the_old_owner(ledger):
    ledger.accept(lead(1), T0)
    ledger.record_decisions([decided("L1", "R1")], T0)
    ledger.record_reassignment(decided("L1", "R2"), "R1", T0 + timedelta(hours=5), None)
    last = ledger.history("L1")[-1]
    assert (last["kind"], last["rep_id"], last["from_rep_id"]) == ("reassigned", "R2", "R1")
    assert ledger.rep_loads() == {"R2": 1}


def test_a_failed_transaction_leaves_no_trace(ledger):
    with pytest.raises(RuntimeError), ledger.transaction():
        ledger.accept(lead(1), T0)
        ledger.record_decisions([decided("L1", "R1")], T0)
        raise RuntimeError("crash in the middle of a run")
    assert ledger.history() == [] and ledger.known(["L1"]) == set()


def test_a_second_writer_waits_for_the_first(tmp_path):
    path = tmp_path / "ledger.db"
    with Ledger(path) as first, Ledger(path, timeout_s=0.2) as second, first.transaction():
        first.accept(lead(1), T0)
        with pytest.raises(Exception, match="locked"):
            second.accept(lead(2), T0)
