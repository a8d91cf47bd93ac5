"""Routing policies, each declared once in the registry. Importing this package registers them all."""

from solver.policies import baselines, cpsat, flow, greedy  # noqa: F401  (registration)
from solver.policies.registry import PolicySpec, Solution, Status, policy_names, policy_spec, register, solve

__all__ = ["PolicySpec", "Solution", "Status", "policy_names", "policy_spec", "register", "solve"]
