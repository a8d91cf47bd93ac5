"""Regenerate the sample team and lead batch (deterministic: seed 7).

    python scenarios/sample/make_sample.py

A mid-size B2B team: 36 reps over five territories, SMB/MM/ENT tiers,
industry specialists with skill multipliers, a few reps out of office, and
300 leads with values that grow with segment, propensity scores and some
existing-account owners.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
TERRITORIES = ["NA-East", "NA-West", "EMEA", "APAC", "LATAM"]
INDUSTRIES = ["Software", "Healthcare", "Finance", "Retail", "Manufacturing"]
PRODUCTS = ["Core", "Analytics", "Security"]
SEGMENT_VALUE = {"SMB": 8_000, "MM": 30_000, "ENT": 120_000}


def make(seed: int = 7, n_reps: int = 36, n_leads: int = 300) -> None:
    rng = np.random.default_rng(seed)
    reps = []
    for j in range(n_reps):
        territory = TERRITORIES[j % len(TERRITORIES)]
        tier = ["SMB", "MM", "ENT"][j % 3]
        segments = {"SMB": "SMB", "MM": "SMB;MM", "ENT": "MM;ENT"}[tier]
        specialist = rng.random() < 0.4
        industries = ";".join(rng.choice(INDUSTRIES, 2, replace=False)) if specialist else ""
        skills = ";".join(
            f"{k}:{rng.uniform(0.7, 1.4):.2f}" for k in rng.choice(INDUSTRIES + PRODUCTS, 3, replace=False)
        )
        reps.append({
            "id": f"R{j + 1:03d}",
            "name": f"Rep {j + 1}",
            "territories": territory if j % 12 else f"{territory};*",
            "industries": industries,
            "products": "",
            "segments": segments,
            "capacity": int(rng.integers(10, 20)),
            "open_leads": int(rng.integers(0, 6)),
            "quota_weight": {"SMB": 1.0, "MM": 1.5, "ENT": 2.0}[tier],
            "available": "false" if j in (5, 22) else "true",
            "skills": skills,
            "seniority": {"SMB": 1, "MM": 2, "ENT": 3}[tier],
        })
    leads = []
    for i in range(n_leads):
        segment = rng.choice(["SMB", "MM", "ENT"], p=[0.55, 0.3, 0.15])
        owner = reps[int(rng.integers(n_reps))]["id"] if rng.random() < 0.04 else ""
        leads.append({
            "id": f"L{i + 1:04d}",
            "created_at": f"2026-11-02T{8 + i * 9 // n_leads:02d}:{(i * 7) % 60:02d}:00+00:00",
            "territory": rng.choice(TERRITORIES, p=[0.3, 0.25, 0.25, 0.12, 0.08]),
            "industry": rng.choice(INDUSTRIES),
            "product": rng.choice(PRODUCTS),
            "segment": segment,
            "account_id": f"A{int(rng.integers(1, 220)):04d}",
            "value": round(float(SEGMENT_VALUE[segment] * rng.lognormal(0, 0.5)), 2),
            "score": round(float(rng.beta(2, 3)), 3),
            "effort": 1,
            "urgent": "true" if rng.random() < 0.05 else "false",
            "owner_id": owner,
        })
    for name, rows in (("reps.csv", reps), ("leads.csv", leads)):
        with open(HERE / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    make()
