"""An experiment's arms in the router: which arm decides each lead, and each arm's team and prices.

Assignment. A lead's arm follows from its unit (`unit_id`: the lead, its
account, or the switchback block of the time it was accepted) hashed with the
experiment's name and seed (`arm_of_unit`): deterministic, so every process
and every rerun puts a unit in the same arm, and independent of the order the
leads come in. The ledger records the arm and the experiment's name (`Arm.tag`)
with the lead's first decision and keeps them on every later answer (backlog,
reassignment): two experiments on one ledger, at once or one after another,
are told apart by the name (`attributed`).

Sharing. Each arm has its own `Team` (scorer, fairness and speed terms of its
policy) and its own seat prices, but both read the loads, caps, accounts and
rotations from the one store at the moment they decide, so capacity taken by
one arm is gone for the other. A batch holding leads of both arms is solved as
two sub-problems in the router's one transaction, control first
(`Router._solve_batch`). The challenger's prices are learned where the router
reprices itself (`tick`, batches solved with `reprice`), and the HTTP service
solves each arm's pricing LP off its lock (`Router.pricing_jobs`), so both arms'
fast paths are priced alike.

Records. The first router of an experiment on a store records its definition
(`record_start`: a run of kind ``experiment``), so `leadsolver experiment
report --db` needs nothing but the ledger; a policy that changes the definition
under the same name is refused (the leads already randomized would mean
something else). Promotion. `leadsolver experiment stop` records the decision in the ledger as
a run of kind ``experiment`` (`record_stop`); a router on that ledger then
routes every lead with the winner's policy and no arms (`promoted`), while its policy
holds the experiment's section; `run` warns of a policy without it that routes
otherwise than the winner (`forgotten_winner`).
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from solver.compile.routing import AccountBook
from solver.decode.result import Assignment
from solver.domain.errors import InputError
from solver.domain.experiment import ARMS, CHALLENGER, CONTROL, Experiment
from solver.domain.model import Account, Lead, Policy, Rep
from solver.online.capacity import Team
from solver.online.pricing import SeatPricing
from solver.online.store import LeadStore

EXPERIMENT_RUN = "experiment"  # the kind of the run that records a stopped experiment
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def block_of(at: datetime, hours: float) -> int:
    """The switchback block holding `at`: blocks of `hours` counted from 1970-01-01 UTC."""
    return int((at - _EPOCH) // timedelta(hours=hours))


def switchback_unit(at: datetime, hours: float) -> str:
    """The switchback unit of a lead accepted at `at`: its block."""
    return f"block {block_of(at, hours)}"


@dataclass(frozen=True)
class AccountUnits:
    """The accounts file resolved once for `unit_id`: where a lead's chain starts (the routing's
    `AccountBook.account_of`: its account if listed, else its parent) and each account's top."""

    book: AccountBook
    top: dict[str, str]  # account -> the top of its parent chain in the file

    def of(self, lead: Lead) -> str | None:
        """The top of the lead's account chain; None: neither its account nor its parent is listed."""
        return self.top.get(self.book.account_of(lead))


def unit_book(accounts: Sequence[Account] | None) -> AccountUnits | None:
    """The accounts file's parent chains for `unit_id` (None: no accounts file)."""
    if not accounts:
        return None
    parent = {a.id: a.parent_id for a in accounts}
    top = {}
    for account in accounts:
        at, seen = account.id, {account.id}
        while (up := parent.get(at)) and up not in seen:  # a parent cycle stops the walk
            seen.add(up)
            at = up
        top[account.id] = at
    return AccountUnits(AccountBook.of(accounts), top)


def unit_id(experiment: Experiment, lead: Lead, accepted_at: datetime,
            book: AccountUnits | None = None) -> str:
    """The unit a lead is randomized by: the lead, its account (the top of its parent chain in
    the accounts file, `book`; else the lead's parent_account_id when it has one; a lead with no
    account is its own unit), or its switchback block (by acceptance time)."""
    if experiment.unit == "account":
        account = (book.of(lead) if book is not None else None) or lead.parent_account_id or lead.account_id
        return f"account {account}" if account else f"lead {lead.id}"
    if experiment.unit == "switchback":
        return switchback_unit(accepted_at, experiment.block_hours)
    return f"lead {lead.id}"


def arm_of_unit(experiment: Experiment, unit: str) -> str:
    """The arm of a unit: its SHA-256 with the name and seed, read as a uniform number in [0, 1),
    below `share` for the challenger."""
    digest = hashlib.sha256(f"{experiment.seed}\x1f{experiment.name}\x1f{unit}".encode()).digest()
    uniform = int.from_bytes(digest[:8], "big") / 2.0**64
    return CHALLENGER if uniform < experiment.share else CONTROL


def arm_of(experiment: Experiment, lead: Lead, accepted_at: datetime,
           book: AccountUnits | None = None) -> str:
    """The arm that decides `lead` (accepted at `accepted_at`; `book`: the accounts, `unit_book`)."""
    return arm_of_unit(experiment, unit_id(experiment, lead, accepted_at, book))


@dataclass
class Arm:
    """One arm's routing: its policy, its team (scorer, fairness, speed) and its seat prices; and
    the experiment it belongs to, recorded with the arm on every lead it decides."""

    name: str
    experiment: str
    policy: Policy
    team: Team
    pricing: SeatPricing

    @classmethod
    def of(cls, name: str, experiment: str, policy: Policy, reps: Sequence[Rep], catchup_window: timedelta,
           accounts: Sequence[Account] | None) -> Arm:
        arm_policy = policy.arm_policy(name)
        team = Team(reps, arm_policy, catchup_window, accounts)
        return cls(name, experiment, arm_policy, team, SeatPricing(arm_policy, team.table.m))

    def tag(self, answer: Assignment) -> Assignment:
        """`answer` as this arm's: the arm's and the experiment's names with it."""
        return replace(answer, arm=self.name, experiment=self.experiment)


def tagged(answer: Assignment, arm: Arm | None) -> Assignment:
    """`answer` as decided in `arm` (`Arm.tag`); None: outside an experiment, as it is."""
    return answer if arm is None else arm.tag(answer)


# -- stop and promote -----------------------------------------------------------------------------


def experiment_runs(store: LeadStore, name: str | None = None) -> list[dict[str, Any]]:
    """The experiment records (starts and stops), oldest first: of `name`, or of every experiment."""
    return [run for run in store.runs() if run["kind"] == EXPERIMENT_RUN and run["summary"]
            and (name is None or run["summary"].get("experiment") == name)]


def experiment_starts(runs: list[dict[str, Any]]) -> list[tuple[datetime, str]]:
    """Each experiment's recorded start (`experiment_runs`): (when, name), in time order."""
    return sorted((datetime.fromisoformat(run["started_at"]), run["summary"]["experiment"])
                  for run in runs if "definition" in run["summary"])


def experiment_of(starts: list[tuple[datetime, str]], accepted_at: datetime) -> str | None:
    """The experiment whose arm decided a lead accepted at `accepted_at` (a lead with an arm, decided
    before the ledger recorded experiment names: schema version 6 on records them, `attributed`),
    given the starts (`experiment_starts`): the last to start by then; the first for a lead accepted
    before any (buffered, and decided once it had started). None: no experiment recorded.

    By the starts alone: a stopped experiment decides no lead after its stop (the router routes
    with the winner, without arms), so a lead with an arm after it is the next experiment's; and
    the stop is timed by the clock of whoever stopped it, not by the router's (`run --now`). Two
    experiments running at once are told apart only by the recorded names."""
    if not starts:
        return None
    k = bisect.bisect_right([at for at, _ in starts], accepted_at)
    return starts[max(k - 1, 0)][1]


def attributed(rows: Iterable[dict[str, Any]],
               starts: list[tuple[datetime, str]]) -> Iterator[dict[str, Any]]:
    """The ledger's lead rows (`LeadStore.leads()`) with the experiment each one's arm belongs to
    (`experiment_of`, given the starts): a row decided before the ledger recorded names gets the
    experiment its acceptance time attributes it to, as the report counts it; a row without an arm
    stays without one."""
    for row in rows:
        if row["arm"] in ARMS and row["experiment"] is None:
            yield row | {"experiment": experiment_of(starts, datetime.fromisoformat(row["accepted_at"]))}
        else:
            yield row


def running(runs: list[dict[str, Any]]) -> list[str]:
    """The experiments started and not stopped, of the experiment records (`experiment_runs`), in
    the order they started."""
    stopped = {run["summary"]["experiment"] for run in runs if "winner" in run["summary"]}
    return [name for _, name in experiment_starts(runs) if name not in stopped]


def experiment_lines(runs: list[dict[str, Any]]) -> list[str]:
    """The experiment records (`experiment_runs`) in words, one line each, as `history` prints them."""
    lines = []
    for run in runs:
        s, at = run["summary"], run["started_at"]
        if "winner" in s:
            lines.append(f"experiment {s['experiment']!r} stopped {at} by {s['decided_by']}: winner "
                         f"{s['winner']} ({s['policy']}) routes every lead since")
        else:
            lines.append(f"experiment {s['experiment']!r} started {at}: {CONTROL} {s['arms'][CONTROL]} vs "
                         f"{CHALLENGER} {s['arms'][CHALLENGER]}, by {s['definition']['unit']}")
    return lines


def start_of(store: LeadStore, name: str) -> dict[str, Any] | None:
    """The recorded start of the experiment `name`: its definition and arms' solvers; None if none."""
    for run in experiment_runs(store, name):
        if "definition" in run["summary"]:
            return dict(run["summary"]) | {"started_at": run["started_at"]}
    return None


def stop_of(store: LeadStore, name: str) -> dict[str, Any] | None:
    """The recorded stop of the experiment `name` (the run's summary), None while it runs."""
    for run in experiment_runs(store, name):
        if "winner" in run["summary"]:
            return dict(run["summary"]) | {"run_id": run["run_id"], "stopped_at": run["finished_at"]}
    return None


def record_start(store: LeadStore, policy: Policy, at: datetime) -> None:
    """Record the policy's experiment (definition, each arm's solver) the first time a router runs
    it; InputError if it was recorded with another definition under the same name."""
    experiment = policy.experiment
    if experiment is None:
        return
    definition = experiment.model_dump(mode="json")
    started = start_of(store, experiment.name)
    if started is not None:
        if started["definition"] != definition:
            raise InputError(f"the experiment {experiment.name!r} was started with another definition "
                             f"({started['definition']}); a changed experiment needs a new name",
                             field="experiment")
        return
    arms = {arm: policy.arm_policy(arm).solver for arm in ARMS}
    with store.transaction():
        run_id = store.start_run(EXPERIMENT_RUN, arms[CONTROL], at)
        store.finish_run(run_id, at, {"experiment": experiment.name, "definition": definition, "arms": arms})


def promoted(policy: Policy, store: LeadStore) -> Policy:
    """The policy to route with: the winner's, without arms, once its experiment was stopped."""
    experiment = policy.experiment
    if experiment is None:
        return policy
    stop = stop_of(store, experiment.name)
    return policy if stop is None else policy.arm_policy(stop["winner"])


def forgotten_winner(policy: Policy, store: LeadStore) -> str | None:
    """What to warn of when the ledger's last experiment was stopped with a winner that `policy`
    (without an experiment section) does not route as: the winner applies only while the policy
    holds that experiment's section (`promoted`); after, the policy file's own settings route.
    None: nothing to say (a section in the policy, no stopped experiment, or the policy already
    routes as the winner: the challenger's changes are in it, or the control won)."""
    if policy.experiment is not None:
        return None
    runs = experiment_runs(store)
    stop = runs[-1]["summary"] if runs else {}
    if "winner" not in stop:
        return None
    start = next((run["summary"] for run in runs if run["summary"].get("experiment") == stop["experiment"]
                  and "definition" in run["summary"]), None)
    if start is None:
        return None
    challenger = start["definition"]["challenger"]
    as_then = policy.model_copy(update={"experiment": Experiment.model_validate(start["definition"])})
    if as_then.arm_policy(stop["winner"]).model_dump() == policy.model_dump():
        return None
    return (f"the experiment {stop['experiment']!r} was stopped with the winner {stop['winner']} "
            f"({stop['policy']}), but this policy has no experiment section, so it routes with its own "
            f"settings (solver {policy.solver}), not the winner's: the winner routes only while the policy "
            f"holds that experiment section; to keep it, put its settings ({json.dumps(challenger)}) "
            "in the policy")


def record_stop(store: LeadStore, start: dict[str, Any], winner: str, at: datetime, decided_by: str,
                figures: dict[str, Any]) -> dict[str, Any]:
    """Stop the experiment recorded by `start` (`start_of`) with `winner` (control | challenger): a
    run of kind ``experiment`` whose summary holds the decision, who took it and the report's figures."""
    name = start["definition"]["name"]
    if winner not in ARMS:
        raise ValueError(f"the winner is {CONTROL} or {CHALLENGER}, not {winner!r}")
    if stop_of(store, name) is not None:
        raise ValueError(f"the experiment {name!r} was already stopped")
    solver = start["arms"][winner]
    summary = {"experiment": name, "winner": winner, "policy": solver, "decided_by": decided_by,
               "report": figures}
    with store.transaction():
        run_id = store.start_run(EXPERIMENT_RUN, solver, at)
        store.finish_run(run_id, at, summary)
    return summary
