#!/usr/bin/env python3
"""Writes tests/vectors/evaluation.json: flag evaluation, snapshot validation and ramp cases.

Reasons and resolution order are written out by hand from design.md; only bucket arithmetic
(which units fall inside a rollout, which variant they get) is computed, with Python's hashlib,
independently of the crate. Run: python3 tests/vectors/evaluation.py
"""
import json, os
from generate import bucket, variant_position, pick

HERE = os.path.dirname(os.path.abspath(__file__))
BEFORE, MID, AFTER = "2026-11-30T12:00:00Z", "2026-12-03T00:00:00Z", "2026-12-09T00:00:00Z"

# The matcher's limits and the condition budgets, as design.md (section 4) states them.
MAX_TEXT = 512  # bytes a $regex is tested against; longer is CONDITION_ERROR
MAX_FLAG_COST, MAX_SNAPSHOT_COST = 1 << 17, 1 << 18  # steps; a $regex costs program size x 513
HEAVY = "(?:a?){80}(?:a){80}b"  # 242 instructions: 124,148 steps, inside a flag's budget
LONG_BLOCKED = "x" * (600 - len("@blocked.example")) + "@blocked.example"  # 600 bytes

SNAPSHOT = {
    "version": "42",
    "flags": [
        {"key": "on100", "enabled": True, "rollout": 100, "clientVisible": True},
        {"key": "off0", "enabled": True, "rollout": 0},
        {"key": "half", "enabled": True, "rollout": 50, "description": "extra fields are allowed"},
        {"key": "tiny", "enabled": True, "rollout": 0.1},
        {"key": "fine", "enabled": True, "rollout": 0.0125},
        {"key": "disabled", "enabled": False, "rollout": 100},
        {"key": "admin_off", "enabled": True, "rollout": 100, "adminOverride": "off"},
        {"key": "admin_on", "enabled": False, "rollout": 0, "adminOverride": "on"},
        {"key": "no_rollout", "enabled": True},
        {"key": "rules", "enabled": True, "rollout": 0, "rules": [
            {"condition": {"country": "RW"}, "rollout": 100},
            {"condition": {"plan": {"$in": ["pro", "team"]}}, "rollout": 50},
            {"condition": {"$and": [{"appVersion": {"$vgte": "2.10.0"}}, {"beta": True}]}}]},
        {"key": "variants", "enabled": True, "rollout": 100,
         "variants": [{"key": "control", "weight": 50}, {"key": "treatment", "weight": 50}]},
        {"key": "variants_partial", "enabled": True, "rollout": 30,
         "variants": [{"key": "a", "weight": 10}, {"key": "b", "weight": 90}]},
        {"key": "needs_on", "enabled": True, "rollout": 100, "prerequisites": [{"flag": "on100", "enabled": True}]},
        {"key": "needs_disabled_on", "enabled": True, "rollout": 100, "prerequisites": [{"flag": "disabled"}]},
        {"key": "needs_disabled_off", "enabled": True, "rollout": 100,
         "prerequisites": [{"flag": "disabled", "enabled": False}]},
        {"key": "needs_treatment", "enabled": True, "rollout": 100,
         "prerequisites": [{"flag": "variants", "enabled": True, "variant": "treatment"}]},
        {"key": "by_org", "enabled": True, "rollout": 50, "stickiness": "orgId"},
        {"key": "shared_a", "enabled": True, "rollout": 50, "salt": "shared-salt"},
        {"key": "shared_b", "enabled": True, "rollout": 50, "salt": "shared-salt"},
        {"key": "scheduled", "enabled": True, "rollout": 5, "stages": [5, 25, 50, 100],
         "schedule": [{"at": "2026-12-01T00:00:00Z", "rollout": 25}, {"at": "2026-12-08T00:00:00Z", "rollout": 50}]},
        {"key": "groups", "enabled": True, "rollout": 0, "rules": [
            {"condition": {"userId": {"$inGroup": "beta_testers"}}},
            {"condition": {"country": {"$ini": ["rw", "ke"]}, "userId": {"$notInGroup": "blocked"}}},
            {"condition": {"email": {"$regexi": "@EXAMPLE\\.com$"}}}]},
        # A $regex beyond the matcher's limits decides nothing: the flag is off, CONDITION_ERROR.
        {"key": "not_blocked", "enabled": True, "rollout": 0, "rules": [
            {"condition": {"email": {"$not": {"$regex": "@blocked\\.example$"}}}}]},
        {"key": "guarded", "enabled": True, "rollout": 100, "rules": [
            {"condition": {"email": {"$regex": "@blocked\\.example$"}}, "rollout": 0},
            {"condition": {"country": "RW"}}]},
        {"key": "either", "enabled": True, "rollout": 0, "rules": [
            {"condition": {"$or": [{"country": "RW"}, {"email": {"$regex": "@staff\\.example$"}}]}}]},
        {"key": "vip_tags", "enabled": True, "rollout": 0, "rules": [
            {"condition": {"tags": {"$elemMatch": {"$regex": "^vip-"}}}}]},
        {"key": "heavy", "enabled": True, "rollout": 0, "rules": [{"condition": {"code": {"$regex": HEAVY}}}]},
        {"key": "needs_guarded_off", "enabled": True, "rollout": 100,
         "prerequisites": [{"flag": "guarded", "enabled": False}]},
    ],
    "savedGroups": {"beta_testers": ["user-1", "user-7"], "blocked": ["user-3"], "unused": [1, 2]},
    "overrides": [
        {"flag": "half", "unit": "vip", "enabled": True, "reason": "beta tester"},
        {"flag": "on100", "unit": "blocked", "enabled": False, "expiresAt": "2026-12-01T00:00:00Z", "reason": "reported bug"},
        {"flag": "variants", "unit": "forced", "enabled": True, "variant": "treatment"},
        {"flag": "admin_off", "unit": "vip", "enabled": True},
        {"flag": "disabled", "unit": "vip", "enabled": True},
    ],
}
FLAGS = {f["key"]: f for f in SNAPSHOT["flags"]}


def ppm(p):
    return round(p * 10_000)


def rollout_case(flag, unit, reason="ROLLOUT", percent=None, rule=None):
    f = FLAGS[flag]
    salt = f.get("salt", flag)
    p = ppm(f["rollout"] if percent is None else percent)
    out = {"reason": reason}
    if rule is not None:
        out["ruleIndex"] = rule
    if p == 0 or (p == 1_000_000 and not f.get("variants")):
        out["enabled"] = p > 0
        return out
    b = bucket(salt, unit)
    out["bucket"], out["enabled"] = b, b < p
    if out["enabled"] and f.get("variants"):
        i = pick(variant_position(salt, unit), [v["weight"] for v in f["variants"]])
        out["variant"] = f["variants"][i]["key"]
    return out


def units_for(flag, want_in, n=3, percent=None):
    f = FLAGS[flag]
    p = ppm(f["rollout"] if percent is None else percent)
    found, i = [], 0
    while len(found) < n:
        u = f"user-{i}"
        if (bucket(f.get("salt", flag), u) < p) == want_in:
            found.append(u)
        i += 1
    return found


def cases():
    c = []
    add = lambda name, flag, ctx, exp: c.append({"name": name, "flag": flag, "context": ctx, "expected": exp})
    add("100% is everyone, no hash", "on100", {"userId": "user-1"}, {"enabled": True, "reason": "ROLLOUT"})
    add("0% is no one", "off0", {"userId": "user-1"}, {"enabled": False, "reason": "ROLLOUT"})
    for flag in ["half", "tiny", "fine"]:
        for want in [True, False]:
            for u in units_for(flag, want, 2):
                add(f"{flag} rollout, unit {'inside' if want else 'outside'}", flag, {"userId": u}, rollout_case(flag, u))
    add("kill switch", "disabled", {"userId": "user-1"}, {"enabled": False, "reason": "DISABLED"})
    add("admin off beats rollout", "admin_off", {"userId": "user-1"}, {"enabled": False, "reason": "ADMIN_OVERRIDE"})
    add("admin on beats kill switch", "admin_on", {"userId": "user-1"}, {"enabled": True, "reason": "ADMIN_OVERRIDE"})
    add("admin on needs no unit", "admin_on", {}, {"enabled": True, "reason": "ADMIN_OVERRIDE"})
    add("no rollout set is default off", "no_rollout", {"userId": "user-1"}, {"enabled": False, "reason": "DEFAULT"})
    add("first rule wins", "rules", {"userId": "user-1", "country": "RW", "plan": "pro"},
        {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 0})
    for u in ["user-1", "user-2", "user-3", "user-4"]:
        add("second rule's 50% rollout", "rules", {"userId": u, "country": "KE", "plan": "team"},
            rollout_case("rules", u, "RULE_MATCH", 50, 1))
    add("version condition", "rules", {"userId": "user-1", "appVersion": "2.10.1", "beta": True},
        {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 2})
    add("version compares numerically", "rules", {"userId": "user-1", "appVersion": "2.9.9", "beta": True},
        {"enabled": False, "reason": "ROLLOUT"})
    add("no rule matches: flag rollout", "rules", {"userId": "user-1", "country": "KE"}, {"enabled": False, "reason": "ROLLOUT"})
    add("rule matched but no unit", "rules", {"country": "RW"}, {"enabled": False, "reason": "MISSING_UNIT", "ruleIndex": 0})
    for i in range(8):
        u = f"user-{i}"
        add("weighted variants", "variants", {"userId": u}, rollout_case("variants", u))
    for u in units_for("variants_partial", True, 3) + units_for("variants_partial", False, 2):
        add("variants inside a partial rollout", "variants_partial", {"userId": u}, rollout_case("variants_partial", u))
    add("prerequisite met", "needs_on", {"userId": "user-1"}, {"enabled": True, "reason": "ROLLOUT"})
    add("prerequisite not met", "needs_disabled_on", {"userId": "user-1"}, {"enabled": False, "reason": "PREREQUISITE_FAILED"})
    add("prerequisite requiring off", "needs_disabled_off", {"userId": "user-1"}, {"enabled": True, "reason": "ROLLOUT"})
    add("prerequisite override changes the outcome", "needs_disabled_off", {"userId": "vip"},
        {"enabled": False, "reason": "PREREQUISITE_FAILED"})
    for u in ["user-0", "user-1", "user-2", "user-3", "forced"]:
        exp = rollout_case("variants", u)
        got_treatment = u == "forced" or exp.get("variant") == "treatment"
        add("prerequisite on a variant", "needs_treatment", {"userId": u},
            {"enabled": got_treatment, "reason": "ROLLOUT" if got_treatment else "PREREQUISITE_FAILED"})
    for org in ["org-1", "org-2", "org-3"]:
        add("custom stickiness", "by_org", {"userId": "user-1", "orgId": org}, rollout_case("by_org", org))
    add("custom stickiness missing", "by_org", {"userId": "user-1"}, {"enabled": False, "reason": "MISSING_UNIT"})
    for u in ["user-1", "user-2", "user-3"]:
        a = rollout_case("shared_a", u)
        add("shared salt, same bucket (a)", "shared_a", {"userId": u}, a)
        add("shared salt, same bucket (b)", "shared_b", {"userId": u}, a)
    for u in units_for("scheduled", True, 2, 50)[:2] + units_for("scheduled", False, 1, 5):
        add("schedule before first step", "scheduled", {"userId": u, "now": BEFORE}, rollout_case("scheduled", u, percent=5))
        add("schedule first step", "scheduled", {"userId": u, "now": MID}, rollout_case("scheduled", u, percent=25))
        add("schedule second step", "scheduled", {"userId": u, "now": AFTER}, rollout_case("scheduled", u, percent=50))
    add("user override on", "half", {"userId": "vip"}, {"enabled": True, "reason": "USER_OVERRIDE"})
    add("user override beats admin off", "admin_off", {"userId": "vip"}, {"enabled": True, "reason": "USER_OVERRIDE"})
    add("user override beats kill switch", "disabled", {"userId": "vip"}, {"enabled": True, "reason": "USER_OVERRIDE"})
    add("override before expiry", "on100", {"userId": "blocked", "now": BEFORE}, {"enabled": False, "reason": "USER_OVERRIDE"})
    add("override after expiry is ignored", "on100", {"userId": "blocked", "now": MID}, {"enabled": True, "reason": "ROLLOUT"})
    add("override expires at its instant (offset form)", "on100", {"userId": "blocked", "now": "2026-12-01T01:00:00+01:00"},
        {"enabled": True, "reason": "ROLLOUT"})
    add("override as epoch ms", "on100", {"userId": "blocked", "now": 1796083199000}, {"enabled": False, "reason": "USER_OVERRIDE"})
    add("override forces a variant", "variants", {"userId": "forced"},
        {"enabled": True, "reason": "USER_OVERRIDE", "variant": "treatment"})
    add("unknown flag", "nope", {"userId": "user-1"}, {"enabled": False, "reason": "NOT_FOUND"})
    add("missing unit", "half", {}, {"enabled": False, "reason": "MISSING_UNIT"})
    add("empty unit", "half", {"userId": ""}, {"enabled": False, "reason": "MISSING_UNIT"})
    add("numeric unit is not a unit", "half", {"userId": 12345}, {"enabled": False, "reason": "MISSING_UNIT"})
    add("saved group member", "groups", {"userId": "user-7"}, {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 0})
    add("case-insensitive $ini, not in a blocked group", "groups", {"userId": "user-2", "country": "Rw"},
        {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 1})
    add("$notInGroup excludes a member", "groups", {"userId": "user-3", "country": "RW"},
        {"enabled": False, "reason": "ROLLOUT"})
    add("case-insensitive $regexi", "groups", {"userId": "user-4", "email": "ana@Example.COM"},
        {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 2})
    add("no group, no match", "groups", {"userId": "user-5", "country": "UG"}, {"enabled": False, "reason": "ROLLOUT"})
    err0 = {"enabled": False, "reason": "CONDITION_ERROR", "ruleIndex": 0}
    add("$not $regex: a short text is tested", "not_blocked", {"userId": "u", "email": "ana@ok.example"},
        {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 0})
    add("$not $regex: a blocked address", "not_blocked", {"userId": "u", "email": "ana@blocked.example"},
        {"enabled": False, "reason": "ROLLOUT"})
    add("$not $regex: a 600-byte blocked address is an error, not let in", "not_blocked",
        {"userId": "u", "email": LONG_BLOCKED}, err0)
    add("a text over the cap is an error even where the pattern would not match", "not_blocked",
        {"userId": "u", "email": "a" * (MAX_TEXT + 1)}, err0)
    add("a text at the cap is tested", "not_blocked", {"userId": "u", "email": "a" * MAX_TEXT},
        {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 0})
    add("an erroring exclusion rule: no later rule, no rollout", "guarded",
        {"userId": "u", "email": LONG_BLOCKED, "country": "RW"}, err0)
    add("an exclusion rule that matched", "guarded", {"userId": "u", "email": "ana@blocked.example", "country": "RW"},
        {"enabled": False, "reason": "RULE_MATCH", "ruleIndex": 0})
    add("a later rule after a rule that did not match", "guarded", {"userId": "u", "email": "ana@ok.example", "country": "RW"},
        {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 1})
    add("$or with a known true branch decides", "either", {"userId": "u", "country": "RW", "email": LONG_BLOCKED},
        {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 0})
    add("$or with only the erroring branch left", "either", {"userId": "u", "country": "KE", "email": LONG_BLOCKED}, err0)
    add("$elemMatch $regex over an array", "vip_tags", {"userId": "u", "tags": ["beta", "vip-gold"]},
        {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 0})
    add("$elemMatch texts share the condition's matcher allowance", "vip_tags",
        {"userId": "u", "tags": [f"tag-{i:08d}" for i in range(100)]}, err0)
    add("a heavy regex inside the budget is answered", "heavy", {"userId": "u", "code": "a" * 200},
        {"enabled": False, "reason": "ROLLOUT"})
    add("a heavy regex that matches", "heavy", {"userId": "u", "code": "a" * 150 + "b"},
        {"enabled": True, "reason": "RULE_MATCH", "ruleIndex": 0})
    add("a heavy regex on a text over the cap", "heavy", {"userId": "u", "code": "a" * 600}, err0)
    add("a prerequisite in CONDITION_ERROR is never met", "needs_guarded_off",
        {"userId": "u", "email": LONG_BLOCKED, "country": "RW"}, {"enabled": False, "reason": "PREREQUISITE_FAILED"})
    add("the same prerequisite met", "needs_guarded_off", {"userId": "u", "email": "ana@blocked.example"},
        {"enabled": True, "reason": "ROLLOUT"})
    add("non-ASCII unit", "half", {"userId": "José"}, rollout_case("half", "José"))
    add("emoji unit", "tiny", {"userId": "🚀"}, rollout_case("tiny", "🚀"))
    return c


INVALID = [
    ("rollout above 100", {"flags": [{"key": "f", "rollout": 101}]}, ["\"f\"", "rollout"]),
    ("rollout with 5 decimals", {"flags": [{"key": "f", "rollout": 5.00001}]}, ["\"f\"", "rollout"]),
    ("rollout as a string", {"flags": [{"key": "f", "rollout": "50"}]}, ["\"f\"", "rollout"]),
    ("negative rollout", {"flags": [{"key": "f", "rollout": -1}]}, ["\"f\"", "rollout"]),
    ("duplicate key", {"flags": [{"key": "f"}, {"key": "f"}]}, ["\"f\"", "duplicate"]),
    ("empty key", {"flags": [{"key": ""}]}, ["flags[0]", "key"]),
    ("missing key", {"flags": [{"rollout": 5}]}, ["flags[0]", "key"]),
    ("prerequisite cycle", {"flags": [{"key": "a", "prerequisites": [{"flag": "b"}]},
                                      {"key": "b", "prerequisites": [{"flag": "a"}]}]}, ["cycle", "prerequisites"]),
    ("self prerequisite", {"flags": [{"key": "a", "prerequisites": [{"flag": "a"}]}]}, ["\"a\"", "cycle"]),
    ("unknown prerequisite", {"flags": [{"key": "a", "prerequisites": [{"flag": "zzz"}]}]}, ["\"a\"", "prerequisites[0].flag", "zzz"]),
    ("unknown prerequisite variant", {"flags": [{"key": "a", "prerequisites": [{"flag": "b", "variant": "v"}]},
                                                {"key": "b"}]}, ["\"a\"", "prerequisites[0].variant"]),
    ("bad adminOverride", {"flags": [{"key": "f", "adminOverride": "maybe"}]}, ["\"f\"", "adminOverride"]),
    ("salt with a colon", {"flags": [{"key": "f", "salt": "a:b"}]}, ["\"f\"", "salt"]),
    ("key with a colon and no salt", {"flags": [{"key": "team:f"}]}, ["\"team:f\"", "salt"]),
    ("stages not increasing", {"flags": [{"key": "f", "stages": [5, 1]}]}, ["\"f\"", "stages"]),
    ("schedule out of order", {"flags": [{"key": "f", "schedule": [{"at": "2026-12-02T00:00:00Z", "rollout": 1},
                                                                   {"at": "2026-12-01T00:00:00Z", "rollout": 2}]}]},
     ["\"f\"", "schedule[1].at"]),
    ("schedule bad date", {"flags": [{"key": "f", "schedule": [{"at": "tomorrow", "rollout": 1}]}]}, ["\"f\"", "schedule[0].at"]),
    ("schedule skips a stage", {"flags": [{"key": "f", "rollout": 5, "stages": [5, 25, 50],
                                           "schedule": [{"at": "2026-12-01T00:00:00Z", "rollout": 50}]}]},
     ["\"f\"", "schedule[0].rollout", "25"]),
    ("variant weights all zero", {"flags": [{"key": "f", "variants": [{"key": "a", "weight": 0}]}]}, ["\"f\"", "variants"]),
    ("duplicate variant", {"flags": [{"key": "f", "variants": [{"key": "a", "weight": 1}, {"key": "a", "weight": 1}]}]},
     ["\"f\"", "variants[1].key"]),
    ("unknown condition operator", {"flags": [{"key": "f", "rules": [{"condition": {"x": {"$nope": 1}}}]}]},
     ["\"f\"", "rules[0].condition"]),
    ("condition not an object", {"flags": [{"key": "f", "rules": [{"condition": 5}]}]}, ["\"f\"", "rules[0].condition"]),
    ("rule rollout out of range", {"flags": [{"key": "f", "rules": [{"condition": {}, "rollout": 200}]}]},
     ["\"f\"", "rules[0].rollout"]),
    ("override for unknown flag", {"flags": [{"key": "f"}], "overrides": [{"flag": "g", "unit": "u", "enabled": True}]},
     ["overrides[0]", "flag"]),
    ("override bad expiry", {"flags": [{"key": "f"}], "overrides": [{"flag": "f", "unit": "u", "enabled": True,
                                                                     "expiresAt": "2026-12-01"}]}, ["overrides[0]", "expiresAt"]),
    ("override without state", {"flags": [{"key": "f"}], "overrides": [{"flag": "f", "unit": "u"}]}, ["overrides[0]", "enabled"]),
    ("override empty unit", {"flags": [{"key": "f"}], "overrides": [{"flag": "f", "unit": "", "enabled": True}]}, ["overrides[0]", "unit"]),
    ("flags not an array", {"flags": {}}, ["flags"]),
    ("enabled not a boolean", {"flags": [{"key": "f", "enabled": "yes"}]}, ["\"f\"", "enabled"]),
    ("savedGroups not an object", {"flags": [], "savedGroups": [["a"]]}, ["savedGroups", "expected an object"]),
    ("saved group not an array", {"flags": [], "savedGroups": {"vip": "a"}}, ["savedGroups.vip", "expected an array"]),
    ("saved group value not a string or number", {"flags": [], "savedGroups": {"vip": ["a", None]}},
     ["savedGroups.vip[1]", "a string or a number"]),
    ("$inGroup without a group id", {"flags": [{"key": "f", "rules": [{"condition": {"id": {"$inGroup": ["vip"]}}}]}]},
     ["\"f\"", "rules[0].condition", "saved group id"]),
    ("$regexi with an invalid pattern", {"flags": [{"key": "f", "rules": [{"condition": {"ua": {"$regexi": "(a"}}}]}]},
     ["\"f\"", "rules[0].condition", "ua"]),
    # (?:a?){1300}(?:a){1300}b: 3,902 instructions x 513 = 2,001,726 steps, over a flag's budget.
    ("a regex over the flag's cost budget", {"flags": [{"key": "f", "rules": [
        {"condition": {"country": "RW"}},
        {"condition": {"email": {"$regex": "(?:a?){1300}(?:a){1300}b"}}}]}]},
     ["\"f\"", "rules[1].condition", "the flag's", str(MAX_FLAG_COST)]),
    # a{200}: 201 instructions, 103,115 steps per rule; the third flag takes the snapshot over.
    ("conditions over the snapshot's cost budget", {"flags": [
        {"key": f"f{i}", "rules": [{"condition": {"t": {"$regex": "a{200}"}}}]} for i in range(3)]},
     ["\"f2\"", "rules[0].condition", "the snapshot's", str(MAX_SNAPSHOT_COST)]),
]

RAMPS = [
    (0, 0.1, None), (0.1, 5, None), (5, 25, None), (5, 10, None), (25, 5, None), (50, 0, None), (25, 25, None),
    (5, 50, 25), (0, 5, 0.1), (0, 100, 0.1), (3, 25, 5), (25, 100, 50),
]
STAGES = [0.1, 5, 25, 50, 100]


def main():
    invalid = []
    for name, snap, needles in INVALID:
        invalid.append({"name": name, "snapshot": {"version": "1", **snap}, "code": "INVALID_SNAPSHOT", "messageIncludes": needles})
    invalid.append({"name": "missing version", "snapshot": {"flags": []}, "code": "INVALID_SNAPSHOT", "messageIncludes": ["version"]})
    ramps = [{"current": a, "next": b, "stages": STAGES, **({"code": "RAMP_SKIPS_STAGE", "skipped": s} if s is not None else {})}
             for a, b, s in RAMPS]
    ramps += [{"current": 5, "next": 101, "stages": STAGES, "code": "INVALID_PERCENT"},
              {"current": 5, "next": 6, "stages": [5, 5], "code": "INVALID_STAGES"},
              {"current": 0, "next": 100, "stages": []}]
    limits = {"maxJsonDepth": 64, "maxConditionDepth": 32, "maxRegexText": MAX_TEXT, "maxFlagCost": MAX_FLAG_COST,
              "maxSnapshotCost": MAX_SNAPSHOT_COST}
    out = {"snapshot": SNAPSHOT, "cases": cases(), "invalid": invalid, "ramps": ramps, "limits": limits}
    with open(os.path.join(HERE, "evaluation.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    print(len(out["cases"]), "evaluation cases,", len(invalid), "invalid snapshots,", len(ramps), "ramp cases")


if __name__ == "__main__":
    main()
