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
//! (instruction, position) states in a bitset, so that no state runs twice: a test takes at most
//! about two steps per bit, linear in pattern size times text length, and empty loop iterations
//! end (they revisit the loop head). A text for which the bitset would exceed [`MEMO_BITS`] does
//! not match. Short texts are matched without allocating.
//!
//! Text is matched by Unicode scalar value, not by UTF-16 code unit as in JS; this only differs
//! for characters outside the Basic Multilingual Plane. Positions are byte offsets.

#[cfg(test)]
mod tests;

use core::fmt;

/// Deepest nesting of groups a pattern may have.
pub const MAX_NESTING: usize = 32;
/// Largest compiled program, in instructions (counted quantifiers are expanded).
pub const MAX_INSTS: usize = 4096;
/// Largest visited-state bitset (instructions x text positions) a match may use; this bounds
/// its work too.
pub const MEMO_BITS: usize = 1 << 20;

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
    sets: Vec<Set>,
    anchored: bool,
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

const TOO_LARGE: RegexError = RegexError {
    offset: 0,
    message: "pattern too large",
};
const UNTERMINATED_CLASS: &str = "unterminated character class";
const BACKREFERENCE: &str = "backreferences are not supported";
const BACKSLASH_AT_END: &str = "\\ at end of pattern";
const NOTHING_TO_REPEAT: &str = "nothing to repeat";
const LONE_SURROGATE: &str = "lone surrogate escapes are not supported";

/// Parses and compiles in one pass.
struct Parser<'p> {
    src: &'p str,
    /// Byte offset in `src`.
    pos: usize,
    depth: usize,
    prog: Vec<Inst>,
    sets: Vec<Set>,
}

/// A quantifier's `(min, max)`, `None` for no upper bound.
type Quantifier = (u32, Option<u32>);

fn split(greedy: bool, body: isize, exit: isize) -> Inst {
    if greedy {
        Inst::Split(body, exit)
    } else {
        Inst::Split(exit, body)
    }
}

impl Parser<'_> {
    fn err<T>(&self, message: &'static str) -> Result<T, RegexError> {
        Err(RegexError {
            offset: char_count(self.src, self.pos),
            message,
        })
    }
    /// The byte `k` bytes ahead, as a char: exact for ASCII, which is all that lookahead
    /// compares with (a byte of a multi-byte character never equals an ASCII one).
    fn peek_at(&self, k: usize) -> Option<char> {
        self.src
            .as_bytes()
            .get(self.pos + k)
            .map(|b| char::from(*b))
    }
    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }
    fn next(&mut self) -> Option<char> {
        let c = char_at(self.src, self.pos)?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Fails unless `n` more instructions fit.
    fn room(&self, n: usize) -> Result<(), RegexError> {
        if n > MAX_INSTS - self.prog.len().min(MAX_INSTS) {
            return Err(TOO_LARGE);
        }
        Ok(())
    }

    /// Removes and returns the code from `start`.
    fn take(&mut self, start: usize) -> Vec<Inst> {
        let code = self.prog.get(start..).unwrap_or_default().to_vec();
        self.prog.truncate(start);
        code
    }

    fn emit(&mut self, inst: Inst) -> Result<(), RegexError> {
        self.room(1)?;
        self.prog.push(inst);
        Ok(())
    }

    /// `a|b|...` up to an unmatched `)` or the end: each alternative but the last becomes
    /// `Split(next, past it) <code> Jmp(end)`.
    fn alt(&mut self) -> Result<(), RegexError> {
        let mut start = self.prog.len();
        let mut jumps = Vec::new();
        loop {
            self.concat()?;
            if !self.eat('|') {
                break;
            }
            self.room(2)?;
            let len = self.prog.len();
            self.prog
                .insert(start, Inst::Split(1, (len + 2 - start) as isize));
            jumps.push(len + 1);
            self.prog.push(Inst::Jmp(0));
            start = len + 2;
        }
        let end = self.prog.len();
        for j in jumps {
            if let Some(inst) = self.prog.get_mut(j) {
                *inst = Inst::Jmp((end - j) as isize);
            }
        }
        Ok(())
    }

    fn concat(&mut self) -> Result<(), RegexError> {
        while let Some(c) = self.next() {
            if c == '|' || c == ')' {
                self.pos -= 1;
                break;
            }
            let start = self.prog.len();
            let quantifiable = self.atom(c)?;
            let q = match self.peek() {
                Some('*') => Some((0, None)),
                Some('+') => Some((1, None)),
                Some('?') => Some((0, Some(1))),
                _ => None,
            };
            let (min, max) = match q {
                Some(q) => {
                    self.pos += 1;
                    q
                }
                None => match self.brace()? {
                    Some(q) => q,
                    None => continue,
                },
            };
            if !quantifiable {
                return self.err(NOTHING_TO_REPEAT);
            }
            let greedy = !self.eat('?');
            self.repeat(start, min, max, greedy)?;
        }
        Ok(())
    }

    /// Repeats the code from `start` (the last atom): `min` copies, then either a loop
    /// `Split <body> Jmp` or `max - min` optional copies `Split <body>`.
    fn repeat(
        &mut self,
        start: usize,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    ) -> Result<(), RegexError> {
        let body = self.take(start);
        let len = body.len();
        if len == 0 {
            return Ok(()); // an empty body: repeating it changes nothing
        }
        let min = min as usize;
        let optional = max.map_or(0, |max| max.saturating_sub(min as u32) as usize);
        let looped = if max.is_none() { len + 2 } else { 0 };
        let needed = len
            .saturating_mul(min)
            .saturating_add((len + 1).saturating_mul(optional))
            .saturating_add(looped);
        self.room(needed)?;
        for _ in 0..min {
            self.prog.extend_from_slice(&body);
        }
        if max.is_none() {
            let len = len as isize;
            self.prog.push(split(greedy, 1, len + 2));
            self.prog.extend_from_slice(&body);
            self.prog.push(Inst::Jmp(-(len + 1)));
        }
        for k in (0..optional).rev() {
            self.prog
                .push(split(greedy, 1, ((k + 1) * (len + 1)) as isize));
            self.prog.extend_from_slice(&body);
        }
        Ok(())
    }

    /// `{m}`, `{m,}` or `{m,n}` at the current position, consumed only when valid.
    fn brace(&mut self) -> Result<Option<Quantifier>, RegexError> {
        let start = self.pos;
        if self.eat('{') {
            if let Some(lo) = self.number() {
                let hi = match (self.eat(','), self.peek()) {
                    (true, Some('}')) => Some(None),
                    (true, _) => self.number().map(Some),
                    (false, _) => Some(Some(lo)),
                };
                if let Some(hi) = hi {
                    if self.eat('}') {
                        if hi.is_some_and(|hi| hi < lo) {
                            return self.err("numbers out of order in {} quantifier");
                        }
                        return Ok(Some((lo, hi)));
                    }
                }
            }
        }
        self.pos = start;
        Ok(None)
    }

    fn number(&mut self) -> Option<u32> {
        let mut n: Option<u32> = None;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            self.pos += 1;
            n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d));
        }
        n
    }

    fn set(&mut self, negated: bool, items: Vec<Item>) -> Inst {
        self.sets.push(Set { negated, items });
        Inst::Set(self.sets.len() - 1)
    }

    /// Compiles the atom starting with `c` (consumed); returns whether a quantifier may follow.
    fn atom(&mut self, c: char) -> Result<bool, RegexError> {
        let inst = match c {
            '*' | '+' | '?' => {
                self.pos -= 1;
                return self.err(NOTHING_TO_REPEAT);
            }
            '{' => {
                self.pos -= 1;
                if self.brace()?.is_some() {
                    return self.err(NOTHING_TO_REPEAT);
                }
                self.pos += 1;
                Inst::Lit('{')
            }
            '.' => Inst::Any,
            '^' | '$' => {
                self.emit(if c == '^' { Inst::Start } else { Inst::End })?;
                return Ok(false);
            }
            '(' => {
                self.group()?;
                return Ok(true);
            }
            '[' => self.class()?,
            '\\' => match self.next() {
                None => return self.err(BACKSLASH_AT_END),
                Some(e @ ('b' | 'B')) => {
                    self.emit(Inst::WordBoundary(e == 'B'))?;
                    return Ok(false);
                }
                Some('1'..='9') => return self.err(BACKREFERENCE),
                Some('k') if self.peek() == Some('<') => return self.err(BACKREFERENCE),
                Some(e) => match self.class_escape(e)? {
                    Item::Range(ch, _) => Inst::Lit(ch),
                    item => self.set(false, vec![item]),
                },
            },
            c => Inst::Lit(c),
        };
        self.emit(inst)?;
        Ok(true)
    }

    fn group(&mut self) -> Result<(), RegexError> {
        if self.depth >= MAX_NESTING {
            return self.err("groups nested too deeply");
        }
        if self.eat('?') {
            match self.next() {
                Some(':') => {}
                Some('=' | '!') => return self.err("lookahead assertions are not supported"),
                Some('<') if matches!(self.peek(), Some('=' | '!')) => {
                    return self.err("lookbehind assertions are not supported")
                }
                Some('<') => {
                    let start = self.pos;
                    while self.peek().is_some_and(|c| is_word(c) || c == '$') {
                        self.pos += 1;
                    }
                    if self.pos == start || !self.eat('>') {
                        return self.err("invalid group name");
                    }
                }
                _ => return self.err("invalid group"),
            }
        }
        self.depth += 1;
        self.alt()?;
        self.depth -= 1;
        if !self.eat(')') {
            return self.err("unterminated group");
        }
        Ok(())
    }

    fn hex(&mut self, digits: usize) -> Option<u32> {
        let mut v = 0u32;
        for k in 0..digits {
            v = v * 16 + self.peek_at(k)?.to_digit(16)?;
        }
        self.pos += digits;
        Some(v)
    }

    /// The escape whose first character `c` was just consumed (shared by atoms and classes).
    fn class_escape(&mut self, c: char) -> Result<Item, RegexError> {
        let ch = match c {
            'd' | 'D' => return Ok(Item::Digit(c == 'D')),
            'w' | 'W' => return Ok(Item::Word(c == 'W')),
            's' | 'S' => return Ok(Item::Space(c == 'S')),
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            'f' => '\u{c}',
            '0'..='7' => {
                let mut v = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) if v * 8 + d <= 0o377 => {
                            v = v * 8 + d;
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                char::from_u32(v).unwrap_or('\0')
            }
            'x' => self.hex(2).and_then(char::from_u32).unwrap_or('x'),
            'u' => match self.hex(4) {
                None => 'u',
                Some(hi @ 0xD800..=0xDBFF)
                    if self.peek() == Some('\\') && self.peek_at(1) == Some('u') =>
                {
                    self.pos += 2;
                    match self.hex(4) {
                        Some(lo @ 0xDC00..=0xDFFF) => {
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                .unwrap_or('u')
                        }
                        _ => return self.err(LONE_SURROGATE),
                    }
                }
                Some(v) => match char::from_u32(v) {
                    Some(ch) => ch,
                    None => return self.err(LONE_SURROGATE),
                },
            },
            'c' => match self.peek() {
                Some(l) if l.is_ascii_alphabetic() => {
                    self.pos += 1;
                    char::from_u32(l as u32 % 32).unwrap_or('c')
                }
                // Annex B: a `\c` not followed by a letter is a literal backslash.
                _ => {
                    self.pos -= 1;
                    '\\'
                }
            },
            other => other,
        };
        Ok(Item::Range(ch, ch))
    }

    /// A class member starting with `c` (consumed).
    fn class_atom(&mut self, c: char) -> Result<Item, RegexError> {
        if c != '\\' {
            return Ok(Item::Range(c, c));
        }
        match self.next() {
            None => self.err(BACKSLASH_AT_END),
            Some('b') => Ok(Item::Range('\u{8}', '\u{8}')),
            Some(e) => self.class_escape(e),
        }
    }

    /// A class after its `[`.
    fn class(&mut self) -> Result<Inst, RegexError> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        loop {
            let Some(c) = self.next() else {
                return self.err(UNTERMINATED_CLASS);
            };
            if c == ']' {
                break;
            }
            let a = self.class_atom(c)?;
            if self.peek() != Some('-') || matches!(self.peek_at(1), None | Some(']')) {
                items.push(a);
                continue;
            }
            self.pos += 1;
            let Some(c) = self.next() else {
                return self.err(UNTERMINATED_CLASS);
            };
            match (a, self.class_atom(c)?) {
                (Item::Range(lo, _), Item::Range(hi, _)) => {
                    if lo > hi {
                        return self.err("range out of order in character class");
                    }
                    items.push(Item::Range(lo, hi));
                }
                // Annex B: `[\d-x]` is `\d`, `-` and `x`.
                (a, b) => {
                    items.push(a);
                    items.push(Item::Range('-', '-'));
                    items.push(b);
                }
            }
        }
        Ok(self.set(negated, items))
    }
}

impl Regex {
    /// Parses and compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        let mut p = Parser {
            src: pattern,
            pos: 0,
            depth: 0,
            prog: Vec::new(),
            sets: Vec::new(),
        };
        p.alt()?;
        if p.pos < p.src.len() {
            return p.err("unmatched )");
        }
        p.emit(Inst::Match)?;
        Ok(Regex {
            anchored: matches!(p.prog.first(), Some(Inst::Start)),
            prog: p.prog,
            sets: p.sets,
        })
    }

    /// `true` when the pattern matches somewhere in `text` (JS `RegExp.prototype.test`).
    /// Returns `false` if the text is too long for the memo.
    pub fn is_match(&self, text: &str) -> bool {
        let width = text.len() + 1;
        let bits = self.prog.len().saturating_mul(width);
        if bits > MEMO_BITS {
            return false;
        }
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
            if self.run(text, start, memo, &mut stack) {
                return true;
            }
        }
        false
    }

    /// One anchored attempt from `start`.
    fn run(&self, text: &str, start: usize, memo: &mut [usize], stack: &mut Stack) -> bool {
        stack.clear();
        let width = text.len() + 1;
        let (mut pc, mut pos) = (0usize, start);
        loop {
            let mut ok = true;
            let bit = pc * width + pos;
            if let Some(word) = memo.get_mut(bit / WORD) {
                let mask = 1 << (bit % WORD);
                ok = *word & mask == 0;
                *word |= mask;
            }
            let cur = char_at(text, pos);
            let next = pos + cur.map_or(1, char::len_utf8);
            if ok {
                ok = match self.prog.get(pc) {
                    None => false,
                    Some(Inst::Match) => return true,
                    Some(Inst::Lit(c)) => {
                        (pc, pos) = (pc + 1, next);
                        cur == Some(*c)
                    }
                    Some(Inst::Any) => {
                        (pc, pos) = (pc + 1, next);
                        cur.is_some_and(|c| !is_line_terminator(c))
                    }
                    Some(Inst::Set(i)) => {
                        (pc, pos) = (pc + 1, next);
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
                        pos == text.len()
                    }
                    Some(Inst::WordBoundary(neg)) => {
                        pc += 1;
                        // A word character is ASCII, so the byte before tells.
                        let before = pos > 0
                            && (text.as_bytes().get(pos - 1))
                                .is_some_and(|b| is_word(char::from(*b)));
                        (before != cur.is_some_and(is_word)) != *neg
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
            }
            match stack.pop() {
                Some(frame) => (pc, pos) = frame,
                None => return false,
            }
        }
    }
}
