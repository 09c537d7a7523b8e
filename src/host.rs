//! Number/text conversions with JavaScript semantics, supplied by the host.
//!
//! GrowthBook's conditions coerce like JavaScript (`String(1e21)` is `"1e+21"`). Natively these
//! come from Rust's float formatting and parsing. In Wasm, `src/wasm/` installs the JS engine's
//! own `String(n)` and `Number(s)` when the module starts: exact by definition, and they keep
//! about 25 KB of float formatting and parsing code out of the module.

use std::sync::OnceLock;

/// The conversions a host provides.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    /// `String(n)` for a number.
    pub number_to_string: fn(f64) -> String,
    /// `Number(s)` for a string already checked to be a decimal literal.
    pub parse_decimal: fn(&str) -> f64,
}

static HOST: OnceLock<Host> = OnceLock::new();

/// Installs the host's conversions (first call wins).
pub fn install(host: Host) {
    let _ = HOST.set(host);
}

/// `String(n)`.
pub fn number_to_string(n: f64) -> String {
    match HOST.get() {
        Some(h) => (h.number_to_string)(n),
        None => fallback::number_to_string(n),
    }
}

/// `Number(s)` for a decimal literal.
pub fn parse_decimal(s: &str) -> f64 {
    match HOST.get() {
        Some(h) => (h.parse_decimal)(s),
        None => fallback::parse_decimal(s),
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod fallback {
    /// Rust's decimal parser agrees with JavaScript's for decimal literals.
    pub fn parse_decimal(s: &str) -> f64 {
        s.parse().unwrap_or(f64::NAN)
    }

    /// `Number.prototype.toString()`: shortest round-trip digits, exponent form outside [1e-7, 1e21).
    pub fn number_to_string(n: f64) -> String {
        if n.is_nan() {
            return "NaN".into();
        }
        if n == 0.0 {
            return "0".into();
        }
        if n.is_infinite() {
            return if n > 0.0 { "Infinity".into() } else { "-Infinity".into() };
        }
        let sci = format!("{:e}", n.abs());
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        let k = digits.len() as i64;
        let e: i64 = exp.parse().unwrap_or(0) + 1; // the decimal point sits after `e` digits
        let mut out = String::from(if n < 0.0 { "-" } else { "" });
        if k <= e && e <= 21 {
            out.push_str(&digits);
            out.extend(core::iter::repeat_n('0', (e - k) as usize));
        } else if 0 < e && e <= 21 {
            let (int, frac) = digits.split_at(e as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        } else if -6 < e && e <= 0 {
            out.push_str("0.");
            out.extend(core::iter::repeat_n('0', (-e) as usize));
            out.push_str(&digits);
        } else {
            let (first, rest) = digits.split_at(1);
            out.push_str(first);
            if !rest.is_empty() {
                out.push('.');
                out.push_str(rest);
            }
            out.push_str(if e - 1 < 0 { "e-" } else { "e+" });
            out.push_str(&(e - 1).abs().to_string());
        }
        out
    }
}

/// Without an installed host (never the case once `src/wasm/` has started) Wasm builds keep
/// integers exact and fall back to a fixed-point form, without linking float formatting.
#[cfg(target_arch = "wasm32")]
mod fallback {
    pub fn parse_decimal(_s: &str) -> f64 {
        f64::NAN
    }

    pub fn number_to_string(n: f64) -> String {
        if n.fract() == 0.0 && n.abs() < 9e15 {
            return format!("{}", n as i64);
        }
        crate::value::format_number(n)
    }
}
