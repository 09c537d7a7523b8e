//! E.164 phone numbers: `+`, a country code that does not start with `0`, 8 to 15 digits in all.
//!
//! Input may group digits with spaces (any ASCII whitespace), dashes, dots and parentheses
//! (`+1 (415) 555-2671`) and be surrounded by whitespace; the normal form is `+` and the digits
//! only (`+14155552671`). Everything else is refused: a missing `+` (the country code cannot be
//! guessed), letters, a second `+`, non-ASCII digits, any other character.

use super::VoucherError;

/// Fewest digits accepted (country code included).
pub const MIN_DIGITS: usize = 8;

/// Most digits E.164 allows (country code included).
pub const MAX_DIGITS: usize = 15;

/// Normalises a phone number to E.164 (`+250788000000`); `INVALID_PHONE` otherwise.
pub fn normalize_phone(input: &str) -> Result<String, VoucherError> {
    let b = input.as_bytes();
    let plus = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    if b.get(plus) != Some(&b'+') {
        return Err(VoucherError::InvalidPhone(
            "a phone number starts with + and the country code",
        ));
    }
    let mut out = String::with_capacity(MAX_DIGITS + 1);
    out.push('+');
    let mut digits = 0;
    for &c in b.get(plus + 1..).unwrap_or_default() {
        match c {
            b'0'..=b'9' => {
                if digits == 0 && c == b'0' {
                    return Err(VoucherError::InvalidPhone("a country code does not start with 0"));
                }
                digits += 1;
                if digits > MAX_DIGITS {
                    return Err(VoucherError::InvalidPhone("a phone number has at most 15 digits"));
                }
                out.push(c as char);
            }
            b'-' | b'.' | b'(' | b')' => {}
            c if c.is_ascii_whitespace() => {}
            _ => {
                return Err(VoucherError::InvalidPhone(
                    "a phone number holds only digits, spaces, dashes, dots and parentheses",
                ))
            }
        }
    }
    if digits < MIN_DIGITS {
        return Err(VoucherError::InvalidPhone("a phone number has at least 8 digits"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        for (input, want) in [
            ("+250788000000", "+250788000000"),
            ("+250 788 000 000", "+250788000000"),
            (" +1 (415) 555-2671 ", "+14155552671"),
            ("+44.20.7946.0958", "+442079460958"),
        ] {
            assert_eq!(normalize_phone(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn refuses() {
        for bad in [
            "",
            "+",
            "250788000000",
            "0788000000",
            "+0788000000",
            "+1234567",
            "+1234567890123456",
            "+25078800000a",
            "+250+788000000",
            "+250 788 ０００ 000",
        ] {
            assert!(normalize_phone(bad).is_err(), "{bad}");
        }
    }
}
