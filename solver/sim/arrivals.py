"""Lead arrivals as columns of arrays: the `LeadStream` every source produces, and synthetic traffic.

A `LeadStream` is generated once per seed and shared by every policy of that
seed, so policies are compared on the same arrivals (paired comparisons). The
simulator turns a row into a `Lead` only when it submits it, because the
account's current owner (`owner_id`) depends on earlier routing.

Synthetic arrivals are a non-homogeneous Poisson process: the expected count
in each hour of the horizon is ``leads_per_week * weekday_weight * hour_weight``
(normalised over the week), in the stream's own time zone. A CRM replay
(`solver.sim.crm`) builds the same `LeadStream` from recorded deals;
`solver.sim.stream` picks the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np

from solver.sim.scenario import Scenario, StreamSpec

HOUR_S = 3600.0


@dataclass(frozen=True)
class LeadStream:
    """n leads in arrival order; `arrival_s` is seconds since the scenario start."""

    ids: np.ndarray  # str (n,)
    arrival_s: np.ndarray  # float (n,), ascending
    territory: np.ndarray  # str (n,)
    industry: np.ndarray  # str (n,)
    product: np.ndarray  # str (n,)
    segment: np.ndarray  # str (n,)
    account: np.ndarray  # str (n,)
    value: np.ndarray  # float (n,)
    score: np.ndarray  # float (n,)
    urgent: np.ndarray  # bool (n,)

    @property
    def n(self) -> int:
        return len(self.ids)


def hourly_rates(spec: StreamSpec, scenario: Scenario) -> np.ndarray:
    """float (hours,): expected arrivals in each hour of the horizon."""
    hours = int(np.ceil(scenario.horizon_days * 24))
    zone = ZoneInfo(spec.timezone)
    week = np.outer(spec.weekday_weights, spec.hour_weights)  # (7, 24)
    week = week / week.sum() * spec.leads_per_week
    local = [(scenario.start + timedelta(hours=h)).astimezone(zone) for h in range(hours)]
    return np.array([week[t.weekday(), t.hour] for t in local])


def synthetic_stream(spec: StreamSpec, scenario: Scenario, rng: np.random.Generator) -> LeadStream:
    """Poisson arrivals per hour; account repeats copy the account's attributes."""
    rates = hourly_rates(spec, scenario)
    counts = rng.poisson(rates)
    hour = np.repeat(np.arange(rates.size), counts)
    arrival = np.sort((hour + rng.random(hour.size)) * HOUR_S)
    arrival = arrival[arrival < scenario.horizon_days * 24 * HOUR_S]
    n = arrival.size

    # Accounts: a repeat lead comes from an earlier lead's account and keeps its
    # territory, industry and segment; a new one draws them from the mixes.
    repeat = rng.random(n) < spec.repeat_rate
    repeat[0:1] = False
    source = np.arange(n)
    earlier = (rng.random(n) * np.maximum(np.arange(n), 1)).astype(np.int64)
    source[repeat] = earlier[repeat]
    for i in np.flatnonzero(repeat):  # chains resolve in order: a source is always earlier
        source[i] = source[source[i]]
    account = np.char.add("A", source.astype(str))  # named after the account's first lead

    def draw(mix: dict[str, float], rows: np.ndarray) -> np.ndarray:
        if not mix:
            return np.full(n, "", dtype=object)
        labels = np.array(list(mix), dtype=object)
        p = np.array(list(mix.values()), dtype=float)
        return labels[rng.choice(labels.size, n, p=p / p.sum())][rows]

    territory = draw(spec.territory, source)
    industry = draw(spec.industry, source)
    segment = draw(spec.segment, source)
    product = draw(spec.product, np.arange(n))  # an account may ask for any product
    value = _values(spec, segment, rng)
    score = np.round(rng.beta(spec.score.a, spec.score.b, n), 4)
    urgent = rng.random(n) < spec.urgent_share
    return LeadStream(
        ids=np.char.add("L", np.arange(n).astype(str)).astype(object),
        arrival_s=arrival,
        territory=territory,
        industry=industry,
        product=product,
        segment=segment,
        account=account.astype(object),
        value=value,
        score=score,
        urgent=urgent,
    )


def _values(spec: StreamSpec, segment: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lognormal values, with a per-segment distribution where the scenario gives one."""
    z = rng.standard_normal(segment.size)
    median = np.full(segment.size, spec.value.median)
    sigma = np.full(segment.size, spec.value.sigma)
    for name, dist in spec.value_by_segment.items():
        rows = segment == name
        median[rows] = dist.median
        sigma[rows] = dist.sigma
    return np.round(median * np.exp(sigma * z), 2)
