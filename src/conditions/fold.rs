//! Case folding for the case-insensitive operators (`$ini`, `$nini`, `$alli`, `$regexi`).
//!
//! The rule: Unicode's simple case folding (`CaseFolding.txt`, statuses C and S) for the letters
//! of Basic Latin, Latin-1, Latin Extended-A, Latin Extended Additional (Vietnamese), Greek
//! (basic letters, tonos forms and the variant forms `ς ϐ ϑ ϕ ϖ ϰ ϱ ϵ`, `µ`, U+0345, U+1FBE),
//! Cyrillic (U+0400..U+052F and the old forms U+1C80..U+1C87), Armenian and fullwidth Latin.
//! Every other character is left as it is: notably dotted `İ`, dotless `ı`, long `ſ`, `ß` and
//! `ẞ`, the Kelvin and Ångström signs, and the letters of other scripts (Latin Extended-B,
//! Georgian, Cherokee, ...), which then compare exactly. Two strings are equal ignoring case
//! when their folded forms are equal.
//!
//! For these blocks the result is the case-insensitivity of a non-Unicode JS `RegExp` with the
//! `i` flag (`$regexi` in GrowthBook); GrowthBook's `$ini`/`$nini`/`$alli` use `toLowerCase`,
//! which keeps the variant forms apart from their letters (`"µ"` and `"μ"` differ there) and
//! lowers `İ` and `ẞ`. A rule table, not Unicode's case tables: those would add about 10 KiB
//! to the gzipped Wasm module.

use std::borrow::Cow;

/// Which characters of a run a rule folds.
#[derive(Clone, Copy, PartialEq)]
enum Parity {
    All,
    Even,
    Odd,
}

/// `(first, last, parity, offset)`: the characters of `first..=last` with the parity fold to
/// `c + offset`. No folded character is itself folded by a rule.
const RULES: &[(u32, u32, Parity, i32)] = &[
    (0x41, 0x5A, Parity::All, 32),
    (0xB5, 0xB5, Parity::All, 775),
    (0xC0, 0xD6, Parity::All, 32),
    (0xD8, 0xDE, Parity::All, 32),
    (0x100, 0x12F, Parity::Even, 1),
    (0x132, 0x137, Parity::Even, 1),
    (0x139, 0x148, Parity::Odd, 1),
    (0x14A, 0x177, Parity::Even, 1),
    (0x178, 0x178, Parity::All, -121),
    (0x179, 0x17E, Parity::Odd, 1),
    (0x345, 0x345, Parity::All, 116),
    (0x386, 0x386, Parity::All, 38),
    (0x388, 0x38A, Parity::All, 37),
    (0x38C, 0x38C, Parity::All, 64),
    (0x38E, 0x38F, Parity::All, 63),
    (0x391, 0x3A1, Parity::All, 32),
    (0x3A3, 0x3AB, Parity::All, 32),
    (0x3C2, 0x3C2, Parity::All, 1),
    (0x3D0, 0x3D0, Parity::All, -30),
    (0x3D1, 0x3D1, Parity::All, -25),
    (0x3D5, 0x3D5, Parity::All, -15),
    (0x3D6, 0x3D6, Parity::All, -22),
    (0x3F0, 0x3F0, Parity::All, -54),
    (0x3F1, 0x3F1, Parity::All, -48),
    (0x3F5, 0x3F5, Parity::All, -64),
    (0x400, 0x40F, Parity::All, 80),
    (0x410, 0x42F, Parity::All, 32),
    (0x460, 0x481, Parity::Even, 1),
    (0x48A, 0x4BF, Parity::Even, 1),
    (0x4C0, 0x4C0, Parity::All, 15),
    (0x4C1, 0x4CE, Parity::Odd, 1),
    (0x4D0, 0x52F, Parity::Even, 1),
    (0x531, 0x556, Parity::All, 48),
    (0x1C80, 0x1C80, Parity::All, -6222),
    (0x1C81, 0x1C81, Parity::All, -6221),
    (0x1C82, 0x1C82, Parity::All, -6212),
    (0x1C83, 0x1C84, Parity::All, -6210),
    (0x1C85, 0x1C85, Parity::All, -6211),
    (0x1C86, 0x1C86, Parity::All, -6204),
    (0x1C87, 0x1C87, Parity::All, -6180),
    (0x1E00, 0x1E95, Parity::Even, 1),
    (0x1E9B, 0x1E9B, Parity::All, -58),
    (0x1EA0, 0x1EFF, Parity::Even, 1),
    (0x1FBE, 0x1FBE, Parity::All, -7173),
    (0xFF21, 0xFF3A, Parity::All, 32),
];

fn applies(rule: &(u32, u32, Parity, i32), c: u32) -> bool {
    let (first, last, parity, _) = *rule;
    first <= c
        && c <= last
        && match parity {
            Parity::All => true,
            Parity::Even => c % 2 == 0,
            Parity::Odd => c % 2 == 1,
        }
}

fn shifted(c: u32, offset: i32) -> Option<char> {
    char::from_u32(c.checked_add_signed(offset)?)
}

/// `c` folded (see the module documentation).
pub(crate) fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let n = c as u32;
    RULES
        .iter()
        .find(|r| applies(r, n))
        .and_then(|r| shifted(n, r.3))
        .unwrap_or(c)
}

/// Calls `f` with every character that folds to `c`'s folded form (`c` included) until it
/// returns `true`; returns whether it did.
pub(crate) fn any_variant(c: char, mut f: impl FnMut(char) -> bool) -> bool {
    let folded = fold(c);
    if f(folded) {
        return true;
    }
    for rule in RULES {
        if let Some(back) = (folded as u32).checked_add_signed(-rule.3) {
            if applies(rule, back) && char::from_u32(back).is_some_and(&mut f) {
                return true;
            }
        }
    }
    false
}

/// `s` with every character folded; borrowed when nothing changes.
pub(crate) fn fold_str(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| fold(c) == c) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        out.push(fold(c));
    }
    Cow::Owned(out)
}
