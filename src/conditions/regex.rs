//! A small backtracking regular-expression engine for `$regex` conditions.
//!
//! Patterns use JavaScript syntax without flags (the non-`u`, Annex B dialect GrowthBook's JS SDK
//! sees through `new RegExp(pattern)`): literals, `.`, `^ $`, `\b \B`, classes `[a-z] [^...]`,
//! escapes `\d \w \s \D \W \S \t \n \r \v \f \0 \xHH \uHHHH \cX` and identity escapes such as
//! `\.`, groups `( )`, `(?: )` and `(?<name> )` (captures are not recorded), alternation `|`, and
//! quantifiers `* + ? {m} {m,} {m,n}` with their lazy `?` forms. Lookaround and backreferences are
//! rejected when the pattern is compiled.
//!
//! A pattern is parsed once, when the condition is compiled, into a small instruction program.
//! Matching never recurses: it keeps an explicit backtrack stack, remembers failed
//! (instruction, position) states in a bitset when that fits in [`MEMO_BITS`] (which makes a test
//! linear in pattern size times text length), and stops after [`MAX_STEPS`] steps, in which case
//! the text does not match.
//!
//! Text is matched by Unicode scalar value, not by UTF-16 code unit as in JS; this only differs
//! for characters outside the Basic Multilingual Plane.

mod parse;
#[cfg(test)]
mod tests;

use self::parse::Ast;
use core::fmt;

/// Deepest nesting of groups a pattern may have.
pub const MAX_NESTING: usize = 32;
/// Largest compiled program, in instructions (counted quantifiers are expanded).
pub const MAX_INSTS: usize = 4096;
/// Steps one [`Regex::is_match`] call may take before it gives up (and reports no match).
pub const MAX_STEPS: u32 = 1_000_000;
/// Largest visited-state bitset (instructions x text positions) a match may allocate.
pub const MEMO_BITS: usize = 1 << 21;

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
        write!(f, "{} at offset {}", self.message, self.offset)
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    prog: Vec<Inst>,
    sets: Vec<Set>,
    regs: usize,
    anchored: bool,
}

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

#[derive(Debug, Clone, Copy)]
enum Inst {
    Lit(char),
    Any,
    Set(usize),
    Start,
    End,
    WordBoundary(bool),
    /// Try the first target, and on failure the second.
    Split(usize, usize),
    Jmp(usize),
    /// Records the position at the start of a loop iteration.
    Mark(usize),
    /// Fails when the loop iteration begun at the matching `Mark` consumed nothing.
    Progress(usize),
    Match,
}

enum Frame {
    Alt(usize, usize),
    Reg(usize, usize),
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_line_terminator(c: char) -> bool {
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

struct Compiler {
    prog: Vec<Inst>,
    regs: usize,
}

const TOO_LARGE: RegexError = RegexError {
    offset: 0,
    message: "pattern too large",
};

impl Compiler {
    fn emit(&mut self, inst: Inst) -> Result<usize, RegexError> {
        if self.prog.len() >= MAX_INSTS {
            return Err(TOO_LARGE);
        }
        self.prog.push(inst);
        Ok(self.prog.len() - 1)
    }

    fn patch(&mut self, at: usize, inst: Inst) {
        if let Some(slot) = self.prog.get_mut(at) {
            *slot = inst;
        }
    }

    fn split(&mut self, at: usize, body: usize, exit: usize, greedy: bool) {
        self.patch(
            at,
            if greedy {
                Inst::Split(body, exit)
            } else {
                Inst::Split(exit, body)
            },
        );
    }

    fn compile(&mut self, ast: &Ast) -> Result<(), RegexError> {
        match ast {
            Ast::Lit(c) => self.emit(Inst::Lit(*c)).map(drop),
            Ast::Any => self.emit(Inst::Any).map(drop),
            Ast::Set(i) => self.emit(Inst::Set(*i)).map(drop),
            Ast::Start => self.emit(Inst::Start).map(drop),
            Ast::End => self.emit(Inst::End).map(drop),
            Ast::WordBoundary(neg) => self.emit(Inst::WordBoundary(*neg)).map(drop),
            Ast::Concat(items) => items.iter().try_for_each(|a| self.compile(a)),
            Ast::Alt(alts) => {
                let mut jumps = Vec::new();
                for (i, a) in alts.iter().enumerate() {
                    if i + 1 == alts.len() {
                        self.compile(a)?;
                        break;
                    }
                    let split = self.emit(Inst::Split(0, 0))?;
                    self.compile(a)?;
                    jumps.push(self.emit(Inst::Jmp(0))?);
                    let next = self.prog.len();
                    self.patch(split, Inst::Split(split + 1, next));
                }
                let end = self.prog.len();
                for j in jumps {
                    self.patch(j, Inst::Jmp(end));
                }
                Ok(())
            }
            Ast::Repeat(body, min, max, greedy) => {
                for _ in 0..*min {
                    let before = self.prog.len();
                    self.compile(body)?;
                    if self.prog.len() == before {
                        return Ok(()); // an empty body: repeating it changes nothing
                    }
                }
                match max {
                    None => {
                        let reg = self.regs;
                        self.regs += 1;
                        let head = self.emit(Inst::Split(0, 0))?;
                        self.emit(Inst::Mark(reg))?;
                        self.compile(body)?;
                        self.emit(Inst::Progress(reg))?;
                        self.emit(Inst::Jmp(head))?;
                        let exit = self.prog.len();
                        self.split(head, head + 1, exit, *greedy);
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.emit(Inst::Split(0, 0))?);
                            self.compile(body)?;
                        }
                        let exit = self.prog.len();
                        for s in splits {
                            self.split(s, s + 1, exit, *greedy);
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

impl Regex {
    /// Parses and compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        let (ast, sets) = parse::parse(pattern)?;
        let mut c = Compiler {
            prog: Vec::new(),
            regs: 0,
        };
        c.compile(&ast)?;
        c.emit(Inst::Match)?;
        let anchored = matches!(c.prog.first(), Some(Inst::Start));
        Ok(Regex {
            prog: c.prog,
            sets,
            regs: c.regs,
            anchored,
        })
    }

    /// `true` when the pattern matches somewhere in `text` (JS `RegExp.prototype.test`).
    /// Returns `false` if the step budget runs out.
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let width = chars.len() + 1;
        let bits = self.prog.len().saturating_mul(width);
        let mut memo = (bits <= MEMO_BITS).then(|| vec![0u64; bits.div_ceil(64)]);
        let mut regs = vec![usize::MAX; self.regs];
        let mut stack = Vec::new();
        let mut steps = MAX_STEPS;
        let last = if self.anchored { 0 } else { chars.len() };
        for start in 0..=last {
            match self.run(&chars, start, &mut memo, &mut regs, &mut stack, &mut steps) {
                Some(true) => return true,
                Some(false) => {}
                None => return false,
            }
        }
        false
    }

    /// One anchored attempt from `start`; `None` when the step budget is exhausted.
    fn run(
        &self,
        chars: &[char],
        start: usize,
        memo: &mut Option<Vec<u64>>,
        regs: &mut [usize],
        stack: &mut Vec<Frame>,
        steps: &mut u32,
    ) -> Option<bool> {
        stack.clear();
        let width = chars.len() + 1;
        let (mut pc, mut pos) = (0usize, start);
        loop {
            *steps = steps.checked_sub(1)?;
            let mut ok = true;
            if let Some(m) = memo.as_mut() {
                let bit = pc * width + pos;
                if let Some(word) = m.get_mut(bit / 64) {
                    let mask = 1u64 << (bit % 64);
                    ok = *word & mask == 0;
                    *word |= mask;
                }
            }
            let cur = chars.get(pos).copied();
            if ok {
                ok = match self.prog.get(pc) {
                    None => false,
                    Some(Inst::Match) => return Some(true),
                    Some(Inst::Lit(c)) => {
                        (pc, pos) = (pc + 1, pos + 1);
                        cur == Some(*c)
                    }
                    Some(Inst::Any) => {
                        (pc, pos) = (pc + 1, pos + 1);
                        cur.is_some_and(|c| !is_line_terminator(c))
                    }
                    Some(Inst::Set(i)) => {
                        (pc, pos) = (pc + 1, pos + 1);
                        match (cur, self.sets.get(*i)) {
                            (Some(c), Some(set)) => {
                                set.items.iter().any(|it| it.matches(c)) != set.negated
                            }
                            _ => false,
                        }
                    }
                    Some(Inst::Start) => {
                        pc += 1;
                        pos == 0
                    }
                    Some(Inst::End) => {
                        pc += 1;
                        pos == chars.len()
                    }
                    Some(Inst::WordBoundary(neg)) => {
                        pc += 1;
                        let before = pos > 0 && chars.get(pos - 1).is_some_and(|c| is_word(*c));
                        (before != cur.is_some_and(is_word)) != *neg
                    }
                    Some(Inst::Split(a, b)) => {
                        stack.push(Frame::Alt(*b, pos));
                        pc = *a;
                        continue;
                    }
                    Some(Inst::Jmp(a)) => {
                        pc = *a;
                        continue;
                    }
                    Some(Inst::Mark(r)) => {
                        pc += 1;
                        if memo.is_none() {
                            if let Some(slot) = regs.get_mut(*r) {
                                stack.push(Frame::Reg(*r, *slot));
                                *slot = pos;
                            }
                        }
                        continue;
                    }
                    Some(Inst::Progress(r)) => {
                        pc += 1;
                        // With the memo, an empty iteration revisits the loop head and is pruned.
                        memo.is_some() || regs.get(*r) != Some(&pos)
                    }
                };
                if ok {
                    continue;
                }
            }
            loop {
                match stack.pop() {
                    None => return Some(false),
                    Some(Frame::Alt(p, s)) => {
                        pc = p;
                        pos = s;
                        break;
                    }
                    Some(Frame::Reg(r, old)) => {
                        if let Some(slot) = regs.get_mut(r) {
                            *slot = old;
                        }
                    }
                }
            }
        }
    }
}
