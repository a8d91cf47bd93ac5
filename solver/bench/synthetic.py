"""Seeded synthetic instances: a sales team and a batch of leads of chosen shape.

The knobs are the ones that change how hard routing is:

- `tightness`: total free capacity / number of leads (below 1, not all fit);
- `density`: share of reps a lead's territory admits (eligibility density);
- `skill_spread`: sigma of the reps' log skill multipliers (0 = identical reps).

Everything derives from `numpy.random.default_rng(seed)`, so an instance is
reproducible from its parameters alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.model import Lead, Policy, Rep

INDUSTRIES = ("software", "healthcare", "finance", "retail", "manufacturing")
PRODUCTS = ("core", "analytics", "security")
SEGMENTS = ("SMB", "MM", "ENT")


@dataclass(frozen=True)
class Instance:
    name: str
    reps: list[Rep]
    leads: list[Lead]
    policy: Policy


def make_instance(
    n_leads: int,
    n_reps: int,
    *,
    tightness: float = 0.9,
    density: float = 0.3,
    skill_spread: float = 0.3,
    effort_max: int = 1,
    owner_share: float = 0.0,
    seed: int = 0,
    policy: Policy | None = None,
) -> Instance:
    """A team of `n_reps` and `n_leads` leads with the requested shape."""
    rng = np.random.default_rng(seed)
    n_territories = 10
    per_rep = max(1, round(density * n_territories))
    territories = [f"T{t}" for t in range(n_territories)]
    # Spread capacity so the team's free capacity is `tightness` x the batch's effort.
    weights = rng.uniform(0.5, 1.5, n_reps)
    mean_effort = (effort_max + 1) / 2
    capacity = np.maximum(1, np.floor(weights / weights.sum() * tightness * n_leads * mean_effort))
    reps = [
        Rep(
            id=f"R{j:05d}",
            territories=tuple(sorted(rng.choice(territories, per_rep, replace=False))),
            capacity=int(capacity[j]),
            quota_weight=float(np.round(weights[j], 3)),
            skills={
                k: float(np.round(np.exp(rng.normal(0, skill_spread)), 4))
                for k in INDUSTRIES + PRODUCTS
            }
            if skill_spread > 0
            else {},
            seniority=int(rng.integers(0, 4)),
        )
        for j in range(n_reps)
    ]
    rep_ids = [r.id for r in reps]
    leads = [
        Lead(
            id=f"L{i:06d}",
            territory=str(rng.choice(territories)),
            industry=str(rng.choice(INDUSTRIES)),
            product=str(rng.choice(PRODUCTS)),
            segment=str(rng.choice(SEGMENTS)),
            value=float(np.round(rng.lognormal(9, 1), 2)),
            score=float(np.round(rng.beta(2, 3), 4)),
            effort=int(rng.integers(1, effort_max + 1)),
            owner_id=str(rng.choice(rep_ids)) if rng.random() < owner_share else "",
        )
        for i in range(n_leads)
    ]
    name = f"syn-{n_leads}x{n_reps}-t{tightness:g}-d{density:g}-s{skill_spread:g}-seed{seed}"
    return Instance(name, reps, leads, policy or Policy())
