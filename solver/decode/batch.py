"""Batch assignment: records in, explained assignments out.

`assign(reps, leads, policy)` is the Python API of `leadsolver assign`: compile
once, run the policy named by the policy (or `solver=`), decode. With no ledger
to count, `policy.caps` bound the batch itself: a per-day (week, month, 24 h)
cap as the batch's whole intake, utilisation against the reps' open leads.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np

from solver.compile.caps import batch_room, capped_table, with_team_caps
from solver.compile.problem import compile_problem
from solver.compile.scoring import at_time, compile_reps
from solver.decode.caps import binding_caps, cap_reasons
from solver.decode.result import Result, decode
from solver.decode.summary import summarize
from solver.domain.availability import RepCalendar
from solver.domain.errors import InputError
from solver.domain.experiment import CHALLENGER
from solver.domain.io import policy_line
from solver.domain.model import Account, Lead, Policy, Rep, check_owners, check_unique_ids
from solver.policies import PolicySpec, policy_names, policy_spec, solve


def assign(
    reps: Sequence[Rep],
    leads: Sequence[Lead],
    policy: Policy | None = None,
    *,
    solver: str | None = None,
    accounts: Sequence[Account] | None = None,
    leads_file: str = "leads",
    now: datetime | None = None,
) -> Result:
    """Assign every lead to one rep (or leave it unassigned with a reason, or in a queue).

    `accounts` (the accounts file) give owners through parent accounts and named accounts
    their named rep or team (`solver.compile.routing`). `leads_file` names the leads in errors.
    `now`: decide as of this time, with the reps' calendars (working hours, time zones, leave):
    a rep off shift takes only leads no rep on shift may take, if it is back first (the speed
    model's `max_wait_hours`), and never while on leave. None: a batch out of time, every rep
    as its `available` flag says (reps without calendars do not depend on it either way).
    """
    policy = policy or Policy()
    if solver is not None:
        policy = policy.model_copy(update={"solver": Policy(solver=solver).solver})
    check_unique_ids(reps, file="reps", what="rep")
    check_unique_ids(leads, file=leads_file, what="lead")
    check_owners(reps, leads, leads_file=leads_file,
                 departed_ok=policy.fallback.owner_inactive is not None)
    check_solver_fits(policy, leads, leads_file=leads_file)
    start = time.perf_counter()
    table = compile_reps(reps)
    if now is not None:
        table = at_time(table, RepCalendar(reps), now)
    # One batch with no ledger: its caps bound the batch itself (`solver.compile.caps`).
    room = batch_room(table, policy)
    problem = with_team_caps(compile_problem(capped_table(table, room), leads, policy, accounts,
                                             leads_file=leads_file), room)
    compile_time = time.perf_counter() - start
    solution = solve(problem, policy.solver)
    if room is None:
        return decode(problem, solution, policy.solver, compile_time)
    # A lead stopped by a cap says which, as the router's do ("cap: ... (per_day)"), not "capacity"
    free = np.maximum(table.capacity - table.open_leads, 0)  # each rep's room by capacity alone
    result = decode(problem, solution, policy.solver, compile_time, with_summary=False)
    answers = cap_reasons(result.assignments, problem, room, free, solution.owner)
    reasons = {i: a.reason for i, a in enumerate(answers)}  # the summary counts them by their head
    return dataclasses.replace(result, assignments=answers, cap_names=binding_caps(room, free),
                               summary=summarize(problem, solution, policy.solver, compile_time, reasons))


def check_solver_fits(policy: Policy, leads: Sequence[Lead], leads_file: str = "leads", *,
                      policy_file: str | None = None) -> None:
    """Refuse, before solving, leads or rules the policy's solver declares it cannot handle.

    The capabilities come from the solver's registry entry: effort other than 1
    for a unit-effort-only solver (naming the file, row and field of the first
    such lead), account grouping for a solver that does not group accounts (naming
    `policy_file`'s line of it, when the policy was read from a file).
    """
    spec = policy_spec(policy.solver)
    if spec.unit_effort_only:
        for row, lead in enumerate(leads, start=1):
            if lead.effort != 1:
                alternative = _capable(lambda s: not s.unit_effort_only)
                raise InputError(
                    f"solver {spec.name!r} needs unit effort (got {lead.effort}); use solver: {alternative}",
                    file=leads_file, row=row, field="effort",
                )
    if policy.rules.account_grouping and not spec.groups_accounts:
        alternative = _capable(lambda s: s.groups_accounts)
        raise InputError(f"solver {spec.name!r} cannot group accounts; use solver: {alternative}",
                         file=policy_file or "policy", field="rules.account_grouping",
                         line=policy_line(policy_file, ("rules", "account_grouping")))
    if policy.experiment is not None:  # the challenger routes some of these leads too
        try:
            check_solver_fits(policy.arm_policy(CHALLENGER), leads, leads_file, policy_file=policy_file)
        except InputError as exc:
            raise InputError(f"the experiment's challenger: {exc.message}", file=exc.file, row=exc.row,
                             line=exc.line, field=exc.field) from None


def _capable(can: Callable[[PolicySpec], bool]) -> str:
    """The policy to suggest instead: an exact one that can, else any that can."""
    specs = [policy_spec(name) for name in policy_names()]
    able = sorted((s for s in specs if can(s)), key=lambda s: not s.exact)
    return able[0].name if able else "another solver"
