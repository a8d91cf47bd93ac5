r"""Skills from history: each rep's win-rate multipliers by industry and by product.

A rep's multiplier says how much more (or less) often the rep wins than the
team does. Raw rates from a handful of deals are noise, so every rate is
shrunk toward its prior with `prior_strength` pseudo-deals (empirical Bayes,
a beta prior), so that three won deals do not make an expert:

.. math:: \hat p = (w + s\,p_0) / (n + s)

In three levels, each prior the level above:

1. the rep overall: prior the team rate p; ability ``a_r = p_r / p``;
2. rep x industry: prior ``a_r p_k`` (p_k the team's rate in industry k);
   multiplier ``p_rk / p_k``, so it carries the rep's overall ability;
3. rep x product: prior ``a_r p_k``; multiplier ``p_rk / (a_r p_k)``, the
   product effect only, so that ``skill = industry x product`` counts the
   rep's ability once.

A rep with no deals in a key gets exactly its prior: ability for an industry,
1.0 for a product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from solver.domain.errors import InputError
from solver.domain.io import csv_dicts, csv_text
from solver.domain.model import Rep

WON = {"won", "win", "1", "true", "yes"}
LOST = {"lost", "loss", "0", "false", "no"}
HISTORY_COLUMNS = ("rep_id", "outcome")


@dataclass(frozen=True)
class History:
    """Closed deals as columns: who worked them, what they were, whether they were won."""

    rep_id: np.ndarray  # str (n,)
    industry: np.ndarray  # str (n,), "" = unknown
    product: np.ndarray  # str (n,), "" = unknown
    won: np.ndarray  # bool (n,)
    closed: np.ndarray  # datetime64[D] (n,), NaT = unknown

    def before(self, cutoff: date | None) -> History:
        """The deals closed before `cutoff` (all of them when None)."""
        if cutoff is None:
            return self
        keep = self.closed < np.datetime64(cutoff)
        return History(*(getattr(self, f)[keep] for f in ("rep_id", "industry", "product", "won",
                                                           "closed")))


def load_history(path: str | Path) -> History:
    """A history CSV: rep_id, outcome (won/lost) and optional industry, product, closed_at."""
    path = Path(path)
    cols: dict[str, list] = {k: [] for k in ("rep_id", "industry", "product", "won", "closed")}
    for row, raw in enumerate(csv_dicts(path, HISTORY_COLUMNS), start=1):
        rec = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not rec["rep_id"]:
            raise InputError("must not be empty", file=str(path), row=row, field="rep_id")
        outcome = rec["outcome"].lower()
        if outcome not in WON | LOST:
            raise InputError(f"expected won or lost, got {rec['outcome']!r}", file=str(path), row=row,
                             field="outcome")
        closed = rec.get("closed_at", "")
        try:
            cols["closed"].append(np.datetime64(closed[:10]) if closed else np.datetime64("NaT"))
        except ValueError:
            raise InputError(f"expected a date YYYY-MM-DD, got {closed!r}", file=str(path), row=row,
                             field="closed_at") from None
        cols["rep_id"].append(rec["rep_id"])
        cols["industry"].append(rec.get("industry", ""))
        cols["product"].append(rec.get("product", ""))
        cols["won"].append(outcome in WON)
    if not cols["rep_id"]:
        raise InputError("no deals in the file", file=str(path))
    return History(np.array(cols["rep_id"], dtype=object), np.array(cols["industry"], dtype=object),
                   np.array(cols["product"], dtype=object), np.array(cols["won"], dtype=bool),
                   np.array(cols["closed"], dtype="datetime64[D]"))


def _shrink(wins: np.ndarray, n: np.ndarray, prior: np.ndarray | float, strength: float) -> np.ndarray:
    return (wins + strength * prior) / (n + strength)


def _counts(rep: np.ndarray, key: np.ndarray, won: np.ndarray, m: int, k: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """(wins, deals) per rep x key, as (m, k) arrays."""
    flat = rep * k + key
    n = np.bincount(flat, minlength=m * k).reshape(m, k)
    w = np.bincount(flat, weights=won, minlength=m * k).reshape(m, k)
    return w, n


def learn_skills(history: History, prior_strength: float = 20.0) -> dict[str, dict[str, float]]:
    """Skill multipliers per rep id, keyed by industry and product names (see the module doc)."""
    if history.won.size == 0:
        return {}
    s = prior_strength
    reps, rep = np.unique(history.rep_id.astype(str), return_inverse=True)
    won = history.won.astype(float)
    team = float(won.mean())
    team = min(max(team, 1e-6), 1 - 1e-6)  # all won (or all lost) still gives finite multipliers
    ability = _shrink(np.bincount(rep, weights=won, minlength=reps.size),
                      np.bincount(rep, minlength=reps.size), team, s) / team
    skills: dict[str, dict[str, float]] = {r: {} for r in reps}
    industries = history.industry.astype(str)
    carries_ability = bool(np.any(industries != ""))
    for column, is_industry in ((industries, True), (history.product.astype(str), False)):
        known = column != ""
        if not known.any():
            continue
        keys, key = np.unique(column[known], return_inverse=True)
        kw = np.bincount(key, weights=won[known], minlength=keys.size)
        kn = np.bincount(key, minlength=keys.size)
        p_key = np.minimum(_shrink(kw, kn, team, s), 1 - 1e-6)  # the team's rate per key
        w, n = _counts(rep[known], key, won[known], reps.size, keys.size)
        prior = np.minimum(ability[:, None] * p_key[None, :], 1 - 1e-6)
        rate = _shrink(w, n, prior, s)
        own_ability = is_industry or not carries_ability
        mult = rate / p_key[None, :] if own_ability else rate / prior
        for r, row in zip(reps, np.round(mult, 4), strict=True):
            skills[r].update({str(k): float(x) for k, x in zip(keys, row, strict=True)})
    return skills


def skilled_reps(skills: dict[str, dict[str, float]], base: Sequence[Rep] | None = None,
                 capacity: int = 20) -> list[Rep]:
    """Reps carrying the learned skills: the base reps updated, or new reps with `capacity`."""
    if base is None:
        return [Rep(id=rep_id, capacity=capacity, skills=s) for rep_id, s in sorted(skills.items())]
    return [r.model_copy(update={"skills": {**r.skills, **skills.get(r.id, {})}}) for r in base]


def reps_csv(reps: Sequence[Rep]) -> str:
    """Reps as CSV in the data contract's format (lists `;`-separated, skills `key:mult`)."""
    return csv_text(
        ("id", "name", "territories", "industries", "products", "segments", "capacity", "open_leads",
         "quota_weight", "available", "seniority", "timezone", "working_hours", "ooo", "skills"),
        ([r.id, r.name, ";".join(r.territories), ";".join(r.industries), ";".join(r.products),
          ";".join(r.segments), r.capacity, r.open_leads, r.quota_weight, str(r.available).lower(),
          r.seniority, r.timezone, r.working_hours, ";".join(r.ooo),
          ";".join(f"{k}:{v:g}" for k, v in sorted(r.skills.items()))] for r in reps))
