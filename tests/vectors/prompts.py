#!/usr/bin/env python3
"""Regenerates tests/vectors/prompts.json: prompt specs with the request bodies, token estimates,
truncations and cache keys that src/prompt must produce.

An implementation independent of the crate: the builders below follow the documented rules of
src/prompt (OpenAI and Anthropic bodies, the strict-schema rewrite, cache breakpoints, the token
estimate, truncation), and the cache keys are Python's hashlib SHA-256 over
json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) after the same whitespace
normalisation. Run: python3 tests/vectors/prompts.py
"""
import hashlib, json, os, random, re

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261127)

# Unicode White_Space, as Rust's char::is_whitespace (str.split() would also split on \x1c-\x1f).
WS = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000"
WS_RE = re.compile("[" + re.escape(WS) + "]+")


def norm(text):
    return " ".join(w for w in WS_RE.split(text) if w)


def fix(v):
    """Integral floats as ints (the crate writes 1.0 as 1)."""
    if isinstance(v, float) and v == int(v):
        return int(v)
    if isinstance(v, list):
        return [fix(x) for x in v]
    if isinstance(v, dict):
        return {k: fix(x) for k, x in v.items()}
    return v


def dumps(v):
    return json.dumps(fix(v), separators=(",", ":"), ensure_ascii=False)


def canonical(v):
    def walk(x):
        if isinstance(x, str):
            return norm(x)
        if isinstance(x, list):
            return [walk(y) for y in x]
        if isinstance(x, dict):
            return {k: walk(y) for k, y in x.items()}
        return x
    return json.dumps(fix(walk(v)), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(v):
    return hashlib.sha256(canonical(v).encode()).hexdigest()


# --- token estimate --------------------------------------------------------------------------
def estimate(text):
    units = 0
    for c in text:
        if c.isascii() and (c.isalpha() or c in " \t\n\x0c\r"):
            units += 1
        elif c.isascii():
            units += 2
        else:
            units += 4
    words = len([w for w in WS_RE.split(text) if w])
    return max(-(-units // 4), -(-words * 13 // 10))


def cost(text):
    return estimate(text) + 4


# --- the two providers -------------------------------------------------------------------------
def present(t):
    return t is not None and t.strip() != ""


def openai_system(spec):
    parts = []
    if spec["system"].strip():
        parts.append(spec["system"])
    if present(spec.get("instructions")):
        parts.append("## Instructions\n" + spec["instructions"])
    if spec.get("context"):
        parts.append("## Context\n" + "\n\n".join(f"### {c['name']}\n{c['content']}" for c in spec["context"]))
    if present(spec.get("format")):
        parts.append("## Format\n" + spec["format"])
    return "\n\n".join(parts)


def nullable(p):
    p = dict(p)
    if isinstance(p.get("enum"), list) and None not in p["enum"]:
        p["enum"] = p["enum"] + [None]
    if isinstance(p.get("type"), str) and p["type"] != "null":
        p["type"] = [p["type"], "null"]
    elif isinstance(p.get("type"), list) and "null" not in p["type"]:
        p["type"] = p["type"] + ["null"]
    elif isinstance(p.get("type"), (str, list)) or isinstance(p.get("enum"), list):
        pass
    elif isinstance(p.get("anyOf"), list):
        if not any(isinstance(b, dict) and b.get("type") == "null" for b in p["anyOf"]):
            p["anyOf"] = p["anyOf"] + [{"type": "null"}]
    else:
        p = {"anyOf": [p, {"type": "null"}]}
    return p


def strict(schema):
    if not isinstance(schema, dict):
        return schema
    out = {}
    for k, v in schema.items():
        if k in ("items", "not", "additionalProperties", "contains") and isinstance(v, dict):
            v = strict(v)
        elif k in ("anyOf", "allOf", "oneOf", "prefixItems") and isinstance(v, list):
            v = [strict(x) for x in v]
        elif k in ("properties", "$defs", "definitions", "patternProperties") and isinstance(v, dict):
            v = {n: strict(x) for n, x in v.items()}
        out[k] = v
    t = schema.get("type")
    if not ("properties" in schema or t == "object" or (isinstance(t, list) and "object" in t)):
        return out
    if "additionalProperties" not in schema:
        out["additionalProperties"] = False
    req = [r for r in schema.get("required", []) if isinstance(r, str)] if isinstance(schema.get("required"), list) else []
    names = []
    if isinstance(out.get("properties"), dict):
        out["properties"] = {n: (x if n in req else nullable(x)) for n, x in out["properties"].items()}
        names = list(out["properties"])
    out["required"] = names
    return out


def build_openai(spec):
    msgs = []
    sysm = openai_system(spec)
    if sysm:
        msgs.append({"role": "system", "content": sysm})
    msgs += [{"role": m["role"], "content": m["content"]} for m in spec["messages"]]
    body = {"model": spec["model"], "messages": msgs}
    if spec.get("maxTokens") is not None:
        body["max_completion_tokens"] = spec["maxTokens"]
    if spec.get("temperature") is not None:
        body["temperature"] = spec["temperature"]
    if spec.get("tools"):
        body["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t["description"],
                                                            "parameters": strict(t["parameters"]), "strict": True}}
                         for t in spec["tools"]]
    if spec.get("responseSchema"):
        r = spec["responseSchema"]
        body["response_format"] = {"type": "json_schema",
                                   "json_schema": {"name": r["name"], "schema": strict(r["schema"]), "strict": True}}
    return body


def min_cacheable(model):
    m = model.lower()
    has = lambda *ps: any(p in m for p in ps)
    if has("3-haiku", "3-5-haiku", "haiku-3"):
        return 2048
    if has("haiku", "opus-4-5", "opus-4-6", "opus-4-7"):
        return 4096
    if has("sonnet-4-6"):
        return 2048
    if has("sonnet", "opus"):
        return 1024
    return 4096


def attr(t):
    return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def system_blocks(spec):
    blocks = []
    if spec["system"].strip():
        blocks.append([spec["system"], False])
    if present(spec.get("instructions")):
        blocks.append([f"<instructions>\n{spec['instructions']}\n</instructions>", False])
    if spec.get("context"):
        if blocks:
            blocks[-1][1] = True
        text = "<context>\n" + "".join(f"<section name=\"{attr(c['name'])}\">\n{c['content']}\n</section>\n"
                                       for c in spec["context"]) + "</context>"
        blocks.append([text, False])
    fmt = spec["format"] if present(spec.get("format")) else None
    if spec.get("responseSchema"):
        r = spec["responseSchema"]
        sch = f"Reply with only a JSON object that matches this JSON schema ({r['name']}):\n{dumps(r['schema'])}"
        fmt = f"{fmt}\n\n{sch}" if fmt is not None else sch
    if fmt is not None:
        blocks.append([f"<format>\n{fmt}\n</format>", False])
    if blocks:
        blocks[-1][1] = True
    return blocks


def anthropic_tools(spec):
    return [{"name": t["name"], "description": t["description"], "input_schema": t["parameters"]}
            for t in spec.get("tools") or []]


def build_anthropic(spec):
    lo = min_cacheable(spec["model"])
    prefix = 0
    tools = anthropic_tools(spec)
    prefix += sum(cost(dumps(t)) for t in tools)
    if tools and prefix >= lo:
        tools[-1]["cache_control"] = {"type": "ephemeral"}
    system = []
    for text, boundary in system_blocks(spec):
        prefix += cost(text)
        b = {"type": "text", "text": text}
        if boundary and prefix >= lo:
            b["cache_control"] = {"type": "ephemeral"}
        system.append(b)
    ms = spec["messages"]
    prefix += sum(cost(m["content"]) for m in ms[:-1])
    messages = []
    for i, m in enumerate(ms):
        b = {"type": "text", "text": m["content"]}
        if len(ms) >= 2 and i == len(ms) - 2 and prefix >= lo:
            b["cache_control"] = {"type": "ephemeral"}
        messages.append({"role": m["role"], "content": [b]})
    body = {"model": spec["model"], "max_tokens": spec.get("maxTokens") or 1024}
    if system:
        body["system"] = system
    body["messages"] = messages
    if tools:
        body["tools"] = tools
    if spec.get("temperature") is not None:
        body["temperature"] = min(spec["temperature"], 1.0)
    return body


def fixed_cost(spec):
    return 3 + sum(cost(dumps(t)) for t in anthropic_tools(spec)) + sum(cost(b) for b, _ in system_blocks(spec))


def spec_tokens(spec):
    return fixed_cost(spec) + sum(cost(m["content"]) for m in spec["messages"])


def truncate(spec, budget):
    costs = [cost(m["content"]) for m in spec["messages"]]
    fixed = fixed_cost(spec)
    total = fixed + sum(costs)
    if total <= budget:
        return {"budget": budget, "dropped": 0, "messages": len(costs)}
    if fixed + costs[-1] > budget:
        return {"budget": budget, "code": "PROMPT_TOO_LARGE"}
    cut = 0
    while cut + 1 < len(costs) and (total > budget or spec["messages"][cut]["role"] != "user"):
        total -= costs[cut]
        cut += 1
    return {"budget": budget, "dropped": cut, "messages": len(costs) - cut}


# --- the specs ---------------------------------------------------------------------------------
WORDS = ("refund voucher customer order delivery kigali airtime balance agent policy receipt "
         "support escalate verify phone number amount currency franc merchant pending").split()


def prose(n):
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


REPLY = {"type": "object", "properties": {
    "answer": {"type": "string"},
    "confidence": {"type": "number"},
    "action": {"enum": ["none", "create_voucher", "escalate"]},
    "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}, "required": ["sku"]}},
    "meta": {"$ref": "#/$defs/meta"}},
    "required": ["answer"],
    "$defs": {"meta": {"type": "object", "properties": {"lang": {"type": ["string"]}}}}}
LOOKUP = {"type": "object", "properties": {"phone": {"type": "string", "description": "E.164"}},
          "required": ["phone"], "additionalProperties": False}
VOUCHER = {"type": "object", "properties": {"amount": {"type": "integer"}, "currency": {"type": "string", "enum": ["RWF", "USD"]},
                                             "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}}, "required": ["amount", "currency"]}

specs = [
    {"name": "minimal", "spec": {"model": "gpt-4o-mini", "system": "You are a helpful assistant.",
                                  "messages": [{"role": "user", "content": "Hello!"}]}},
    {"name": "no system text", "spec": {"model": "claude-sonnet-4-5", "system": "  ",
                                         "messages": [{"role": "user", "content": "Muraho, amakuru?"}]}},
    {"name": "all sections, schema, tools", "spec": {
        "model": "gpt-4o-2024-08-06", "system": "You are Trimtab's support agent.",
        "instructions": "Answer briefly.\nNever invent order numbers.",
        "context": [{"name": "account", "content": "Plan: pro\nCountry: RW"}, {"name": "faq \"refunds\" & <more>", "content": "Refunds take 3-5 days."}],
        "format": "Plain sentences; no markdown.",
        "messages": [{"role": "user", "content": "Where is my refund?"}, {"role": "assistant", "content": "Let me check."},
                     {"role": "user", "content": "Thanks — and my voucher? 🎟️"}],
        "tools": [{"name": "lookup_customer", "description": "Find a customer by phone", "parameters": LOOKUP},
                  {"name": "create-voucher", "description": "Issue a voucher", "parameters": VOUCHER}],
        "responseSchema": {"name": "support_reply", "schema": REPLY},
        "maxTokens": 300, "temperature": 0.7}},
    {"name": "hot temperature, quotes and control characters", "spec": {
        "model": "claude-3-5-haiku-20241022", "system": "Say \"hi\"\\ back.\ttab\u0001\u001f\u007f",
        "format": "One line.", "temperature": 1.5, "maxTokens": 50,
        "messages": [{"role": "assistant", "content": "Hi, how can I help?"}, {"role": "user", "content": "Line1\r\nLine2\u2028end"}]}},
    {"name": "long system, sonnet: system and conversation breakpoints", "spec": {
        "model": "claude-sonnet-4-5", "system": prose(900), "instructions": prose(60),
        "messages": [{"role": "user", "content": prose(40)}, {"role": "assistant", "content": prose(40)},
                     {"role": "user", "content": "And now?"}]}},
    {"name": "long tools and context, opus 4.1: four breakpoints", "spec": {
        "model": "claude-opus-4-1", "system": prose(50), "instructions": prose(700),
        "context": [{"name": "doc", "content": prose(300)}],
        "tools": [{"name": f"tool_{i}", "description": prose(100), "parameters": LOOKUP} for i in range(8)],
        "messages": [{"role": "user", "content": prose(30)}, {"role": "assistant", "content": prose(30)},
                     {"role": "user", "content": prose(30)}, {"role": "assistant", "content": prose(30)},
                     {"role": "user", "content": "Last question?"}]}},
    {"name": "same long prompt on haiku 4.5: below 4096, no breakpoints", "spec": {
        "model": "claude-haiku-4-5", "system": prose(900), "instructions": prose(60),
        "messages": [{"role": "user", "content": prose(40)}, {"role": "assistant", "content": prose(40)},
                     {"role": "user", "content": "And now?"}]}},
    {"name": "unknown model, long conversation", "spec": {
        "model": "some-local-llm", "system": "Be kind.",
        "messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": prose(260)} for i in range(11)]}},
    {"name": "conversation to truncate", "spec": {
        "model": "claude-sonnet-4-6", "system": "Short system prompt.", "instructions": "Be precise.",
        "messages": [{"role": "assistant", "content": "Welcome! " + prose(20)}] +
                    [{"role": "user" if i % 2 == 0 else "assistant", "content": prose(10 + 7 * i)} for i in range(9)] +
                    [{"role": "user", "content": "Jambo"}, {"role": "user", "content": "中文的问题？ 日本語も。"}]}},
]

for c in specs:
    s = c["spec"]
    c["openai"] = build_openai(s)
    if len(dumps(c["openai"])) < 6000:
        c["openaiJson"] = dumps(c["openai"])
    c["anthropic"] = build_anthropic(s)
    if len(dumps(c["anthropic"])) < 6000:
        c["anthropicJson"] = dumps(c["anthropic"])
    c["breakpoints"] = dumps(c["anthropic"]).count('"cache_control"')
    assert c["breakpoints"] <= 4
    c["tokens"] = spec_tokens(s)
    n = c["tokens"]
    budgets = sorted({n + 10, n, n - 1, n - 60, n - 200, n // 2, fixed_cost(s) + cost(s["messages"][-1]["content"]),
                      fixed_cost(s) + cost(s["messages"][-1]["content"]) - 1, 0})
    c["truncate"] = [truncate(s, b) for b in budgets if b >= 0]
    c["cacheKey"] = cache_key(s)
    c["openaiCacheKey"] = cache_key(c["openai"])

by_name = {c["name"]: c for c in specs}
assert by_name["long tools and context, opus 4.1: four breakpoints"]["breakpoints"] == 4
assert by_name["long system, sonnet: system and conversation breakpoints"]["breakpoints"] == 2
assert by_name["same long prompt on haiku 4.5: below 4096, no breakpoints"]["breakpoints"] == 0
assert by_name["unknown model, long conversation"]["breakpoints"] == 1
assert any(t.get("dropped", 0) >= 2 for t in by_name["conversation to truncate"]["truncate"])

estimates = [{"text": t, "tokens": estimate(t)} for t in [
    "", " ", "Hello, world.", "The quick brown fox jumps over the lazy dog.", "1234567890",
    '{"type":"object","properties":{"a":{"type":"string"}}}', "中文的问题", "café déjà vu", "👍🏽 ok",
    "a  b\u00a0c\u3000d", "word " * 50, prose(200)]]

values = [
    {"b": 1, "a": [True, None, 2.5, -3], "c": {"z": "  Hello \n\t World  ", "y": "x\u3000\u00a0y"}},
    {"text": "ctrl \u0001\u0008\u000c and \"quotes\" \\ / é 中 😀", "n": 0.25, "big": 9007199254740991},
    ["  a", "b  ", " ", {"k": "v"}], "   only   spaces   ", 42, None, {},
    {"é": 1, "e": 2, "z": 3, "É": 4, "😀": 5, "\uffff": 6, "A": 7},
]
cache_keys = [{"value": v, "canonical": canonical(v), "key": cache_key(v)} for v in values]

invalid = [
    ("not an object", [1], "spec"),
    ("no model", {"system": "", "messages": [{"role": "user", "content": "x"}]}, "model"),
    ("empty model", {"model": " ", "system": "", "messages": [{"role": "user", "content": "x"}]}, "model"),
    ("system not a string", {"model": "m", "system": 3, "messages": [{"role": "user", "content": "x"}]}, "system"),
    ("no messages", {"model": "m", "system": ""}, "messages"),
    ("ends with assistant", {"model": "m", "system": "", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}, "messages"),
    ("bad role", {"model": "m", "system": "", "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
    ("blank content", {"model": "m", "system": "", "messages": [{"role": "user", "content": " \n"}]}, "messages[0].content"),
    ("bad tool name", {"model": "m", "system": "", "messages": [{"role": "user", "content": "x"}], "tools": [{"name": "look up", "description": "", "parameters": {}}]}, "tools[0].name"),
    ("duplicate tool", {"model": "m", "system": "", "messages": [{"role": "user", "content": "x"}], "tools": [{"name": "a", "description": "", "parameters": {}}, {"name": "a", "description": "", "parameters": {}}]}, "tools[1].name"),
    ("tool parameters not an object", {"model": "m", "system": "", "messages": [{"role": "user", "content": "x"}], "tools": [{"name": "a", "description": "", "parameters": []}]}, "tools[0].parameters"),
    ("schema name", {"model": "m", "system": "", "messages": [{"role": "user", "content": "x"}], "responseSchema": {"name": "", "schema": {}}}, "responseSchema.name"),
    ("maxTokens fraction", {"model": "m", "system": "", "messages": [{"role": "user", "content": "x"}], "maxTokens": 1.5}, "maxTokens"),
    ("temperature too hot", {"model": "m", "system": "", "messages": [{"role": "user", "content": "x"}], "temperature": 2.5}, "temperature"),
    ("context without name", {"model": "m", "system": "", "messages": [{"role": "user", "content": "x"}], "context": [{"content": "c"}]}, "context[0].name"),
    ("context not an array", {"model": "m", "system": "", "messages": [{"role": "user", "content": "x"}], "context": "c"}, "context"),
]

doc = {
    "_comment": "Generated by tests/vectors/prompts.py; do not edit by hand.",
    "specs": specs,
    "estimates": estimates,
    "cacheKeys": cache_keys,
    "invalid": [{"name": n, "spec": s, "code": "INVALID_PROMPT", "field": f} for n, s, f in invalid],
}
with open(os.path.join(HERE, "prompts.json"), "w", encoding="utf-8") as f:
    json.dump(fix(doc), f, ensure_ascii=False, indent=1)
    f.write("\n")
print("wrote", len(specs), "specs,", len(estimates), "estimates,", len(cache_keys), "cache keys")
