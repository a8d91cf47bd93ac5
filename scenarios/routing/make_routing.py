"""Regenerate the routing scenario's reps, accounts and leads (deterministic: seed 13).

    python scenarios/routing/make_routing.py

A mid-size B2B sales team of 24 reps on four desks (enterprise, mid-market,
SMB inside sales, public sector) across NA, EMEA and APAC; 30 accounts
(owned, subsidiaries, named/strategic, one whose owner left); 200 leads as a
CRM exports them (employees, country, language, probability, source ...).
The first leads are written by hand: each shows one rule or account case the
README walks through and tests/cli/test_routing_scenario.py checks. The
policy (policy.yaml) is written by hand.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent

NA, EMEA, APAC = "US;CA", "GB;IE;NL;DE;AT;CH;FR;ES", "JP;AU;SG"
LANG = {"US": "en", "CA": "en", "GB": "en", "IE": "en", "NL": "nl", "DE": "de", "AT": "de",
        "CH": "de", "FR": "fr", "ES": "es", "JP": "ja", "AU": "en", "SG": "en", "BR": "pt", "MX": "es"}
REGION = {c: r for r, cs in (("NA", NA), ("EMEA", EMEA), ("APAC", APAC)) for c in cs.split(";")}

REP_COLUMNS = ["id", "name", "desk", "region", "countries", "languages", "level", "verticals",
               "partner_certified", "capacity", "open_leads", "quota_weight", "available",
               "strategic_only"]
# id, name, desk, region, countries, languages, level, verticals, partner, capacity, open, quota,
# available, strategic_only
REPS = [
    ("E01", "Olivia Grant", "enterprise", "NA", NA, "en", "principal", "financial services", "no", 10, 3, 1.2, True, False),
    ("E02", "Marcus Reyes", "enterprise", "NA", NA, "en;es", "senior", "software", "no", 10, 2, 1.0, True, False),
    ("E03", "Hannah Clarke", "enterprise", "EMEA", "GB;IE;NL;ES", "en;nl;es", "senior", "financial services", "no", 10, 4, 1.0, True, False),
    ("E04", "Jonas Weber", "enterprise", "EMEA", "DE;AT;CH;FR", "en;de;fr", "senior", "manufacturing", "no", 12, 2, 1.0, True, False),
    ("E05", "Yuki Tanaka", "enterprise", "APAC", APAC, "en;ja", "senior", "", "no", 10, 1, 1.0, True, False),
    ("E06", "Dana Whitfield", "enterprise", "EMEA", "GB;IE", "en", "senior", "", "no", 10, 0, 1.0, False, False),
    ("K01", "Catherine Moreau", "enterprise", "GLOBAL", f"{NA};{EMEA};AU;SG", "en;fr;de", "principal", "", "no", 8, 2, 1.0, True, True),
    ("M01", "Ethan Brooks", "midmarket", "NA", NA, "en", "senior", "financial services", "no", 18, 4, 1.0, True, False),
    ("M02", "Sofia Alvarez", "midmarket", "NA", NA, "en;es", "junior", "", "no", 18, 2, 1.0, True, False),
    ("M03", "Liam O'Connor", "midmarket", "EMEA", "GB;IE;NL", "en;nl", "senior", "software", "no", 14, 5, 1.0, True, False),
    ("M04", "Lena Fischer", "midmarket", "EMEA", "DE;AT;CH", "en;de", "senior", "manufacturing", "no", 14, 3, 1.0, True, False),
    ("M05", "Camille Laurent", "midmarket", "EMEA", "FR;ES", "en;fr;es", "junior", "", "no", 14, 1, 1.0, True, False),
    ("M06", "Kenji Sato", "midmarket", "APAC", APAC, "en;ja", "senior", "", "no", 14, 2, 1.0, True, False),
    ("M07", "Noah Bennett", "midmarket", "NA", NA, "en", "senior", "", "no", 14, 0, 1.0, False, False),
    ("S01", "Ava Mitchell", "smb", "NA", NA, "en", "junior", "", "yes", 22, 6, 1.0, True, False),
    ("S02", "Diego Ramirez", "smb", "NA", NA, "en;es", "junior", "", "no", 22, 5, 1.0, True, False),
    ("S03", "Grace Kim", "smb", "NA", NA, "en", "senior", "", "yes", 22, 8, 1.0, True, False),
    ("S04", "Oliver Hughes", "smb", "EMEA", "GB;IE;NL", "en;nl", "junior", "", "yes", 22, 4, 1.0, True, False),
    ("S05", "Marie Dubois", "smb", "EMEA", "FR;ES;DE;AT;CH", "en;fr;es;de", "junior", "", "no", 22, 3, 1.0, True, False),
    ("S06", "Hiro Nakamura", "smb", "APAC", APAC, "en;ja", "junior", "", "no", 22, 2, 1.0, True, False),
    ("S07", "Emma Schulz", "smb", "EMEA", "GB;IE;DE;AT;CH", "en;de", "senior", "", "yes", 22, 7, 1.0, True, False),
    ("P01", "James Carter", "public", "NA", NA, "en", "senior", "government;education", "no", 12, 2, 1.0, True, False),
    ("P02", "Anna Kowalski", "public", "EMEA", EMEA, "en;de;fr", "senior", "government;education", "no", 12, 3, 1.0, True, False),
    ("P03", "Mei Lin", "public", "APAC", APAC, "en;ja", "junior", "government;education", "no", 12, 1, 1.0, True, False),
]

ACCOUNT_COLUMNS = ["account_id", "name", "owner_id", "parent_account_id", "named", "named_rep_id",
                   "named_team_id"]
# account_id, name, owner, parent, named, named rep, named team, and the country its leads come from
ACCOUNTS = [
    ("ACC-001", "Globex Corporation", "E01", "", False, "", "", "US"),
    ("ACC-002", "Initech", "E02", "", False, "", "", "US"),
    ("ACC-003", "Umbrella Holdings", "E03", "", False, "", "", "GB"),
    ("ACC-004", "Umbrella Nederland B.V.", "", "ACC-003", False, "", "", "NL"),
    ("ACC-005", "Stark Maschinenbau", "E04", "", False, "", "", "DE"),
    ("ACC-006", "Stark Austria GmbH", "", "ACC-005", False, "", "", "AT"),
    ("ACC-007", "Kaito Electronics", "E05", "", False, "", "", "JP"),
    ("ACC-008", "Fabrikam Ltd", "E06", "", False, "", "", "GB"),
    ("ACC-009", "Fabrikam Ireland", "", "ACC-008", False, "", "", "IE"),
    ("ACC-010", "Northwind Global", "", "", True, "K01", "", "US"),
    ("ACC-011", "Northwind France SAS", "", "ACC-010", False, "", "", "FR"),
    ("ACC-012", "Tailspin Aerospace", "", "", True, "", "enterprise", "DE"),
    ("ACC-013", "Contoso Bank", "", "", True, "K01", "", "GB"),
    ("ACC-014", "Blue Yonder Retail", "M01", "", False, "", "", "US"),
    ("ACC-015", "Lakeside Health", "M01", "", False, "", "", "CA"),
    ("ACC-016", "Brightwave Software", "M03", "", False, "", "", "GB"),
    ("ACC-017", "Rheinland Logistik", "M04", "", False, "", "", "DE"),
    ("ACC-018", "Maison Verte", "M05", "", False, "", "", "FR"),
    ("ACC-019", "Sakura Foods", "M06", "", False, "", "", "JP"),
    ("ACC-020", "Pinecrest Clinics", "M02", "", False, "", "", "US"),
    ("ACC-021", "Harbor Analytics", "S03", "", False, "", "", "US"),
    ("ACC-022", "Thames Print Co", "S04", "", False, "", "", "GB"),
    ("ACC-023", "Alpen Bikes", "S07", "", False, "", "", "CH"),
    ("ACC-024", "Koala Labs", "S06", "", False, "", "", "AU"),
    ("ACC-025", "City of Springfield", "P01", "", False, "", "", "US"),
    ("ACC-026", "Bundesamt fuer Statistik", "P02", "", False, "", "", "DE"),
    ("ACC-027", "Vertex Capital", "", "", False, "", "", "US"),
    ("ACC-028", "Orbit Media", "", "", False, "", "", "NL"),
    ("ACC-029", "Globex Canada", "", "ACC-001", False, "", "", "CA"),
    ("ACC-030", "Sunrise Solar", "", "", False, "", "", "ES"),
]

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
    ("L0004", "Umbrella Nederland B.V.", "ACC-004", "NL", "nl", 600, "Financial Services", "Web", 25, 40000, ""),
    ("L0005", "Stark Austria GmbH", "ACC-006", "AT", "de", 450, "Manufacturing", "Partner Referral", 20, 35000, ""),
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
    with open(HERE / "reps.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(REP_COLUMNS)
        for rep in REPS:
            w.writerow([str(x).lower() if isinstance(x, bool) else x for x in rep])
    with open(HERE / "accounts.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(ACCOUNT_COLUMNS)
        for acc in ACCOUNTS:
            w.writerow([str(x).lower() if isinstance(x, bool) else x for x in acc[:-1]])
    # Random leads link to the unnamed, active-owner accounts only (the hand-written ones show the rest).
    linkable = [a for a in ACCOUNTS if not a[4] and a[2] not in ("E06", "M02") and a[3] != "ACC-008"
                and a[0] not in ("ACC-008", "ACC-009", "ACC-011")]
    rows = []
    for k, (lid, company, account, country, language, employees, industry, source, prob, value,
            owner) in enumerate(FIXED):
        rows.append([lid, f"2026-11-30T07:{k:02d}:00+00:00", company, account,
                     f"contact@{company.split()[0].lower().strip('&')}.example", country, language,
                     employees, industry, source, prob, value, round(prob / 100 + 0.2, 2), owner])
    for i in range(len(FIXED) + 1, n_leads + 1):
        if rng.random() < 0.15:
            account = linkable[rng.integers(len(linkable))]
            company, account_id, country = account[1], account[0], account[7]
        else:
            company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
            account_id, country = "", str(rng.choice(COUNTRIES, p=COUNTRY_P))
        employees = employees_of(rng)
        industry = str(rng.choice(INDUSTRIES, p=INDUSTRY_P))
        value = round(float(rng.lognormal(np.log(8000 + employees * 12), 0.4)), -2)
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
