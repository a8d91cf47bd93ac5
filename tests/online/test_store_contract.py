"""The `LeadStore` contract: one suite, run over every store.

It runs over the memory, SQLite and PostgreSQL stores (the `store` fixture, conftest.py); a further
backend is one module plus one entry there.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from solver.decode.reasons import ReasonCode
from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.lifecycle import LeadStatus
from solver.online.store import Accepted

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def lead(i: int, effort: int = 1) -> Lead:
    return Lead(id=f"L{i}", value=100.0 + i, effort=effort)


def assigned(lead_id: str, rep_id: str, reason: str = "because") -> Assignment:
    return Assignment(lead_id, rep_id, "assigned", reason, 1.0, "flow", ReasonCode.PLACED_BY_RANK)


def unassigned(lead_id: str, code: ReasonCode = ReasonCode.WAITING) -> Assignment:
    return Assignment(lead_id, None, "unassigned", f"no rep ({code})", 0.0, "flow", code)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_accept_is_idempotent_and_the_first_decision_wins(store):
    assert store.accept(lead(1), T0)
    assert not store.accept(lead(1), at(1))
    assert store.status("L1") is LeadStatus.BUFFERED and store.decision("L1") is None
    store.decide([assigned("L1", "R1")], at(2))
    store.decide([assigned("L1", "R2")], at(3))  # a replay changes nothing
    assert store.decision("L1") == assigned("L1", "R1")
    assert store.decision("L1").reason_code is ReasonCode.PLACED_BY_RANK
    assert [e["kind"] for e in store.history("L1")] == ["accepted", "assigned"]
    assert store.known(["L1", "L2"]) == {"L1"} and store.status("L2") is None
    store.accept(lead(3), T0)
    assert store.statuses(["L1", "L2", "L3"]) == {"L1": LeadStatus.ASSIGNED, "L3": LeadStatus.BUFFERED}


def test_an_urgent_lead_is_received_not_buffered_until_decided(store):
    store.accept(lead(1), T0, buffered=False)
    assert store.status("L1") is LeadStatus.RECEIVED and store.count_buffered() == 1  # a restart routes it
    store.decide([assigned("L1", "R1")], T0)
    assert store.count_buffered() == 0


def test_deciding_a_lead_never_accepted_is_an_error_and_writes_nothing(store):
    store.accept(lead(1), T0)
    with pytest.raises(KeyError, match="never accepted"):
        store.decide([assigned("L1", "R1"), assigned("ghost", "R1")], T0)
    assert store.status("L1") is LeadStatus.BUFFERED


def test_buffered_open_and_waiting_listings(store):
    for i in range(5):
        store.accept(lead(i), at(i))
    assert [x.id for x, _ in store.buffered_leads()] == ["L0", "L1", "L2", "L3", "L4"]
    assert store.count_buffered() == 5 and store.oldest_buffered_at() == at(0)
    store.decide([assigned("L0", "R1"), unassigned("L1"), unassigned("L2", ReasonCode.DEFERRED),
                  unassigned("L3", ReasonCode.NO_ELIGIBLE_REP)], at(5), sla_due={"L0": at(240)})
    assert [x.id for x, _ in store.buffered_leads()] == ["L4"] and store.oldest_buffered_at() == at(4)
    assert [store.status(f"L{i}") for i in range(4)] == [
        LeadStatus.ASSIGNED, LeadStatus.WAITING, LeadStatus.DEFERRED, LeadStatus.UNASSIGNED]
    [open_lead] = store.open_leads()
    assert (open_lead.lead, open_lead.rep_id, open_lead.sla_due, open_lead.assigned_at) == (
        lead(0), "R1", at(240), at(5))
    assert store.open_lead("L0") == open_lead and store.open_lead("L1") is None
    waiting = store.waiting_leads()
    assert [(w.lead.id, w.since, w.answer) for w in waiting] == [
        ("L1", at(5), unassigned("L1")), ("L2", at(5), unassigned("L2", ReasonCode.DEFERRED))]
    assert store.count_waiting() == 2
    assert [w.lead.id for w in store.waiting_leads(start=1, limit=5)] == ["L2"]
    assert [w.lead.id for w in store.waiting_leads(limit=1)] == ["L1"]
    assert store.waiting_leads(since_before=at(4)) == []


def test_loads_count_open_leads_and_their_effort(store):
    for i in range(3):
        store.accept(lead(i, effort=i + 1), T0)
    store.decide([assigned("L0", "R1"), assigned("L1", "R1"), assigned("L2", "R2")], T0)
    loads = store.loads(("R0", "R1", "R2"))
    assert list(loads.rep_ids) == ["R0", "R1", "R2"]
    assert loads.count.tolist() == [0, 2, 1] and loads.effort.tolist() == [0, 3, 3]
    assert store.loads().by_rep() == {"R1": 2, "R2": 1}
    store.release("L1", T0)
    assert store.loads(("R0", "R1", "R2")).effort.tolist() == [0, 1, 3]


def test_touch_and_release_apply_once_to_open_leads_only(store):
    store.accept(lead(0), T0)
    store.accept(lead(1), T0)
    store.decide([assigned("L0", "R1"), unassigned("L1", ReasonCode.NO_ELIGIBLE_REP)], T0, sla_due={"L0": at(60)})
    assert store.touch("L0", at(1)) and not store.touch("L0", at(2))
    assert store.open_lead("L0").touched and store.open_lead("L0").sla_due is None
    assert store.release("L0", at(3)) and not store.release("L0", at(4))
    assert store.status("L0") is LeadStatus.CLOSED and store.decision("L0").rep_id == "R1"
    assert store.loads().by_rep() == {} and store.open_leads() == []
    assert not store.release("L1", at(5)) and not store.touch("L1", at(5))  # unassigned: nothing to do
    assert not store.touch("ghost", T0) and not store.release("ghost", T0)
    assert [e["kind"] for e in store.history("L0")] == ["accepted", "assigned", "touched", "released"]


def test_a_waiting_lead_is_assigned_from_the_backlog_once(store):
    store.accept(lead(1), T0)
    store.decide([unassigned("L1")], T0)
    placed = assigned("L1", "R2", "from the backlog")
    assert store.assign_waiting(placed, at(10), sla_due=at(70), explanation={"why": "room"}, run_id=None)
    assert not store.assign_waiting(assigned("L1", "R3"), at(11))  # no longer waiting
    assert store.decision("L1") == placed and store.status("L1") is LeadStatus.ASSIGNED
    assert store.open_lead("L1").sla_due == at(70) and store.waiting_leads() == []
    events = store.history("L1")
    assert [e["kind"] for e in events] == ["accepted", "unassigned", "assigned"]
    assert events[-1]["explanation"] == {"why": "room"} and events[-1]["rep_id"] == "R2"


def test_a_lead_closed_while_waiting_is_final(store):
    store.accept(lead(1), T0)
    store.decide([unassigned("L1")], T0)
    final = unassigned("L1", ReasonCode.CLOSED_WHILE_WAITING)
    assert store.close_waiting(final, at(5))
    assert not store.close_waiting(final, at(6)) and not store.assign_waiting(assigned("L1", "R1"), at(7))
    assert store.status("L1") is LeadStatus.CLOSED and store.decision("L1") == final
    row = next(r for r in store.leads() if r["lead_id"] == "L1")
    assert (row["status"], row["lifecycle"], row["reason_code"]) == ("unassigned", "closed", "closed_while_waiting")
    assert row["released_at"] is not None
    assert [e["kind"] for e in store.history("L1")] == ["accepted", "unassigned", "released"]


def test_a_waiting_lead_expires(store):
    store.accept(lead(1), T0)
    store.decide([unassigned("L1")], T0)
    final = unassigned("L1", ReasonCode.BACKLOG_EXPIRED)
    assert store.expire(final, at(120)) and not store.expire(final, at(121))
    assert store.status("L1") is LeadStatus.EXPIRED and store.decision("L1").reason_code is ReasonCode.BACKLOG_EXPIRED
    assert store.count_waiting() == 0
    assert [e["kind"] for e in store.history("L1")] == ["accepted", "unassigned", "unassigned"]


def test_reassignment_moves_the_load_and_restarts_the_sla(store):
    store.accept(lead(1, effort=2), T0)
    store.decide([assigned("L1", "R1")], T0, sla_due={"L1": at(60)})
    store.touch("L1", at(1))
    assert store.reassign(assigned("L1", "R2", "moved"), "R1", at(90), at(150))
    assert store.loads(("R1", "R2")).effort.tolist() == [0, 2]
    moved = store.open_lead("L1")
    assert (moved.rep_id, moved.sla_due, moved.touched, moved.reassignments) == ("R2", at(150), False, 1)
    last = store.history("L1")[-1]
    assert (last["kind"], last["rep_id"], last["from_rep_id"]) == ("reassigned", "R2", "R1")
    assert not store.reassign(assigned("ghost", "R2"), "R1", at(90), None)


def test_stale_leads_are_untouched_past_due_and_not_moved_too_often(store):
    for i in range(4):
        store.accept(lead(i), T0)
    store.decide([assigned(f"L{i}", "R1") for i in range(4)], T0,
                 sla_due={"L0": at(30), "L1": at(10), "L2": at(10), "L3": at(500)})
    store.touch("L2", at(1))
    assert [o.lead.id for o in store.stale_leads(at(60), 3)] == ["L1", "L0"]  # by due time
    store.reassign(assigned("L1", "R2"), "R1", at(60), at(61))
    assert [o.lead.id for o in store.stale_leads(at(70), 1)] == ["L0"]  # L1 was moved once already
    store.extend_sla("L0", at(100))
    assert store.stale_leads(at(70), 3) == [] or [o.lead.id for o in store.stale_leads(at(70), 3)] == ["L1"]
    assert "L0" not in [o.lead.id for o in store.stale_leads(at(70), 3)]


def test_history_is_in_order_and_filtered_by_lead(store):
    store.accept(lead(0), T0)
    store.accept(lead(1), at(1))
    store.decide([assigned("L1", "R1"), assigned("L0", "R1")], at(2), explanations={"L0": {"why": "x"}})
    events = store.history()
    assert [(e["lead_id"], e["kind"]) for e in events] == [
        ("L0", "accepted"), ("L1", "accepted"), ("L1", "assigned"), ("L0", "assigned")]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert events[3]["explanation"] == {"why": "x"} and events[2]["explanation"] is None
    assert events[2]["reason_code"] == "placed_by_rank" and events[2]["at"] == at(2).isoformat(timespec="microseconds")
    assert [e["lead_id"] for e in store.history("L0")] == ["L0", "L0"]


def test_explanations_may_be_objects_with_to_dict(store):
    class Explained:
        def to_dict(self):
            return {"why": "typed"}

    store.accept(lead(0), T0)
    store.decide([assigned("L0", "R1")], T0, explanations={"L0": Explained()})
    assert store.history("L0")[-1]["explanation"] == {"why": "typed"}


def test_leads_rows_show_answer_status_lifecycle_and_code(store):
    store.accept(lead(0), T0)
    store.accept(lead(1), at(1))
    store.decide([assigned("L0", "R1")], at(2))
    rows = store.leads()
    assert [(r["lead_id"], r["status"], r["lifecycle"], r["reason_code"]) for r in rows] == [
        ("L0", "assigned", "assigned", "placed_by_rank"), ("L1", "pending", "buffered", None)]
    assert set(rows[0]) >= {"rep_id", "reason", "decided_at", "sla_due", "touched_at", "released_at",
                            "reassignments", "effort", "run_id"}


def test_runs_are_recorded(store):
    run_id = store.start_run("job", "flow", T0)
    store.accept(lead(0), T0, run_id)
    store.finish_run(run_id, at(1), {"assigned": 1})
    [run] = store.runs()
    assert (run["run_id"], run["kind"], run["policy"], run["summary"]) == (run_id, "job", "flow", {"assigned": 1})
    assert run["finished_at"] is not None
    assert store.leads()[0]["run_id"] == run_id


def test_a_failed_transaction_leaves_no_trace(store):
    store.accept(lead(0), T0)
    store.decide([unassigned("L0")], T0)
    with pytest.raises(RuntimeError), store.transaction():
        store.accept(lead(1), T0)
        store.decide([assigned("L1", "R1")], T0)
        store.assign_waiting(assigned("L0", "R1"), at(1))
        with store.transaction():  # a nested use joins the outer one
            store.start_run("job", "flow", T0)
        raise RuntimeError("crash in the middle of a run")
    assert store.known(["L1"]) == set() and store.runs() == []
    assert store.status("L0") is LeadStatus.WAITING and [w.lead.id for w in store.waiting_leads()] == ["L0"]
    assert store.loads().by_rep() == {} and store.open_leads() == []
    assert [e["kind"] for e in store.history()] == ["accepted", "unassigned"]


def test_times_must_be_timezone_aware(store):
    with pytest.raises(ValueError, match="timezone"):
        store.accept(lead(0), datetime(2026, 3, 2, 9, 0))


def test_accept_tells_a_new_lead_a_retry_and_a_changed_duplicate(store):
    """Issue 12 item 7: a re-sent lead with other content is not silently the same lead."""
    assert store.accept(lead(1), T0) is Accepted.NEW
    # a retry: the same content (here through a JSON round trip, as a client would resend it)
    assert store.accept(Lead.model_validate_json(lead(1).model_dump_json()), at(1)) is Accepted.RETRY
    changed = lead(1).model_copy(update={"value": 999.0})
    assert store.accept(changed, at(2)) is Accepted.CHANGED
    assert not Accepted.RETRY and not Accepted.CHANGED and Accepted.NEW  # `if store.accept(...)` still reads
    assert [e["kind"] for e in store.history("L1")] == ["accepted"]  # the first version is kept
    assert store.buffered_leads()[0][0].value == lead(1).value


def test_a_store_says_whether_it_can_write(store):
    assert store.writable() is True
    store.accept(lead(1), T0)
    assert store.writable() is True and store.known(["L1"]) == {"L1"}  # the probe wrote nothing
    assert [e["kind"] for e in store.history()] == ["accepted"]


def test_history_of_one_run(store):
    """Issue 12 item 5: a run's decisions can be printed again from the store."""
    first = store.start_run("job", "flow", T0)
    store.accept(lead(1), T0, first)
    store.decide([assigned("L1", "R1")], T0, run_id=first)
    second = store.start_run("job", "flow", at(1))
    store.accept(lead(2), at(1), second)
    store.decide([unassigned("L2")], at(1), run_id=second)
    assert [(e["lead_id"], e["kind"]) for e in store.history(run_id=second)] == [("L2", "accepted"),
                                                                               ("L2", "unassigned")]
    assert [e["lead_id"] for e in store.history(run_id=first)] == ["L1", "L1"]


def test_accept_many_is_accept_of_each_in_one_write(store):
    store.accept(lead(1), T0)
    changed = lead(1).model_copy(update={"value": 5.0})
    got = store.accept_many([lead(2), lead(1), changed, lead(3), lead(2)], at(1), run_id=None)
    assert got == [Accepted.NEW, Accepted.RETRY, Accepted.CHANGED, Accepted.NEW, Accepted.RETRY]
    assert [x.id for x, _ in store.buffered_leads()] == ["L1", "L2", "L3"]
    assert [e["kind"] for e in store.history()] == ["accepted"] * 3
    with pytest.raises(RuntimeError), store.transaction():
        store.accept_many([lead(4)], at(2))
        raise RuntimeError("rolled back")
    assert store.known(["L4"]) == set()


def queued(lead_id: str, queue: str = "review") -> Assignment:
    reason = ReasonCode.QUEUED.reason(queue=queue, cause="the account's owner is inactive")
    return Assignment(lead_id, None, "unassigned", reason, 0.0, "flow", queue=queue)


def test_intake_lists_every_assignment_since_a_time_releases_included(store):
    for i in range(4):
        store.accept(lead(i), T0)
    store.decide([assigned("L0", "R1"), assigned("L1", "R2"), unassigned("L2")], at(10))
    store.release("L0", at(20))  # released leads still count: the caps count intake, not holdings
    store.assign_waiting(assigned("L2", "R1"), at(30))
    store.reassign(assigned("L1", "R1"), "R2", at(40), None)
    store.decide([assigned("L3", "R2")], at(50))
    assert store.intake(T0) == [("R1", at(10)), ("R2", at(10)), ("R1", at(30)), ("R1", at(40)),
                                ("R2", at(50))]
    assert store.intake(at(35)) == [("R1", at(40)), ("R2", at(50))]


def test_intake_rolls_back_with_its_transaction(store):
    store.accept(lead(1), T0)
    with pytest.raises(RuntimeError), store.transaction():
        store.decide([assigned("L1", "R1")], at(1))
        raise RuntimeError("crash")
    assert store.intake(T0) == [] and store.status("L1") is LeadStatus.BUFFERED


def test_rotation_is_saved_by_pool_and_merged_over_earlier_pools(store):
    assert store.rotation() == {}
    store.save_rotation({"all": {"next": "R2", "last": "R1", "credits": {}}})
    store.save_rotation({"team:emea": {"next": "R5", "last": "R4", "credits": {"R4": -1.0}}})
    store.save_rotation({"all": {"next": "R1", "last": "R2", "credits": {}}})
    assert store.rotation() == {"all": {"next": "R1", "last": "R2", "credits": {}},
                                "team:emea": {"next": "R5", "last": "R4", "credits": {"R4": -1.0}}}


def test_a_queued_lead_is_listed_by_its_queue_and_closed_by_a_release(store):
    for i in range(3):
        store.accept(lead(i), T0)
    store.decide([queued("L0"), queued("L1", "vip"), assigned("L2", "R1")], at(1))
    assert store.status("L0") is LeadStatus.QUEUED and store.decision("L0").queue == "review"
    assert store.count_waiting() == 0 and store.loads().by_rep() == {"R1": 1}  # not the backlog
    assert [r["lead_id"] for r in store.queued_leads()] == ["L0", "L1"]
    (row,) = store.queued_leads("vip")
    assert row["queue"] == "vip" and row["lifecycle"] == "queued" and row["status"] == "unassigned"
    closed = Assignment("L0", None, "unassigned", ReasonCode.CLOSED_WHILE_WAITING.reason(), 0.0, "flow")
    assert store.close_waiting(closed, at(2)) and not store.close_waiting(closed, at(3))
    assert store.status("L0") is LeadStatus.CLOSED and [r["lead_id"] for r in store.queued_leads()] == ["L1"]
    assert not store.expire(queued("L1", "vip"), at(4))  # a queue is no backlog: nothing expires it


def test_an_outcome_is_recorded_once_with_its_reason_and_value(store):
    store.accept(lead(1), T0)
    store.accept(lead(2), T0)
    assert not store.record_outcome("L1", at(1), "won", value=5.0)  # undecided: nothing to close yet
    store.decide([assigned("L1", "R1"), assigned("L2", "R2")], at(1))
    assert store.record_outcome("L1", at(2), "won", value=5000.0)
    assert not store.record_outcome("L1", at(3), "lost")  # the first disposition stands
    assert store.record_outcome("L2", at(2), "disqualified", reason="no_budget")
    assert not store.record_outcome("L9", at(2), "won")
    rows = {r["lead_id"]: r for r in store.leads()}
    assert (rows["L1"]["outcome"], rows["L1"]["outcome_value"], rows["L1"]["outcome_at"]) == (
        "won", 5000.0, at(2).isoformat(timespec="microseconds"))
    assert (rows["L2"]["outcome"], rows["L2"]["outcome_reason"]) == ("disqualified", "no_budget")
    event = store.history("L2")[-1]
    assert (event["kind"], event["rep_id"], event["reason"]) == ("disqualified", "R2", "no_budget")
    assert store.history("L1")[-1]["expected_value"] == 5000.0


def test_a_queued_lead_can_be_assigned_like_a_waiting_one_and_leaves_its_queue(store):
    store.accept(lead(1), T0)
    store.decide([queued("L1")], at(1))
    assert store.assign_waiting(assigned("L1", "R1"), at(2))
    assert not store.assign_waiting(assigned("L1", "R2"), at(3))  # it waits no more
    assert store.status("L1") is LeadStatus.ASSIGNED and store.decision("L1").queue is None
    assert store.queued_leads() == [] and store.loads().by_rep() == {"R1": 1}
    assert store.intake(T0) == [("R1", at(2))]


def in_arm(answer: Assignment, arm: str | None) -> Assignment:
    return replace(answer, arm=arm)


def test_the_arm_of_a_first_decision_is_kept_and_shown_on_every_event(store):
    for i in range(3):
        store.accept(lead(i), T0)
    store.decide([in_arm(assigned("L0", "R1"), "challenger"), in_arm(unassigned("L1"), "control"),
                  assigned("L2", "R2")], at(1))
    assert store.decision("L0").arm == "challenger" and store.decision("L2").arm is None
    # a reassignment or a backlog assignment keeps the first decision's arm, whatever the answer says
    assert store.reassign(in_arm(assigned("L0", "R2"), "control"), "R1", at(2), None)
    assert store.assign_waiting(assigned("L1", "R1"), at(3))
    store.touch("L0", at(4))
    store.record_outcome("L0", at(5), "won", value=10.0)
    assert (store.decision("L0").arm, store.decision("L1").arm) == ("challenger", "control")
    rows = {r["lead_id"]: r for r in store.leads()}
    assert [rows[f"L{i}"]["arm"] for i in range(3)] == ["challenger", "control", None]
    assert [(e["kind"], e["arm"]) for e in store.history("L0")] == [
        ("accepted", None), ("assigned", "challenger"), ("reassigned", "challenger"),
        ("touched", "challenger"), ("won", "challenger")]
    assert [e["arm"] for e in store.history("L1")] == [None, "control", "control"]


def test_the_experiment_of_a_first_decision_is_kept_with_its_arm(store):
    """Two experiments on one ledger: each lead's row names the experiment its arm belongs to (the
    arm alone cannot tell them apart), and a later answer cannot change it."""
    for i in range(3):
        store.accept(lead(i), T0)
    store.decide([replace(assigned("L0", "R1"), arm="control", experiment="speed-test"),
                  replace(unassigned("L1"), arm="control", experiment="rr-test"), assigned("L2", "R2")], at(1))
    assert store.reassign(replace(assigned("L0", "R2"), arm="challenger", experiment="rr-test"), "R1", at(2), None)
    assert store.assign_waiting(assigned("L1", "R1"), at(3))
    assert [(a.arm, a.experiment) for a in map(store.decision, ("L0", "L1", "L2"))] == [
        ("control", "speed-test"), ("control", "rr-test"), (None, None)]
    assert [(r["arm"], r["experiment"]) for r in store.leads()] == [
        ("control", "speed-test"), ("control", "rr-test"), (None, None)]


def test_rep_changes_are_kept_with_who_and_when_in_order(store):
    """The console's rep actions (pause, capacity, a cap) are ledger entries: who, when, what."""
    assert store.rep_changes() == []
    first = store.record_rep_change("R1", at(1), {"available": False}, by="ops@example.com")
    second = store.record_rep_change("R2", at(2), {"capacity": 12, "cap_per_day": None}, by="ana")
    third = store.record_rep_change("R1", at(3), {"available": True}, by="ana")
    assert first < second < third
    rows = store.rep_changes()
    assert [list(r) for r in rows] == [["seq", "rep_id", "at", "by", "change"]] * 3
    assert [(r["rep_id"], r["by"], r["change"]) for r in rows] == [
        ("R1", "ops@example.com", {"available": False}),
        ("R2", "ana", {"capacity": 12, "cap_per_day": None}),
        ("R1", "ana", {"available": True})]
    assert datetime.fromisoformat(rows[0]["at"]) == at(1)
    assert [r["seq"] for r in store.rep_changes("R1")] == [first, third]
    assert store.rep_changes("R9") == []


def test_a_rep_change_rolls_back_with_its_transaction(store):
    store.record_rep_change("R1", at(1), {"available": False}, by="ana")
    with pytest.raises(RuntimeError), store.transaction():
        store.record_rep_change("R1", at(2), {"available": True}, by="ana")
        raise RuntimeError("the rest of the action failed")
    assert [r["change"] for r in store.rep_changes()] == [{"available": False}]


def test_a_release_by_a_person_names_them_in_the_ledger(store):
    store.accept_many([lead(1), lead(2)], T0)
    store.decide([assigned("L1", "R1"), assigned("L2", "R1")], at(1))
    assert store.release("L1", at(2), by="Olga Ops")
    assert store.release("L2", at(2))
    assert not store.release("L1", at(3), by="Olga Ops")  # not open any more: nothing recorded
    assert [(e["kind"], e["reason"]) for e in store.history("L1")][-1] == ("released", "released by Olga Ops")
    assert [e["kind"] for e in store.history("L1")].count("released") == 1
    assert [(e["kind"], e["reason"]) for e in store.history("L2")][-1] == ("released", None)


def test_records_reads_many_leads_as_first_accepted_at_once(store):
    store.accept_many([lead(k) for k in range(1, 1202)], T0)  # past SQLite's ids per statement
    store.accept(Lead(id="L1", value=999.0), at(1))  # a changed retry: the first record stands
    wanted = ["L1", "L600", "L1201", "ghost"]
    assert store.records(wanted) == {i: store.record(i) for i in wanted[:3]}
    assert store.records(wanted)["L1"] == lead(1)
    assert len(store.records(f"L{k}" for k in range(1, 1202))) == 1201
    assert store.records([]) == {}
