"""Hashes of the urgent path's decisions on 20 streams: does a change keep every answer?

    python benchmarks/fast_path/decisions.py [--base /tmp/base]

Each stream (1,500 urgent leads over 120 reps, two seeds per policy) submits its
leads one by one with `tick()` between them, moves the clock 3 minutes every 7
leads (across shift boundaries where reps have working hours), touches and
releases some leads, and hashes every answer (lead, rep, reason text and code,
value, status), the prices at the end and the ledger (`LeadStore.leads()`: every
lead's status, reason, SLA due time, ...). The policies cover the default, speed
off, a speed table, fairness by count and by pipeline, soft rules and owners, a
volume forecast with deferral, and reps on shifts in several time zones with
leave. With `--base`, the same streams run on the code at that root (in its own
process) and the hashes are compared: a speed change must print "identical".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
POLICIES: dict[str, dict[str, object]] = {
    "default": {},
    "speed_off": {"speed": {"enabled": False}},
    "fair": {"fairness": {"weight": 0.5}},
    "fair_pipe": {"fairness": {"weight": 0.3, "measure": "pipeline"}},
    "soft": {"rules": {"territory": "soft", "industry": "soft", "account_owner": "soft"}},
    "horizon": {"pricing": {"horizon_leads": 1500}},
    "table": {"speed": {"table": [[0, 1.0], [30, 0.5], [600, 0.2]]}},
    "shifts": {},
    "shifts_off": {"speed": {"enabled": False}},
    "shifts_zones": {"sla": {"first_touch_hours": 2.5}},
}
HOURS = ["09:00-13:00", "12:00-18:00", "", "15:00-23:00"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]


def hashes() -> dict[str, str]:
    """The streams' hashes, by policy and seed, on the `solver` importable here."""
    from solver.bench.synthetic import make_instance
    from solver.domain.model import Policy
    from solver.online.router import Router

    out = {}
    for name, extra in POLICIES.items():
        for seed in (1, 2):
            inst = make_instance(1500, 120, tightness=1.1 if name == "horizon" else 2.0, seed=seed,
                                 owner_share=0.2, effort_max=1)
            reps = inst.reps
            if name.startswith("shifts"):
                reps = [r.model_copy(update={"working_hours": HOURS[j % 4]}) for j, r in enumerate(reps)]
            if name == "shifts_zones":
                reps = [r.model_copy(update={"timezone": ZONES[j % 5],
                                             "ooo": ("2026-03-03",) if j % 6 == 0 else ()})
                        for j, r in enumerate(reps)]
            leads = [x.model_copy(update={"urgent": True}) for x in inst.leads]
            now = [T0]
            router = Router(reps, Policy.model_validate(extra), clock=lambda now=now: now[0])
            h = hashlib.sha256()
            for k, x in enumerate(leads):
                a = router.submit(x)
                assert a is not None
                h.update(repr((a.lead_id, a.rep_id, str(a.reason), a.expected_value, a.status,
                               str(a.reason_code))).encode())
                for b in router.tick():
                    h.update(repr((b.lead_id, b.rep_id, str(b.reason), b.expected_value)).encode())
                if k % 7 == 0:
                    now[0] += timedelta(minutes=3)
                if k % 5 == 0 and k > 10:  # touch and release some leads: untouched queues move
                    lid = leads[k - 10].id
                    try:
                        router.touch(lid)
                        if k % 10 == 0:
                            router.release(lid)
                    except KeyError:
                        pass
            h.update(repr(router.pricer.prices.tolist()).encode())
            h.update(repr(router.store.leads()).encode())
            out[f"{name}/{seed}"] = h.hexdigest()[:16]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--base", type=Path, default=None)
    args = parser.parse_args()
    this = hashes()
    if args.base is None:
        print(json.dumps(this, indent=1))
        return
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(args.base), str(HERE)]))
    code = "import json, decisions; print(json.dumps(decisions.hashes()))"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=args.base, check=True,
                          capture_output=True, text=True)
    base = json.loads(done.stdout.strip().splitlines()[-1])
    for stream, digest in this.items():
        same = "identical" if base.get(stream) == digest else f"DIFFERENT: base {base.get(stream)}"
        print(f"{stream:16s} {digest} {same}")
    print("identical" if base == this else "DIFFERENT")


if __name__ == "__main__":
    main()
