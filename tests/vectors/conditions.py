#!/usr/bin/env python3
"""Writes tests/vectors/conditions.json from tests/vectors/growthbook-evalCondition.json.

growthbook-evalCondition.json is GrowthBook's published `evalCondition` section of
packages/sdk-js/test/cases.json (specVersion 0.8.0), copied verbatim: MIT (Expat) licence,
Copyright (c) 2025 GrowthBook, Inc.; the file names its source. Each case there is
`[name, condition, attributes, expected]` with saved groups as an optional fifth element.

Every case is converted in order, names and expected values unchanged. The few that GrowthBook
evaluates to false because the condition is malformed are refused by trimtab when the snapshot
is loaded (a snapshot that cannot be evaluated is an error, not a silent false): they carry
`compileError: true`, the reason in `note` and GrowthBook's value in `growthbookExpected`.
Run: python3 tests/vectors/conditions.py
"""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = "growthbook-evalCondition.json"

UNKNOWN_OPERATOR = (
    "GrowthBook evaluates an unknown operator to false; trimtab refuses the condition when the "
    "snapshot is loaded (INVALID_SNAPSHOT), so a typo cannot silently exclude everyone"
)
INVALID_REGEX = (
    "GrowthBook evaluates a pattern that new RegExp() rejects to false; trimtab refuses it when "
    "the snapshot is loaded (INVALID_SNAPSHOT), so a broken pattern cannot silently exclude everyone"
)

# Case name -> why trimtab refuses it at load. Every name must occur exactly once.
REFUSED = {
    "unknown operator - pass": UNKNOWN_OPERATOR,
    "$regex invalid - pass": INVALID_REGEX,
    "$regex invalid - fail": INVALID_REGEX,
}


def convert(raw):
    name, condition, attributes, expected = raw[:4]
    case = {"name": name, "condition": condition, "attributes": attributes}
    if len(raw) > 4:
        case["savedGroups"] = raw[4]
    if name in REFUSED:
        case.update(compileError=True, growthbookExpected=expected, note=REFUSED[name])
    else:
        case["expected"] = expected
    return case


def main():
    with open(os.path.join(HERE, SOURCE), encoding="utf-8") as f:
        doc = json.load(f)
    raw = doc["evalCondition"]
    names = [c[0] for c in raw]
    for name in REFUSED:
        assert names.count(name) == 1, f"refused case {name!r} occurs {names.count(name)} times"
    cases = [convert(c) for c in raw]
    out = {
        "source": doc["source"] + "; section evalCondition, copied verbatim to tests/vectors/" + SOURCE,
        "generatedBy": "tests/vectors/conditions.py",
        "notes": "Every case converted in order, names and expected values unchanged; savedGroups is "
                 "the case's optional fifth element. Cases GrowthBook expects to be false because the "
                 "condition is malformed are marked compileError: trimtab refuses them at load "
                 "(growthbookExpected keeps GrowthBook's value, note says why).",
        "refused": [{"name": c["name"], "reason": c["note"]} for c in cases if c.get("compileError")],
        "cases": cases,
    }
    lines = ["{"]
    for key in ("source", "generatedBy", "notes"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(out[key], ensure_ascii=False)},")
    lines.append('  "refused": [')
    lines.append(",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in out["refused"]))
    lines.append("  ],")
    lines.append('  "cases": [')
    lines.append(",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in cases))
    lines.append("  ]")
    lines.append("}")
    with open(os.path.join(HERE, "conditions.json"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(len(cases), "cases,", len(out["refused"]), "refused at load")


if __name__ == "__main__":
    main()
