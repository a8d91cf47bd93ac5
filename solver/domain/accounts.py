"""Reading an accounts file (CSV, JSON or YAML) and checking it against the reps and the policy.

Columns: `account_id` (or `id`, required, unique), `name`, `owner_id` (or
`owner`), `parent_account_id` (or `parent_id`), `named` (true/false),
`named_rep_id`, `named_team_id`. Checked here, each error naming the file, the
row and the field (the file's own column: `account_id` if it says so): a named
account with neither a named rep nor a named team, a named rep that is no rep,
a named team that is no team of the policy, a parent that is no account, and
a parent chain that comes back to itself. An owner may be a rep's id or, as on
a lead, its name (`solver.domain.io.owners_by_name`); a name two reps share is
an error. An owner that is no rep is a departed owner (a warning naming the
row): the account's leads take `fallback.owner_inactive`.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from solver.domain.columns import Wanted, fold, known_columns
from solver.domain.errors import InputError
from solver.domain.io import owners_by_name
from solver.domain.model import Account, Policy, Rep
from solver.domain.records import departed_owner, is_delimited, load_records, read_text, sniff_delimiter

# The accounts file's other spellings of Account's fields.
ACCOUNT_COLUMNS: Wanted = {"id": (("account_id",), False), "owner_id": (("owner",), False),
                           "parent_id": (("parent_account_id",), False)}


def load_accounts(path: str | os.PathLike[str], reps: Sequence[Rep] | None = None, *,
                  policy: Policy | None = None) -> list[Account]:
    """Read accounts; with `reps` / `policy`, check the reps and teams they name.

    An error names the file's own column for a field it spells otherwise (`account_id`)."""
    try:
        return _load_accounts(Path(path), reps, policy)
    except InputError as err:
        if err.file == str(path) and err.field in ACCOUNT_COLUMNS and isinstance(err.row, int):
            err = InputError(err.message, file=err.file, row=err.row, field=_column(Path(path), err.field))
        raise err from None


def _column(path: Path, field: str) -> str:
    """The file's name for an account field: its header's (or first record's) synonym, else the field.

    Only on the way to an error: the file is read again for its column names."""
    if is_delimited(path):
        text = read_text(path)
        delimiter = sniff_delimiter(text, known_columns(ACCOUNT_COLUMNS, Account.model_fields))
        names = next(csv.reader([text.split("\n", 1)[0]], delimiter=delimiter), [])
    else:
        names = [field]  # a document's records may each spell it differently: the field it is
    folded = {fold(n): n.strip() for n in names}
    spellings = (field, *ACCOUNT_COLUMNS[field][0])
    return next((folded[fold(s)] for s in spellings if fold(s) in folded), field)


def _load_accounts(path: Path, reps: Sequence[Rep] | None, policy: Policy | None) -> list[Account]:
    file = str(path)
    accounts = load_records(path, Account, "accounts", wanted=ACCOUNT_COLUMNS)
    if reps is not None:
        accounts = owners_by_name(reps, accounts, file=file)
    rep_ids = {r.id for r in reps} if reps is not None else None
    team_ids = {t.id for t in policy.teams} if policy is not None else None
    by_id = {a.id: a for a in accounts}
    fallback_set = policy is not None and policy.fallback.owner_inactive is not None
    for row, account in enumerate(accounts, start=1):
        if account.named and not (account.named_rep_id or account.named_team_id):
            raise InputError("a named account needs a named_rep_id or a named_team_id (its leads "
                             "would go to anyone)", file=file, row=row, field="named")
        if account.owner_id and rep_ids is not None and account.owner_id not in rep_ids:
            # A CRM still names the owner who left. Said, in case it is a typo.
            warnings.warn(departed_owner(file, row, account.owner_id, fallback_set), stacklevel=3)
        if account.named_rep_id and rep_ids is not None and account.named_rep_id not in rep_ids:
            raise InputError(f"{account.named_rep_id!r} names no rep in the reps file", file=file, row=row,
                             field="named_rep_id")
        if account.named_team_id and team_ids is not None and account.named_team_id not in team_ids:
            known = ", ".join(sorted(team_ids)) or "none"
            raise InputError(f"{account.named_team_id!r} names no team of the policy (teams: {known})",
                             file=file, row=row, field="named_team_id")
        if account.parent_id and account.parent_id not in by_id:
            raise InputError(f"parent {account.parent_id!r} names no account in the file",
                             file=file, row=row, field="parent_id")
    rows = {a.id: row for row, a in enumerate(accounts, start=1)}
    for account in accounts:
        seen = [account.id]
        parent = account.parent_id
        while parent:
            if parent == account.id:
                chain = " -> ".join([*seen, parent])
                raise InputError(f"the parent accounts form a cycle ({chain})", file=file,
                                 row=rows[account.id], field="parent_id")
            if parent in seen:
                break  # a cycle not through this account: reported from its own row
            seen.append(parent)
            parent = by_id[parent].parent_id
    return accounts
