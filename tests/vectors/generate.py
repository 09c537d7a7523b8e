#!/usr/bin/env python3
"""Regenerates tests/vectors/bucketing.json and variants.json from Python's hashlib.

An implementation independent of the crate: if the Rust core (native or Wasm) disagrees with
these files, the core is wrong. Run: python3 tests/vectors/generate.py
"""
import hashlib, json, os, random

HERE = os.path.dirname(os.path.abspath(__file__))


def digest(salt: str, unit: str) -> bytes:
    return hashlib.sha256((salt + ":" + unit).encode("utf-8")).digest()


def bucket(salt, unit):
    return int.from_bytes(digest(salt, unit)[0:8], "big") % 1_000_000


def variant_position(salt, unit):
    return int.from_bytes(digest(salt, unit)[8:16], "big") % 1_000_000


def pick(position, weights):
    """Weights are percentages with at most 4 decimals; each gets its share of the million."""
    scaled = [round(w * 10_000) for w in weights]
    total = sum(scaled)
    cum, last = 0, None
    for i, w in enumerate(scaled):
        cum += w
        if w > 0:
            last = i
            if position * total < cum * 1_000_000:
                return i
    return last


def main():
    rng = random.Random(20261122)
    salts = ["phoenix_pipeline", "USE_OPTIMIZED_PROMPTS", "agent_chat", "a", "exp/2026.q4-checkout",
             "FEATURE_AGENT_VOICE", "x" * 128, "0", "salt.with.dots", "ramp-2026_12"]
    units = ["user-1", "user-2", "1", "0", "00000000-0000-0000-0000-000000000000",
             "6f9619ff-8b86-d011-b42d-00cf4fc964ff", "alice@example.com", "+250788000000",
             "José", "Zürich", "東京", "नमस्ते", "Ωμέγα", "🚀🌍", "مرحبا", "Привет", "naïve café",
             "tab\tand space", "line\nbreak", "quote\"and\\backslash", ":colon:", "a" * 54,
             "b" * 55, "c" * 56, "d" * 63, "e" * 64, "f" * 118, "g" * 119, "é" * 40, "z" * 500]
    cases = []
    for s in salts:
        for u in rng.sample(units, 12):
            cases.append({"salt": s, "unit": u, "bucket": bucket(s, u)})
    for i in range(130):
        s = rng.choice(salts[:6])
        u = f"user-{rng.randrange(10**9)}"
        cases.append({"salt": s, "unit": u, "bucket": bucket(s, u)})
    with open(os.path.join(HERE, "bucketing.json"), "w", encoding="utf-8") as f:
        json.dump({"spec": "bucketing v1: SHA-256(UTF-8(salt + ':' + unit)), first 8 bytes big-endian mod 1e6",
                   "generatedBy": "tests/vectors/generate.py (Python hashlib)", "cases": cases},
                  f, ensure_ascii=False, indent=1)
    weight_sets = [[50, 50], [10, 90], [33.3333, 33.3333, 33.3334], [0, 100], [1, 0, 1], [0.1, 99.9],
                   [25, 25, 25, 25]]
    vcases = []
    for i in range(120):
        s = rng.choice(salts)
        u = rng.choice(units) if i % 3 == 0 else f"user-{rng.randrange(10**9)}"
        w = rng.choice(weight_sets)
        p = variant_position(s, u)
        vcases.append({"salt": s, "unit": u, "weights": w, "position": p, "variant": pick(p, w)})
    with open(os.path.join(HERE, "variants.json"), "w", encoding="utf-8") as f:
        json.dump({"spec": "variant position: SHA-256(UTF-8(salt + ':' + unit)), bytes 8..16 big-endian mod 1e6; "
                           "variant i is chosen when position * total < cumulative_weight_i * 1e6 "
                           "(weights scaled to integers by 10^4)",
                   "generatedBy": "tests/vectors/generate.py (Python hashlib)", "cases": vcases},
                  f, ensure_ascii=False, indent=1)
    print(len(cases), "bucket cases,", len(vcases), "variant cases")


if __name__ == "__main__":
    main()
