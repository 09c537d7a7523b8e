//! A token-bucket rate limiter per key (a customer's phone or user id), clock injected.
//!
//! Each key has a bucket of `capacity` tokens, refilled continuously at `refill_per_minute`; a
//! request takes one token or is refused with the time until the next token. The default is 10
//! requests per minute per customer, bursts of up to 10.
//!
//! - **Exact arithmetic**: levels are integers in units of 1/60,000 token, so one millisecond
//!   at `r` per minute adds exactly `r` units. No floats.
//! - **Clock injected**: [`RateLimiter::check`] takes `now_ms` and never reads a clock. If `now`
//!   goes backwards, nothing refills until it passes the latest time seen for that key; a bucket
//!   never gains tokens from a clock step back.
//! - **Bounded memory**: at most `max_keys` buckets. To admit a new key when full, a bucket that
//!   is full again is dropped (lossless: a full bucket is what a new key gets anyway); if none
//!   is, the least recently seen key goes.
//! - Keys live in a vector sorted by key (binary search, no hashing code in the Wasm module).

/// Default bucket size: a burst of 10 requests.
pub const DEFAULT_CAPACITY: u32 = 10;
/// Default refill: 10 tokens a minute.
pub const DEFAULT_REFILL_PER_MINUTE: u32 = 10;
/// Default bound on the number of keys tracked.
pub const DEFAULT_MAX_KEYS: usize = 10_000;

/// One token, in level units (token · ms per minute).
const UNIT: u64 = 60_000;

/// The answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Whether the request may go ahead (it has taken a token).
    pub allowed: bool,
    /// Whole tokens left after this request.
    pub remaining: u32,
    /// When refused: milliseconds until a token is available; `0` when allowed.
    pub retry_after_ms: i64,
}

#[derive(Debug, Clone)]
struct Bucket {
    key: String,
    level: u64,
    last_ms: i64,
    seen: u64,
}

/// Token buckets per key, bounded in number.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    capacity: u32,
    refill_per_minute: u32,
    max_keys: usize,
    buckets: Vec<Bucket>,
    tick: u64,
}

impl Default for RateLimiter {
    /// 10 requests per minute per key, bursts of 10, up to 10,000 keys.
    fn default() -> Self {
        RateLimiter::new(DEFAULT_CAPACITY, DEFAULT_REFILL_PER_MINUTE, DEFAULT_MAX_KEYS)
    }
}

impl RateLimiter {
    /// A limiter with buckets of `capacity` tokens refilled at `refill_per_minute`, tracking at
    /// most `max_keys` keys. Zeros are raised to 1 (a limiter always lets something through
    /// eventually; to refuse everything, use a flag).
    pub fn new(capacity: u32, refill_per_minute: u32, max_keys: usize) -> Self {
        RateLimiter {
            capacity: capacity.max(1),
            refill_per_minute: refill_per_minute.max(1),
            max_keys: max_keys.max(1),
            buckets: Vec::new(),
            tick: 0,
        }
    }

    /// Takes a token for `key` at `now_ms` (epoch ms, or any monotonic-ish millisecond clock).
    pub fn check(&mut self, key: &str, now_ms: i64) -> Decision {
        self.tick += 1;
        let full = self.full_level();
        let i = match self.find(key) {
            Ok(i) => i,
            Err(mut i) => {
                if self.buckets.len() >= self.max_keys {
                    self.evict(now_ms);
                    i = self.find(key).unwrap_or_else(|i| i);
                }
                let bucket = Bucket {
                    key: key.to_owned(),
                    level: full,
                    last_ms: now_ms,
                    seen: 0,
                };
                self.buckets.insert(i, bucket);
                i
            }
        };
        let refill = u64::from(self.refill_per_minute);
        let b = &mut self.buckets[i];
        b.level = level_at(b, now_ms, refill, full);
        b.last_ms = b.last_ms.max(now_ms);
        b.seen = self.tick;
        if b.level >= UNIT {
            b.level -= UNIT;
            Decision {
                allowed: true,
                remaining: (b.level / UNIT) as u32,
                retry_after_ms: 0,
            }
        } else {
            let wait = (UNIT - b.level).div_ceil(refill);
            Decision {
                allowed: false,
                remaining: 0,
                retry_after_ms: wait as i64,
            }
        }
    }

    /// Number of keys tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// `true` when no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Forgets every key.
    pub fn clear(&mut self) {
        self.buckets.clear();
    }

    fn full_level(&self) -> u64 {
        u64::from(self.capacity) * UNIT
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.buckets.binary_search_by(|b| b.key.as_str().cmp(key))
    }

    /// Makes room for one key: drops the first bucket that is full again (lossless), else the
    /// least recently seen one. One pass.
    fn evict(&mut self, now_ms: i64) {
        let (refill, full) = (u64::from(self.refill_per_minute), self.full_level());
        let mut victim = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            if level_at(b, now_ms, refill, full) >= full {
                victim = i;
                break;
            }
            if b.seen < self.buckets[victim].seen {
                victim = i;
            }
        }
        if victim < self.buckets.len() {
            self.buckets.remove(victim);
        }
    }
}

/// The bucket's level at `now_ms` (no refill for time before its latest).
fn level_at(b: &Bucket, now_ms: i64, refill: u64, full: u64) -> u64 {
    if now_ms <= b.last_ms || b.level >= full {
        return b.level.min(full);
    }
    // Without overflow: time enough to fill up is `ceil((full - level) / refill)` ms.
    let elapsed = now_ms.abs_diff(b.last_ms);
    if elapsed >= (full - b.level).div_ceil(refill) {
        full
    } else {
        b.level + elapsed * refill
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_per_minute_by_default() {
        let mut rl = RateLimiter::default();
        for n in 0..10 {
            let d = rl.check("+250788000000", 1_000);
            assert!(d.allowed);
            assert_eq!(d.remaining, 9 - n);
        }
        let d = rl.check("+250788000000", 1_000);
        assert_eq!(
            d,
            Decision {
                allowed: false,
                remaining: 0,
                retry_after_ms: 6_000
            }
        );
        assert!(!rl.check("+250788000000", 6_999).allowed);
        assert!(rl.check("+250788000000", 7_000).allowed);
        assert!(rl.check("another", 7_000).allowed);
    }

    #[test]
    fn clock_going_back_adds_nothing() {
        let mut rl = RateLimiter::new(1, 60, 10);
        assert!(rl.check("k", 10_000).allowed);
        assert!(!rl.check("k", 0).allowed);
        assert!(!rl.check("k", 10_999).allowed);
        assert!(rl.check("k", 11_000).allowed);
    }

    #[test]
    fn memory_is_bounded() {
        let mut rl = RateLimiter::new(2, 1, 2);
        rl.check("a", 0);
        rl.check("b", 0);
        rl.check("a", 0); // a: empty, seen last; b: half full, seen first
        rl.check("c", 1); // evicts b, the least recently seen
        assert_eq!(rl.len(), 2);
        assert!(!rl.check("a", 1).allowed, "a was kept, still empty");
        // After 2 minutes every bucket is full again: the first one goes, losing nothing.
        rl.check("d", 120_001);
        assert_eq!(rl.len(), 2);
        for _ in 0..1_000 {
            rl.check("flood", 120_001);
        }
        for i in 0..1_000 {
            rl.check(&i.to_string(), 120_002);
            assert!(rl.len() <= 2);
        }
    }

    #[test]
    fn extreme_clocks_do_not_overflow() {
        let mut rl = RateLimiter::new(u32::MAX, u32::MAX, 2);
        assert!(rl.check("k", i64::MIN).allowed);
        assert!(rl.check("k", i64::MAX).allowed);
        assert!(rl.check("j", i64::MIN).allowed);
    }
}
