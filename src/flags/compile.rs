//! Snapshot validation and compilation: JSON value in, [`FlagEngine`] out, or an error that
//! names the flag and the field.

use super::model::*;
use super::ramp::{check_ramp_ppm, validate_stages};
use super::FlagError;
use crate::bucket::{percent_to_ppm, validate_salt};
use crate::conditions::Condition;
use crate::context::SlotTable;
use crate::time::parse_rfc3339;
use crate::value::{format_number as num, Value};
use crate::keymap::KeyMap;

/// Longest flag key, stickiness attribute or variant key, in bytes.
const MAX_KEY_LEN: usize = 200;

type Res<T> = Result<T, FlagError>;

/// Where an error is: the flag (or override) and the field prefix.
struct At<'a> {
    flag: Option<&'a str>,
}

impl At<'_> {
    fn err(&self, field: impl Into<String>, message: impl Into<String>) -> FlagError {
        FlagError::snapshot(self.flag, field, message)
    }
}

impl FlagEngine {
    /// Validates and compiles a snapshot given as a JSON value.
    pub fn from_value(snapshot: &Value) -> Res<FlagEngine> {
        let top = At { flag: None };
        if snapshot.as_object().is_none() {
            return Err(top.err("(root)", format!("expected an object, got {}", snapshot.type_name())));
        }
        let version = parse_version(snapshot.get("version"), &top)?;
        let flag_values = match snapshot.get("flags") {
            Some(Value::Array(a)) => a.as_slice(),
            Some(other) => return Err(top.err("flags", format!("expected an array, got {}", other.type_name()))),
            None => return Err(top.err("flags", "missing")),
        };
        if flag_values.len() > MAX_FLAGS {
            return Err(top.err("flags", format!("more than {MAX_FLAGS} flags")));
        }
        let mut slots = SlotTable::default();
        slots.intern("now");
        let keys = collect_keys(flag_values)?;
        let index = KeyMap::from_pairs(keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect());
        let mut flags = Vec::with_capacity(flag_values.len());
        for (v, key) in flag_values.iter().zip(&keys) {
            flags.push(compile_flag(v, key, &mut slots)?);
        }
        // Prerequisites second: they may name any flag, and that flag's variants.
        for (i, (v, key)) in flag_values.iter().zip(&keys).enumerate() {
            let prerequisites = compile_prerequisites(v, &At { flag: Some(key) }, &index, &flags)?;
            flags[i].prerequisites = prerequisites;
        }
        reject_cycles(&flags)?;
        apply_overrides(snapshot.get("overrides"), &mut flags, &index)?;
        let time_dependent = flags.iter().any(|f| {
            !f.schedule.is_empty() || f.overrides.iter().flat_map(|(_, v)| v).any(|o| o.expires_at.is_some())
        });
        Ok(FlagEngine { version, flags, index, slots, time_dependent })
    }
}

fn parse_version(v: Option<&Value>, at: &At) -> Res<String> {
    match v {
        Some(Value::String(s)) if s.len() <= MAX_KEY_LEN => Ok(s.clone()),
        Some(Value::Number(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => Ok(format!("{}", *n as i64)),
        Some(other) => Err(at.err("version", format!("expected a string of at most {MAX_KEY_LEN} bytes, got {}", other.type_name()))),
        None => Err(at.err("version", "missing")),
    }
}

/// Reads every flag key first, so prerequisites may point forward.
fn collect_keys(flags: &[Value]) -> Res<Vec<String>> {
    let mut keys: Vec<String> = Vec::with_capacity(flags.len());
    for (i, f) in flags.iter().enumerate() {
        let at_i = format!("flags[{i}]");
        let at = At { flag: Some(&at_i) };
        if f.as_object().is_none() {
            return Err(at.err("(flag)", format!("expected an object, got {}", f.type_name())));
        }
        let key = match f.get("key") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => return Err(at.err("key", format!("expected a string, got {}", other.type_name()))),
            None => return Err(at.err("key", "missing")),
        };
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(at.err("key", format!("must be 1-{MAX_KEY_LEN} bytes")));
        }
        keys.push(key.to_owned());
    }
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let order = crate::keymap::sort_order(&refs);
    if let Some(w) = order.windows(2).find(|w| refs[w[0]] == refs[w[1]]) {
        let (key, first, second) = (refs[w[0]], w[0], w[1]);
        return Err(FlagError::snapshot(Some(key), "key", format!("duplicate key (flags[{first}] and flags[{second}])")));
    }
    Ok(keys)
}

fn compile_flag(v: &Value, key: &str, slots: &mut SlotTable) -> Res<Flag> {
    let at = At { flag: Some(key) };
    let salt = opt_str(v, "salt", &at)?.unwrap_or(key).to_owned();
    validate_salt(&salt).map_err(|e| at.err("salt", e.to_string()))?;
    let stickiness = opt_str(v, "stickiness", &at)?.unwrap_or("userId").to_owned();
    if stickiness.is_empty() || stickiness.len() > MAX_KEY_LEN {
        return Err(at.err("stickiness", format!("must be 1-{MAX_KEY_LEN} bytes")));
    }
    let stages = validate_stages(&numbers(v, "stages", &at)?).map_err(|e| at.err("stages", e.to_string()))?;
    let rollout = opt_percent(v.get("rollout"), "rollout", &at)?;
    let variants = compile_variants(v, &at)?;
    Ok(Flag {
        key: key.to_owned(),
        enabled: opt_bool(v, "enabled", &at)?.unwrap_or(false),
        admin_override: admin_override(v.get("adminOverride"), &at)?,
        rollout,
        stickiness_slot: slots.intern(&stickiness),
        salt,
        stickiness,
        rules: compile_rules(v, &at, slots)?,
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
        Some(other) => Err(at.err(field, format!("expected a string, got {}", other.type_name()))),
    }
}

fn opt_bool(v: &Value, field: &str, at: &At) -> Res<Option<bool>> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(at.err(field, format!("expected a boolean, got {}", other.type_name()))),
    }
}

fn opt_percent(v: Option<&Value>, field: &str, at: &At) -> Res<Option<u32>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(p)) => percent_to_ppm(*p)
            .map(Some)
            .ok_or_else(|| at.err(field, format!("{} is not a percentage in [0, 100] with at most 4 decimals", num(*p)))),
        Some(other) => Err(at.err(field, format!("expected a number, got {}", other.type_name()))),
    }
}

/// A list field: missing or null is empty; anything else must be an array of at most MAX_ITEMS.
fn list<'v>(v: &'v Value, field: &str, at: &At) -> Res<&'v [Value]> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) if a.len() <= MAX_ITEMS => Ok(a),
        Some(Value::Array(_)) => Err(at.err(field, format!("more than {MAX_ITEMS} items"))),
        Some(other) => Err(at.err(field, format!("expected an array, got {}", other.type_name()))),
    }
}

fn numbers(v: &Value, field: &str, at: &At) -> Res<Vec<f64>> {
    list(v, field, at)?
        .iter()
        .enumerate()
        .map(|(i, x)| x.as_f64().ok_or_else(|| at.err(format!("{field}[{i}]"), format!("expected a number, got {}", x.type_name()))))
        .collect()
}

fn admin_override(v: Option<&Value>, at: &At) -> Res<Option<bool>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "on" => Ok(Some(true)),
        Some(Value::String(s)) if s == "off" => Ok(Some(false)),
        Some(other) => Err(at.err("adminOverride", format!("expected null, \"on\" or \"off\", got {}", describe(other)))),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{}\"", s.chars().take(40).collect::<String>()),
        other => other.type_name().to_owned(),
    }
}

fn compile_rules(v: &Value, at: &At, slots: &mut SlotTable) -> Res<Vec<Rule>> {
    let mut rules = Vec::new();
    for (i, r) in list(v, "rules", at)?.iter().enumerate() {
        if r.as_object().is_none() {
            return Err(at.err(format!("rules[{i}]"), format!("expected an object, got {}", r.type_name())));
        }
        let cond_value = r.get("condition").unwrap_or(&Value::Null);
        if cond_value.as_object().is_none() {
            return Err(at.err(format!("rules[{i}].condition"), "expected an object"));
        }
        let condition = Condition::compile(cond_value, slots).map_err(|e| at.err(format!("rules[{i}].condition"), e.to_string()))?;
        let rollout = opt_percent(r.get("rollout"), &format!("rules[{i}].rollout"), at)?.unwrap_or(1_000_000);
        rules.push(Rule { condition, rollout });
    }
    Ok(rules)
}

fn compile_variants(v: &Value, at: &At) -> Res<Vec<Variant>> {
    let mut out: Vec<Variant> = Vec::new();
    for (i, x) in list(v, "variants", at)?.iter().enumerate() {
        let field = format!("variants[{i}]");
        let key = match x.get("key") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_KEY_LEN => s.clone(),
            _ => return Err(at.err(format!("{field}.key"), format!("expected a string of 1-{MAX_KEY_LEN} bytes"))),
        };
        if out.iter().any(|o| o.key == key) {
            return Err(at.err(format!("{field}.key"), format!("duplicate variant \"{key}\"")));
        }
        let weight = match x.get("weight") {
            Some(Value::Number(w)) => percent_to_ppm(*w).map(u64::from),
            _ => None,
        }
        .ok_or_else(|| at.err(format!("{field}.weight"), "expected a number in [0, 100] with at most 4 decimals"))?;
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
        let field = format!("prerequisites[{i}]");
        let key = p.get("flag").and_then(Value::as_str).ok_or_else(|| at.err(format!("{field}.flag"), "expected a flag key"))?;
        let flag = *index.get(key).ok_or_else(|| at.err(format!("{field}.flag"), format!("unknown flag \"{key}\"")))?;
        let enabled = opt_bool(p, "enabled", at).map_err(|_| at.err(format!("{field}.enabled"), "expected a boolean"))?.unwrap_or(true);
        let variant = match opt_str(p, "variant", at).map_err(|_| at.err(format!("{field}.variant"), "expected a string"))? {
            None => None,
            Some(name) => Some(flags.get(flag).and_then(|f| f.variants.iter().position(|x| x.key == name))
                .ok_or_else(|| at.err(format!("{field}.variant"), format!("flag \"{key}\" has no variant \"{name}\"")))?),
        };
        out.push(Prerequisite { flag, enabled, variant });
    }
    Ok(out)
}

fn compile_schedule(v: &Value, at: &At, base: Option<u32>, stages: &[u32]) -> Res<Vec<ScheduleStep>> {
    let mut steps = Vec::new();
    for (i, s) in list(v, "schedule", at)?.iter().enumerate() {
        let field = format!("schedule[{i}]");
        let when = s.get("at").and_then(Value::as_str).and_then(parse_rfc3339)
            .ok_or_else(|| at.err(format!("{field}.at"), "expected an RFC 3339 timestamp such as 2026-12-01T00:00:00Z"))?;
        let rollout = opt_percent(s.get("rollout"), &format!("{field}.rollout"), at)?
            .ok_or_else(|| at.err(format!("{field}.rollout"), "missing"))?;
        if steps.last().is_some_and(|prev: &ScheduleStep| prev.at >= when) {
            return Err(at.err(format!("{field}.at"), "steps must be in strictly increasing time order"));
        }
        let from = steps.last().map(|p: &ScheduleStep| p.rollout).or(base).unwrap_or(0);
        check_ramp_ppm(from, rollout, stages).map_err(|skipped| {
            at.err(format!("{field}.rollout"), format!("ramp from {}% to {}% skips the {}% stage", pct(from), pct(rollout), pct(skipped)))
        })?;
        steps.push(ScheduleStep { at: when, rollout });
    }
    Ok(steps)
}

fn pct(ppm: u32) -> String {
    num(ppm as f64 / 10_000.0)
}

/// Longest prerequisite chain evaluation may follow.
const MAX_PREREQUISITE_DEPTH: usize = 32;

/// Rejects prerequisite cycles and chains deeper than [`MAX_PREREQUISITE_DEPTH`] (iterative
/// depth-first search: no recursion driven by input).
fn reject_cycles(flags: &[Flag]) -> Res<()> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark { New, Open, Done }
    let mut mark = vec![Mark::New; flags.len()];
    let mut depth = vec![0usize; flags.len()];
    for start in 0..flags.len() {
        if mark[start] != Mark::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Open;
        while let Some((node, next)) = stack.last_mut() {
            let (node, i) = (*node, *next);
            *next += 1;
            match flags[node].prerequisites.get(i).map(|p| p.flag) {
                Some(dep) if mark[dep] == Mark::Open => {
                    return Err(FlagError::snapshot(Some(&flags[node].key), format!("prerequisites[{i}].flag"),
                        format!("prerequisite cycle through \"{}\"", flags[dep].key)));
                }
                Some(dep) if mark[dep] == Mark::New => {
                    mark[dep] = Mark::Open;
                    stack.push((dep, 0));
                }
                Some(_) => {}
                None => {
                    mark[node] = Mark::Done;
                    depth[node] = 1 + flags[node].prerequisites.iter().map(|p| depth[p.flag]).max().unwrap_or(0);
                    if depth[node] > MAX_PREREQUISITE_DEPTH {
                        return Err(FlagError::snapshot(Some(&flags[node].key), "prerequisites",
                            format!("prerequisite chain deeper than {MAX_PREREQUISITE_DEPTH} flags")));
                    }
                    stack.pop();
                }
            }
        }
    }
    Ok(())
}

fn apply_overrides(v: Option<&Value>, flags: &mut [Flag], index: &KeyMap<usize>) -> Res<()> {
    let items = match v {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(FlagError::snapshot(None, "overrides", format!("expected an array, got {}", other.type_name()))),
    };
    let mut per_flag: Vec<Vec<(String, Override)>> = (0..flags.len()).map(|_| Vec::new()).collect();
    for (i, o) in items.iter().enumerate() {
        let name = format!("overrides[{i}]");
        let at = At { flag: Some(&name) };
        let key = o.get("flag").and_then(Value::as_str).ok_or_else(|| at.err("flag", "expected a flag key"))?;
        let fi = *index.get(key).ok_or_else(|| at.err("flag", format!("unknown flag \"{key}\"")))?;
        let unit = match o.get("unit") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(at.err("unit", "expected a non-empty string")),
        };
        let enabled = opt_bool(o, "enabled", &at)?.ok_or_else(|| at.err("enabled", "missing"))?;
        let variant = match opt_str(o, "variant", &at)? {
            None => None,
            Some(vk) => Some(flags[fi].variants.iter().position(|x| x.key == vk)
                .ok_or_else(|| at.err("variant", format!("flag \"{key}\" has no variant \"{vk}\"")))?),
        };
        let expires_at = match opt_str(o, "expiresAt", &at)? {
            None => None,
            Some(s) => Some(parse_rfc3339(s).ok_or_else(|| at.err("expiresAt", "expected an RFC 3339 timestamp"))?),
        };
        opt_str(o, "reason", &at)?;
        per_flag[fi].push((unit, Override { enabled, variant, expires_at }));
    }
    for (flag, pairs) in flags.iter_mut().zip(per_flag) {
        if !pairs.is_empty() {
            flag.overrides = KeyMap::grouped(pairs);
        }
    }
    Ok(())
}
