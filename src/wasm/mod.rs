//! The JS boundary: the only module that knows `wasm_bindgen`, `js_sys` and `JsValue`.
//!
//! Designed so that crossing costs little. The wrapper (`js/trimtab.js`) learns the flag keys,
//! variant keys, reason names and attribute slots once, when an engine is built; afterwards a
//! call sends only the context attributes whose values changed (as slot updates) and gets back
//! one number per flag, packed as
//!
//! ```text
//! low 32 bits:  enabled (bit 0) | reason << 1 (4 bits) | (variant + 1) << 5 (11 bits)
//!               | (ruleIndex + 1) << 16 (16 bits)
//! high bits:    bucket + 1 (0 = no bucket)
//! ```
//! which the wrapper turns into `Evaluation` objects without renaming a field.

use crate::bucket;
use crate::context::Slots;
use crate::error::ErrorCode;
use crate::flags::{self, now_from_slots, DigestCache, EvalContext, Evaluation, FlagEngine, FlagError, Reason};
use crate::value::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub mod guard;
pub mod prompt;
pub mod voucher;
pub mod webhook;

#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Installs the JS engine's number conversions for the core (see `crate::host`).
#[wasm_bindgen(start)]
pub fn start() {
    install_host();
}

fn install_host() {
    crate::host::install(crate::host::Host {
        number_to_string: |n| {
            String::from(
                js_sys::Number::from(n)
                    .to_string_with_radix(10)
                    .unwrap_or_else(|_| js_sys::JsString::from("NaN")),
            )
        },
        parse_decimal: |s| js_sys::parse_float(s),
    });
}

/// Bytes of the scratch buffer the wrapper writes attribute updates into.
const SCRATCH: usize = 1024;
/// An update whose length is this clears the slot.
const CLEAR: usize = 0xffff;

/// Converts any domain error into a JS `Error` named `TrimtabError` with a stable `code`.
/// The one place where Rust errors become JS values.
pub(crate) fn js_error<E: ErrorCode>(e: &E) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("TrimtabError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(e.code()));
    err.into()
}

/// The rollout bucket (0..=999999) of `unit` under `salt`. Throws `INVALID_SALT` or
/// `MISSING_UNIT`.
#[wasm_bindgen(js_name = bucket)]
pub fn bucket_js(salt: &str, unit: &str) -> Result<u32, JsValue> {
    bucket::bucket(salt, unit).map_err(|e| js_error(&e))
}

/// The variant position (0..=999999) of `unit` under `salt`, independent of its bucket.
#[wasm_bindgen(js_name = variantPosition)]
pub fn variant_position_js(salt: &str, unit: &str) -> Result<u32, JsValue> {
    bucket::variant_position(salt, unit).map_err(|e| js_error(&e))
}

/// Refuses a rollout change that skips a stage. Throws `RAMP_SKIPS_STAGE`, `INVALID_PERCENT`
/// or `INVALID_STAGES`.
#[wasm_bindgen(js_name = checkRamp)]
pub fn check_ramp_js(current: f64, next: f64, stages: &[f64]) -> Result<(), JsValue> {
    flags::check_ramp(current, next, stages).map_err(|e| js_error(&e))
}

/// Reason names, indexed by the reason code packed into evaluation results.
#[wasm_bindgen(js_name = reasonNames)]
pub fn reason_names() -> Vec<String> {
    Reason::ALL.iter().map(|r| r.as_str().to_owned()).collect()
}

/// A compiled snapshot plus the current context slots. Use it through `js/trimtab.js`.
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

fn invalid(message: String) -> JsValue {
    js_error(&FlagError::snapshot(None, "(root)", &message))
}

fn snapshot_value(snapshot: &JsValue) -> Result<Value, JsValue> {
    if let Some(text) = snapshot.as_string() {
        let parsed = js_sys::JSON::parse(&text).map_err(|e| {
            invalid(format!(
                "not valid JSON: {}",
                String::from(js_sys::Error::from(e).message())
            ))
        })?;
        return value_from_js(&parsed).map_err(|e| invalid(e.into()));
    }
    value_from_js(snapshot).map_err(|e| invalid(e.into()))
}

/// Deepest nesting accepted from JS (guards against cycles and runaway recursion).
const MAX_JS_DEPTH: usize = 64;

/// Converts a JSON-like JS value (what `JSON.parse` produces) into a [`Value`]. `undefined`
/// members are skipped, as `JSON.stringify` does; functions, symbols and bigints are refused.
pub fn value_from_js(v: &JsValue) -> Result<Value, &'static str> {
    convert(v, 0)
}

fn convert(v: &JsValue, depth: usize) -> Result<Value, &'static str> {
    if let Some(s) = v.as_string() {
        return Ok(Value::String(s));
    }
    if let Some(n) = v.as_f64() {
        return Ok(Value::Number(n));
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if v.is_null() || v.is_undefined() {
        return Ok(Value::Null);
    }
    if depth >= MAX_JS_DEPTH {
        return Err("value nested more than 64 levels deep (or cyclic)");
    }
    if js_sys::Array::is_array(v) {
        let array: &js_sys::Array = v.unchecked_ref();
        return array
            .iter()
            .map(|item| convert(&item, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if !v.is_object() {
        return Err("unsupported value (function, symbol or bigint)");
    }
    let object: &js_sys::Object = v.unchecked_ref();
    let mut members = Vec::new();
    for key in js_sys::Object::keys(object).iter() {
        let member = js_sys::Reflect::get(object, &key).map_err(|_| "unreadable property")?;
        if member.is_undefined() {
            continue;
        }
        members.push((key.as_string().unwrap_or_default(), convert(&member, depth + 1)?));
    }
    Ok(Value::Object(members))
}

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

    fn now_ms(&self) -> i64 {
        match self.now {
            Some(t) => t,
            None if self.core.is_time_dependent() => js_sys::Date::now() as i64,
            None => 0,
        }
    }
}
