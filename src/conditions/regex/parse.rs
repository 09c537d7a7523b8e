//! The pattern parser: JavaScript (non-`u`, Annex B) syntax to an [`Ast`].

use super::{is_word, Item, RegexError, Set, MAX_NESTING};

#[derive(Debug, Clone)]
pub(super) enum Ast {
    Lit(char),
    Any,
    Set(usize),
    Start,
    End,
    WordBoundary(bool),
    Concat(Vec<Ast>),
    Alt(Vec<Ast>),
    Repeat(Box<Ast>, u32, Option<u32>, bool),
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    sets: Vec<Set>,
}

enum ClassAtom {
    Char(char),
    Item(Item),
}

impl Parser {
    fn err<T>(&self, message: &'static str) -> Result<T, RegexError> {
        Err(RegexError {
            offset: self.pos,
            message,
        })
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }
    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn parse_alt(&mut self) -> Result<Ast, RegexError> {
        let mut alts = vec![self.parse_concat()?];
        while self.eat('|') {
            alts.push(self.parse_concat()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Ast::Concat(Vec::new()))
        } else {
            Ast::Alt(alts)
        })
    }

    fn parse_concat(&mut self) -> Result<Ast, RegexError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let (atom, quantifiable) = self.parse_atom()?;
            match self.parse_quantifier()? {
                None => items.push(atom),
                Some(_) if !quantifiable => return self.err("nothing to repeat"),
                Some((min, max)) => {
                    let greedy = !self.eat('?');
                    items.push(Ast::Repeat(Box::new(atom), min, max, greedy));
                }
            }
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Ast::Concat(Vec::new()))
        } else {
            Ast::Concat(items)
        })
    }

    /// `{m}`, `{m,}` or `{m,n}` at the current position, without consuming it unless valid.
    fn brace_quantifier(&mut self) -> Result<Option<(u32, Option<u32>)>, RegexError> {
        let start = self.pos;
        if !self.eat('{') {
            return Ok(None);
        }
        let min = self.number();
        // `None`: not a quantifier; `Some(None)`: no upper bound.
        let max = match (self.eat(','), self.peek()) {
            (true, Some('}')) => Some(None),
            (true, _) => self.number().map(Some),
            (false, _) => min.map(Some),
        };
        match (min, max) {
            (Some(lo), Some(hi)) if self.eat('}') => {
                if hi.is_some_and(|hi| hi < lo) {
                    return self.err("numbers out of order in {} quantifier");
                }
                Ok(Some((lo, hi)))
            }
            _ => {
                self.pos = start;
                Ok(None)
            }
        }
    }

    fn number(&mut self) -> Option<u32> {
        let mut n: Option<u32> = None;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            self.pos += 1;
            n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d));
        }
        n
    }

    fn parse_quantifier(&mut self) -> Result<Option<(u32, Option<u32>)>, RegexError> {
        let q = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => return self.brace_quantifier(),
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(q))
    }

    fn set(&mut self, negated: bool, items: Vec<Item>) -> Ast {
        self.sets.push(Set { negated, items });
        Ast::Set(self.sets.len() - 1)
    }

    /// An atom and whether a quantifier may follow it.
    fn parse_atom(&mut self) -> Result<(Ast, bool), RegexError> {
        let Some(c) = self.next() else {
            return self.err("unexpected end of pattern");
        };
        let atom = match c {
            '*' | '+' | '?' => {
                self.pos -= 1;
                return self.err("nothing to repeat");
            }
            '{' => {
                self.pos -= 1;
                if self.brace_quantifier()?.is_some() {
                    return self.err("nothing to repeat");
                }
                self.pos += 1;
                Ast::Lit('{')
            }
            '.' => Ast::Any,
            '^' => return Ok((Ast::Start, false)),
            '$' => return Ok((Ast::End, false)),
            '(' => self.parse_group()?,
            '[' => self.parse_class()?,
            '\\' => return self.parse_escape(),
            c => Ast::Lit(c),
        };
        Ok((atom, true))
    }

    fn parse_group(&mut self) -> Result<Ast, RegexError> {
        if self.depth >= MAX_NESTING {
            return self.err("groups nested too deeply");
        }
        if self.eat('?') {
            match self.next() {
                Some(':') => {}
                Some('=') | Some('!') => return self.err("lookahead assertions are not supported"),
                Some('<') if matches!(self.peek(), Some('=') | Some('!')) => {
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
        let inner = self.parse_alt()?;
        self.depth -= 1;
        if !self.eat(')') {
            return self.err("unterminated group");
        }
        Ok(inner)
    }

    fn parse_escape(&mut self) -> Result<(Ast, bool), RegexError> {
        let Some(c) = self.next() else {
            return self.err("\\ at end of pattern");
        };
        let atom = match c {
            'b' => return Ok((Ast::WordBoundary(false), false)),
            'B' => return Ok((Ast::WordBoundary(true), false)),
            '1'..='9' => return self.err("backreferences are not supported"),
            'k' if self.peek() == Some('<') => return self.err("backreferences are not supported"),
            _ => match self.class_escape(c)? {
                ClassAtom::Item(item) => self.set(false, vec![item]),
                ClassAtom::Char(ch) => Ast::Lit(ch),
            },
        };
        Ok((atom, true))
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
    fn class_escape(&mut self, c: char) -> Result<ClassAtom, RegexError> {
        let ch = match c {
            'd' | 'D' => return Ok(ClassAtom::Item(Item::Digit(c == 'D'))),
            'w' | 'W' => return Ok(ClassAtom::Item(Item::Word(c == 'W'))),
            's' | 'S' => return Ok(ClassAtom::Item(Item::Space(c == 'S'))),
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
                        _ => return self.err("lone surrogate escapes are not supported"),
                    }
                }
                Some(v) => match char::from_u32(v) {
                    Some(ch) => ch,
                    None => return self.err("lone surrogate escapes are not supported"),
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
        Ok(ClassAtom::Char(ch))
    }

    fn class_atom(&mut self, c: char) -> Result<ClassAtom, RegexError> {
        if c != '\\' {
            return Ok(ClassAtom::Char(c));
        }
        match self.next() {
            None => self.err("\\ at end of pattern"),
            Some('b') => Ok(ClassAtom::Char('\u{8}')),
            Some(e) => self.class_escape(e),
        }
    }

    fn parse_class(&mut self) -> Result<Ast, RegexError> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        loop {
            let Some(c) = self.next() else {
                return self.err("unterminated character class");
            };
            if c == ']' {
                break;
            }
            let a = self.class_atom(c)?;
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|n| n != ']') {
                self.pos += 1;
                let Some(c2) = self.next() else {
                    return self.err("unterminated character class");
                };
                match (a, self.class_atom(c2)?) {
                    (ClassAtom::Char(lo), ClassAtom::Char(hi)) if lo > hi => {
                        return self.err("range out of order in character class")
                    }
                    (ClassAtom::Char(lo), ClassAtom::Char(hi)) => items.push(Item::Range(lo, hi)),
                    (a, b) => {
                        for atom in [a, ClassAtom::Char('-'), b] {
                            items.push(match atom {
                                ClassAtom::Char(ch) => Item::Range(ch, ch),
                                ClassAtom::Item(item) => item,
                            });
                        }
                    }
                }
            } else {
                items.push(match a {
                    ClassAtom::Char(ch) => Item::Range(ch, ch),
                    ClassAtom::Item(item) => item,
                });
            }
        }
        Ok(self.set(negated, items))
    }
}

/// Parses a whole pattern into its syntax tree and the character sets it uses.
pub(super) fn parse(pattern: &str) -> Result<(Ast, Vec<Set>), RegexError> {
    let mut p = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
        depth: 0,
        sets: Vec::new(),
    };
    let ast = p.parse_alt()?;
    if p.pos < p.chars.len() {
        return p.err("unmatched )");
    }
    Ok((ast, p.sets))
}
