//! A small backtracking regular-expression engine for `$regex` conditions.
//!
//! Patterns use JavaScript syntax without flags (the non-`u`, Annex B dialect GrowthBook's JS SDK
//! sees through `new RegExp(pattern)`): literals, `.`, `^ $`, `\b \B`, classes `[a-z] [^...]`,
//! escapes `\d \w \s \D \W \S \t \n \r \v \f \0 \xHH \uHHHH \cX` and identity escapes such as
//! `\.`, groups `( )`, `(?: )` and `(?<name> )` (captures are not recorded), alternation `|`, and
//! quantifiers `* + ? {m} {m,} {m,n}` with their lazy `?` forms. Lookaround and backreferences are
//! rejected when the pattern is compiled.
//!
//! A pattern is compiled once, when the condition is compiled, in a single pass into a small
//! instruction program. Jumps are relative, so the code of an atom can be copied as it is to
//! expand a counted quantifier, and an instruction can be inserted in front of it.
//! Matching never recurses: it keeps an explicit backtrack stack and remembers visited
//! (instruction, position) states in a bitset, so that no state runs twice: a test visits at most
//! [`Regex::states`] = program size × (text length + 1) states, and empty loop iterations end
//! (they revisit the loop head). That bound is the pattern's cost (see `cost.rs`): a condition
//! only tests texts of at most [`MAX_TEXT`] bytes, and [`Regex::test`] refuses a longer one
//! with [`MatchLimit::TextTooLong`] instead of answering. Short texts are matched without
//! allocating.
//!
//! Text is matched by Unicode scalar value, not by UTF-16 code unit as in JS; this only differs
//! for characters outside the Basic Multilingual Plane. Positions are byte offsets.
//!
//! A case-insensitive pattern (`$regexi`, JS's `i` flag) compares characters after folding them
//! with the rule of `fold.rs`: a literal matches a text character with the same folded form, a
//! class matches when it contains some character with the text character's folded form.
//! `\w`, `\d`, `\s` and `\b` are unaffected, as in a non-Unicode JS pattern.

mod parse;
#[cfg(test)]
mod tests;

use super::fold::{any_variant, fold};
use parse::Parser;

use core::fmt;

/// Deepest nesting of groups a pattern may have.
pub const MAX_NESTING: usize = 32;
/// Largest compiled program, in instructions (counted quantifiers are expanded).
pub const MAX_INSTS: usize = 4096;
/// Longest text, in bytes of UTF-8, that a pattern is tested against; a longer one is an
/// evaluation error ([`MatchLimit::TextTooLong`]), never an answer.
pub const MAX_TEXT: usize = 512;

/// Why a test was not answered: the matcher's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchLimit {
    /// The text is longer than [`MAX_TEXT`] bytes.
    TextTooLong,
    /// The tests of one condition evaluation would visit more states than the condition's cost
    /// allows (texts of array elements under `$elemMatch` or `$all` add up).
    OverBudget,
}

/// Why a pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexError {
    /// Character offset in the pattern where the problem was found.
    pub offset: usize,
    /// What is wrong.
    pub message: &'static str,
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)?;
        f.write_str(" at offset ")?;
        f.write_str(&super::decimal(self.offset))
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    prog: Vec<Inst>,
    /// Per instruction: reachable from more than one place (a join), so its states are
    /// remembered. Any other state is reached only from its one predecessor state, which runs
    /// at most once, so it runs at most once too without a memo check.
    joins: Vec<bool>,
    sets: Vec<Set>,
    anchored: bool,
    /// Case-insensitive: literals are folded, text characters are folded before comparing.
    folded: bool,
}

/// A member of a character class: a range (a single character is `Range(c, c)`) or one of
/// `\d \w \s`, negated for `\D \W \S`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

#[derive(Debug, Clone)]
struct Set {
    negated: bool,
    items: Vec<Item>,
}

impl Set {
    /// Whether `c` is in the set; when `folded`, whether some character with `c`'s folded form is.
    fn contains(&self, c: char, folded: bool) -> bool {
        let hit = if folded {
            any_variant(c, |v| self.items.iter().any(|it| it.matches(v)))
        } else {
            self.items.iter().any(|it| it.matches(c))
        };
        hit != self.negated
    }
}

#[derive(Debug, Clone, Copy)]
enum Inst {
    Lit(char),
    Any,
    Set(usize),
    Start,
    End,
    WordBoundary(bool),
    /// Try `pc + first`, and on failure `pc + second`.
    Split(isize, isize),
    Jmp(isize),
    Match,
}

/// Bits in a memo word.
const WORD: usize = usize::BITS as usize;

/// A backtrack frame: `(pc, pos)` to resume at.
type Frame = (usize, usize);

/// Memo words a match keeps on the stack.
const SMALL: usize = 64;
/// Backtrack frames a match keeps on the stack.
const FRAMES: usize = 32;

/// The backtrack stack: in a fixed buffer, then (rarely) on the heap.
struct Stack<'a> {
    frames: &'a mut [Frame; FRAMES],
    len: usize,
    spill: Vec<Frame>,
}

impl Stack<'_> {
    fn push(&mut self, frame: Frame) {
        match self.frames.get_mut(self.len) {
            Some(slot) => {
                *slot = frame;
                self.len += 1;
            }
            None => self.spill.push(frame),
        }
    }

    fn pop(&mut self) -> Option<Frame> {
        if let Some(frame) = self.spill.pop() {
            return Some(frame);
        }
        self.len = self.len.checked_sub(1)?;
        self.frames.get(self.len).copied()
    }

    fn clear(&mut self) {
        self.len = 0;
        self.spill.clear();
    }
}

/// The character at byte offset `pos` (a character boundary).
fn char_at(s: &str, pos: usize) -> Option<char> {
    match s.as_bytes().get(pos) {
        Some(&b) if b.is_ascii() => Some(char::from(b)),
        Some(_) => s.get(pos..s.len())?.chars().next(),
        None => None,
    }
}

/// How many characters the first `pos` bytes of `s` hold.
fn char_count(s: &str, pos: usize) -> usize {
    let mut n = 0;
    for &b in s.as_bytes().iter().take(pos) {
        // Every byte but a continuation byte (0b10xx_xxxx) starts a character.
        if b & 0xC0 != 0x80 {
            n += 1;
        }
    }
    n
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub(crate) fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// JavaScript's `\s`: WhiteSpace and LineTerminator.
pub(crate) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
    ) || is_line_terminator(c)
}

impl Item {
    fn matches(self, c: char) -> bool {
        match self {
            Item::Range(lo, hi) => lo <= c && c <= hi,
            Item::Digit(neg) => c.is_ascii_digit() != neg,
            Item::Word(neg) => is_word(c) != neg,
            Item::Space(neg) => is_js_space(c) != neg,
        }
    }
}

/// Which instructions have more than one way in: the start (the first instruction), the fall
/// through from the one before, and the targets of jumps and splits.
fn joins(prog: &[Inst]) -> Vec<bool> {
    let mut ways = vec![0u8; prog.len()];
    let mut add = |pc: usize| {
        if let Some(n) = ways.get_mut(pc) {
            *n = n.saturating_add(1);
        }
    };
    add(0);
    for (pc, inst) in prog.iter().enumerate() {
        match inst {
            Inst::Split(a, b) => {
                add(pc.wrapping_add_signed(*a));
                add(pc.wrapping_add_signed(*b));
            }
            Inst::Jmp(a) => add(pc.wrapping_add_signed(*a)),
            Inst::Match => {}
            _ => add(pc + 1),
        }
    }
    ways.into_iter().map(|n| n > 1).collect()
}

const TOO_LARGE: RegexError = RegexError {
    offset: 0,
    message: "pattern too large",
};
impl Regex {
    /// Parses and compiles `pattern`, case-insensitive when `folded` (the `i` flag).
    pub fn new(pattern: &str, folded: bool) -> Result<Regex, RegexError> {
        let mut p = Parser {
            src: pattern,
            pos: 0,
            depth: 0,
            prog: Vec::new(),
            sets: Vec::new(),
            folded,
            alts: Vec::new(),
            disjunctions: 0,
            names: Vec::new(),
        };
        p.alt()?;
        if p.pos < p.src.len() {
            return p.err("unmatched )");
        }
        p.emit(Inst::Match)?;
        Ok(Regex {
            anchored: matches!(p.prog.first(), Some(Inst::Start)),
            joins: joins(&p.prog),
            prog: p.prog,
            sets: p.sets,
            folded,
        })
    }

    /// The most states a test of a text of `len` bytes visits: program size × (len + 1).
    pub fn states(&self, len: usize) -> u64 {
        (self.prog.len() as u64).saturating_mul(len as u64 + 1)
    }

    /// JS `RegExp.prototype.test` on a text of at most [`MAX_TEXT`] bytes; a longer text is
    /// [`MatchLimit::TextTooLong`], not an answer.
    pub fn test(&self, text: &str) -> Result<bool, MatchLimit> {
        if text.len() > MAX_TEXT {
            return Err(MatchLimit::TextTooLong);
        }
        Ok(self.is_match(text))
    }

    /// `true` when the pattern matches somewhere in `text`, whatever its length: the memo takes
    /// [`Regex::states`] bits. Conditions go through [`Regex::test`].
    pub(super) fn is_match(&self, text: &str) -> bool {
        self.search(text, &mut 0)
    }

    /// [`Regex::is_match`], counting the states it runs into `visits` (a state reached again
    /// at a join costs one memo check and is not run).
    pub(super) fn search(&self, text: &str, visits: &mut u64) -> bool {
        let width = text.len() + 1;
        let bits = self.prog.len().saturating_mul(width);
        let words = bits.div_ceil(WORD);
        let mut buf = [0usize; SMALL];
        let mut heap = if words > SMALL { vec![0; words] } else { Vec::new() };
        let memo = match buf.get_mut(..words) {
            Some(small) => small,
            None => &mut heap,
        };
        let mut frames = [(0, 0); FRAMES];
        let mut stack = Stack {
            frames: &mut frames,
            len: 0,
            spill: Vec::new(),
        };
        let last = if self.anchored { 0 } else { text.len() };
        for start in 0..last + 1 {
            if !text.is_char_boundary(start) {
                continue;
            }
            if self.run(text, start, memo, &mut stack, visits) {
                return true;
            }
        }
        false
    }

    /// One anchored attempt from `start`.
    fn run(&self, text: &str, start: usize, memo: &mut [usize], stack: &mut Stack, visits: &mut u64) -> bool {
        stack.clear();
        let width = text.len() + 1;
        let bytes = text.as_bytes();
        let (mut pc, mut pos) = (0usize, start);
        loop {
            let bit = pc * width + pos;
            let join = self.joins.get(pc).copied().unwrap_or(true);
            let fresh = match memo.get_mut(bit / WORD).filter(|_| join) {
                Some(word) => {
                    let mask = 1 << (bit % WORD);
                    let fresh = *word & mask == 0;
                    *word |= mask;
                    fresh
                }
                None => true,
            };
            *visits += u64::from(fresh);
            let ok = fresh
                && match self.prog.get(pc) {
                    None => false,
                    Some(Inst::Match) => return true,
                    Some(Inst::Lit(c)) => match bytes.get(pos) {
                        Some(&b) if b.is_ascii() && !self.folded => {
                            pc += 1;
                            pos += 1;
                            char::from(b) == *c
                        }
                        _ => {
                            let cur = char_at(text, pos);
                            (pc, pos) = (pc + 1, pos + cur.map_or(1, char::len_utf8));
                            match cur {
                                Some(x) if self.folded => fold(x) == *c,
                                x => x == Some(*c),
                            }
                        }
                    },
                    Some(Inst::Any) => {
                        let cur = char_at(text, pos);
                        (pc, pos) = (pc + 1, pos + cur.map_or(1, char::len_utf8));
                        cur.is_some_and(|c| !is_line_terminator(c))
                    }
                    Some(Inst::Set(i)) => {
                        let cur = char_at(text, pos);
                        (pc, pos) = (pc + 1, pos + cur.map_or(1, char::len_utf8));
                        match (cur, self.sets.get(*i)) {
                            (Some(c), Some(set)) => set.contains(c, self.folded),
                            _ => false,
                        }
                    }
                    Some(Inst::Start) => {
                        pc += 1;
                        pos == 0
                    }
                    Some(Inst::End) => {
                        pc += 1;
                        pos == text.len()
                    }
                    Some(Inst::WordBoundary(neg)) => {
                        pc += 1;
                        // A word character is ASCII, so the bytes on either side tell.
                        let word_at = |i: usize| bytes.get(i).is_some_and(|b| is_word(char::from(*b)));
                        let before = pos > 0 && word_at(pos - 1);
                        (before != word_at(pos)) != *neg
                    }
                    Some(Inst::Split(a, b)) => {
                        stack.push((pc.wrapping_add_signed(*b), pos));
                        pc = pc.wrapping_add_signed(*a);
                        continue;
                    }
                    Some(Inst::Jmp(a)) => {
                        pc = pc.wrapping_add_signed(*a);
                        continue;
                    }
                };
            if ok {
                continue;
            }
            match stack.pop() {
                Some(frame) => (pc, pos) = frame,
                None => return false,
            }
        }
    }
}
