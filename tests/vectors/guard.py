#!/usr/bin/env python3
"""Regenerates the `rollout` section of tests/vectors/guard.json from the cases below.

An implementation of the guard's decision independent of the crate (this file follows the table in
docs/design.md, "Thresholds as data"): if the Rust core (native or Wasm) disagrees with the
expected actions, reason codes, breach levels or check states written here, the core is wrong.
The other sections of guard.json (breaker scripts, similarity, cutover, PII) are hand-written and
kept as they are. Run: python3 tests/vectors/guard.py
"""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))
CAP = 1e15

DEFAULTS = {
    "maxErrorRate": 0.10, "errorRateWarning": 0.01,
    "minSuccessRate": 0.95, "successRateCritical": 0.90,
    "errorMargin": 0.05, "errorMarginWarning": 0.0,
    "maxLatencyRatio": 1.2,
    "p95TargetMs": 2000, "p95WarningMs": 3000, "p95CriticalMs": 5000,
    "costPerConversationWarning": 0.10, "costPerConversationCritical": 0.20,
    "costSpikeRatio": 2.0,
    "minSample": 100, "dwellMs": 3_600_000, "minRollbackSample": 20,
}


def clean(x):
    return min(x, CAP) if x > 0 else 0.0


def pipeline(m):
    calls = clean(m.get("calls", 0))
    errors = min(clean(m.get("errors", 0)), calls)
    conv = clean(m.get("conversations", 0))
    return {
        "calls": calls,
        "rate": errors / calls if calls > 0 else 0.0,
        "p95": clean(m.get("p95Ms", 0)),
        "conv": conv,
        "cost": clean(m.get("costUsd", 0)) / conv if conv > 0 else 0.0,
        "leaks": clean(m.get("piiLeaks", 0)),
    }


def decide(case):
    t = dict(DEFAULTS, **case.get("thresholds", {}))
    old, new = pipeline(case["old"]), pipeline(case["new"])
    volume = new["calls"] >= t["minRollbackSample"] and new["calls"] > 0
    both = volume and old["calls"] >= t["minRollbackSample"] and old["calls"] > 0
    success = 1 - new["rate"] if new["calls"] > 0 else 0.0

    # (code, judged, warning crossed, critical crossed); None: the check has no such level
    table = [
        ("PII_LEAK", True, None, new["leaks"] > 0),
        ("ERROR_RATE", volume, new["rate"] > t["errorRateWarning"], new["rate"] > t["maxErrorRate"]),
        ("SUCCESS_RATE", volume, success < t["minSuccessRate"], success < t["successRateCritical"]),
        ("ERROR_RATE_VS_OLD", both, new["rate"] > old["rate"] + t["errorMarginWarning"],
         new["rate"] > old["rate"] + t["errorMargin"]),
        ("LATENCY", both and old["p95"] > 0, None, new["p95"] > old["p95"] * t["maxLatencyRatio"]),
        ("P95_LATENCY", volume, new["p95"] > t["p95WarningMs"], new["p95"] > t["p95CriticalMs"]),
        ("COST_PER_CONVERSATION", volume and new["conv"] > 0, new["cost"] > t["costPerConversationWarning"],
         new["cost"] > t["costPerConversationCritical"]),
        ("COST_SPIKE", both and new["conv"] > 0 and old["cost"] > 0, new["cost"] > old["cost"] * t["costSpikeRatio"],
         None),
    ]
    breaches, checks = [], []
    for code, judged, warn, crit in table:
        if not judged:
            checks.append([code, "no_data"])
            continue
        level = "critical" if crit else "warning" if warn else None
        checks.append([code, level or "ok"])
        if level:
            breaches.append([code, level])

    critical = [c for c, level in breaches if level == "critical"]
    if critical:
        return "rollback", critical, breaches, checks
    hold = [c for c, _ in breaches]
    at_stage = max(case["nowMs"] - case["stageEnteredMs"], 0)
    if at_stage < t["dwellMs"]:
        hold.append("DWELL")
    if new["calls"] < t["minSample"]:
        hold.append("SAMPLE")
    breached = {c for c, _ in breaches}
    if new["calls"] <= 0 or (success < t["minSuccessRate"] and "SUCCESS_RATE" not in breached):
        hold.append("SUCCESS_RATE")
    if new["calls"] > 0 and new["p95"] > t["p95TargetMs"] and "P95_LATENCY" not in breached:
        hold.append("P95_TARGET")
    if hold:
        return "hold", hold, breaches, checks
    return "advance", ["HEALTHY"], breaches, checks


def m(calls, errors, p95, **more):
    out = {"calls": calls, "errors": errors, "p95Ms": p95}
    out.update(more)
    return out


OLD = m(1000, 0, 800)
HOUR = 3_600_000

CASES = [
    ("healthy after the dwell time advances", m(1000, 10, 800), m(200, 1, 850), {}, 0, HOUR),
    ("one millisecond short of the dwell time holds", m(1000, 10, 800), m(200, 1, 850), {}, 0, HOUR - 1),
    ("99 calls is below the sample", OLD, m(99, 0, 800), {}, 0, HOUR),
    ("exactly 100 calls is enough", OLD, m(100, 0, 800), {}, 0, HOUR),
    ("a fresh stage with no calls lists every unmet condition", m(0, 0, 0), m(0, 0, 0), {}, 1000, 1000),
    ("a clock before the stage began counts as no time", OLD, m(200, 0, 800), {}, 5000, 0),
    # error rate: warning above 1 %, critical above 10 %
    ("error rate exactly 1% is no warning", OLD, m(200, 2, 800), {"errorMarginWarning": 0.01}, 0, HOUR),
    ("error rate 1.5% is a warning: hold", OLD, m(200, 3, 800), {"errorMarginWarning": 0.02}, 0, HOUR),
    ("error rate 11% rolls back", m(1000, 100, 800), m(100, 11, 800), {}, 0, 0),
    ("error rate exactly 10% is a warning, not a rollback", m(1000, 100, 800), m(100, 10, 800), {}, 0, HOUR),
    # success rate: warning below 95 %, critical below 90 %
    ("success rate 94.5% is a warning", m(1000, 100, 800), m(200, 11, 800), {}, 0, HOUR),
    ("success rate exactly 95% holds only on the error-rate warning", m(1000, 100, 800), m(200, 10, 800), {}, 0,
     HOUR),
    ("success rate 89% rolls back", m(1000, 200, 800), m(100, 11, 800), {"maxErrorRate": 0.5}, 0, HOUR),
    ("success rate below 95% at a small volume holds as a condition", OLD, m(10, 1, 800),
     {"minSample": 10, "dwellMs": 0}, 0, 0),
    # the old pipeline's error rate
    ("6% against the old 0% plus the 5-point margin rolls back", OLD, m(100, 6, 800),
     {"errorRateWarning": 0.1, "minSuccessRate": 0.9}, 0, HOUR),
    ("5% against the old 0% plus the margin is a warning (worse than old)", OLD, m(100, 5, 800),
     {"errorRateWarning": 0.1, "minSuccessRate": 0.9}, 0, HOUR),
    ("the same error rate as old is fine", m(1000, 10, 800), m(200, 2, 800), {"errorRateWarning": 0.02}, 0, HOUR),
    # latency ratio against old
    ("p95 above 1.2x the old one rolls back", m(1000, 0, 1000), m(100, 0, 1201), {}, 0, HOUR),
    ("p95 exactly 1.2x is fine", m(1000, 0, 1000), m(100, 0, 1200), {}, 0, HOUR),
    # absolute p95: target 2 s, warning 3 s, critical 5 s
    ("p95 2001 ms misses the 2 s target: hold", m(1000, 0, 2000), m(100, 0, 2001), {}, 0, HOUR),
    ("p95 3001 ms is a warning", m(1000, 0, 3000), m(100, 0, 3001), {}, 0, HOUR),
    ("p95 5001 ms rolls back", m(1000, 0, 5000), m(100, 0, 5001), {}, 0, HOUR),
    ("p95 5000 ms is still a warning", m(1000, 0, 5000), m(100, 0, 5000), {}, 0, HOUR),
    ("latency is not compared without old calls", m(0, 0, 0), m(200, 0, 1900), {}, 0, HOUR),
    # cost per conversation: warning above $0.10, critical above $0.20; spike above 2x old
    ("cost per conversation 0.15 USD is a warning", OLD, m(100, 0, 800, costUsd=15, conversations=100), {}, 0,
     HOUR),
    ("cost per conversation 0.25 USD rolls back", OLD, m(100, 0, 800, costUsd=25, conversations=100), {}, 0, HOUR),
    ("cost per conversation exactly 0.10 USD is fine", OLD, m(100, 0, 800, costUsd=10, conversations=100), {}, 0,
     HOUR),
    ("cost above twice the old pipeline's is a spike", m(1000, 0, 800, costUsd=20, conversations=1000),
     m(100, 0, 800, costUsd=5, conversations=100), {}, 0, HOUR),
    ("cost exactly twice the old pipeline's is no spike", m(1000, 0, 800, costUsd=20, conversations=1000),
     m(100, 0, 800, costUsd=4, conversations=100), {}, 0, HOUR),
    ("no spike against an old pipeline that costs nothing", OLD, m(100, 0, 800, costUsd=5, conversations=100),
     {}, 0, HOUR),
    ("cost without conversations is not judged", OLD, m(100, 0, 800, costUsd=50), {}, 0, HOUR),
    # volume
    ("19 failed calls are below the rollback volume", OLD, m(19, 19, 9000), {}, 0, HOUR),
    ("20 failed calls roll back, every breach listed", OLD, m(20, 20, 9000), {}, 0, 0),
    ("a PII leak rolls back at any volume", OLD, m(1, 0, 800, piiLeaks=1), {}, 0, 0),
    ("every rollback reason at once", OLD,
     m(100, 50, 6000, piiLeaks=2, costUsd=30, conversations=100), {}, 0, 0),
    ("warnings and unmet conditions together", m(1000, 0, 3000), m(50, 1, 3500), {}, 0, 1000),
    # sanitising
    ("errors above calls count as calls", OLD, m(50, 80, 800), {}, 0, 0),
    ("negative numbers count as 0", m(-5, -1, -3), m(200, -7, -1, piiLeaks=-1, costUsd=-4, conversations=-2), {},
     0, HOUR),
    ("custom thresholds", m(10, 0, 100), m(10, 1, 100),
     {"minSample": 10, "dwellMs": 0, "minSuccessRate": 0.9, "successRateCritical": 0.8, "maxErrorRate": 0.2,
      "errorRateWarning": 0.2, "errorMargin": 0.2, "errorMarginWarning": 0.2, "minRollbackSample": 5}, 0, 0),
    ("raised levels turn a rollback into a pass", m(1000, 0, 1000), m(100, 4, 4500, costUsd=30, conversations=100),
     {"errorRateWarning": 0.05, "minSuccessRate": 0.9, "errorMarginWarning": 0.05, "maxLatencyRatio": 5,
      "p95TargetMs": 6000, "p95WarningMs": 6000, "p95CriticalMs": 8000, "costPerConversationWarning": 0.5,
      "costPerConversationCritical": 1}, 0, HOUR),
]


def dump(v, indent=0):
    """JSON with every value that fits in 120 columns on one line (the hand-written style)."""
    flat = json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
    if len(flat) + indent <= 120 or not isinstance(v, (dict, list)) or not v:
        return flat
    pad = " " * (indent + 1)
    if isinstance(v, list):
        items = [pad + dump(x, indent + 1) for x in v]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [pad + json.dumps(k, ensure_ascii=False) + ": " + dump(x, indent + 1) for k, x in v.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


def main():
    path = os.path.join(HERE, "guard.json")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    out = []
    for name, old, new, thresholds, entered, now in CASES:
        case = {"name": name, "old": old, "new": new}
        if thresholds:
            case["thresholds"] = thresholds
        case.update({"stageEnteredMs": entered, "nowMs": now})
        action, codes, breaches, checks = decide(case)
        case.update({"action": action, "codes": codes, "breaches": breaches, "checks": checks})
        out.append(case)
    doc["rollout"] = out
    doc["about"] = (
        "src/guard cases. rollout: written by tests/vectors/guard.py (an independent implementation of the "
        "decision); breaker, similarity, cutover, gate and pii: by hand. Field names follow js/trimtab.d.ts; "
        "omitted thresholds take their defaults (docs/design.md, 'Thresholds as data'). Breaker steps: op "
        "allow|record|state at now (ms), with the expected answer; repeat runs a step n times. rollout: codes "
        "are the decision's reasons, breaches [code, level], checks [code, state]."
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(dump(doc) + "\n")
    print(len(out), "rollout cases")


if __name__ == "__main__":
    main()
