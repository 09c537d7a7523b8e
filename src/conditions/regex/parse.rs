//! The `$regex` pattern parser: JavaScript syntax in, the instruction program of
//! [`super::Regex`] out, in one pass (see the parent module for the dialect and the limits).

use super::*;

const UNTERMINATED_CLASS: &str = "unterminated character class";
const BACKREFERENCE: &str = "backreferences are not supported";
const BACKSLASH_AT_END: &str = "\\ at end of pattern";
const NOTHING_TO_REPEAT: &str = "nothing to repeat";
const LONE_SURROGATE: &str = "lone surrogate escapes are not supported";
/// Most named groups a pattern may have (each new name is compared with the earlier ones).
const MAX_NAMES: usize = 256;

/// Where a named group is: the disjunctions around it, each as (disjunction, alternative).
type Alternatives = Vec<(u32, u32)>;

/// Whether groups at `a` and `b` might both take part in a match (ES2025's
/// MightBothParticipate): yes, unless some disjunction holds them in different alternatives.
fn might_both_participate(a: &[(u32, u32)], b: &[(u32, u32)]) -> bool {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.0 != y.0;
        }
    }
    true
}

/// Parses and compiles in one pass.
pub(super) struct Parser<'p> {
    pub(super) src: &'p str,
    /// Byte offset in `src`.
    pub(super) pos: usize,
    pub(super) depth: usize,
    pub(super) prog: Vec<Inst>,
    pub(super) sets: Vec<Set>,
    /// Case-insensitive: literals are emitted folded.
    pub(super) folded: bool,
    /// The disjunctions the parser is in, innermost last.
    pub(super) alts: Alternatives,
    /// Disjunctions begun so far (their ids).
    pub(super) disjunctions: u32,
    /// Named groups so far, and where each is.
    pub(super) names: Vec<(&'p str, Alternatives)>,
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
    pub(super) fn err<T>(&self, message: &'static str) -> Result<T, RegexError> {
        Err(RegexError {
            offset: char_count(self.src, self.pos),
            message,
        })
    }
    /// The byte `k` bytes ahead, as a char: exact for ASCII, which is all that lookahead
    /// compares with (a byte of a multi-byte character never equals an ASCII one).
    fn peek_at(&self, k: usize) -> Option<char> {
        self.src.as_bytes().get(self.pos + k).map(|b| char::from(*b))
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

    pub(super) fn emit(&mut self, inst: Inst) -> Result<(), RegexError> {
        self.room(1)?;
        self.prog.push(match inst {
            Inst::Lit(c) if self.folded => Inst::Lit(fold(c)),
            other => other,
        });
        Ok(())
    }

    /// `a|b|...` up to an unmatched `)` or the end: each alternative but the last becomes
    /// `Split(next, past it) <code> Jmp(end)`.
    pub(super) fn alt(&mut self) -> Result<(), RegexError> {
        let mut start = self.prog.len();
        let mut jumps = Vec::new();
        self.alts.push((self.disjunctions, 0));
        self.disjunctions += 1;
        loop {
            self.concat()?;
            if !self.eat('|') {
                break;
            }
            if let Some(last) = self.alts.last_mut() {
                last.1 += 1;
            }
            self.room(2)?;
            let len = self.prog.len();
            self.prog.insert(start, Inst::Split(1, (len + 2 - start) as isize));
            jumps.push(len + 1);
            self.prog.push(Inst::Jmp(0));
            start = len + 2;
        }
        self.alts.pop();
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
    fn repeat(&mut self, start: usize, min: u32, max: Option<u32>, greedy: bool) -> Result<(), RegexError> {
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
            self.prog.push(split(greedy, 1, ((k + 1) * (len + 1)) as isize));
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
                    let name = self.src.get(start..self.pos).unwrap_or_default();
                    if self.pos == start || !self.eat('>') {
                        return self.err("invalid group name");
                    }
                    if self.names.len() >= MAX_NAMES {
                        return self.err("too many named groups");
                    }
                    let here = &self.alts;
                    if self
                        .names
                        .iter()
                        .any(|(n, at)| *n == name && might_both_participate(at, here))
                    {
                        return self.err("duplicate group name");
                    }
                    self.names.push((name, here.clone()));
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
                Some(hi @ 0xD800..=0xDBFF) if self.peek() == Some('\\') && self.peek_at(1) == Some('u') => {
                    self.pos += 2;
                    match self.hex(4) {
                        Some(lo @ 0xDC00..=0xDFFF) => {
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).unwrap_or('u')
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
