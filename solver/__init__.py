"""leadsolver: optimization-based sales lead routing.

    from solver import assign, load_reps, load_leads, load_policy
    reps = load_reps("reps.csv")
    result = assign(reps, load_leads("leads.csv", reps), load_policy("policy.yaml"))
    result.to_dict()["summary"]
"""

from solver.decode.batch import assign
from solver.decode.result import Assignment, Result
from solver.domain.errors import InputError
from solver.domain.io import load_leads, load_policy, load_reps
from solver.domain.model import Lead, Policy, Rep

__all__ = [
    "Assignment",
    "InputError",
    "Lead",
    "Policy",
    "Rep",
    "Result",
    "assign",
    "load_leads",
    "load_policy",
    "load_reps",
]
__version__ = "0.1.0"
