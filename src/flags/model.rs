//! The compiled flag model: what a validated snapshot becomes.

use crate::conditions::Condition;
use crate::context::SlotTable;
use crate::keymap::KeyMap;

/// Most flags one snapshot may hold.
pub const MAX_FLAGS: usize = 20_000;
/// Most rules, variants, prerequisites, stages or schedule steps one flag may hold.
pub const MAX_ITEMS: usize = 1_000;
/// Most condition cost (steps, see [`crate::conditions::Cost`]) one flag's rules may add up to.
pub const MAX_FLAG_COST: u64 = 1 << 17;
/// Most condition cost the rules of all a snapshot's flags may add up to: what evaluating every
/// flag for one context may spend in conditions.
pub const MAX_SNAPSHOT_COST: u64 = 1 << 18;

/// A validated, compiled snapshot, ready to evaluate.
#[derive(Debug, Clone)]
pub struct FlagEngine {
    pub(crate) version: String,
    pub(crate) flags: Vec<Flag>,
    pub(crate) index: KeyMap<usize>,
    pub(crate) slots: SlotTable,
    pub(crate) time_dependent: bool,
    pub(crate) cost: u64,
}

/// One compiled flag.
#[derive(Debug, Clone)]
pub struct Flag {
    /// Unique key.
    pub key: String,
    /// The kill switch: `false` turns the flag off for everyone (after overrides).
    pub enabled: bool,
    /// `Some(true)` forces on, `Some(false)` forces off: the emergency switch.
    pub admin_override: Option<bool>,
    /// Base rollout in ppm; `None` when not set.
    pub rollout: Option<u32>,
    /// Bucketing salt (defaults to the key).
    pub salt: String,
    /// The context attribute whose value is the bucketing unit.
    pub stickiness: String,
    pub(crate) stickiness_slot: usize,
    /// Whether a decision may need the unit's digest (a partial rollout or variants).
    pub(crate) may_hash: bool,
    /// Slots this flag's evaluation may read (its prerequisites' included), without repeats.
    pub(crate) reads: Vec<usize>,
    /// Targeting rules, first match wins.
    pub rules: Vec<Rule>,
    /// Weighted variants.
    pub variants: Vec<Variant>,
    /// Flags that must be in a given state first.
    pub prerequisites: Vec<Prerequisite>,
    /// Ramp stages in ppm, strictly increasing.
    pub stages: Vec<u32>,
    /// Timed rollout steps, sorted by time.
    pub schedule: Vec<ScheduleStep>,
    /// Whether browsers may receive this flag.
    pub client_visible: bool,
    pub(crate) overrides: KeyMap<Vec<Override>>,
}

/// A targeting rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The condition.
    pub condition: Condition,
    /// Rollout for matching units, in ppm.
    pub rollout: u32,
}

/// A weighted variant.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Variant key.
    pub key: String,
    /// Weight in ten-thousandths (weights up to 4 decimals are exact).
    pub weight: u64,
}

/// A prerequisite: flag `flag` must evaluate to `enabled` (and to `variant`, when given).
#[derive(Debug, Clone)]
pub struct Prerequisite {
    /// Index of the required flag.
    pub flag: usize,
    /// Required state.
    pub enabled: bool,
    /// Required variant index, when given.
    pub variant: Option<usize>,
}

/// A timed step of a schedule.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleStep {
    /// When the step takes effect, epoch ms.
    pub at: i64,
    /// Rollout from then on, in ppm.
    pub rollout: u32,
}

/// A per-unit override.
#[derive(Debug, Clone)]
pub struct Override {
    /// Forced state.
    pub enabled: bool,
    /// Forced variant index, when given.
    pub variant: Option<usize>,
    /// Expiry, epoch ms; `None` never expires.
    pub expires_at: Option<i64>,
}

impl FlagEngine {
    /// The snapshot's version string.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Number of flags.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// `true` when the snapshot has no flags.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// All flags in snapshot order.
    pub fn flags(&self) -> &[Flag] {
        &self.flags
    }

    /// The position of flag `key`.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// The attribute names the snapshot reads, in slot order (slot 0 is always `now`).
    pub fn attributes(&self) -> &[String] {
        self.slots.names()
    }

    /// The slot table, to build contexts.
    pub fn slot_table(&self) -> &SlotTable {
        &self.slots
    }

    /// The attribute slots flag `index` reads (its prerequisites' included); empty for
    /// an unknown index.
    pub fn reads(&self, index: usize) -> &[usize] {
        self.flags.get(index).map_or(&[], |f| &f.reads)
    }

    /// The attribute slots any flag reads, each once.
    pub fn all_reads(&self) -> Vec<usize> {
        let mut all: Vec<usize> = Vec::new();
        for s in self.flags.iter().flat_map(|f| &f.reads) {
            if !all.contains(s) {
                all.push(*s);
            }
        }
        all
    }

    /// `true` when evaluation depends on the time (expiring overrides or schedules).
    pub fn is_time_dependent(&self) -> bool {
        self.time_dependent
    }

    /// The cost of all the snapshot's conditions, in steps (at most [`MAX_SNAPSHOT_COST`]).
    pub fn condition_cost(&self) -> u64 {
        self.cost
    }
}
