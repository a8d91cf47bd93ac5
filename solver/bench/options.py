"""Command-line value types the benchmark commands share."""

from __future__ import annotations

import math
from typing import Any

import click

from solver.domain.model import MAX_TIME_LIMIT_S, MIN_TIME_LIMIT_S


class TimeLimit(click.FloatRange):
    """Seconds per solve, within the policy's bounds; NaN is refused (click's range lets it pass)."""

    name = "seconds"

    def __init__(self) -> None:
        super().__init__(MIN_TIME_LIMIT_S, MAX_TIME_LIMIT_S)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds
