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

from solver.domain.model import Lead, Policy, Rep, lead_segment

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
            segment=lead_segment(str(rng.choice(SEGMENTS))),
            value=float(np.round(rng.lognormal(9, 1), 2)),
            score=float(np.round(rng.beta(2, 3), 4)),
            effort=int(rng.integers(1, effort_max + 1)),
            owner_id=str(rng.choice(rep_ids)) if rng.random() < owner_share else "",
        )
        for i in range(n_leads)
    ]
    name = f"syn-{n_leads}x{n_reps}-t{tightness:g}-d{density:g}-s{skill_spread:g}-seed{seed}"
    return Instance(name, reps, leads, policy or Policy())


@dataclass(frozen=True)
class InstanceSpec:
    """One row of a benchmark grid: the shape of a synthetic instance, without its seed."""

    n_leads: int
    n_reps: int
    tightness: float = 0.9
    density: float = 0.3
    skill_spread: float = 0.3
    effort_max: int = 1
    owner_share: float = 0.05

    @property
    def name(self) -> str:
        name = f"{self.n_leads}x{self.n_reps}-t{self.tightness:g}-d{self.density:g}-s{self.skill_spread:g}"
        if self.effort_max > 1:
            name += f"-e{self.effort_max}"
        return name

    def build(self, seed: int) -> Instance:
        """The instance for one seed: same spec and seed, same instance."""
        return make_instance(
            self.n_leads,
            self.n_reps,
            tightness=self.tightness,
            density=self.density,
            skill_spread=self.skill_spread,
            effort_max=self.effort_max,
            owner_share=self.owner_share,
            seed=seed,
        )


# Sizes from a team of 10 to the 10,000 x 1,000 batch DESIGN.md asks to solve in about a second.
SIZES = ((100, 10), (1_000, 100), (1_000, 200), (10_000, 1_000))
TIGHTNESS = (0.6, 0.8, 1.0, 1.2)  # free capacity / demand: below 1 not every lead fits
DENSITY = (0.1, 0.6)  # share of territories a rep covers (base 0.3)
SKILL_SPREAD = (0.0, 0.6)  # sigma of log skill multipliers (base 0.3)


def synthetic_grid(quick: bool = False) -> list[InstanceSpec]:
    """The synthetic suite: every size at the base point, then one knob at a time at 1,000 x 100.

    A full factorial over four sizes and three knobs would be 100+ instances per
    seed; varying one knob at a time around a base point shows each effect with
    a tenth of the runs. The quick grid (for tests and smoke runs) keeps two
    small sizes and both ends of the tightness range.
    """
    if quick:
        return [
            InstanceSpec(100, 10, tightness=0.6),
            InstanceSpec(100, 10, tightness=1.2),
            InstanceSpec(300, 30, tightness=0.8),
        ]
    grid = [InstanceSpec(n, m) for n, m in SIZES]
    grid += [InstanceSpec(1_000, 100, tightness=t) for t in TIGHTNESS]
    grid += [InstanceSpec(1_000, 100, density=d) for d in DENSITY]
    grid += [InstanceSpec(1_000, 100, skill_spread=s) for s in SKILL_SPREAD]
    return grid
