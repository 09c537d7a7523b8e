//! Evaluation contexts as slots: every attribute a snapshot reads is given a slot number when the
//! snapshot is compiled, so evaluation indexes a vector instead of hashing names, and the JS side
//! sends only the attributes that changed since the last call.

use crate::value::Value;

/// Interns attribute names (the first segment of a dotted path) to slot numbers.
#[derive(Debug, Default, Clone)]
pub struct SlotTable {
    names: Vec<String>,
}

impl SlotTable {
    /// The slot of `name`, adding it when new.
    pub fn intern(&mut self, name: &str) -> usize {
        if let Some(i) = self.get(name) {
            return i;
        }
        self.names.push(name.to_owned());
        self.names.len() - 1
    }

    /// The slot of `name`, if interned.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Attribute names in slot order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// `true` when no attribute is referenced.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Attribute values by slot; `None` is a missing (undefined) attribute. Every write gives the
/// slot a new generation number, so caches keyed on a slot can tell when it changed.
#[derive(Debug, Default, Clone)]
pub struct Slots {
    values: Vec<Option<Value>>,
    generations: Vec<u64>,
    counter: u64,
}

impl Slots {
    /// Empty slots for a table of `len` attributes.
    pub fn new(len: usize) -> Self {
        Slots {
            values: vec![None; len],
            generations: vec![0; len],
            counter: 0,
        }
    }

    /// Fills slots from a JSON object of attributes (the generic, slower path).
    pub fn from_object(table: &SlotTable, attrs: &Value) -> Self {
        let mut slots = Slots::new(table.len());
        for (i, name) in table.names().iter().enumerate() {
            slots.set(i, attrs.get(name).cloned());
        }
        slots
    }

    /// The value in slot `i`; `None` when missing or out of range.
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.values.get(i).and_then(|v| v.as_ref())
    }

    /// Sets slot `i` (ignored when out of range).
    pub fn set(&mut self, i: usize, v: Option<Value>) {
        if let Some(slot) = self.values.get_mut(i) {
            *slot = v;
            self.bump(i);
        }
    }

    /// The generation of slot `i`: it changes on every write to the slot.
    pub fn generation(&self, i: usize) -> u64 {
        self.generations.get(i).copied().unwrap_or(0)
    }

    fn bump(&mut self, i: usize) {
        self.counter += 1;
        if let Some(g) = self.generations.get_mut(i) {
            *g = self.counter;
        }
    }

    /// Sets slot `i` to a string, reusing the slot's buffer when it already holds one.
    pub fn set_str(&mut self, i: usize, s: &str) {
        if let Some(slot) = self.values.get_mut(i) {
            match slot {
                Some(Value::String(buf)) => {
                    buf.clear();
                    buf.push_str(s);
                }
                _ => *slot = Some(Value::String(s.to_owned())),
            }
            self.bump(i);
        }
    }

    /// All slots, for condition evaluation.
    pub fn as_slice(&self) -> &[Option<Value>] {
        &self.values
    }
}
