//! Evaluation: the fixed resolution order, reasons, and the bucket behind every decision.

use super::model::{Flag, FlagEngine};
use crate::bucket::{pick_variant, positions, positions4, Positions, BUCKETS};
use crate::context::Slots;
use crate::time::parse_rfc3339;
use crate::value::Value;
use core::cell::Cell;

/// Why an evaluation came out as it did. The string forms are part of the JS contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    /// An unexpired per-unit override applied.
    UserOverride = 0,
    /// The flag's `adminOverride` ("on"/"off") applied.
    AdminOverride = 1,
    /// The flag is disabled (kill switch).
    Disabled = 2,
    /// A prerequisite flag was not in the required state.
    PrerequisiteFailed = 3,
    /// A targeting rule matched; its rollout decided.
    RuleMatch = 4,
    /// The flag's rollout (or schedule step) decided.
    Rollout = 5,
    /// Nothing applied: off.
    Default = 6,
    /// No flag with that key.
    NotFound = 7,
    /// The context has no (non-empty string) unit for the flag's stickiness attribute.
    MissingUnit = 8,
    /// A rule's condition could not be evaluated (a regex test beyond the matcher's limits):
    /// off, with that rule's index; later rules and the rollout are not tried.
    ConditionError = 9,
}

impl Reason {
    /// Every reason, indexed by its numeric code.
    pub const ALL: [Reason; 10] = [
        Reason::UserOverride,
        Reason::AdminOverride,
        Reason::Disabled,
        Reason::PrerequisiteFailed,
        Reason::RuleMatch,
        Reason::Rollout,
        Reason::Default,
        Reason::NotFound,
        Reason::MissingUnit,
        Reason::ConditionError,
    ];

    /// The stable string form (`USER_OVERRIDE`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::UserOverride => "USER_OVERRIDE",
            Reason::AdminOverride => "ADMIN_OVERRIDE",
            Reason::Disabled => "DISABLED",
            Reason::PrerequisiteFailed => "PREREQUISITE_FAILED",
            Reason::RuleMatch => "RULE_MATCH",
            Reason::Rollout => "ROLLOUT",
            Reason::Default => "DEFAULT",
            Reason::NotFound => "NOT_FOUND",
            Reason::MissingUnit => "MISSING_UNIT",
            Reason::ConditionError => "CONDITION_ERROR",
        }
    }
}

/// The outcome of evaluating one flag for one context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    /// On or off.
    pub enabled: bool,
    /// Why.
    pub reason: Reason,
    /// Index into the flag's variants, when on and the flag has variants.
    pub variant: Option<usize>,
    /// The rollout bucket (ppm), when one was computed.
    pub bucket: Option<u32>,
    /// The matching rule, for `RULE_MATCH` (and `MISSING_UNIT` after a rule matched); the rule
    /// that could not be evaluated, for `CONDITION_ERROR`.
    pub rule_index: Option<usize>,
}

impl Evaluation {
    fn off(reason: Reason) -> Self {
        Evaluation {
            enabled: false,
            reason,
            variant: None,
            bucket: None,
            rule_index: None,
        }
    }
}

/// What evaluation reads: attribute slots and the time (epoch ms), and optionally a digest
/// cache that lets repeated evaluations for the same unit hash once.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    /// Attribute values by slot (see [`FlagEngine::attributes`]).
    pub slots: &'a Slots,
    /// Current time, epoch ms.
    pub now: i64,
    /// Digests already computed for the current units, per flag.
    pub cache: Option<&'a DigestCache>,
}

impl<'a> EvalContext<'a> {
    /// A context without a digest cache.
    pub fn new(slots: &'a Slots, now: i64) -> Self {
        EvalContext {
            slots,
            now,
            cache: None,
        }
    }

    /// The flag's bucketing unit: its stickiness attribute, when a non-empty string.
    fn unit(&self, flag: &Flag) -> Option<&'a str> {
        self.slots
            .get(flag.stickiness_slot)
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
    }

    /// The flag's positions for `unit`, from the cache when the unit's slot has not changed.
    fn positions(&self, index: usize, flag: &Flag, unit: &str) -> Positions {
        let generation = self.slots.generation(flag.stickiness_slot);
        let entry = self.cache.and_then(|c| c.entries.get(index));
        if let Some(Some((g, pos))) = entry.map(Cell::get) {
            if g == generation {
                return pos;
            }
        }
        let pos = positions(&flag.salt, unit);
        if let Some(cell) = entry {
            cell.set(Some((generation, pos)));
        }
        pos
    }
}

/// Per-flag digests keyed by the generation of the flag's stickiness slot. Pure memoisation:
/// a hit returns exactly what hashing would.
#[derive(Debug, Default, Clone)]
pub struct DigestCache {
    entries: Vec<Cell<Option<(u64, Positions)>>>,
}

impl DigestCache {
    /// A cache for an engine of `flags` flags.
    pub fn new(flags: usize) -> Self {
        DigestCache {
            entries: vec![Cell::new(None); flags],
        }
    }
}

/// The time a context asks for through its `now` attribute (slot 0): an RFC 3339 string or
/// epoch milliseconds. `None` when absent or malformed; the caller then uses the clock.
pub fn now_from_slots(slots: &Slots) -> Option<i64> {
    match slots.get(0)? {
        Value::String(s) => parse_rfc3339(s),
        Value::Number(n) if n.is_finite() => Some(*n as i64),
        _ => None,
    }
}

impl FlagEngine {
    /// Evaluates flag `key`. Never fails: an unknown key is off with `NOT_FOUND`.
    pub fn evaluate(&self, key: &str, ctx: &EvalContext) -> Evaluation {
        match self.index_of(key) {
            Some(i) => self.evaluate_index(i, ctx),
            None => Evaluation::off(Reason::NotFound),
        }
    }

    /// Evaluates flag `key` for a context given as a JSON object of attributes (the generic,
    /// slower path: it builds the slots each time). Time comes from the `now` attribute, else
    /// `clock_ms`.
    pub fn evaluate_attributes(&self, key: &str, attrs: &Value, clock_ms: i64) -> Evaluation {
        let slots = Slots::from_object(self.slot_table(), attrs);
        let now = now_from_slots(&slots).unwrap_or(clock_ms);
        self.evaluate(key, &EvalContext::new(&slots, now))
    }

    /// Evaluates the flag at position `index`; out of range is `NOT_FOUND`.
    pub fn evaluate_index(&self, index: usize, ctx: &EvalContext) -> Evaluation {
        match self.flags.get(index) {
            Some(_) => self.eval(index, ctx, &mut Vec::new()),
            None => Evaluation::off(Reason::NotFound),
        }
    }

    /// Evaluates every flag, in snapshot order, into `out` (cleared first). Prerequisites are
    /// evaluated once each.
    pub fn evaluate_all_into(&self, ctx: &EvalContext, out: &mut Vec<Evaluation>) {
        let mut memo = Vec::new();
        self.evaluate_all_memo(ctx, &mut memo);
        out.clear();
        out.extend(memo.iter().map(|e| e.unwrap_or(Evaluation::off(Reason::NotFound))));
    }

    /// Evaluates every flag into `memo` (one `Some` per flag, in snapshot order), reusing the
    /// caller's buffer: no allocation once it has grown to the snapshot's size.
    pub fn evaluate_all_memo(&self, ctx: &EvalContext, memo: &mut Vec<Option<Evaluation>>) {
        memo.clear();
        memo.resize(self.flags.len(), None);
        self.prehash(ctx);
        for i in 0..self.flags.len() {
            if memo[i].is_none() {
                self.eval(i, ctx, memo);
            }
        }
    }

    /// Evaluates every flag, in snapshot order.
    pub fn evaluate_all(&self, ctx: &EvalContext) -> Vec<Evaluation> {
        let mut out = Vec::with_capacity(self.flags.len());
        self.evaluate_all_into(ctx, &mut out);
        out
    }

    /// Fills the digest cache for every flag that may need a hash, four at a time (SIMD in
    /// Wasm). Pure memoisation: decisions then read the cache instead of hashing one by one.
    fn prehash(&self, ctx: &EvalContext) {
        let Some(cache) = ctx.cache else { return };
        let mut batch: [(usize, &str, u64); 4] = [(0, "", 0); 4];
        let mut n = 0;
        for (i, f) in self.flags.iter().enumerate() {
            let never = f.admin_override == Some(false) || (!f.enabled && f.admin_override.is_none());
            if !f.may_hash || (never && f.overrides.is_empty()) {
                continue;
            }
            let Some(unit) = ctx.unit(f) else {
                continue;
            };
            let generation = ctx.slots.generation(f.stickiness_slot);
            if matches!(cache.entries.get(i).and_then(Cell::get), Some((g, _)) if g == generation) {
                continue;
            }
            batch[n] = (i, unit, generation);
            n += 1;
            if n == 4 {
                self.store4(cache, &batch, 4);
                n = 0;
            }
        }
        if n > 0 {
            // A partial batch still goes through the four-lane hash; spare lanes repeat lane 0.
            let first = batch[0];
            batch[n..].fill(first);
            self.store4(cache, &batch, n);
        }
    }

    fn store4(&self, cache: &DigestCache, batch: &[(usize, &str, u64); 4], n: usize) {
        let salts = batch.map(|(i, _, _)| self.flags[i].salt.as_str());
        let pos = positions4(salts, batch.map(|(_, u, _)| u));
        for (k, (i, _, g)) in batch.iter().enumerate().take(n) {
            // A cache made for fewer flags than the engine has just remembers less.
            if let Some(cell) = cache.entries.get(*i) {
                cell.set(Some((*g, pos[k])));
            }
        }
    }

    /// The rollout in force at `now`: the last schedule step reached, else the base rollout.
    pub fn current_rollout(flag: &Flag, now: i64) -> Option<u32> {
        flag.schedule
            .iter()
            .rev()
            .find(|s| s.at <= now)
            .map(|s| s.rollout)
            .or(flag.rollout)
    }

    /// Evaluates flag `index`, memoised in `memo` when it is non-empty (prerequisite chains
    /// make it non-empty on first use).
    fn eval(&self, index: usize, ctx: &EvalContext, memo: &mut Vec<Option<Evaluation>>) -> Evaluation {
        if let Some(Some(done)) = memo.get(index) {
            return *done;
        }
        let e = self.decide(index, ctx, memo);
        if let Some(slot) = memo.get_mut(index) {
            *slot = Some(e);
        }
        e
    }

    fn decide(&self, index: usize, ctx: &EvalContext, memo: &mut Vec<Option<Evaluation>>) -> Evaluation {
        let flag = &self.flags[index];
        let hash = |u: &str| ctx.positions(index, flag, u);
        let unit = ctx.unit(flag);
        if let Some(e) = unit.and_then(|u| user_override(flag, u, ctx.now, &hash)) {
            return e;
        }
        match flag.admin_override {
            Some(true) => return turned_on(flag, unit, Reason::AdminOverride, None, &hash),
            Some(false) => return Evaluation::off(Reason::AdminOverride),
            None => {}
        }
        if !flag.enabled {
            return Evaluation::off(Reason::Disabled);
        }
        if !flag.prerequisites.is_empty() && !self.prerequisites_met(flag, ctx, memo) {
            return Evaluation::off(Reason::PrerequisiteFailed);
        }
        let mut rule = None;
        for (i, r) in flag.rules.iter().enumerate() {
            match r.condition.eval(ctx.slots.as_slice()) {
                Ok(false) => continue,
                Ok(true) => rule = Some(i),
                // The rule might have matched: neither it nor a later rule nor the rollout may
                // decide. Off, as when nothing applies.
                Err(_) => {
                    return Evaluation {
                        rule_index: Some(i),
                        ..Evaluation::off(Reason::ConditionError)
                    }
                }
            }
            break;
        }
        let (ppm, reason) = match rule {
            Some(i) => (flag.rules[i].rollout, Reason::RuleMatch),
            None => match Self::current_rollout(flag, ctx.now) {
                Some(p) => (p, Reason::Rollout),
                None => return Evaluation::off(Reason::Default),
            },
        };
        let Some(unit) = unit else {
            return Evaluation {
                rule_index: rule,
                ..Evaluation::off(Reason::MissingUnit)
            };
        };
        rollout_decision(flag, unit, ppm, reason, rule, &hash)
    }

    fn prerequisites_met(&self, flag: &Flag, ctx: &EvalContext, memo: &mut Vec<Option<Evaluation>>) -> bool {
        if memo.is_empty() {
            memo.resize(self.flags.len(), None);
        }
        flag.prerequisites.iter().all(|p| {
            let e = self.eval(p.flag, ctx, memo);
            // A prerequisite whose state an error decided is never met (not even `enabled: false`).
            e.reason != Reason::ConditionError
                && e.enabled == p.enabled
                && (p.variant.is_none() || e.variant == p.variant)
        })
    }
}

type Hash<'a> = dyn Fn(&str) -> Positions + 'a;

fn user_override(flag: &Flag, unit: &str, now: i64, hash: &Hash) -> Option<Evaluation> {
    if flag.overrides.is_empty() {
        return None;
    }
    let o = flag
        .overrides
        .get(unit)?
        .iter()
        .rev()
        .find(|o| o.expires_at.is_none_or(|t| now < t))?;
    if !o.enabled {
        return Some(Evaluation::off(Reason::UserOverride));
    }
    Some(turned_on(flag, Some(unit), Reason::UserOverride, o.variant, hash))
}

/// On, with a variant: the forced one, else one picked from the unit's variant position.
fn turned_on(flag: &Flag, unit: Option<&str>, reason: Reason, forced: Option<usize>, hash: &Hash) -> Evaluation {
    let mut e = Evaluation {
        enabled: true,
        reason,
        variant: forced,
        bucket: None,
        rule_index: None,
    };
    if forced.is_none() && !flag.variants.is_empty() {
        if let Some(u) = unit {
            let pos = hash(u);
            e.variant = choose(flag, pos);
            e.bucket = Some(pos.bucket);
        }
    }
    e
}

fn choose(flag: &Flag, pos: Positions) -> Option<usize> {
    pick_variant(pos.variant, flag.variants.iter().map(|v| v.weight))
}

fn rollout_decision(flag: &Flag, unit: &str, ppm: u32, reason: Reason, rule: Option<usize>, hash: &Hash) -> Evaluation {
    let base = Evaluation {
        enabled: false,
        reason,
        variant: None,
        bucket: None,
        rule_index: rule,
    };
    let everyone = ppm as u64 >= BUCKETS;
    if ppm == 0 || (everyone && flag.variants.is_empty()) {
        // No hash needed: 0 % is no one, 100 % is everyone.
        return Evaluation {
            enabled: everyone,
            ..base
        };
    }
    let pos = hash(unit);
    let enabled = pos.bucket < ppm;
    let variant = if enabled { choose(flag, pos) } else { None };
    Evaluation {
        enabled,
        variant,
        bucket: Some(pos.bucket),
        ..base
    }
}
