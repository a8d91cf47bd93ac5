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
1.0 for a product. Strength 0 is the raw rates; infinity is the team average
(every multiplier 1.0).

`check_skills` chooses the strength by cross-validation and keeps skills only
where they beat the team average out of sample (see its doc).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from solver.domain.errors import InputError
from solver.domain.fields import MAX_SKILL, MIN_SKILL
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
    """(w + s p0) / (n + s); the prior itself where there are no deals and no pseudo-deals (s = 0)."""
    num, den = wins + strength * np.asarray(prior, float), n + strength
    out = np.broadcast_to(np.asarray(prior, float), np.broadcast(num, den).shape).astype(float)
    return np.divide(num, den, out=out, where=den > 0)


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
    if math.isinf(prior_strength):  # the team average: every learned key at 1.0
        return {r: dict.fromkeys(s, 1.0) for r, s in learn_skills(history, 1.0).items()}
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
        p_key = np.clip(_shrink(kw, kn, team, s), 1e-6, 1 - 1e-6)  # the team's rate per key
        w, n = _counts(rep[known], key, won[known], reps.size, keys.size)
        prior = np.clip(ability[:, None] * p_key[None, :], 1e-6, 1 - 1e-6)
        rate = _shrink(w, n, prior, s)
        own_ability = is_industry or not carries_ability
        mult = rate / p_key[None, :] if own_ability else rate / prior
        for r, row in zip(reps, np.round(np.clip(mult, MIN_SKILL, MAX_SKILL), 4), strict=True):
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


# --- Skills only where the data support them: cross-validated shrinkage -------------------------

STRENGTHS = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0, math.inf)
FOLDS = 4
TEAM_PRIOR = 20.0  # pseudo-deals shrinking the team's rate per product toward its overall rate
EPS = 1e-6
RULE = ("skills are used only when the best finite strength's mean out-of-sample log-loss is "
        "lower than the team average's by more than the standard error of the per-fold differences")


@dataclass(frozen=True)
class SkillCheck:
    """Out-of-sample evidence for learned skills against the team average (see `check_skills`)."""

    method: str  # "time-split" (rolling origin on the close date) or "k-fold" (seeded)
    note: str  # why the splits are what they are ("" when time-split as planned)
    deals: int
    folds: list[dict] = field(default_factory=list)  # train, test, dates, log-losses per fold
    grid: list[dict] = field(default_factory=list)  # strength, mean log-loss, per fold
    fixed: bool = False  # --prior-strength: no search
    best: float = math.inf  # the finite strength with the lowest mean log-loss (the skills' best)
    team_log_loss: float = math.nan
    learned_log_loss: float = math.nan  # at `best`
    difference: float = math.nan  # team - learned, mean over folds (> 0: skills help)
    se: float = math.nan  # standard error of the per-fold differences
    # pooled out-of-sample, for the learned model at `best`, the team average, and the
    # multipliers alone (learned / team: do the skills rank and size the wins?)
    auc: dict = field(default_factory=dict)
    calibration_slope: dict = field(default_factory=dict)  # 1 = calibrated, < 1 = too spread
    beats: bool = False  # the data verdict (RULE)
    strength: float = math.inf  # what the reps get: best if it beats (or fixed), else infinity

    @property
    def verdict(self) -> str:
        """One plain sentence: do the skills beat the team average, and what the reps get."""
        head = (f"Learned skills {'beat' if self.beats else 'do not beat'} the team average out of "
                "sample" if self.grid else f"Too few deals or dates to cross-validate ({self.note})")
        if self.fixed:
            return f"{head}: they are kept at the fixed strength {_num(self.strength)} (--prior-strength)."
        return f"{head}: {'they are used.' if self.beats else 'they shrink to 1.0 (no skills).'}"

    def to_json(self) -> dict:
        out = {k: _jsonable(getattr(self, k)) for k in self.__dataclass_fields__}
        return {**out, "rule": RULE, "verdict": self.verdict}


def _num(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:g}"


def _jsonable(x: object) -> object:
    if isinstance(x, float):
        return "inf" if math.isinf(x) else (None if math.isnan(x) else round(x, 6))
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    return x


def log_loss(won: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood of the outcomes, p clipped to [1e-6, 1 - 1e-6]."""
    p, y = np.clip(np.asarray(p, float), EPS, 1 - EPS), np.asarray(won, float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def auc(won: np.ndarray, p: np.ndarray) -> float:
    """P(a won deal scores above a lost one), ties half (Mann-Whitney); NaN without both outcomes."""
    y, p = np.asarray(won, bool), np.asarray(p, float)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return math.nan
    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    mid_rank = np.cumsum(counts) - (counts - 1) / 2  # 1-based average rank of each distinct value
    return float((mid_rank[inverse][y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def calibration_slope(won: np.ndarray, p: np.ndarray, offset: np.ndarray | None = None) -> float:
    """b in logit P(win) = a + b logit(p), by Newton's method (1 = calibrated, < 1 = too spread).

    With `offset` (a base model's p): b in ``a + logit(offset) + b (logit p - logit offset)``,
    the slope of what `p` adds to the base - for skills, of the multipliers alone.
    """
    base = np.zeros(np.size(p)) if offset is None else _logit(offset)
    x = _logit(p) - base
    if np.ptp(x) < 1e-9:
        return math.nan  # one prediction for everyone: no slope
    X, y, beta = np.column_stack([np.ones_like(x), x]), np.asarray(won, float), np.zeros(2)
    for _ in range(50):
        mu = 1 / (1 + np.exp(-(base + X @ beta)))
        hess = X.T @ (X * (mu * (1 - mu))[:, None])
        try:
            step = np.linalg.solve(hess, X.T @ (y - mu))
        except np.linalg.LinAlgError:
            return math.nan
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return float(beta[1])


def team_rates(history: History) -> tuple[dict[str, float], float]:
    """The team-average model: the team's win rate per product (shrunk to its overall rate)."""
    won = history.won.astype(float)
    team = min(max(float(won.mean()), EPS), 1 - EPS)
    product = history.product.astype(str)
    return {str(q): float((won[product == q].sum() + TEAM_PRIOR * team)
                          / ((product == q).sum() + TEAM_PRIOR))
            for q in np.unique(product) if q}, team


def predict(train: History, test: History, strength: float) -> np.ndarray:
    """P(win) of `test`'s deals as the router sees it: team rate x industry x product multipliers."""
    rates, team = team_rates(train)
    skills = learn_skills(train, strength)
    out = np.empty(test.won.size)
    for i, (r, k, q) in enumerate(zip(test.rep_id, test.industry, test.product, strict=True)):
        mine = skills.get(str(r), {})
        out[i] = rates.get(q, team) * (mine.get(k, 1.0) if k else 1.0) * (mine.get(q, 1.0) if q else 1.0)
    return np.clip(out, EPS, 1 - EPS)


def _take(history: History, rows: np.ndarray) -> History:
    return History(*(getattr(history, f)[rows] for f in ("rep_id", "industry", "product", "won",
                                                         "closed")))


Split = tuple[np.ndarray, np.ndarray]  # (train rows, test rows)


def _splits(history: History, folds: int, seed: int) -> tuple[str, str, list[Split]]:
    """(method, note, [(train rows, test rows)]): rolling origin on the close date, else seeded k-fold."""
    n, closed = history.won.size, history.closed
    if np.isnat(closed).any():
        missing = int(np.isnat(closed).sum())
        note = (f"{missing} of {n} deals have no close date, so the splits cannot follow time: "
                f"seeded {folds}-fold cross-validation (seed {seed}) instead")
        parts = np.array_split(np.random.default_rng(seed).permutation(n), folds)
        return "k-fold", note, [(np.sort(np.concatenate(parts[:i] + parts[i + 1:])), np.sort(parts[i]))
                                for i in range(folds) if parts[i].size and n > parts[i].size]
    ordered = np.sort(closed)
    cuts = [ordered[n * i // (folds + 1)] for i in range(1, folds + 1)] + [ordered[-1] + 1]
    out: list[Split] = []
    for lo, hi in itertools.pairwise(cuts):
        train, test = np.flatnonzero(closed < lo), np.flatnonzero((closed >= lo) & (closed < hi))
        if train.size and test.size:
            out.append((train, test))
    note = "" if len(out) == folds else f"{folds - len(out)} fold(s) empty (shared close dates)"
    return "time-split", note, out


def check_skills(history: History, prior_strength: float | None = None, folds: int = FOLDS,
                 seed: int = 0, strengths: Sequence[float] = STRENGTHS) -> SkillCheck:
    """Choose the shrinkage strength by cross-validation and test it against the team average.

    Rolling origin: the deals ordered by close date are cut into ``folds + 1``
    blocks; fold i learns on every deal closed before block i + 1 and scores
    that block (a history without dates: seeded k-fold, stated in ``note``).
    Each strength's predictions (`predict`) are scored by log-loss; the finite
    strength with the lowest mean is the skills' best, compared with the team
    average (infinity) fold by fold. Skills are kept only by `RULE` (otherwise
    every multiplier is 1.0); `prior_strength` fixes the strength (no search)
    and keeps the skills, the comparison still reported.
    """
    method, note, splits = _splits(history, folds, seed)
    if len(splits) < 2:
        return SkillCheck(method, note or f"{len(splits)} usable fold(s)", history.won.size,
                          fixed=prior_strength is not None,
                          strength=math.inf if prior_strength is None else prior_strength)
    grid = list(strengths) if prior_strength is None else [prior_strength]
    grid = grid if math.inf in grid else [*grid, math.inf]
    losses = np.empty((len(grid), len(splits)))
    pooled: list[list[np.ndarray]] = [[] for _ in grid]
    fold_rows = []
    for j, (train_rows, test_rows) in enumerate(splits):
        train, test = _take(history, train_rows), _take(history, test_rows)
        for g, s in enumerate(grid):
            p = predict(train, test, s)
            losses[g, j] = log_loss(test.won, p)
            pooled[g].append(p)
        fold_rows.append({"train": int(train_rows.size), "test": int(test_rows.size),
                          **({"from": str(test.closed.min()), "to": str(test.closed.max())}
                             if method == "time-split" else {})})
    team_row = grid.index(math.inf)
    finite = [g for g, x in enumerate(grid) if not math.isinf(x)]
    best_row = min(finite, key=lambda g: float(losses[g].mean()))  # the skills' best showing
    diffs = losses[team_row] - losses[best_row]
    se = float(diffs.std(ddof=1) / math.sqrt(diffs.size))
    beats = float(diffs.mean()) > se
    for row, j in zip(fold_rows, range(len(splits)), strict=True):
        row.update(team_log_loss=float(losses[team_row, j]), learned_log_loss=float(losses[best_row, j]))
    won = np.concatenate([history.won[test] for _, test in splits])
    learned_p, team_p = np.concatenate(pooled[best_row]), np.concatenate(pooled[team_row])
    best = grid[best_row]
    return SkillCheck(
        method, note, history.won.size, fold_rows,
        [{"strength": s, "log_loss": float(losses[g].mean()),
          "per_fold": [float(x) for x in losses[g]]} for g, s in enumerate(grid)],
        fixed=prior_strength is not None, best=best,
        team_log_loss=float(losses[team_row].mean()), learned_log_loss=float(losses[best_row].mean()),
        difference=float(diffs.mean()), se=se,
        auc={"learned": auc(won, learned_p), "team": auc(won, team_p),
             "multipliers": auc(won, learned_p / team_p)},
        calibration_slope={"learned": calibration_slope(won, learned_p),
                           "team": calibration_slope(won, team_p),
                           "multipliers": calibration_slope(won, learned_p, offset=team_p)},
        beats=beats,
        strength=prior_strength if prior_strength is not None else (best if beats else math.inf))
