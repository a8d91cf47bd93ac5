"""How a routing rule is enforced: shared by the fixed rules and the routing-rule language."""

from __future__ import annotations

from enum import StrEnum


class RuleMode(StrEnum):
    """How a routing rule is enforced."""

    HARD = "hard"  # never broken
    SOFT = "soft"  # may be broken at a cost of `soft_penalty` (or the rule's weight) x expected value
    OFF = "off"  # ignored
