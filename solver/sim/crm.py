"""The Maven CRM sample (sales_pipeline, sales_teams, accounts, products) as a scenario source.

A replay scenario splits the closed deals (Won/Lost) at `crm.cutoff` on their
engage date: deals engaged before are the history the router's skills are
learned from; deals engaged from the cutoff on are replayed as the lead
stream, arriving on their engage date. Outcomes in the replay are drawn from
skills fitted on the replayed deals themselves (the "truth"), so a policy
gains only as far as the earlier history predicts the later one.

Mapping (see the data's README): rep = sales agent; territory = regional
office; a lead's territory = the office that worked most of its account's
earlier deals; industry = the account's sector; value = the product's list
price (lost deals have close_value 0, so it cannot be the value); score = the
team's (shrunk) win rate for the product before the cutoff. Quirks handled:
the pipeline's `GTXPro` is products.csv's `GTX Pro`. The data are read from
the path the scenario gives, never copied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np

from solver.domain.errors import InputError
from solver.domain.io import csv_dicts
from solver.domain.model import Rep
from solver.sim.arrivals import LeadStream
from solver.sim.learn import History, learn_skills
from solver.sim.scenario import Scenario

PRODUCT_ALIASES = {"GTXPro": "GTX Pro"}
CLOSED = ("Won", "Lost")
# Employees to segment, for reporting (reps here serve every segment).
SEGMENT_BY_EMPLOYEES = ((1_000, "SMB"), (5_000, "MM"))


@dataclass(frozen=True)
class CrmData:
    """Closed deals as columns, plus the lookup tables."""

    agent: np.ndarray  # str (n,)
    product: np.ndarray  # str (n,), names as in products.csv
    account: np.ndarray  # str (n,)
    won: np.ndarray  # bool (n,)
    engaged: np.ndarray  # datetime64[D] (n,)
    closed: np.ndarray  # datetime64[D] (n,)
    office: dict[str, str]  # agent -> regional office
    sector: dict[str, str]  # account -> sector
    employees: dict[str, int]  # account -> employees
    price: dict[str, float]  # product -> list price

    def history(self, rows: np.ndarray) -> History:
        """The deals at `rows` as learning history (industry = the account's sector)."""
        return History(self.agent[rows], np.array([self.sector.get(a, "") for a in self.account[rows]],
                                                  dtype=object),
                       self.product[rows], self.won[rows], self.closed[rows])


def _rows(folder: Path, name: str, columns: Sequence[str]) -> list[dict[str, str]]:
    return list(csv_dicts(folder / name, columns))


@lru_cache(maxsize=4)
def load_crm(folder: str) -> CrmData:
    """Read the CRM folder once per process (every cell of a run reads the same files)."""
    path = Path(folder)
    if not path.is_dir():
        raise InputError("the scenario's crm.data folder is not there", file=str(path))
    deals = [r for r in _rows(path, "sales_pipeline.csv",
                              ("sales_agent", "product", "account", "deal_stage", "engage_date",
                               "close_date"))
             if r["deal_stage"] in CLOSED]
    teams = _rows(path, "sales_teams.csv", ("sales_agent", "regional_office"))
    accounts = _rows(path, "accounts.csv", ("account", "sector", "employees"))
    products = _rows(path, "products.csv", ("product", "sales_price"))
    file = str(path / "sales_pipeline.csv")
    for row, deal in enumerate(deals, start=1):
        for field in ("engage_date", "close_date"):
            try:
                date.fromisoformat(deal[field])
            except ValueError:
                raise InputError(f"expected a date YYYY-MM-DD, got {deal[field]!r}", file=file,
                                 row=row, field=field) from None
    prices = _numbers(products, "sales_price", path / "products.csv", float)
    employees = _numbers(accounts, "employees", path / "accounts.csv", int)
    return CrmData(
        agent=np.array([d["sales_agent"] for d in deals], dtype=object),
        product=np.array([PRODUCT_ALIASES.get(d["product"], d["product"]) for d in deals], dtype=object),
        account=np.array([d["account"] for d in deals], dtype=object),
        won=np.array([d["deal_stage"] == "Won" for d in deals]),
        engaged=np.array([d["engage_date"] for d in deals], dtype="datetime64[D]"),
        closed=np.array([d["close_date"] for d in deals], dtype="datetime64[D]"),
        office={t["sales_agent"]: t["regional_office"] for t in teams},
        sector={a["account"]: a["sector"] for a in accounts},
        employees={a["account"]: int(n) for a, n in zip(accounts, employees, strict=True)},
        price={p["product"]: x for p, x in zip(products, prices, strict=True)},
    )


def _numbers(rows: list[dict[str, str]], field: str, file: Path, kind: type[float] | type[int]
             ) -> list[float]:
    """`field` of every row as a number >= 0 (blank: 0), or an error naming file, row and field."""
    out: list[float] = []
    for row, record in enumerate(rows, start=1):
        text = (record[field] or "0").strip()
        try:
            number = kind(text)
        except ValueError:
            number = -1
        if not 0 <= number < float("inf"):
            what = "a whole number" if kind is int else "a number"
            raise InputError(f"expected {what} >= 0, got {record[field]!r}", file=str(file), row=row,
                             field=field)
        out.append(number)
    return out


def _data(scenario: Scenario) -> tuple[CrmData, np.ndarray, np.ndarray]:
    """The data and the (history, replay) row masks of the scenario's cutoff."""
    assert scenario.crm is not None
    folder = scenario.path(scenario.crm.data)
    data = load_crm(str(folder))
    cutoff = scenario.crm.cutoff
    before = data.engaged < np.datetime64(cutoff)
    if not before.any() or before.all():
        side = "before it: nothing to learn from" if not before.any() else "on or after it: nothing to replay"
        span = (f"the data's deals were engaged {data.engaged.min()} to {data.engaged.max()}"
                if before.size else "the data has no closed deal")
        raise InputError(f"crm.cutoff {cutoff}: no closed deal was engaged {side} ({span})",
                         file=str(folder / "sales_pipeline.csv"), field="engage_date")
    return data, before, ~before


def crm_reps(scenario: Scenario) -> list[Rep]:
    """One rep per agent with deals: its office as territory, skills learned before the cutoff."""
    data, before, _ = _data(scenario)
    crm = scenario.crm
    assert crm is not None
    skills = learn_skills(data.history(before), crm.prior_strength)
    agents = sorted(set(data.agent))
    return [Rep(id=a, name=a, territories=(data.office.get(a, ""),) if data.office.get(a) else (),
                capacity=crm.capacity, skills=skills.get(a, {})) for a in agents]


def crm_truth(scenario: Scenario, reps: Sequence[Rep]) -> list[Rep]:
    """The reps with skills fitted on the replayed deals: what drives the simulated outcomes."""
    data, _, replay = _data(scenario)
    assert scenario.crm is not None
    skills = learn_skills(data.history(replay), scenario.crm.prior_strength)
    return [r.model_copy(update={"skills": skills.get(r.id, {})}) for r in reps]


def crm_stream(scenario: Scenario, seed: int) -> LeadStream:
    """The deals engaged from the cutoff on, arriving on their engage date at a seeded time of day."""
    data, before, replay = _data(scenario)
    rng = np.random.default_rng([seed, 3])
    rows = np.flatnonzero(replay)
    # Replayed deals arrive during the working day (08:00-18:00 of the scenario's clock).
    day_s = (data.engaged[rows] - np.datetime64(scenario.start.date())).astype(np.int64) * 86400.0
    arrival = day_s + scenario.start.hour * 3600.0 + rng.uniform(8, 18, rows.size) * 3600.0
    keep = (arrival >= 0) & (arrival < scenario.horizon_days * 86400.0)
    rows, arrival = rows[keep], arrival[keep]
    order = np.argsort(arrival, kind="stable")
    rows, arrival = rows[order], arrival[order]
    accounts = data.account[rows]
    home = _home_office(data, before)
    rates = _product_rates(data, before, scenario)
    return LeadStream(
        ids=np.array([f"D{r}" for r in rows], dtype=object),
        arrival_s=arrival,
        territory=np.array([home.get(a, "") for a in accounts], dtype=object),
        industry=np.array([data.sector.get(a, "") for a in accounts], dtype=object),
        product=data.product[rows],
        segment=np.array([_segment(data.employees.get(a, 0)) for a in accounts], dtype=object),
        account=accounts,
        value=np.array([data.price.get(p, 0.0) for p in data.product[rows]]),
        score=np.array([rates[p] for p in data.product[rows]]),
        urgent=rng.random(rows.size) < scenario.stream.urgent_share,
    )


def _home_office(data: CrmData, rows: np.ndarray) -> dict[str, str]:
    """Account -> the office that worked most of its deals in `rows` (ties: alphabetical)."""
    counts: dict[str, Counter[str]] = {}
    for account, agent in zip(data.account[rows], data.agent[rows], strict=True):
        counts.setdefault(account, Counter())[data.office.get(agent, "")] += 1
    return {a: min(c, key=lambda o: (-c[o], o)) for a, c in counts.items()}


def _product_rates(data: CrmData, rows: np.ndarray, scenario: Scenario) -> dict[str, float]:
    """The team's win rate per product before the cutoff, shrunk to the overall rate."""
    assert scenario.crm is not None
    s = scenario.crm.prior_strength
    won, product = data.won[rows], data.product[rows]
    team = float(won.mean())
    rates = {}
    for p in set(data.product):
        mine = product == p
        rates[p] = round((float(won[mine].sum()) + s * team) / (int(mine.sum()) + s), 4)
    return rates


def _segment(employees: int) -> str:
    for limit, name in SEGMENT_BY_EMPLOYEES:
        if employees < limit:
            return name
    return "ENT"
