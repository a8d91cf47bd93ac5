"""Routing policies, registered by name. Importing this package registers them all."""

from solver.policies import baselines, cpsat, flow, greedy  # noqa: F401  (registration)
from solver.policies.base import Solution, Status, policy_names, register, solve

__all__ = ["Solution", "Status", "policy_names", "register", "solve"]
