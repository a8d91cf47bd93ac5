"""Regenerate the routing scenario's leads (deterministic: seed 13).

    python scenarios/routing/make_routing.py

A mid-size B2B sales team of 24 reps on four desks (enterprise, mid-market,
SMB inside sales, public sector) across NA, EMEA and APAC; 30 accounts
(owned, subsidiaries, named/strategic, one whose owner left); 200 leads as a
CRM exports them (employees, country, language, probability, source ...).
The reps, the accounts and the policy are written by hand (reps.csv,
accounts.csv, policy.yaml); this script writes leads.csv. Its first leads are
written by hand too: each shows one rule or account case the README walks
through and tests/cli/test_routing_scenario.py checks.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent

LANG = {"US": "en", "CA": "en", "GB": "en", "IE": "en", "NL": "nl", "DE": "de", "AT": "de",
        "CH": "de", "FR": "fr", "ES": "es", "JP": "ja", "AU": "en", "SG": "en", "BR": "pt", "MX": "es"}

# The country each account's leads come from (accounts.csv has no country column). Random leads
# link to these accounts only: owned or prospect accounts whose owner is active (the hand-written
# leads show the named accounts and the departed owner's).
ACCOUNT_COUNTRY = {
    "ACC-001": "US", "ACC-002": "US", "ACC-003": "GB", "ACC-004": "NL", "ACC-005": "DE",
    "ACC-006": "AT", "ACC-007": "JP", "ACC-014": "US", "ACC-015": "CA", "ACC-016": "GB",
    "ACC-017": "DE", "ACC-018": "FR", "ACC-019": "JP", "ACC-021": "US", "ACC-022": "GB",
    "ACC-023": "CH", "ACC-024": "AU", "ACC-025": "US", "ACC-026": "DE", "ACC-027": "US",
    "ACC-028": "NL", "ACC-029": "CA", "ACC-030": "ES",
}

LEAD_COLUMNS = ["id", "created_at", "company", "account_id", "email", "country", "language",
                "employees", "industry", "source", "probability", "value", "score", "owner_id"]
# Hand-written leads, each one case of the walk-through (the rest are drawn at random below):
# id, company, account, country, language, employees, industry, source, probability, value, owner
FIXED = [
    # Accounts: a named account -> its named rep; a subsidiary of a named account -> the same rep;
    # a named account held by a team -> that team; a subsidiary -> its parent's owner; the
    # departed owner's account and its subsidiary -> the review queue.
    ("L0001", "Northwind Global", "ACC-010", "US", "en", 52000, "Retail", "Web", 40, 180000, ""),
    ("L0002", "Northwind France SAS", "ACC-011", "FR", "fr", 3100, "Retail", "Web", 35, 90000, ""),
    ("L0003", "Tailspin Aerospace", "ACC-012", "DE", "de", 8800, "Manufacturing", "Event", 30, 150000, ""),
    ("L0004", "Umbrella Nederland B.V.", "ACC-004", "NL", "nl", 600, "Financial Services", "Web", 25,
     40000, ""),
    ("L0005", "Stark Austria GmbH", "ACC-006", "AT", "de", 450, "Manufacturing", "Partner Referral", 20,
     35000, ""),
    ("L0006", "Fabrikam Ltd", "ACC-008", "GB", "en", 2500, "Software", "Web", 50, 120000, ""),
    ("L0007", "Fabrikam Ireland", "ACC-009", "IE", "en", 300, "Software", "Web", 30, 30000, ""),
    # The segment boundaries: 199 -> SMB, 200 -> MM, 999 -> MM, 1000 -> ENT; blank -> SMB.
    ("L0008", "Quill & Co", "", "US", "en", 199, "Retail", "Web", 20, 9000, ""),
    ("L0009", "Ridgeback Tools", "", "US", "en", 200, "Manufacturing", "Web", 20, 25000, ""),
    ("L0010", "Copperline Media", "", "GB", "en", 999, "Software", "Web", 20, 30000, ""),
    ("L0011", "Atlas Freight", "", "DE", "de", 1000, "Manufacturing", "Web", 20, 80000, ""),
    ("L0012", "Nameless Startup", "", "US", "en", "", "Software", "Web", 10, 6000, ""),
    # Public sector goes to the public-sector team whatever its size (a `final` rule).
    ("L0013", "State of Oregon", "", "US", "en", 40000, "Government", "RFP", 30, 200000, ""),
    ("L0014", "Universitaet Wien", "", "AT", "de", 9000, "Education", "Web", 25, 60000, ""),
    # No rep covers Brazil or Mexico: no rule admits a rep -> the review queue.
    ("L0015", "Samba Pagamentos", "", "BR", "pt", 800, "Financial Services", "Web", 30, 40000, ""),
    ("L0016", "Tequila Digital", "", "MX", "es", 60, "Software", "Web", 15, 7000, ""),
    # Japanese-language leads only to Japanese speakers.
    ("L0017", "Hoshino Trading", "", "JP", "ja", 1500, "Retail", "Web", 40, 90000, ""),
    # A healthcare lead in the US mid-market: never Sofia Alvarez (M02).
    ("L0018", "Evergreen Pediatrics", "", "US", "en", 350, "Healthcare", "Web", 45, 28000, ""),
    # A lead whose CRM owner is set: it stays with that owner.
    ("L0019", "Harbor Analytics", "ACC-021", "US", "en", 80, "Software", "Web", 30, 8000, "S03"),
]
INDUSTRIES = ["Software", "Financial Services", "Manufacturing", "Healthcare", "Retail",
              "Government", "Education"]
INDUSTRY_P = [0.28, 0.16, 0.18, 0.12, 0.16, 0.06, 0.04]
COUNTRIES = ["US", "CA", "GB", "IE", "NL", "DE", "AT", "CH", "FR", "ES", "JP", "AU", "SG", "BR"]
COUNTRY_P = [0.30, 0.06, 0.12, 0.03, 0.04, 0.10, 0.03, 0.03, 0.07, 0.05, 0.07, 0.05, 0.03, 0.02]
SOURCES = ["Web", "Partner Referral", "Trade Show", "Outbound", "Webinar"]
SOURCE_P = [0.4, 0.15, 0.15, 0.2, 0.1]
COMPANY_WORDS = ["Acme", "Vector", "Nimbus", "Cedar", "Falcon", "Quartz", "Harbor", "Summit",
                 "Lumen", "Aurora", "Granite", "Beacon", "Orchid", "Maple", "Cobalt", "Zenith"]
COMPANY_KINDS = ["Systems", "Labs", "Group", "Partners", "Works", "Solutions", "Holdings", "Co"]


def employees_of(rng: np.random.Generator) -> int:
    band = rng.choice(3, p=[0.5, 0.32, 0.18])
    low, high = [(5, 199), (200, 999), (1000, 60000)][band]
    return int(np.exp(rng.uniform(np.log(low), np.log(high + 1))))


def make(seed: int = 13, n_leads: int = 200) -> None:
    rng = np.random.default_rng(seed)
    with open(HERE / "accounts.csv", newline="", encoding="utf-8") as f:
        names = {row["account_id"]: row["name"] for row in csv.DictReader(f)}
    linkable = sorted(ACCOUNT_COUNTRY)
    rows = []
    for k, (lid, company, account, country, language, employees, industry, source, prob, value,
            owner) in enumerate(FIXED):
        rows.append([lid, f"2026-11-30T07:{k:02d}:00+00:00", company, account,
                     f"contact@{company.split()[0].lower().strip('&')}.example", country, language,
                     employees, industry, source, prob, value, round(prob / 100 + 0.2, 2), owner])
    for i in range(len(FIXED) + 1, n_leads + 1):
        if rng.random() < 0.15:
            account_id = linkable[rng.integers(len(linkable))]
            company, country = names[account_id], ACCOUNT_COUNTRY[account_id]
        else:
            company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
            account_id, country = "", str(rng.choice(COUNTRIES, p=COUNTRY_P))
        employees = employees_of(rng)
        industry = str(rng.choice(INDUSTRIES, p=INDUSTRY_P))
        value = round(float(rng.lognormal(np.log(8000 + min(employees, 10000) * 12), 0.4)), -2)
        prob = int(rng.choice([5, 10, 20, 30, 40, 60, 75]))
        language = LANG[country] if rng.random() < 0.85 else "en"
        minute = 20 + i
        rows.append([f"L{i:04d}", f"2026-11-30T{7 + minute // 60:02d}:{minute % 60:02d}:00+00:00",
                     company, account_id, f"lead{i}@{company.split()[0].lower()}.example", country,
                     language, employees if rng.random() > 0.03 else "", industry,
                     str(rng.choice(SOURCES, p=SOURCE_P)), prob, value,
                     round(min(1.0, prob / 100 + rng.uniform(0.05, 0.3)), 2), ""])
    with open(HERE / "leads.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(LEAD_COLUMNS)
        w.writerows(rows)


if __name__ == "__main__":
    make()
