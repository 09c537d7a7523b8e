//! A circuit breaker per provider, clock injected.
//!
//! - **Closed**: calls go out; outcomes are counted in a rolling window of [`BUCKETS`]
//!   time buckets of `window_ms / 10` each (bounded memory: ten counters, whatever the traffic).
//!   When the window holds at least `min_calls` calls and at least one error, and the error share
//!   reaches `error_threshold`, the breaker opens.
//! - **Open**: calls are refused until `reset_timeout_ms` has passed since it opened.
//! - **Half-open**: exactly one trial call is let through ([`Permission::trial`]); others are
//!   refused until an outcome is recorded. A success closes the breaker (with an empty window), a
//!   failure opens it again (the timer restarts). Whatever call reports first in half-open
//!   decides, since any outcome is fresh evidence about the provider. Should the trial never
//!   report, another one is let through once `reset_timeout_ms` has passed since it went out.
//! - Outcomes recorded while open (late calls, shadow traffic) are ignored.
//!
//! **Shadow and enforce modes** are the caller's business (flags `USE_CIRCUIT_BREAKER`,
//! `ENFORCE_CIRCUIT_BREAKER`): in shadow mode call [`CircuitBreaker::allow`] to learn whether the
//! call *would have been* blocked, log that, make the call anyway and still
//! [`CircuitBreaker::record`] its outcome; in enforce mode skip (or fall back) when refused.
//!
//! **Clock**: never read here. Time that goes backwards is treated as the latest time seen, so
//! a step back neither ages the window nor shortens the open period.

/// Number of time buckets in the rolling window.
pub const BUCKETS: usize = 10;
/// Default rolling window: one minute.
pub const DEFAULT_WINDOW_MS: i64 = 60_000;
/// Default fewest calls in the window before the breaker may open.
pub const DEFAULT_MIN_CALLS: u32 = 10;
/// Default error share that opens the breaker.
pub const DEFAULT_ERROR_THRESHOLD: f64 = 0.5;
/// Default time open before the half-open trial.
pub const DEFAULT_RESET_TIMEOUT_MS: i64 = 30_000;

/// Breaker settings. Out-of-range values are corrected by [`CircuitBreaker::new`]: a window
/// below 10 ms becomes 10 ms, `min_calls` 0 becomes 1, a NaN threshold the default (others are
/// clamped to 0..=1), a negative timeout 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Rolling window, ms (default 60,000).
    pub window_ms: i64,
    /// Fewest calls in the window before the breaker may open (default 10).
    pub min_calls: u32,
    /// Error share (0..=1) that opens it (default 0.5).
    pub error_threshold: f64,
    /// Time open before one trial call is let through (default 30,000).
    pub reset_timeout_ms: i64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            window_ms: DEFAULT_WINDOW_MS,
            min_calls: DEFAULT_MIN_CALLS,
            error_threshold: DEFAULT_ERROR_THRESHOLD,
            reset_timeout_ms: DEFAULT_RESET_TIMEOUT_MS,
        }
    }
}

/// The breaker's state (serialised as its JS name, [`BreakerState::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// The JS name: `closed`, `open`, `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// The answer to [`CircuitBreaker::allow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Permission {
    /// Whether the call may go out.
    pub allowed: bool,
    /// `true` when this is the half-open state's one trial call.
    pub trial: bool,
    /// The state after this question.
    pub state: BreakerState,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    index: i64,
    calls: u32,
    errors: u32,
}

#[derive(Debug, Clone, Copy)]
enum Inner {
    Closed,
    Open {
        since: i64,
    },
    /// `trial`: when the outstanding trial call went out, if any.
    HalfOpen {
        trial: Option<i64>,
    },
}

/// A circuit breaker (see the module docs).
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    width: i64,
    buckets: [Bucket; BUCKETS],
    inner: Inner,
    latest: i64,
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        CircuitBreaker::new(BreakerConfig::default())
    }
}

impl CircuitBreaker {
    /// A closed breaker with `config` (corrected as [`BreakerConfig`] says).
    pub fn new(config: BreakerConfig) -> Self {
        let threshold = if config.error_threshold.is_nan() {
            DEFAULT_ERROR_THRESHOLD
        } else {
            config.error_threshold.clamp(0.0, 1.0)
        };
        let config = BreakerConfig {
            window_ms: config.window_ms.max(BUCKETS as i64),
            min_calls: config.min_calls.max(1),
            error_threshold: threshold,
            reset_timeout_ms: config.reset_timeout_ms.max(0),
        };
        let n = BUCKETS as i64;
        let width = config.window_ms / n + i64::from(config.window_ms % n != 0);
        CircuitBreaker {
            config,
            width,
            buckets: [Bucket::default(); BUCKETS],
            inner: Inner::Closed,
            latest: i64::MIN,
        }
    }

    /// The configuration in force (after correction).
    pub fn config(&self) -> BreakerConfig {
        self.config
    }

    /// May a call go out at `now_ms`? In half-open, the first caller gets the trial.
    pub fn allow(&mut self, now_ms: i64) -> Permission {
        let now = self.tick(now_ms);
        let reset = self.config.reset_timeout_ms;
        let (allowed, trial) = match self.inner {
            Inner::Closed => (true, false),
            Inner::Open { .. } => (false, false),
            Inner::HalfOpen { trial: Some(at) } if now.saturating_sub(at) < reset => (false, false),
            Inner::HalfOpen { .. } => {
                self.inner = Inner::HalfOpen { trial: Some(now) };
                (true, true)
            }
        };
        Permission {
            allowed,
            trial,
            state: self.state_of(),
        }
    }

    /// Records the outcome of a call that went out; returns the state after it.
    pub fn record(&mut self, success: bool, now_ms: i64) -> BreakerState {
        let now = self.tick(now_ms);
        match self.inner {
            Inner::Open { .. } => {}
            Inner::HalfOpen { .. } => {
                if success {
                    self.buckets = [Bucket::default(); BUCKETS];
                    self.inner = Inner::Closed;
                } else {
                    self.inner = Inner::Open { since: now };
                }
            }
            Inner::Closed => {
                let index = now.div_euclid(self.width);
                let b = &mut self.buckets[index.rem_euclid(BUCKETS as i64) as usize];
                if b.index != index {
                    *b = Bucket {
                        index,
                        ..Bucket::default()
                    };
                }
                b.calls = b.calls.saturating_add(1);
                b.errors = b.errors.saturating_add(u32::from(!success));
                let (calls, errors) = self.counts(index);
                if calls >= u64::from(self.config.min_calls)
                    && errors > 0
                    && errors as f64 >= self.config.error_threshold * calls as f64
                {
                    self.buckets = [Bucket::default(); BUCKETS];
                    self.inner = Inner::Open { since: now };
                }
            }
        }
        self.state_of()
    }

    /// The state at `now_ms` (open turns half-open once the reset timeout has passed).
    pub fn state(&self, now_ms: i64) -> BreakerState {
        match self.inner {
            Inner::Open { since } if now_ms.max(self.latest).saturating_sub(since) >= self.config.reset_timeout_ms => {
                BreakerState::HalfOpen
            }
            _ => self.state_of(),
        }
    }

    /// Calls and errors in the window ending at `now_ms` (counted while closed).
    pub fn window(&self, now_ms: i64) -> (u64, u64) {
        self.counts(now_ms.max(self.latest).div_euclid(self.width))
    }

    /// Advances the clock (never backwards) and turns open into half-open when due.
    fn tick(&mut self, now_ms: i64) -> i64 {
        self.latest = self.latest.max(now_ms);
        let now = self.latest;
        if let Inner::Open { since } = self.inner {
            if now.saturating_sub(since) >= self.config.reset_timeout_ms {
                self.inner = Inner::HalfOpen { trial: None };
            }
        }
        now
    }

    fn counts(&self, current: i64) -> (u64, u64) {
        self.buckets
            .iter()
            .filter(|b| b.calls > 0 && current.saturating_sub(b.index) < BUCKETS as i64)
            .fold((0, 0), |(c, e), b| (c + u64::from(b.calls), e + u64::from(b.errors)))
    }

    fn state_of(&self) -> BreakerState {
        match self.inner {
            Inner::Closed => BreakerState::Closed,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}
