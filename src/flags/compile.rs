//! Snapshot validation and compilation: JSON value in, [`FlagEngine`] out, or an error that
//! names the flag and the field.

use super::model::*;
use super::prereq::{close_reads, reject_cycles};
use super::ramp::{check_ramp_ppm, validate_stages};
use super::FlagError;
use crate::bucket::{percent_to_ppm, validate_salt};
use crate::conditions::{Condition, ConditionError, SavedGroups, MAX_TEXT};
use crate::context::SlotTable;
use crate::keymap::KeyMap;
use crate::time::parse_rfc3339;
use crate::value::{format_number as num, Value};

/// Longest flag key, stickiness attribute or variant key, in bytes.
const MAX_KEY_LEN: usize = 200;

type Res<T> = Result<T, FlagError>;

/// Where an error is: the flag (or override) and the field prefix.
struct At<'a> {
    flag: Option<&'a str>,
}

impl At<'_> {
    fn err(&self, field: &str, message: &str) -> FlagError {
        FlagError::snapshot(self.flag, field, message)
    }

    /// "expected {what}, got {type of v}" at `field`.
    fn got(&self, field: &str, what: &str, v: &Value) -> FlagError {
        self.err(field, &cat(&["expected ", what, ", got ", v.type_name()]))
    }
}

// Messages are built by concatenation rather than `format!`: each distinct `format!` call
// costs code in the Wasm module, and validation has many of them.

/// Concatenates string pieces.
pub(super) fn cat(parts: &[&str]) -> String {
    parts.concat()
}

/// Decimal digits of `n`.
fn digits(mut n: u64) -> String {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf[at..].iter().map(|b| *b as char).collect()
}

/// `name[i]` followed by `rest`.
pub(super) fn item(name: &str, i: usize, rest: &str) -> String {
    cat(&[name, "[", &digits(i as u64), "]", rest])
}

impl FlagEngine {
    /// Validates and compiles a snapshot given as a JSON value.
    pub fn from_value(snapshot: &Value) -> Res<FlagEngine> {
        let top = At { flag: None };
        if snapshot.as_object().is_none() {
            return Err(top.got("(root)", "an object", snapshot));
        }
        let version = parse_version(snapshot.get("version"), &top)?;
        let flag_values = match snapshot.get("flags") {
            Some(Value::Array(a)) => a.as_slice(),
            Some(other) => return Err(top.got("flags", "an array", other)),
            None => return Err(top.err("flags", "missing")),
        };
        if flag_values.len() > MAX_FLAGS {
            return Err(top.err("flags", "more than 20000 flags"));
        }
        let groups = SavedGroups::from_value(snapshot.get("savedGroups")).map_err(|e| match e {
            ConditionError::SavedGroup { path, message } => top.err(&cat(&["savedGroups", &path]), &message),
            other => top.err("savedGroups", &other.to_string()),
        })?;
        let mut slots = SlotTable::default();
        slots.intern("now");
        let keys = collect_keys(flag_values)?;
        let index = KeyMap::from_pairs(keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect());
        let mut flags = Vec::with_capacity(flag_values.len());
        let mut cost = 0;
        for (v, key) in flag_values.iter().zip(&keys) {
            flags.push(compile_flag(v, key, &mut slots, &groups, &mut cost)?);
        }
        // Prerequisites second: they may name any flag, and that flag's variants.
        for (i, (v, key)) in flag_values.iter().zip(&keys).enumerate() {
            let prerequisites = compile_prerequisites(v, &At { flag: Some(key) }, &index, &flags)?;
            flags[i].prerequisites = prerequisites;
        }
        reject_cycles(&flags)?;
        apply_overrides(snapshot.get("overrides"), &mut flags, &index)?;
        for f in flags.iter_mut() {
            let expiring = f.overrides.iter().flat_map(|(_, v)| v).any(|o| o.expires_at.is_some());
            if (expiring || !f.schedule.is_empty()) && !f.reads.contains(&0) {
                f.reads.push(0);
            }
        }
        close_reads(&mut flags);
        for f in flags.iter_mut() {
            let partial = |p: u32| p > 0 && p < 1_000_000;
            f.may_hash = !f.variants.is_empty()
                || f.rollout.is_some_and(partial)
                || f.rules.iter().any(|r| partial(r.rollout))
                || f.schedule.iter().any(|s| partial(s.rollout));
        }
        let time_dependent = flags.iter().any(|f| f.reads.contains(&0));
        Ok(FlagEngine {
            version,
            flags,
            index,
            slots,
            time_dependent,
            cost,
        })
    }
}

fn parse_version(v: Option<&Value>, at: &At) -> Res<String> {
    match v {
        Some(Value::String(s)) if s.len() <= MAX_KEY_LEN => Ok(s.clone()),
        Some(Value::Number(n)) if n.fract() == 0.0 && *n >= 0.0 && *n < 9.0e15 => Ok(digits(*n as u64)),
        Some(other) => Err(at.got("version", "a string of at most 200 bytes or a whole number", other)),
        None => Err(at.err("version", "missing")),
    }
}

/// Reads every flag key first, so prerequisites may point forward.
fn collect_keys(flags: &[Value]) -> Res<Vec<String>> {
    let mut keys: Vec<String> = Vec::with_capacity(flags.len());
    for (i, f) in flags.iter().enumerate() {
        let at_i = item("flags", i, "");
        let at = At { flag: Some(&at_i) };
        if f.as_object().is_none() {
            return Err(at.got("(flag)", "an object", f));
        }
        let key = match f.get("key") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => return Err(at.got("key", "a string", other)),
            None => return Err(at.err("key", "missing")),
        };
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(at.err("key", "must be 1-200 bytes"));
        }
        keys.push(key.to_owned());
    }
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let order = crate::keymap::sort_order(&refs);
    if let Some(w) = order.windows(2).find(|w| refs[w[0]] == refs[w[1]]) {
        let (key, first, second) = (refs[w[0]], w[0], w[1]);
        return Err(FlagError::snapshot(
            Some(key),
            "key",
            &cat(&[
                "duplicate key (",
                &item("flags", first, ""),
                " and ",
                &item("flags", second, ")"),
            ]),
        ));
    }
    Ok(keys)
}

/// Compiles one flag; `cost` is the snapshot's condition cost so far, and grows by the flag's.
fn compile_flag(v: &Value, key: &str, slots: &mut SlotTable, groups: &SavedGroups, cost: &mut u64) -> Res<Flag> {
    let at = At { flag: Some(key) };
    let salt = opt_str(v, "salt", &at)?.unwrap_or(key).to_owned();
    validate_salt(&salt).map_err(|e| at.err("salt", &e.to_string()))?;
    let stickiness = opt_str(v, "stickiness", &at)?.unwrap_or("userId").to_owned();
    if stickiness.is_empty() || stickiness.len() > MAX_KEY_LEN {
        return Err(at.err("stickiness", "must be 1-200 bytes"));
    }
    let stages = validate_stages(&numbers(v, "stages", &at)?).map_err(|e| at.err("stages", &e.to_string()))?;
    let rollout = opt_percent(v.get("rollout"), "rollout", &at)?;
    let variants = compile_variants(v, &at)?;
    let stickiness_slot = slots.intern(&stickiness);
    // Slot 0 (`now`) is added below for flags that depend on the time.
    let mut reads = vec![stickiness_slot];
    let rules = compile_rules(v, &at, slots, groups, &mut reads, cost)?;
    Ok(Flag {
        key: key.to_owned(),
        enabled: opt_bool(v, "enabled", &at)?.unwrap_or(false),
        admin_override: admin_override(v.get("adminOverride"), &at)?,
        rollout,
        stickiness_slot,
        reads,
        may_hash: false,
        salt,
        stickiness,
        rules,
        prerequisites: Vec::new(),
        schedule: compile_schedule(v, &at, rollout, &stages)?,
        stages,
        variants,
        client_visible: opt_bool(v, "clientVisible", &at)?.unwrap_or(false),
        overrides: KeyMap::default(),
    })
}

fn opt_str<'v>(v: &'v Value, field: &str, at: &At) -> Res<Option<&'v str>> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(at.got(field, "a string", other)),
    }
}

fn opt_bool(v: &Value, field: &str, at: &At) -> Res<Option<bool>> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(at.got(field, "a boolean", other)),
    }
}

fn opt_percent(v: Option<&Value>, field: &str, at: &At) -> Res<Option<u32>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(p)) => percent_to_ppm(*p).map(Some).ok_or_else(|| {
            at.err(
                field,
                &cat(&[&num(*p), " is not a percentage in [0, 100] with at most 4 decimals"]),
            )
        }),
        Some(other) => Err(at.got(field, "a number", other)),
    }
}

/// A list field: missing or null is empty; anything else must be an array of at most MAX_ITEMS.
fn list<'v>(v: &'v Value, field: &str, at: &At) -> Res<&'v [Value]> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) if a.len() <= MAX_ITEMS => Ok(a),
        Some(Value::Array(_)) => Err(at.err(field, "more than 1000 items")),
        Some(other) => Err(at.got(field, "an array", other)),
    }
}

fn numbers(v: &Value, field: &str, at: &At) -> Res<Vec<f64>> {
    list(v, field, at)?
        .iter()
        .enumerate()
        .map(|(i, x)| x.as_f64().ok_or_else(|| at.got(&item(field, i, ""), "a number", x)))
        .collect()
}

fn admin_override(v: Option<&Value>, at: &At) -> Res<Option<bool>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "on" => Ok(Some(true)),
        Some(Value::String(s)) if s == "off" => Ok(Some(false)),
        Some(Value::String(s)) => Err(at.err(
            "adminOverride",
            &cat(&["expected null, \"on\" or \"off\", got \"", clip(s), "\""]),
        )),
        Some(other) => Err(at.got("adminOverride", "null, \"on\" or \"off\"", other)),
    }
}

/// At most 40 bytes of `s`, cut on a character boundary, for messages.
fn clip(s: &str) -> &str {
    let mut end = s.len().min(40);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    // `get` rather than indexing: no panic path (and its formatting code) in the module.
    s.get(..end).unwrap_or_default()
}

fn compile_rules(
    v: &Value,
    at: &At,
    slots: &mut SlotTable,
    groups: &SavedGroups,
    reads: &mut Vec<usize>,
    snapshot_cost: &mut u64,
) -> Res<Vec<Rule>> {
    let mut rules = Vec::new();
    let mut flag_cost = 0u64;
    for (i, r) in list(v, "rules", at)?.iter().enumerate() {
        if r.as_object().is_none() {
            return Err(at.got(&item("rules", i, ""), "an object", r));
        }
        let cond_value = r.get("condition").unwrap_or(&Value::Null);
        if cond_value.as_object().is_none() {
            return Err(at.got(&item("rules", i, ".condition"), "an object", cond_value));
        }
        let condition = Condition::compile_with_groups(cond_value, slots, groups)
            .map_err(|e| at.err(&item("rules", i, ".condition"), &e.to_string()))?;
        let steps = condition.cost().steps;
        flag_cost = flag_cost.saturating_add(steps);
        *snapshot_cost = snapshot_cost.saturating_add(steps);
        for (total, limit, whose) in [
            (flag_cost, MAX_FLAG_COST, "the flag's"),
            (*snapshot_cost, MAX_SNAPSHOT_COST, "the snapshot's"),
        ] {
            if total > limit {
                return Err(at.err(
                    &item("rules", i, ".condition"),
                    &over_budget(steps, total, limit, whose),
                ));
            }
        }
        // Which attributes this rule reads: compile once more against an empty table.
        let mut own = SlotTable::default();
        if Condition::compile_with_groups(cond_value, &mut own, groups).is_ok() {
            reads.extend(own.names().iter().filter_map(|name| slots.get(name)));
        }
        let rollout = opt_percent(r.get("rollout"), &item("rules", i, ".rollout"), at)?.unwrap_or(1_000_000);
        rules.push(Rule { condition, rollout });
    }
    Ok(rules)
}

/// The refusal of a condition that takes `whose` conditions' cost to `total` steps, over `limit`.
fn over_budget(steps: u64, total: u64, limit: u64, whose: &str) -> String {
    cat(&[
        "condition cost ",
        &digits(steps),
        " steps takes ",
        whose,
        " conditions to ",
        &digits(total),
        ", over the budget of ",
        &digits(limit),
        " (a $regex costs its program size x ",
        &digits(MAX_TEXT as u64 + 1),
        ")",
    ])
}

fn compile_variants(v: &Value, at: &At) -> Res<Vec<Variant>> {
    let mut out: Vec<Variant> = Vec::new();
    for (i, x) in list(v, "variants", at)?.iter().enumerate() {
        let key = match x.get("key") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_KEY_LEN => s.clone(),
            _ => return Err(at.err(&item("variants", i, ".key"), "expected a string of 1-200 bytes")),
        };
        if out.iter().any(|o| o.key == key) {
            return Err(at.err(
                &item("variants", i, ".key"),
                &cat(&["duplicate variant \"", &key, "\""]),
            ));
        }
        let weight = match x.get("weight") {
            Some(Value::Number(w)) => percent_to_ppm(*w).map(u64::from),
            _ => None,
        }
        .ok_or_else(|| {
            at.err(
                &item("variants", i, ".weight"),
                "expected a number in [0, 100] with at most 4 decimals",
            )
        })?;
        out.push(Variant { key, weight });
    }
    if !out.is_empty() && out.iter().all(|x| x.weight == 0) {
        return Err(at.err("variants", "at least one variant needs a positive weight"));
    }
    Ok(out)
}

fn compile_prerequisites(v: &Value, at: &At, index: &KeyMap<usize>, flags: &[Flag]) -> Res<Vec<Prerequisite>> {
    let mut out = Vec::new();
    for (i, p) in list(v, "prerequisites", at)?.iter().enumerate() {
        let field = |rest: &str| item("prerequisites", i, rest);
        let key = p
            .get("flag")
            .and_then(Value::as_str)
            .ok_or_else(|| at.err(&field(".flag"), "expected a flag key"))?;
        let flag = *index
            .get(key)
            .ok_or_else(|| at.err(&field(".flag"), &cat(&["unknown flag \"", key, "\""])))?;
        let enabled = opt_bool(p, "enabled", at)
            .map_err(|_| at.err(&field(".enabled"), "expected a boolean"))?
            .unwrap_or(true);
        let variant = match opt_str(p, "variant", at).map_err(|_| at.err(&field(".variant"), "expected a string"))? {
            None => None,
            Some(name) => Some(
                flags
                    .get(flag)
                    .and_then(|f| f.variants.iter().position(|x| x.key == name))
                    .ok_or_else(|| at.err(&field(".variant"), &no_variant(key, name)))?,
            ),
        };
        out.push(Prerequisite { flag, enabled, variant });
    }
    Ok(out)
}

fn compile_schedule(v: &Value, at: &At, base: Option<u32>, stages: &[u32]) -> Res<Vec<ScheduleStep>> {
    let mut steps = Vec::new();
    for (i, s) in list(v, "schedule", at)?.iter().enumerate() {
        let field = |rest: &str| item("schedule", i, rest);
        let when = s
            .get("at")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
            .ok_or_else(|| {
                at.err(
                    &field(".at"),
                    "expected an RFC 3339 timestamp such as 2026-12-01T00:00:00Z",
                )
            })?;
        let rollout = opt_percent(s.get("rollout"), &field(".rollout"), at)?
            .ok_or_else(|| at.err(&field(".rollout"), "missing"))?;
        if steps.last().is_some_and(|prev: &ScheduleStep| prev.at >= when) {
            return Err(at.err(&field(".at"), "steps must be in strictly increasing time order"));
        }
        let from = steps.last().map(|p: &ScheduleStep| p.rollout).or(base).unwrap_or(0);
        check_ramp_ppm(from, rollout, stages).map_err(|skipped| {
            at.err(
                &field(".rollout"),
                &cat(&[
                    "ramp from ",
                    &pct(from),
                    "% to ",
                    &pct(rollout),
                    "% skips the ",
                    &pct(skipped),
                    "% stage",
                ]),
            )
        })?;
        steps.push(ScheduleStep { at: when, rollout });
    }
    Ok(steps)
}

fn no_variant(flag: &str, variant: &str) -> String {
    cat(&["flag \"", flag, "\" has no variant \"", variant, "\""])
}

fn pct(ppm: u32) -> String {
    num(ppm as f64 / 10_000.0)
}

fn apply_overrides(v: Option<&Value>, flags: &mut [Flag], index: &KeyMap<usize>) -> Res<()> {
    let items = match v {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(At { flag: None }.got("overrides", "an array", other)),
    };
    let mut per_flag: Vec<Vec<(String, Override)>> = (0..flags.len()).map(|_| Vec::new()).collect();
    for (i, o) in items.iter().enumerate() {
        let name = item("overrides", i, "");
        let at = At { flag: Some(&name) };
        let key = o
            .get("flag")
            .and_then(Value::as_str)
            .ok_or_else(|| at.err("flag", "expected a flag key"))?;
        let fi = *index
            .get(key)
            .ok_or_else(|| at.err("flag", &cat(&["unknown flag \"", key, "\""])))?;
        let unit = match o.get("unit") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(at.err("unit", "expected a non-empty string")),
        };
        let enabled = opt_bool(o, "enabled", &at)?.ok_or_else(|| at.err("enabled", "missing"))?;
        let variant = match opt_str(o, "variant", &at)? {
            None => None,
            Some(vk) => Some(
                flags[fi]
                    .variants
                    .iter()
                    .position(|x| x.key == vk)
                    .ok_or_else(|| at.err("variant", &no_variant(key, vk)))?,
            ),
        };
        let expires_at = match opt_str(o, "expiresAt", &at)? {
            None => None,
            Some(s) => Some(parse_rfc3339(s).ok_or_else(|| at.err("expiresAt", "expected an RFC 3339 timestamp"))?),
        };
        opt_str(o, "reason", &at)?;
        per_flag[fi].push((
            unit,
            Override {
                enabled,
                variant,
                expires_at,
            },
        ));
    }
    for (flag, pairs) in flags.iter_mut().zip(per_flag) {
        if !pairs.is_empty() {
            flag.overrides = KeyMap::grouped(pairs);
        }
    }
    Ok(())
}
