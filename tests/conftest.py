"""Shared fixtures and the per-policy parametrization.

Every test that takes a `policy_name` argument runs once per registered
policy (or the ones named with `--policies a,b`), as PyJobShop does for its
solvers: a new policy is tested by the same suite the moment it registers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from solver.compile.problem import Problem, compile_problem
from solver.domain.model import Lead, Policy, Rep
from solver.policies import policy_names

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample"
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--policies", default=None, help="Comma-separated policies to test (default: all).")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "policy_name" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--policies")
        names = chosen.split(",") if chosen else policy_names()
        metafunc.parametrize("policy_name", names)


@pytest.fixture(scope="session")
def sample_paths() -> dict[str, Path]:
    """The README quick-start files: 36 reps, 300 leads, a flow policy with soft industry rule."""
    return {
        "reps": SAMPLE / "reps.csv",
        "leads": SAMPLE / "leads.csv",
        "policy": SAMPLE / "policy.yaml",
    }


def random_instance(
    rng: np.random.Generator,
    n: int,
    m: int,
    *,
    effort_max: int = 1,
    owner_share: float = 0.1,
    unavailable_share: float = 0.1,
) -> tuple[list[Rep], list[Lead]]:
    """A small random team and batch exercising every hard rule.

    Territories and segments are drawn from short lists so that some leads
    have no eligible rep, some reps are unrestricted (`*` or empty lists),
    some reps are unavailable and some leads name an account owner.
    """
    territories = ["N", "S", "E"]
    segments = ["SMB", "MM", "ENT"]
    reps = []
    for j in range(m):
        terr = tuple(rng.choice(territories, rng.integers(0, 3), replace=False))
        if rng.random() < 0.15:
            terr = ("*",)
        reps.append(Rep(
            id=f"r{j}",
            territories=terr,
            segments=tuple(rng.choice(segments, rng.integers(0, 3), replace=False)),
            capacity=int(rng.integers(0, 4)),
            open_leads=int(rng.integers(0, 2)),
            quota_weight=float(rng.uniform(0.5, 2)),
            available=bool(rng.random() >= unavailable_share),
            skills={"sw": float(rng.uniform(0.5, 1.5))} if rng.random() < 0.5 else {},
            seniority=int(rng.integers(0, 3)),
        ))
    leads = []
    for i in range(n):
        owner = f"r{rng.integers(m)}" if rng.random() < owner_share else ""
        leads.append(Lead(
            id=f"l{i}",
            territory=str(rng.choice([*territories, ""])),
            segment=str(rng.choice([*segments, ""])),
            industry=str(rng.choice(["sw", "hw"])),
            value=float(rng.integers(1, 1000)),
            score=float(rng.uniform(0, 1)),
            effort=int(rng.integers(1, effort_max + 1)),
            owner_id=owner,
        ))
    return reps, leads


def compiled(reps: Sequence[Rep], leads: Sequence[Lead], **policy: object) -> Problem:
    return compile_problem(reps, leads, Policy(**policy))
