//! PII masking for logs and PII detection in model outputs: phone numbers, emails and voucher
//! codes ([`redact`] masks, [`scan`] masks and counts by kind).
//!
//! [`redact`] scans the text once, left to right, and replaces:
//!
//! | what | matched | becomes |
//! |---|---|---|
//! | email | `local@domain.tld` (`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`, as `log.ts`) | `[email]` |
//! | voucher code | `TT-XXXX-XXXX-C` in any case, dashes or spaces between the groups optional, and the dashed form without the prefix, `XXXX-XXXX-C`; check character not verified (a mistyped code is masked too) | `[voucher]` |
//! | E.164-ish phone | `+`, an optional `(`, then 7 or more digits with at most 2 of `space ( ) . -` between two digits | `[phone ..NN]` |
//! | long digit run | 9 or more digits, not part of a word (`abc123456789`), of a decimal (`3.141592653`) or of a UUID | `[phone ..NN]` |
//!
//! A code typed without prefix and without dashes (`ABCDEFGHK`) is not recognised: it cannot be
//! told from an ordinary word. Conversely an 11-character token starting with `TT` and free of
//! `U` (`ttabcdefghk`) is masked even if it is not a code.
//!
//! `NN` are the number's last two digits, kept so support can tell numbers apart; the rest,
//! country code included, is gone. Ordinary numbers (amounts such as `10000`), ISO dates and
//! timestamps (`2026-12-01T00:00:00.123456789+02:00`) and UUIDs are left as they are. A bare
//! digit run of 9 or more digits is masked whatever it means (an amount of a billion minor
//! units, epoch milliseconds): privacy wins over readability. Secrets (JWTs, API keys) are the
//! TypeScript logger's business (`supabase/functions/_shared/log.ts`).
//!
//! Every pattern is ASCII and the text is cut only at ASCII characters, so any UTF-8 input is
//! safe; non-ASCII characters are copied through unchanged.

/// The mask for an email address.
pub const EMAIL_MASK: &str = "[email]";
/// The mask for a voucher code.
pub const VOUCHER_MASK: &str = "[voucher]";
/// The start of a phone mask; the number's last two digits and `]` follow.
pub const PHONE_MASK_PREFIX: &str = "[phone ..";

/// What [`scan`] found: the masked text and how many of each kind it masked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PiiScan {
    /// The text with every match masked (what [`redact`] returns).
    pub text: String,
    pub phones: u32,
    pub emails: u32,
    pub vouchers: u32,
}

impl PiiScan {
    /// Every match, of any kind.
    pub fn total(&self) -> u32 {
        self.phones.saturating_add(self.emails).saturating_add(self.vouchers)
    }
}

/// Masks phone numbers, emails and voucher codes in `text` (rules in the module docs).
pub fn redact(text: &str) -> String {
    scan(text).text
}

/// Masks like [`redact`] and counts what it masked, by kind: the detector for model outputs.
pub fn scan(text: &str) -> PiiScan {
    let b = text.as_bytes();
    let mut found = PiiScan {
        text: String::with_capacity(text.len()),
        ..PiiScan::default()
    };
    let (mut copied, mut i) = (0, 0);
    while i < b.len() {
        if let Some(end) = uuid_at(b, i) {
            i = end;
            continue;
        }
        let hit = email_at(b, i)
            .map(|end| (end, EMAIL_MASK))
            .or_else(|| code_at(b, i).map(|end| (end, VOUCHER_MASK)))
            .or_else(|| phone_at(b, i).or_else(|| digit_run_at(b, i)).map(|end| (end, "")));
        match hit {
            Some((end, mask)) => {
                let out = &mut found.text;
                out.push_str(text.get(copied..i).unwrap_or_default());
                if mask.is_empty() {
                    push_phone_mask(out, &b[i..end]);
                    found.phones = found.phones.saturating_add(1);
                } else {
                    out.push_str(mask);
                    let n = if mask == EMAIL_MASK {
                        &mut found.emails
                    } else {
                        &mut found.vouchers
                    };
                    *n = n.saturating_add(1);
                }
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    found.text.push_str(text.get(copied..).unwrap_or_default());
    found
}

fn push_phone_mask(out: &mut String, matched: &[u8]) {
    // Every match ends with at least two digits.
    let mut last = matched.iter().rev().filter(|c| c.is_ascii_digit());
    let (units, tens) = (
        last.next().copied().unwrap_or(b'0'),
        last.next().copied().unwrap_or(b'0'),
    );
    out.push_str(PHONE_MASK_PREFIX);
    out.push(tens as char);
    out.push(units as char);
    out.push(']');
}

// Character classes of ASCII bytes, one bit each, in one table (small code in Wasm).
const DIGIT: u8 = 1;
const ALPHA: u8 = 2;
const WORD: u8 = 4; // [A-Za-z0-9_]
const LOCAL: u8 = 8; // email local part: [A-Za-z0-9._%+-]
const DOMAIN: u8 = 16; // [A-Za-z0-9.-]
const CODE: u8 = 32; // voucher code characters, with aliases: [0-9A-Za-z] but not U/u
const PHONE_SEP: u8 = 64; // space, tab ( ) . -

const CLASSES: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        let mut k = 0;
        if b.is_ascii_digit() {
            k |= DIGIT | WORD | LOCAL | DOMAIN | CODE;
        }
        if b.is_ascii_alphabetic() {
            k |= ALPHA | WORD | LOCAL | DOMAIN;
            if b != b'U' && b != b'u' {
                k |= CODE;
            }
        }
        k |= match b {
            b'_' => WORD | LOCAL,
            b'%' | b'+' => LOCAL,
            b'.' | b'-' => LOCAL | DOMAIN | PHONE_SEP,
            b' ' | b'\t' | b'(' | b')' => PHONE_SEP,
            _ => 0,
        };
        t[c] = k;
        c += 1;
    }
    t
};

/// Whether `c` is in any of the classes `mask`; bytes of non-ASCII characters are in none.
fn is(c: u8, mask: u8) -> bool {
    c < 128 && CLASSES[c as usize] & mask != 0
}

fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

fn before(b: &[u8], i: usize) -> u8 {
    if i == 0 {
        0
    } else {
        at(b, i - 1)
    }
}

/// Length of the run of `mask` characters starting at `i`.
fn run(b: &[u8], i: usize, mask: u8) -> usize {
    b.get(i..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&c| is(c, mask))
        .count()
}

/// A UUID (8-4-4-4-12 hex digits) starting at `i`, standing alone: its end.
fn uuid_at(b: &[u8], i: usize) -> Option<usize> {
    let prev = before(b, i);
    if is(prev, WORD) || prev == b'-' {
        return None;
    }
    let shape = b.get(i..i + 36)?.iter().enumerate().all(|(k, &c)| match k {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    let next = at(b, i + 36);
    (shape && !is(next, WORD) && next != b'-').then_some(i + 36)
}

/// An email whose local part starts at `i`: its end.
fn email_at(b: &[u8], i: usize) -> Option<usize> {
    if !is(at(b, i), LOCAL) || is(before(b, i), LOCAL) {
        return None;
    }
    let at_sign = i + run(b, i, LOCAL);
    if at(b, at_sign) != b'@' {
        return None;
    }
    let start = at_sign + 1;
    let domain = b.get(start..start + run(b, start, DOMAIN))?;
    // The rightmost dot with a domain character before it and 2+ letters after it.
    (1..domain.len()).rev().find_map(|d| {
        let letters = run(domain, d + 1, ALPHA);
        (domain[d] == b'.' && letters >= 2).then_some(start + d + 1 + letters)
    })
}

/// A voucher code starting at `i`: its end.
fn code_at(b: &[u8], i: usize) -> Option<usize> {
    let prev = before(b, i);
    if is(prev, WORD) {
        return None;
    }
    let prefixed = b.get(i..i + 2).is_some_and(|p| p.eq_ignore_ascii_case(b"TT"));
    if prefixed {
        if let Some(end) = groups(b, i + 2, true) {
            return (!is(at(b, end), WORD)).then_some(end);
        }
    }
    // Without the prefix, only the fully dashed form: XXXX-XXXX-C.
    let end = groups(b, i, false)?;
    (prev != b'-' && !is(at(b, end), WORD) && at(b, end) != b'-').then_some(end)
}

/// Groups of 4, 4 and 1 code characters from `i`, each preceded by a separator (`-`, or a
/// space when `loose`); separators are optional when `loose`, except none before the first
/// group when not prefixed.
fn groups(b: &[u8], mut i: usize, loose: bool) -> Option<usize> {
    for (g, len) in [4, 4, 1].into_iter().enumerate() {
        let sep = at(b, i);
        if sep == b'-' || (loose && sep == b' ') {
            if !loose && g == 0 {
                return None;
            }
            i += 1;
        } else if !loose && g > 0 {
            return None;
        }
        if run(b, i, CODE) < len {
            return None;
        }
        i += len;
    }
    Some(i)
}

/// An E.164-ish phone number starting with `+` at `i`: its end.
fn phone_at(b: &[u8], i: usize) -> Option<usize> {
    if at(b, i) != b'+' {
        return None;
    }
    let mut j = i + 1;
    if at(b, j) == b'(' {
        j += 1;
    }
    if !at(b, j).is_ascii_digit() {
        return None;
    }
    let (mut digits, mut end) = (0, j);
    loop {
        let seps = run(b, j, PHONE_SEP);
        if seps > 2 || !at(b, j + seps).is_ascii_digit() {
            break;
        }
        j += seps;
        let n = run(b, j, DIGIT);
        digits += n;
        j += n;
        end = j;
    }
    (digits >= 7).then_some(end)
}

/// A standalone run of 9 or more digits starting at `i`: its end.
fn digit_run_at(b: &[u8], i: usize) -> Option<usize> {
    let prev = before(b, i);
    if !at(b, i).is_ascii_digit() || is(prev, WORD) || (prev == b'.' && i >= 2 && b[i - 2].is_ascii_digit()) {
        return None;
    }
    let end = i + run(b, i, DIGIT);
    let next = at(b, end);
    let decimal = next == b'.' && at(b, end + 1).is_ascii_digit();
    (end - i >= 9 && !is(next, WORD) && !decimal).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(redact("call +250 788 000 012 now"), "call [phone ..12] now");
        assert_eq!(redact("mail a.b+c@example.co.uk."), "mail [email].");
        assert_eq!(redact("code tt-abcd-efgh-k ok"), "code [voucher] ok");
        assert_eq!(redact("local 0788000034."), "local [phone ..34].");
    }

    #[test]
    fn leaves_ordinary_text() {
        for s in [
            "amount 10000 RWF",
            "at 2026-12-01T00:00:00.123456789+02:00",
            "id 550e8400-e29b-41d4-a716-446655440000",
            "pi 3.14159265358979",
            "hash a3f1234567890bcd",
            "+1000 points",
            "ünïcödé 😀 text",
        ] {
            assert_eq!(redact(s), s);
        }
    }
}
