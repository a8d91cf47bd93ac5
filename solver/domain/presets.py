"""Column presets for CRM exports: which export column gives which field of a lead or rep.

Data, not code: each entry maps a field of the data contract to the export
columns that may hold it, in order: each record takes the first that is not
blank (a lead with no Country takes its State/Province as territory). The column names follow the
products' default export headers (Salesforce: the Leads list view / report
export; HubSpot: the contacts export, "Record ID" and friends). Columns not
named here stay on each lead as attributes, so routing rules can read them
(`No. of Employees`, `Lead Source`, `Lifecycle Stage` ...).

Only fields with a meaning here are mapped: a `Rating` of Hot/Warm/Cold is no
0..1 score and a locale-formatted `Created Date` is no ISO time, so both stay
attributes. `value` comes from an opportunity amount where the export has one,
else from the company's annual revenue; both blank count as 0 (see `defaults`).
"""

from __future__ import annotations

PRESETS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "salesforce": {
        "leads": {
            "id": ("Lead ID", "Id"),
            "owner_id": ("Lead Owner", "Owner ID"),
            "territory": ("Country", "State/Province"),
            "industry": ("Industry",),
            "value": ("Amount", "Opportunity Amount", "Annual Revenue"),
            "account_id": ("Account ID", "Company / Account", "Company"),
        },
        "reps": {
            "id": ("User ID",),
            "name": ("Full Name",),
        },
    },
    "hubspot": {
        "leads": {
            "id": ("Record ID", "Contact ID"),
            "owner_id": ("Contact owner", "HubSpot Owner"),
            "territory": ("Country/Region", "State/Region"),
            "industry": ("Industry",),
            "value": ("Amount", "Deal amount", "Annual Revenue"),
            "account_id": ("Associated Company ID", "Company Name"),
        },
        "reps": {
            "id": ("Owner ID",),
            "name": ("Name",),
        },
    },
}

# Lead fields given when an export leaves them blank, per preset (CRM exports often do).
PRESET_DEFAULTS: dict[str, dict[str, str]] = {
    "salesforce": {"value": "0"},
    "hubspot": {"value": "0"},
}
