//! Voucher codes: `TT-XXXX-XXXX-C`.
//!
//! - `TT` is a fixed prefix (it makes codes easy to spot in a chat, and in logs for
//!   [`crate::redact`]).
//! - `XXXX-XXXX` is the body: 8 symbols of Crockford's base32 alphabet
//!   `0123456789ABCDEFGHJKMNPQRSTVWXYZ` (no I, L, O, U), 40 random bits.
//! - `C` is one check symbol from the same alphabet.
//!
//! **Check symbol.** Symbols are elements of GF(32) (polynomial basis, reduction polynomial
//! `x^5 + x^2 + 1`, which is primitive). With body values `v1 .. v8`,
//! `acc = 0; for v in body { acc = 2·acc ⊕ v }` and the check symbol is `c = 2·acc`, so that
//! running the same fold over all nine symbols (body then check) ends at `0`. Equivalently
//! `Σ v_i · 2^(9-i) = 0` in GF(32). A single substitution changes that sum by `e · 2^k ≠ 0`;
//! swapping two adjacent distinct symbols `x, y` changes it by `(x ⊕ y) · 2^k · 3 ≠ 0`. So every
//! single-symbol substitution and every adjacent transposition (also one involving the check
//! symbol) is detected, and it needs no extra symbols (Crockford's own mod-37 check needs
//! `*~$=U`, awkward to type or say). `tests/voucher.rs` checks both properties exhaustively.
//!
//! **Input** ([`validate_code`]) is forgiving: any case; dashes and ASCII whitespace anywhere
//! are ignored; Crockford's aliases read `O` as `0` and `I`/`L` as `1`; the `TT` prefix may be left
//! out (`ABCD-EFGH-K`). The answer is always the canonical `TT-XXXX-XXXX-C`.

use super::VoucherError;

/// The Crockford base32 alphabet, in value order.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The fixed prefix of every code.
pub const PREFIX: &str = "TT";

/// Number of body symbols (5 bits each).
pub const BODY_LEN: usize = 8;

/// Bytes of randomness [`generate_code`] uses (40 bits).
pub const CODE_RANDOM_BYTES: usize = 5;

/// Length of the canonical form, `TT-XXXX-XXXX-C`.
pub const CODE_LEN: usize = 14;

const SHAPE: &str = "a voucher code looks like TT-XXXX-XXXX-X (letters and digits)";
const CHECK: &str = "voucher code check character does not match (mistyped code?)";

/// Multiplies by `x` (the value 2) in GF(32) modulo `x^5 + x^2 + 1`.
fn mul2(v: u8) -> u8 {
    let v = v << 1;
    if v & 0x20 != 0 {
        v ^ 0x25
    } else {
        v
    }
}

/// The fold `acc = 2·acc ⊕ v` over symbol values.
fn fold(values: &[u8]) -> u8 {
    values.iter().fold(0, |acc, &v| mul2(acc) ^ v)
}

/// The check symbol's value for body values (each `< 32`).
pub fn check_value(body: &[u8]) -> u8 {
    mul2(fold(body))
}

/// The value of one input byte (any case, Crockford aliases O→0, I/L→1); `None` for a byte
/// outside the alphabet (including `U`).
pub fn symbol_value(c: u8) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        c => c,
    };
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u8)
}

/// Formats body values and a check value as `TT-XXXX-XXXX-C`.
fn canonical(body: &[u8], check: u8) -> String {
    let mut out = String::with_capacity(CODE_LEN);
    out.push_str(PREFIX);
    for (i, &v) in body.iter().enumerate() {
        if i % 4 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[(v & 31) as usize] as char);
    }
    out.push('-');
    out.push(ALPHABET[(check & 31) as usize] as char);
    out
}

/// A new code from caller-supplied randomness (the crate has no RNG; pass
/// [`CODE_RANDOM_BYTES`] bytes from `crypto.getRandomValues`). Only the first 5 bytes are used;
/// missing bytes count as zero, so pass enough.
pub fn generate_code(random: &[u8]) -> String {
    let mut bits = 0u64;
    for i in 0..CODE_RANDOM_BYTES {
        bits = (bits << 8) | u64::from(random.get(i).copied().unwrap_or(0));
    }
    let mut body = [0u8; BODY_LEN];
    for (i, v) in body.iter_mut().enumerate() {
        *v = ((bits >> (5 * (BODY_LEN - 1 - i))) & 31) as u8;
    }
    canonical(&body, check_value(&body))
}

/// Checks a typed code and returns its canonical form `TT-XXXX-XXXX-C`.
///
/// Errors with `INVALID_CODE` when the shape is wrong (length, characters, prefix) or the check
/// character does not match, so a mistyped code never reaches the database.
pub fn validate_code(input: &str) -> Result<String, VoucherError> {
    // Prefix (2) + body (8) + check (1) at most; anything longer is refused while reading.
    let mut chars = [0u8; 11];
    let mut n = 0;
    for &c in input.as_bytes() {
        if c == b'-' || c.is_ascii_whitespace() {
            continue;
        }
        if n == chars.len() || !c.is_ascii_alphanumeric() {
            return Err(VoucherError::InvalidCode(SHAPE));
        }
        chars[n] = c.to_ascii_uppercase();
        n += 1;
    }
    let symbols = match n {
        11 if &chars[..2] == PREFIX.as_bytes() => &chars[2..11],
        9 => &chars[..9],
        _ => return Err(VoucherError::InvalidCode(SHAPE)),
    };
    let mut values = [0u8; BODY_LEN + 1];
    for (v, &c) in values.iter_mut().zip(symbols) {
        *v = symbol_value(c).ok_or(VoucherError::InvalidCode(SHAPE))?;
    }
    if fold(&values) != 0 {
        return Err(VoucherError::InvalidCode(CHECK));
    }
    Ok(canonical(&values[..BODY_LEN], values[BODY_LEN]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_valid_canonical_codes() {
        let code = generate_code(&[0x12, 0x34, 0x56, 0x78, 0x9a]);
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.starts_with("TT-"));
        assert_eq!(validate_code(&code).as_deref(), Ok(code.as_str()));
        assert_eq!(generate_code(&[]), "TT-0000-0000-0");
        assert_eq!(generate_code(&[0xff; 5]), generate_code(&[0xff; 9]));
    }

    #[test]
    fn field_multiplication_is_invertible() {
        let mut seen = [false; 32];
        for v in 0..32u8 {
            seen[mul2(v) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn normalises_input() {
        let code = generate_code(&[1, 2, 3, 4, 5]);
        let loose = code.to_ascii_lowercase().replace('-', " ");
        assert_eq!(validate_code(&loose).as_deref(), Ok(code.as_str()));
        assert_eq!(validate_code(&code[3..]).as_deref(), Ok(code.as_str()));
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in [
            "",
            "TT",
            "TT-0000-0000",
            "TT-0000-0000-00",
            "XX-0000-0000-0",
            "TT-0000-000U-0",
            "TT-0000-0000-é",
        ] {
            assert!(validate_code(bad).is_err(), "{bad}");
        }
    }
}
