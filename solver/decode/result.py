"""Decoding an owner vector into explained assignments and a summary.

Every lead comes out exactly once: assigned to a rep, or unassigned with the
reason (the hard rule that left it without a rep, full reps, ...). The JSON
shape (`Result.to_dict`) is the stable contract of `leadsolver assign --format json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from solver.compile.problem import Problem
from solver.decode.explain import Explanation, explanation
from solver.decode.reasons import ASSIGNED, UNASSIGNED_STATUS, Reason, ReasonCode, lead_reasons
from solver.decode.summary import Summary, summarize
from solver.policies.registry import Solution


@dataclass(frozen=True)
class Assignment:
    """One lead's answer: its rep (or none), why in words (`reason`) and as a code (`reason_code`)."""

    lead_id: str
    rep_id: str | None
    status: str  # assigned | unassigned
    reason: str
    expected_value: float
    policy: str
    # None: taken from `reason` when that is a `Reason` (the batch decoder's reasons are)
    reason_code: ReasonCode | None = None
    queue: str | None = None  # the named queue a fallback sent the lead to (status unassigned)
    # the experiment arm whose policy decided the lead (solver.online.experiment); None: no experiment
    arm: str | None = None
    # the name of the experiment that arm belongs to (one ledger may hold several); None: no experiment
    experiment: str | None = None

    def __post_init__(self) -> None:
        if self.reason_code is None and isinstance(self.reason, Reason):
            object.__setattr__(self, "reason_code", self.reason.code)



def with_reason(answer: Assignment, reason: Reason) -> Assignment:
    """The answer with another reason (and its code)."""
    return replace(answer, reason=reason, reason_code=reason.code)


def keeping_arm(answer: Assignment, first: Assignment | None) -> Assignment:
    """`answer` with the experiment and arm of the lead's `first` decision (a lead never changes
    arms, whatever a later answer carries); `first` None: the answer is the first."""
    if first is None or (first.arm, first.experiment) == (answer.arm, answer.experiment):
        return answer
    return replace(answer, arm=first.arm, experiment=first.experiment)


@dataclass
class Result:
    """Assignments plus a summary: the same content as the command's JSON."""

    assignments: list[Assignment]
    summary: Summary | None  # None when decoded without one (`decode(with_summary=False)`)
    problem: Problem = field(repr=False)
    solution: Solution = field(repr=False)
    # per rep, the cap over time that left it less room than its capacity ("" none; None: no caps)
    cap_names: list[str] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``leadsolver assign --format json``."""
        summary = {} if self.summary is None else self.summary.to_dict()
        return {"assignments": [_assignment_dict(a) for a in self.assignments], "summary": summary}

    def explain(self, lead_id: str, alternatives: int = 3) -> Explanation:
        """Why the lead went to its rep, and why the best alternatives did not get it."""
        try:
            i = self.problem.lead_ids.index(lead_id)
        except ValueError:
            raise KeyError(f"unknown lead id {lead_id!r}") from None
        # A cap's reason (`solver.decode.caps`) is the answer's, not the capacity `explanation` counts
        answer = self.assignments[i]
        capped = answer.reason if answer.reason_code == ReasonCode.CAP_REACHED else None
        return explanation(self.problem, self.solution.owner, i, alternatives, cap_names=self.cap_names,
                           reason=capped)


def _assignment_dict(a: Assignment) -> dict[str, Any]:
    """An assignment's JSON: ``queue`` only for a queued lead, ``arm`` and ``experiment`` only in an
    experiment (the other keys are pinned)."""
    out = asdict(a)
    for optional in ("queue", "arm", "experiment"):
        if out[optional] is None:
            del out[optional]
    return out


def decode(
    problem: Problem, solution: Solution, policy: str, compile_time_s: float = 0.0, *,
    with_summary: bool = True,
) -> Result:
    """Turn a policy's owner vector into assignments with reasons and a summary.

    The online router passes `with_summary=False`: it needs only the
    assignments, and the summary (loads, fairness, reason counts) would be
    recomputed on every micro-batch for nothing.
    """
    owner = solution.owner
    violations = problem.violations(owner)
    if violations:  # a policy bug: refuse to report an infeasible answer as a result
        raise RuntimeError(f"policy {policy!r} broke a hard rule: {violations[0]}")
    placed = owner >= 0
    chosen_value = problem.lead_values(owner)  # at the lead's place in its rep's queue
    reasons = lead_reasons(problem, owner)
    assignments = [
        Assignment(
            lead_id=problem.lead_ids[i],
            rep_id=problem.rep_ids[owner[i]] if placed[i] else None,
            status=ASSIGNED if placed[i] else UNASSIGNED_STATUS,
            reason=reasons[i],
            expected_value=round(float(chosen_value[i]), 6),
            policy=policy,
            queue=problem.queued[i][0] if i in problem.queued else None,
        )
        for i in range(problem.n)
    ]
    summary = summarize(problem, solution, policy, compile_time_s, reasons) if with_summary else None
    return Result(assignments, summary, problem, solution)

