//! The flag engine's binding and the evaluation fast path: the one boundary exception.
//!
//! Everything else crosses through serde; evaluation does not, because it is the hot path. The
//! wrapper (`js/flag-engine.js`) learns the flag keys, variant keys, reason names and attribute
//! slots once, when an engine is built; afterwards a call sends only the context attributes whose
//! values changed (as slot updates written into a scratch buffer in Wasm memory) and gets back
//! one number per flag, packed as
//!
//! ```text
//! low 32 bits:  enabled (bit 0) | reason << 1 (4 bits) | (variant + 1) << 5 (11 bits)
//!               | (ruleIndex + 1) << 16 (16 bits)
//! high bits:    bucket + 1 (0 = no bucket)
//! ```
//! which the wrapper turns into `Evaluation` objects without renaming a field. Snapshots
//! themselves load through serde (`INVALID_SNAPSHOT` naming the flag and field).

use super::convert::value_from_js;
use super::error::js_error;
use super::install_host;
use crate::context::Slots;
use crate::flags::{now_from_slots, DigestCache, EvalContext, Evaluation, FlagEngine, FlagError};
use crate::value::Value;
use wasm_bindgen::prelude::*;

/// Bytes of the scratch buffer the wrapper writes attribute updates into.
const SCRATCH: usize = 1024;
/// An update whose length is this clears the slot.
const CLEAR: usize = 0xffff;

#[wasm_bindgen(typescript_custom_section)]
const TS_FLAGS: &str = r#"
/** Why an evaluation came out as it did. */
export type Reason =
  | "USER_OVERRIDE"
  | "ADMIN_OVERRIDE"
  | "DISABLED"
  | "PREREQUISITE_FAILED"
  | "RULE_MATCH"
  | "ROLLOUT"
  | "DEFAULT"
  | "NOT_FOUND"
  | "MISSING_UNIT"
  | "CONDITION_ERROR";

/** The outcome of evaluating one flag. */
export interface Evaluation {
  flag: string;
  enabled: boolean;
  variant?: string;
  reason: Reason;
  /** Rollout bucket in ppm (0..=999999), when one was computed. */
  bucket?: number;
  /** The rule that matched (RULE_MATCH, MISSING_UNIT), or whose condition could not be
   *  evaluated (CONDITION_ERROR). */
  ruleIndex?: number;
  version: string;
}

/** Attributes evaluation reads; `now` (RFC 3339 string, epoch ms or Date) pins the clock. */
export interface EvaluationContext {
  userId?: string;
  now?: string | number | Date;
  [attribute: string]: unknown;
}

export interface VariantDef {
  key: string;
  weight: number;
}
export interface RuleDef {
  condition: Record<string, unknown>;
  rollout?: number;
}
export interface PrerequisiteDef {
  flag: string;
  enabled?: boolean;
  variant?: string;
}
export interface ScheduleStepDef {
  at: string;
  rollout: number;
}

export interface FlagDef {
  key: string;
  enabled?: boolean;
  adminOverride?: "on" | "off" | null;
  /** Percent, 0..100, at most 4 decimals. */
  rollout?: number | null;
  salt?: string;
  stickiness?: string;
  rules?: RuleDef[];
  variants?: VariantDef[];
  prerequisites?: PrerequisiteDef[];
  stages?: number[];
  schedule?: ScheduleStepDef[];
  clientVisible?: boolean;
  [extra: string]: unknown;
}

export interface OverrideDef {
  flag: string;
  unit: string;
  enabled: boolean;
  variant?: string;
  expiresAt?: string | null;
  reason?: string;
}

/** A snapshot (docs/design.md, "Snapshot format"). */
export interface Snapshot {
  version: string | number;
  flags: FlagDef[];
  overrides?: OverrideDef[];
}
"#;

/// A compiled snapshot plus the current context slots. Use it through the wrapper's `FlagEngine`.
#[wasm_bindgen(js_name = Engine)]
pub struct Engine {
    core: FlagEngine,
    slots: Slots,
    cache: DigestCache,
    now: Option<i64>,
    memo: Vec<Option<Evaluation>>,
    out: Vec<f64>,
    scratch: Vec<u8>,
}

fn invalid(message: &str) -> JsValue {
    js_error(&FlagError::snapshot(None, "(root)", message))
}

/// A snapshot given as an object, or as JSON text (parsed by the JS engine's `JSON.parse`).
fn snapshot_value(snapshot: &JsValue) -> Result<Value, JsValue> {
    if let Some(text) = snapshot.as_string() {
        let parsed = js_sys::JSON::parse(&text).map_err(|e| {
            let why = String::from(js_sys::Error::from(e).message());
            invalid(&format!("not valid JSON: {why}"))
        })?;
        return value_from_js(&parsed).map_err(|e| invalid(&e));
    }
    value_from_js(snapshot).map_err(|e| invalid(&e))
}

/// Always inlined, like `Engine::now_ms`: the cached path (`evaluate` for the same user
/// again) is a few calls deep, and wasm-opt's inlining is capped (Cargo.toml).
#[inline(always)]
fn pack(e: &Evaluation) -> f64 {
    let lo = e.enabled as u32
        | (e.reason as u32) << 1
        | (e.variant.map_or(0, |v| v as u32 + 1) & 0x7ff) << 5
        | (e.rule_index.map_or(0, |r| r as u32 + 1) & 0xffff) << 16;
    let hi = e.bucket.map_or(0, |b| b as u64 + 1);
    (hi * 4_294_967_296 + lo as u64) as f64
}

#[wasm_bindgen(js_class = Engine)]
impl Engine {
    /// Validates and compiles a snapshot (an object or a JSON string). Throws
    /// `INVALID_SNAPSHOT` naming the flag and field.
    #[wasm_bindgen(constructor)]
    pub fn new(snapshot: JsValue) -> Result<Engine, JsValue> {
        install_host();
        let value = snapshot_value(&snapshot)?;
        let core = FlagEngine::from_value(&value).map_err(|e| js_error(&e))?;
        let slots = Slots::new(core.attributes().len());
        let cache = DigestCache::new(core.len());
        Ok(Engine {
            core,
            slots,
            cache,
            now: None,
            memo: Vec::new(),
            out: Vec::new(),
            scratch: vec![0; SCRATCH],
        })
    }

    /// The snapshot's version.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> String {
        self.core.version().to_owned()
    }

    /// The cost of all the snapshot's conditions, in steps (at most the snapshot budget of
    /// `limits().maxSnapshotCost`): lets a caller check a change to one flag against the budget
    /// without compiling every other flag again.
    #[wasm_bindgen(getter, js_name = conditionCost)]
    pub fn condition_cost(&self) -> f64 {
        self.core.condition_cost() as f64
    }

    /// Flag keys in snapshot order (the index space of `evaluate`).
    #[wasm_bindgen(js_name = flagKeys)]
    pub fn flag_keys(&self) -> Vec<String> {
        self.core.flags().iter().map(|f| f.key.clone()).collect()
    }

    /// Variant keys of flag `index`.
    #[wasm_bindgen(js_name = variantKeys)]
    pub fn variant_keys(&self, index: u32) -> Vec<String> {
        self.core
            .flags()
            .get(index as usize)
            .map_or_else(Vec::new, |f| f.variants.iter().map(|v| v.key.clone()).collect())
    }

    /// Attribute names by slot; slot 0 is `now`.
    pub fn attributes(&self) -> Vec<String> {
        self.core.attributes().to_vec()
    }

    /// The attribute slots flag `index` reads, so a single evaluation syncs only those.
    #[wasm_bindgen(js_name = flagSlots)]
    pub fn flag_slots(&self, index: u32) -> Vec<u32> {
        self.core.reads(index as usize).iter().map(|s| *s as u32).collect()
    }

    /// The attribute slots any flag reads, so `evaluateAll` syncs only those.
    #[wasm_bindgen(js_name = allSlots)]
    pub fn all_slots(&self) -> Vec<u32> {
        self.core.all_reads().iter().map(|s| *s as u32).collect()
    }

    /// Where the wrapper writes attribute updates (up to `SCRATCH` bytes) that the next
    /// `applyUpdates`, `evaluate` or `evaluateAll` call applies: per update, the slot (u16 LE),
    /// the length (u16 LE; 0xffff clears the slot) and that many bytes of UTF-8. Updates cross
    /// the boundary with the call that uses them, without allocation on either side.
    #[wasm_bindgen(js_name = scratchPtr)]
    pub fn scratch_ptr(&self) -> u32 {
        self.scratch.as_ptr() as u32
    }

    /// Applies the first `len` bytes of updates in the scratch buffer.
    #[wasm_bindgen(js_name = applyUpdates)]
    pub fn apply_updates(&mut self, len: u32) {
        let end = (len as usize).min(SCRATCH);
        let mut at = 0;
        while at + 4 <= end {
            let word = |i: usize| self.scratch[i] as usize | (self.scratch[i + 1] as usize) << 8;
            let (slot, n) = (word(at), word(at + 2));
            at += 4;
            if n == CLEAR {
                self.slots.set(slot, None);
            } else {
                let bytes = self.scratch.get(at..at + n).unwrap_or_default();
                match core::str::from_utf8(bytes) {
                    Ok(s) => self.slots.set_str(slot, s),
                    Err(_) => self.slots.set(slot, None),
                }
                at += n;
            }
            self.touched(slot as u32);
        }
    }

    /// Sets a string attribute.
    #[wasm_bindgen(js_name = setString)]
    pub fn set_string(&mut self, slot: u32, value: &str) {
        self.slots.set_str(slot as usize, value);
        self.touched(slot);
    }

    /// Sets any other attribute value (number, boolean, array, object). Values that are not
    /// JSON-like (functions, symbols) count as missing.
    #[wasm_bindgen(js_name = setValue)]
    pub fn set_value(&mut self, slot: u32, value: JsValue) {
        let v = value_from_js(&value).ok().filter(|v| !v.is_null());
        self.slots.set(slot as usize, v);
        self.touched(slot);
    }

    /// Applies `updates` bytes of pending updates, then evaluates flag `index`; returns the
    /// packed result.
    pub fn evaluate(&mut self, index: u32, updates: u32) -> f64 {
        self.apply_updates(updates);
        let now = self.now_ms();
        let ctx = EvalContext {
            slots: &self.slots,
            now,
            cache: Some(&self.cache),
        };
        pack(&self.core.evaluate_index(index as usize, &ctx))
    }

    /// Evaluates every flag; returns a pointer to one packed `f64` per flag in Wasm memory.
    #[wasm_bindgen(js_name = evaluateAll)]
    pub fn evaluate_all(&mut self, updates: u32) -> u32 {
        self.apply_updates(updates);
        let now = self.now_ms();
        let ctx = EvalContext {
            slots: &self.slots,
            now,
            cache: Some(&self.cache),
        };
        self.core.evaluate_all_memo(&ctx, &mut self.memo);
        self.out.clear();
        self.out.extend(self.memo.iter().map(|e| e.as_ref().map_or(0.0, pack)));
        self.out.as_ptr() as u32
    }

    fn touched(&mut self, slot: u32) {
        if slot == 0 {
            self.now = now_from_slots(&self.slots);
        }
    }

    #[inline(always)]
    fn now_ms(&self) -> i64 {
        match self.now {
            Some(t) => t,
            None if self.core.is_time_dependent() => js_sys::Date::now() as i64,
            None => 0,
        }
    }
}
