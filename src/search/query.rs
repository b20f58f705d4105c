//! The query language: Lucene-style syntax parsed once into a `Query` tree.
//! This module knows only syntax; `search::plan` checks field names against
//! an index's settings, and each engine executes (or translates) the tree.
//!
//! Syntax: words (every word must match), `"phrases"`, `field:term`,
//! `field:"phrase"`, `field:(a OR b)`, `AND` / `OR` / `NOT` (upper case),
//! `+term` (required, same as a plain term), `-term` (must not match),
//! parentheses, ranges `field:[a TO b]` / `{a TO b}` / `*` for open ends,
//! fuzzy `term~1`, boosts `term^2`. The last word of the input, when the
//! input does not end in whitespace, matches as a prefix (search-as-you-type).

/// Longest accepted query text, in characters.
pub const MAX_QUERY_CHARS: usize = 512;
/// Most terms (words, phrases, ranges) in one query.
pub const MAX_TERMS: usize = 32;
/// Deepest nesting of parentheses.
pub const MAX_DEPTH: usize = 16;

#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// Every child must match (implicit between terms, `AND`, `+`).
    And(Vec<Query>),
    /// At least one child must match.
    Or(Vec<Query>),
    /// The child must not match (`NOT x`, `-x`).
    Not(Box<Query>),
    Term(Term),
    Range(Range),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// `field:` before the term, or inherited from `field:( ... )`.
    pub field: Option<String>,
    /// The text as typed, without quotes and with escapes resolved.
    pub text: String,
    /// Written as `"..."`: the words must appear together, in order.
    pub phrase: bool,
    /// `~N`: edits tolerated (0..=2); a bare `~` means 2.
    pub fuzzy: Option<u8>,
    /// `^N`: relevance weight (> 0).
    pub boost: Option<f32>,
    /// The last word of the input, not followed by whitespace: matches as a
    /// prefix of a longer word.
    pub prefix: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    pub field: String,
    /// `None` for `*` (open).
    pub low: Option<String>,
    pub high: Option<String>,
    /// `[` (inclusive) or `{` (exclusive).
    pub low_inclusive: bool,
    /// `]` (inclusive) or `}` (exclusive).
    pub high_inclusive: bool,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct ParseError {
    pub message: String,
    /// Character offset (0-based) where the problem was noticed.
    pub position: usize,
}

/// Parses a query; `Ok(None)` for an empty or whitespace-only input.
pub fn parse(input: &str) -> Result<Option<Query>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    if chars.len() > MAX_QUERY_CHARS {
        return Err(err(format!("query is too long (at most {MAX_QUERY_CHARS} characters)"), MAX_QUERY_CHARS));
    }
    let tokens = tokenize(&chars)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    check_parentheses(&tokens, chars.len())?;
    let mut parser = Parser { tokens, pos: 0, len: chars.len(), terms: 0 };
    let query = parser.or_expr(None)?;
    match parser.peek() {
        None => Ok(Some(query)),
        Some(token) => Err(err("unbalanced parentheses: unexpected ')'", token.start)),
    }
}

fn err(message: impl Into<String>, position: usize) -> ParseError {
    ParseError { message: message.into(), position }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// `plain`: written without any backslash escape (so it may be an
    /// operator, `TO` or `*`).
    Word {
        text: String,
        plain: bool,
    },
    Phrase(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Colon,
    /// `~` and the characters glued to it (the fuzzy distance, if any).
    Tilde(String),
    /// `^` and the characters glued to it (the boost).
    Caret(String),
    Minus,
    Plus,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// Character offsets: `start..end`.
    start: usize,
    end: usize,
    /// Whitespace (or the start of the input) comes right before it.
    space_before: bool,
}

/// Characters that end a word (besides whitespace).
fn is_special(c: char) -> bool {
    matches!(c, '(' | ')' | '"' | '[' | ']' | '{' | '}' | '^' | '~' | ':')
}

fn tokenize(chars: &[char]) -> Result<Vec<Token>, ParseError> {
    let n = chars.len();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut space_before = true;
    // `-` / `+` are operators only at the start of a token.
    let mut op_ok = true;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            space_before = true;
            op_ok = true;
            continue;
        }
        let start = i;
        i += 1;
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            ':' => Tok::Colon,
            '~' | '^' => {
                let mut text = String::new();
                while let Some(&d) = chars.get(i).filter(|d| !d.is_whitespace() && !is_special(**d) && **d != '\\') {
                    text.push(d);
                    i += 1;
                }
                if c == '~' { Tok::Tilde(text) } else { Tok::Caret(text) }
            }
            '"' => {
                let mut text = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err(err("unbalanced quote", start)),
                        Some('"') => break,
                        Some('\\') => match chars.get(i + 1) {
                            Some(&d) => {
                                text.push(d);
                                i += 2;
                            }
                            None => return Err(err("unbalanced quote", start)),
                        },
                        Some(&d) => {
                            text.push(d);
                            i += 1;
                        }
                    }
                }
                i += 1;
                if text.trim().is_empty() {
                    return Err(err("empty phrase", start));
                }
                Tok::Phrase(text)
            }
            '-' | '+' if op_ok => {
                if chars.get(i).is_none_or(|d| d.is_whitespace()) {
                    return Err(err(format!("expected a term after '{c}'"), start));
                }
                if c == '-' { Tok::Minus } else { Tok::Plus }
            }
            _ => {
                i = start;
                let mut text = String::new();
                let mut plain = true;
                while let Some(&d) = chars.get(i) {
                    if d == '\\' {
                        let Some(&escaped) = chars.get(i + 1) else {
                            return Err(err("a backslash must be followed by a character", i));
                        };
                        text.push(escaped);
                        plain = false;
                        i += 2;
                    } else if d.is_whitespace() || is_special(d) {
                        break;
                    } else {
                        text.push(d);
                        i += 1;
                    }
                }
                Tok::Word { text, plain }
            }
        };
        op_ok = tok == Tok::LParen;
        tokens.push(Token { tok, start, end: i.min(n), space_before });
        space_before = false;
    }
    Ok(tokens)
}

/// Checks balance and depth up front, so that the parser's recursion is
/// bounded and the messages point at the right parenthesis.
fn check_parentheses(tokens: &[Token], len: usize) -> Result<(), ParseError> {
    let mut open = Vec::new();
    for token in tokens {
        match token.tok {
            Tok::LParen => {
                open.push(token.start);
                if open.len() > MAX_DEPTH {
                    return Err(err(format!("too many nested parentheses (at most {MAX_DEPTH})"), token.start));
                }
            }
            Tok::RParen if open.pop().is_none() => {
                return Err(err("unbalanced parentheses: unexpected ')'", token.start));
            }
            _ => {}
        }
    }
    match open.pop() {
        Some(start) => Err(err("unbalanced parentheses: '(' is never closed", start.min(len))),
        None => Ok(()),
    }
}

fn is_op(tok: &Tok, op: &str) -> bool {
    matches!(tok, Tok::Word { text, plain: true } if text == op)
}

/// `AND` or `OR`, for messages.
fn binary_op(tok: &Tok) -> Option<&'static str> {
    if is_op(tok, "AND") {
        Some("AND")
    } else if is_op(tok, "OR") {
        Some("OR")
    } else {
        None
    }
}

fn describe(tok: &Tok) -> &'static str {
    match tok {
        Tok::Word { .. } | Tok::Phrase(_) => "term",
        Tok::LParen => "'('",
        Tok::RParen => "')'",
        Tok::LBracket => "'['",
        Tok::RBracket => "']'",
        Tok::LBrace => "'{'",
        Tok::RBrace => "'}'",
        Tok::Colon => "':'",
        Tok::Tilde(_) => "'~'",
        Tok::Caret(_) => "'^'",
        Tok::Minus => "'-'",
        Tok::Plus => "'+'",
    }
}

fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn and_of(children: Vec<Query>) -> Query {
    let mut flat = Vec::with_capacity(children.len());
    for child in children {
        match child {
            Query::And(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    single_or(flat, Query::And)
}

fn or_of(children: Vec<Query>) -> Query {
    let mut flat = Vec::with_capacity(children.len());
    for child in children {
        match child {
            Query::Or(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    single_or(flat, Query::Or)
}

fn single_or(mut children: Vec<Query>, wrap: fn(Vec<Query>) -> Query) -> Query {
    match children.pop() {
        Some(only) if children.is_empty() => only,
        Some(last) => {
            children.push(last);
            wrap(children)
        }
        None => wrap(children),
    }
}

/// `~` and `^` written right after a term: (text after the sign, position).
#[derive(Default)]
struct Modifiers {
    tilde: Option<(String, usize)>,
    caret: Option<(String, usize)>,
}

impl Modifiers {
    fn any(&self) -> Option<usize> {
        self.tilde.as_ref().or(self.caret.as_ref()).map(|(_, pos)| *pos)
    }

    fn fuzzy(&self) -> Result<Option<u8>, ParseError> {
        let Some((text, pos)) = &self.tilde else { return Ok(None) };
        match text.as_str() {
            "" => Ok(Some(2)),
            "0" => Ok(Some(0)),
            "1" => Ok(Some(1)),
            "2" => Ok(Some(2)),
            _ => Err(err("fuzzy distance must be 0, 1 or 2", *pos)),
        }
    }

    fn boost(&self) -> Result<Option<f32>, ParseError> {
        let Some((text, pos)) = &self.caret else { return Ok(None) };
        let well_formed = text.chars().all(|c| c.is_ascii_digit() || c == '.')
            && text.chars().filter(|&c| c == '.').count() <= 1
            && text.chars().any(|c| c.is_ascii_digit());
        match text.parse::<f32>() {
            Ok(boost) if well_formed && boost.is_finite() && boost > 0.0 => Ok(Some(boost)),
            _ => Err(err("boost must be a positive number, e.g. ^2 or ^0.5", *pos)),
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Input length in characters.
    len: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }

    /// The next token if it is written right after the previous one.
    fn peek_glued(&self) -> Option<&Token> {
        self.peek().filter(|t| !t.space_before)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    /// Position of the next token, or the end of the input.
    fn here(&self) -> usize {
        self.peek().map_or(self.len, |t| t.start)
    }

    fn count_term(&mut self, position: usize) -> Result<(), ParseError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(err(format!("too many terms (at most {MAX_TERMS})"), position));
        }
        Ok(())
    }

    /// After an operator: fails unless a term can follow.
    fn expect_operand(&self, op: &str) -> Result<(), ParseError> {
        match self.peek_tok() {
            None | Some(Tok::RParen) => Err(err(format!("expected a term after {op}"), self.here())),
            Some(tok) if binary_op(tok).is_some() => Err(err(format!("expected a term after {op}"), self.here())),
            _ => Ok(()),
        }
    }

    fn or_expr(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let mut children = vec![self.and_expr(field)?];
        while self.peek_tok().is_some_and(|t| is_op(t, "OR")) {
            self.pos += 1;
            self.expect_operand("OR")?;
            children.push(self.and_expr(field)?);
        }
        Ok(or_of(children))
    }

    fn and_expr(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let mut children = vec![self.unary(field)?];
        loop {
            match self.peek_tok() {
                None | Some(Tok::RParen) => break,
                Some(tok) if is_op(tok, "OR") => break,
                Some(tok) if is_op(tok, "AND") => {
                    self.pos += 1;
                    self.expect_operand("AND")?;
                }
                Some(_) => {}
            }
            children.push(self.unary(field)?);
        }
        Ok(and_of(children))
    }

    fn unary(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let mut nots = 0usize;
        let mut last_op = None;
        while let Some(tok) = self.peek_tok() {
            let op = match tok {
                Tok::Minus => "'-'",
                Tok::Plus => "'+'",
                _ if is_op(tok, "NOT") => "NOT",
                _ => break,
            };
            if op != "'+'" {
                nots += 1;
            }
            last_op = Some(op);
            self.pos += 1;
        }
        if let Some(op) = last_op {
            self.expect_operand(op)?;
        }
        let mut query = self.primary(field, nots > 0)?;
        for _ in 0..nots {
            query = Query::Not(Box::new(query));
        }
        Ok(query)
    }

    fn primary(&mut self, field: Option<&str>, negated: bool) -> Result<Query, ParseError> {
        let here = self.here();
        let Some(token) = self.next() else {
            return Err(err("expected a term", here));
        };
        match token.tok {
            Tok::LParen => self.group(field, token.start),
            Tok::Word { .. } if binary_op(&token.tok).is_some() => {
                let op = binary_op(&token.tok).unwrap_or("AND");
                Err(err(format!("expected a term before {op}"), token.start))
            }
            Tok::Word { ref text, .. } if self.peek_glued().is_some_and(|t| t.tok == Tok::Colon) => {
                if field.is_some() {
                    return Err(err("nested field: a field group cannot contain another field", token.start));
                }
                if !is_field_name(text) {
                    return Err(err("invalid field name", token.start));
                }
                let colon = self.next().map_or(self.len, |t| t.end);
                self.field_value(text, colon, negated)
            }
            Tok::Word { .. } | Tok::Phrase(_) => self.term(token, field, negated),
            Tok::LBracket | Tok::LBrace => match field {
                Some(field) => self.range(field, token),
                None => Err(err("a range needs a field, e.g. year:[1990 TO 1999]", token.start)),
            },
            Tok::RParen => Err(err("unbalanced parentheses: unexpected ')'", token.start)),
            other => Err(err(format!("unexpected {}", describe(&other)), token.start)),
        }
    }

    /// After `(`: the group up to its `)`.
    fn group(&mut self, field: Option<&str>, open: usize) -> Result<Query, ParseError> {
        if self.peek_tok() == Some(&Tok::RParen) {
            return Err(err("empty parentheses", open));
        }
        let query = self.or_expr(field)?;
        match self.next() {
            Some(Token { tok: Tok::RParen, .. }) => {}
            _ => return Err(err("unbalanced parentheses: '(' is never closed", open)),
        }
        if let Some(pos) = self.modifiers()?.any() {
            return Err(err("'~' and '^' are not supported on a group", pos));
        }
        Ok(query)
    }

    /// After `field:`, which ends at character `colon`.
    fn field_value(&mut self, field: &str, colon: usize, negated: bool) -> Result<Query, ParseError> {
        let token = match self.peek_glued() {
            Some(t)
                if matches!(t.tok, Tok::Word { .. } | Tok::Phrase(_) | Tok::LParen | Tok::LBracket | Tok::LBrace) =>
            {
                t.clone()
            }
            Some(t) if t.tok == Tok::Colon => return Err(err("unexpected ':'", t.start)),
            _ => return Err(err(format!("expected a value after '{field}:'"), colon)),
        };
        self.pos += 1;
        match token.tok {
            Tok::LParen => self.group(Some(field), token.start),
            Tok::LBracket | Tok::LBrace => self.range(field, token),
            _ => self.term(token, Some(field), negated),
        }
    }

    /// A word or phrase (already consumed) and its modifiers.
    fn term(&mut self, token: Token, field: Option<&str>, negated: bool) -> Result<Query, ParseError> {
        let (text, phrase) = match token.tok {
            Tok::Word { text, .. } => (text, false),
            Tok::Phrase(text) => (text, true),
            other => return Err(err(format!("unexpected {}", describe(&other)), token.start)),
        };
        self.count_term(token.start)?;
        let is_last = self.pos == self.tokens.len() && token.end == self.len;
        let modifiers = self.modifiers()?;
        if phrase && let Some((_, pos)) = modifiers.tilde {
            return Err(err("phrase proximity (\"...\"~N) is not supported", pos));
        }
        let fuzzy = modifiers.fuzzy()?;
        let boost = modifiers.boost()?;
        let prefix = is_last && !phrase && !negated;
        Ok(Query::Term(Term { field: field.map(str::to_owned), text, phrase, fuzzy, boost, prefix }))
    }

    /// `~` / `^` glued to what precedes, each at most once.
    fn modifiers(&mut self) -> Result<Modifiers, ParseError> {
        let mut modifiers = Modifiers::default();
        while let Some(token) = self.peek_glued() {
            let (text, sign, start) = match &token.tok {
                Tok::Tilde(text) => (text.clone(), '~', token.start),
                Tok::Caret(text) => (text.clone(), '^', token.start),
                _ => break,
            };
            let slot = if sign == '~' { &mut modifiers.tilde } else { &mut modifiers.caret };
            if slot.is_some() {
                return Err(err(format!("'{sign}' can only be given once"), start));
            }
            *slot = Some((text, start));
            self.pos += 1;
        }
        Ok(modifiers)
    }

    /// After `[` or `{` (given as `open`).
    fn range(&mut self, field: &str, open: Token) -> Result<Query, ParseError> {
        self.count_term(open.start)?;
        let low = self.range_bound()?;
        match self.next() {
            Some(t) if is_op(&t.tok, "TO") => {}
            other => {
                let pos = other.map_or(self.len, |t| t.start);
                return Err(err("expected TO between the range's bounds, e.g. [1990 TO 1999]", pos));
            }
        }
        let high = self.range_bound()?;
        let high_inclusive = match self.next() {
            Some(Token { tok: Tok::RBracket, .. }) => true,
            Some(Token { tok: Tok::RBrace, .. }) => false,
            other => {
                let pos = other.map_or(self.len, |t| t.start);
                return Err(err("expected ']' or '}' to close the range", pos));
            }
        };
        if let Some(pos) = self.modifiers()?.any() {
            return Err(err("'~' and '^' are not supported on a range", pos));
        }
        Ok(Query::Range(Range {
            field: field.to_owned(),
            low,
            high,
            low_inclusive: open.tok == Tok::LBracket,
            high_inclusive,
        }))
    }

    /// One end of a range: a word, a phrase, or `*` (open).
    fn range_bound(&mut self) -> Result<Option<String>, ParseError> {
        let here = self.here();
        let missing = || err("expected a value in the range", here);
        let Some(token) = self.next() else { return Err(missing()) };
        match token.tok {
            Tok::Word { text, plain } if !(plain && text == "TO") => {
                Ok(if plain && text == "*" { None } else { Some(text) })
            }
            Tok::Phrase(text) => Ok(Some(text)),
            // `-5` after whitespace is tokenized as an operator; in a range
            // it can only be a sign.
            Tok::Minus | Tok::Plus => match self.peek_glued().map(|t| t.tok.clone()) {
                Some(Tok::Word { text, .. }) => {
                    self.pos += 1;
                    let sign = if token.tok == Tok::Minus { '-' } else { '+' };
                    Ok(Some(format!("{sign}{text}")))
                }
                _ => Err(missing()),
            },
            _ => Err(missing()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str) -> Query {
        match parse(input) {
            Ok(Some(query)) => query,
            other => panic!("{input:?} should parse, got {other:?}"),
        }
    }

    fn error(input: &str) -> ParseError {
        match parse(input) {
            Err(error) => {
                assert!(error.position <= input.chars().count(), "{input:?}: {error:?} points past the end");
                error
            }
            Ok(query) => panic!("{input:?} should be an error, got {query:?}"),
        }
    }

    fn assert_error(input: &str, message_part: &str) {
        let error = error(input);
        assert!(error.message.contains(message_part), "{input:?}: expected {message_part:?} in {error:?}");
    }

    fn w(text: &str) -> Term {
        Term { field: None, text: text.to_owned(), phrase: false, fuzzy: None, boost: None, prefix: false }
    }

    fn p(text: &str) -> Term {
        Term { phrase: true, ..w(text) }
    }

    impl Term {
        fn f(self, field: &str) -> Term {
            Term { field: Some(field.to_owned()), ..self }
        }
        fn pre(self) -> Term {
            Term { prefix: true, ..self }
        }
        fn fuzz(self, fuzzy: u8) -> Term {
            Term { fuzzy: Some(fuzzy), ..self }
        }
        fn up(self, boost: f32) -> Term {
            Term { boost: Some(boost), ..self }
        }
        fn q(self) -> Query {
            Query::Term(self)
        }
    }

    fn and(children: Vec<Query>) -> Query {
        Query::And(children)
    }

    fn or(children: Vec<Query>) -> Query {
        Query::Or(children)
    }

    fn not(child: Query) -> Query {
        Query::Not(Box::new(child))
    }

    fn range(field: &str, low: Option<&str>, high: Option<&str>, low_inclusive: bool, high_inclusive: bool) -> Query {
        Query::Range(Range {
            field: field.to_owned(),
            low: low.map(str::to_owned),
            high: high.map(str::to_owned),
            low_inclusive,
            high_inclusive,
        })
    }

    // --- empty input and prefixes ---

    #[test]
    fn empty_input_is_no_query() {
        assert_eq!(parse(""), Ok(None));
    }

    #[test]
    fn whitespace_only_input_is_no_query() {
        assert_eq!(parse("  \t\n "), Ok(None));
    }

    #[test]
    fn a_single_word_is_a_prefix_term() {
        assert_eq!(parsed("daft"), w("daft").pre().q());
    }

    #[test]
    fn words_are_anded_and_only_the_last_is_a_prefix() {
        assert_eq!(parsed("daft pun"), and(vec![w("daft").q(), w("pun").pre().q()]));
        assert_eq!(parsed("daft punk"), and(vec![w("daft").q(), w("punk").pre().q()]));
    }

    #[test]
    fn trailing_whitespace_turns_the_prefix_off() {
        assert_eq!(parsed("daft pun "), and(vec![w("daft").q(), w("pun").q()]));
    }

    #[test]
    fn leading_whitespace_keeps_the_prefix() {
        assert_eq!(parsed("  daft"), w("daft").pre().q());
    }

    #[test]
    fn a_fielded_last_word_is_a_prefix() {
        assert_eq!(parsed("artist:daf"), w("daf").f("artist").pre().q());
    }

    #[test]
    fn a_negated_last_word_is_not_a_prefix() {
        assert_eq!(parsed("-foo"), not(w("foo").q()));
        assert_eq!(parsed("NOT foo"), not(w("foo").q()));
        assert_eq!(parsed("a -artist:foo"), and(vec![w("a").q(), not(w("foo").f("artist").q())]));
    }

    #[test]
    fn a_word_before_a_closing_parenthesis_is_not_a_prefix() {
        assert_eq!(parsed("(a b)"), and(vec![w("a").q(), w("b").q()]));
        assert_eq!(parsed("genre:(rock)"), w("rock").f("genre").q());
    }

    #[test]
    fn a_last_phrase_is_not_a_prefix() {
        assert_eq!(parsed("\"daft punk\""), p("daft punk").q());
    }

    #[test]
    fn a_fuzzy_or_boosted_last_word_is_not_a_prefix() {
        assert_eq!(parsed("daft~"), w("daft").fuzz(2).q());
        assert_eq!(parsed("daft^2"), w("daft").up(2.0).q());
    }

    #[test]
    fn a_required_last_word_is_still_a_prefix() {
        assert_eq!(parsed("+daft"), w("daft").pre().q());
    }

    #[test]
    fn only_the_very_last_token_can_be_a_prefix() {
        assert_eq!(parsed("a\"b\""), and(vec![w("a").q(), p("b").q()]));
        assert_eq!(parsed("a OR b"), or(vec![w("a").q(), w("b").pre().q()]));
    }

    // --- operators and precedence ---

    #[test]
    fn plus_is_the_same_as_a_plain_term_and_minus_negates() {
        assert_eq!(parsed("+a -b"), and(vec![w("a").q(), not(w("b").q())]));
        assert_eq!(parsed("+a +b "), and(vec![w("a").q(), w("b").q()]));
    }

    #[test]
    fn not_negates_the_next_term() {
        assert_eq!(parsed("NOT a"), not(w("a").q()));
        assert_eq!(parsed("a NOT b c"), and(vec![w("a").q(), not(w("b").q()), w("c").pre().q()]));
        assert_eq!(parsed("a AND NOT b "), and(vec![w("a").q(), not(w("b").q())]));
    }

    #[test]
    fn not_can_be_repeated() {
        assert_eq!(parsed("NOT NOT a"), not(not(w("a").q())));
        assert_eq!(parsed("NOT -a"), not(not(w("a").q())));
    }

    #[test]
    fn not_applies_to_a_group() {
        assert_eq!(parsed("-(a OR b)"), not(or(vec![w("a").q(), w("b").q()])));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(parsed("a OR b c "), or(vec![w("a").q(), and(vec![w("b").q(), w("c").q()])]));
        assert_eq!(parsed("a b OR c "), or(vec![and(vec![w("a").q(), w("b").q()]), w("c").q()]));
        assert_eq!(
            parsed("a AND b OR c AND d "),
            or(vec![and(vec![w("a").q(), w("b").q()]), and(vec![w("c").q(), w("d").q()])])
        );
    }

    #[test]
    fn explicit_and_is_the_same_as_juxtaposition() {
        assert_eq!(parsed("a AND b "), parsed("a b "));
    }

    #[test]
    fn unary_operators_bind_tighter_than_and() {
        assert_eq!(parsed("-a b "), and(vec![not(w("a").q()), w("b").q()]));
        assert_eq!(parsed("NOT a OR b "), or(vec![not(w("a").q()), w("b").q()]));
    }

    #[test]
    fn parentheses_override_precedence() {
        assert_eq!(parsed("(a OR b) c "), and(vec![or(vec![w("a").q(), w("b").q()]), w("c").q()]));
    }

    #[test]
    fn lower_case_operators_are_words() {
        assert_eq!(parsed("a and b or not c "), and(["a", "and", "b", "or", "not", "c"].map(|t| w(t).q()).to_vec()));
    }

    #[test]
    fn escaped_operators_are_words() {
        assert_eq!(parsed("\\AND \\OR \\NOT "), and(vec![w("AND").q(), w("OR").q(), w("NOT").q()]));
        assert_eq!(parsed("\"OR\""), p("OR").q());
    }

    // --- flattening ---

    #[test]
    fn nested_ands_are_flattened() {
        assert_eq!(parsed("a AND (b AND c) "), and(vec![w("a").q(), w("b").q(), w("c").q()]));
        assert_eq!(parsed("(a b) (c d) "), and(["a", "b", "c", "d"].map(|t| w(t).q()).to_vec()));
    }

    #[test]
    fn nested_ors_are_flattened() {
        assert_eq!(parsed("(a OR b) OR c "), or(vec![w("a").q(), w("b").q(), w("c").q()]));
        assert_eq!(parsed("a OR (b OR (c OR d)) "), or(["a", "b", "c", "d"].map(|t| w(t).q()).to_vec()));
    }

    #[test]
    fn an_or_inside_an_and_is_not_flattened() {
        assert_eq!(parsed("a (b OR c) "), and(vec![w("a").q(), or(vec![w("b").q(), w("c").q()])]));
    }

    #[test]
    fn a_group_with_one_child_collapses_to_the_child() {
        assert_eq!(parsed("((a)) "), w("a").q());
        assert_eq!(parsed("(-a)"), not(w("a").q()));
    }

    // --- words and escapes ---

    #[test]
    fn unicode_words_are_words() {
        assert_eq!(parsed("beyoncé"), w("beyoncé").pre().q());
        assert_eq!(parsed("sigur rós 日本"), and(vec![w("sigur").q(), w("rós").q(), w("日本").pre().q()]));
    }

    #[test]
    fn a_hyphen_inside_a_word_is_part_of_it() {
        assert_eq!(parsed("hip-hop"), w("hip-hop").pre().q());
        assert_eq!(parsed("-hip-hop"), not(w("hip-hop").q()));
        assert_eq!(parsed("c++ a-"), and(vec![w("c++").q(), w("a-").pre().q()]));
    }

    #[test]
    fn a_minus_after_an_opening_parenthesis_is_an_operator() {
        assert_eq!(parsed("(a -b)"), and(vec![w("a").q(), not(w("b").q())]));
        assert_eq!(parsed("(-b)"), not(w("b").q()));
    }

    #[test]
    fn a_backslash_escapes_the_next_character_in_a_word() {
        assert_eq!(parsed("ac\\:dc"), w("ac:dc").pre().q());
        assert_eq!(parsed("\\\"quoted\\\""), w("\"quoted\"").pre().q());
        assert_eq!(parsed("\\(a\\) b\\ c"), and(vec![w("(a)").q(), w("b c").pre().q()]));
        assert_eq!(parsed("\\-a"), w("-a").pre().q());
        assert_eq!(parsed("a\\\\"), w("a\\").pre().q());
    }

    #[test]
    fn a_trailing_lone_backslash_is_an_error() {
        let error = error("abc\\");
        assert_eq!(error.position, 3);
    }

    #[test]
    fn a_star_outside_a_range_is_a_plain_word() {
        assert_eq!(parsed("beat*"), w("beat*").pre().q());
    }

    // --- phrases ---

    #[test]
    fn a_phrase_keeps_its_words_together() {
        assert_eq!(parsed("\"daft punk\" live"), and(vec![p("daft punk").q(), w("live").pre().q()]));
    }

    #[test]
    fn a_phrase_resolves_escaped_quotes_and_backslashes() {
        assert_eq!(parsed(r#""say \"hi\"""#), p("say \"hi\"").q());
        assert_eq!(parsed(r#""a\\b""#), p("a\\b").q());
    }

    #[test]
    fn special_characters_inside_a_phrase_are_literal() {
        assert_eq!(parsed("\"(a:b) [c] ~^ AND\""), p("(a:b) [c] ~^ AND").q());
    }

    #[test]
    fn an_unbalanced_quote_is_an_error() {
        assert_error("\"daft punk", "unbalanced quote");
        assert_eq!(error("a \"daft punk").position, 2);
        assert_error("\"abc\\\"", "unbalanced quote");
        assert_error("\"abc\\", "unbalanced quote");
    }

    #[test]
    fn an_empty_phrase_is_an_error() {
        assert_error("\"\"", "empty phrase");
        assert_error("a \"  \"", "empty phrase");
    }

    #[test]
    fn phrase_proximity_is_an_error() {
        assert_error("\"a b\"~2", "phrase proximity (\"...\"~N) is not supported");
        assert_error("\"a b\"~", "phrase proximity");
        assert_error("\"a b\"~9", "phrase proximity");
    }

    #[test]
    fn a_phrase_can_be_boosted() {
        assert_eq!(parsed("\"a b\"^2"), p("a b").up(2.0).q());
    }

    // --- fields ---

    #[test]
    fn a_field_applies_to_a_word_or_phrase() {
        assert_eq!(parsed("artist:daft "), w("daft").f("artist").q());
        assert_eq!(parsed("artist:\"daft punk\""), p("daft punk").f("artist").q());
    }

    #[test]
    fn field_names_can_have_dots_underscores_and_digits() {
        assert_eq!(parsed("_track.title_2:x "), w("x").f("_track.title_2").q());
    }

    #[test]
    fn the_example_query_parses_into_an_and_of_a_phrase_a_range_and_a_negation() {
        assert_eq!(
            parsed("artist:\"daft punk\" AND year:[1995 TO 2005] -genre:house"),
            and(vec![
                p("daft punk").f("artist").q(),
                range("year", Some("1995"), Some("2005"), true, true),
                not(w("house").f("genre").q()),
            ])
        );
    }

    #[test]
    fn a_field_group_gives_its_field_to_every_term() {
        assert_eq!(parsed("genre:(rock OR pop)"), or(vec![w("rock").f("genre").q(), w("pop").f("genre").q()]));
        assert_eq!(
            parsed("field:(a OR \"b c\" -d)"),
            or(vec![w("a").f("field").q(), and(vec![p("b c").f("field").q(), not(w("d").f("field").q())])])
        );
        assert_eq!(
            parsed("f:(a (b OR c))"),
            and(vec![w("a").f("f").q(), or(vec![w("b").f("f").q(), w("c").f("f").q()])])
        );
    }

    #[test]
    fn a_field_group_can_be_negated() {
        assert_eq!(parsed("-genre:(rock OR pop)"), not(or(vec![w("rock").f("genre").q(), w("pop").f("genre").q()])));
    }

    #[test]
    fn a_bare_range_inside_a_field_group_takes_the_groups_field() {
        assert_eq!(
            parsed("year:([1990 TO 1999] OR 2005)"),
            or(vec![range("year", Some("1990"), Some("1999"), true, true), w("2005").f("year").q()])
        );
    }

    #[test]
    fn a_field_value_can_be_an_operator_word() {
        assert_eq!(parsed("title:OR "), w("OR").f("title").q());
    }

    #[test]
    fn an_invalid_field_name_is_an_error() {
        assert_error("1abc:x", "invalid field name");
        assert_error("a-b:x", "invalid field name");
        assert_error("é:x", "invalid field name");
        assert_eq!(error("x 1abc:x").position, 2);
    }

    #[test]
    fn a_field_without_a_value_is_an_error() {
        assert_error("artist:", "expected a value after 'artist:'");
        assert_error("artist: daft", "expected a value after 'artist:'");
        assert_error("(artist:)", "expected a value after 'artist:'");
        assert_error("artist:~", "expected a value");
        assert_eq!(error("artist: daft").position, 7);
    }

    #[test]
    fn two_colons_are_an_error() {
        assert_error("a:b:c", "unexpected ':'");
        assert_error("a::b", "unexpected ':'");
        assert_eq!(error("a:b:c").position, 3);
    }

    #[test]
    fn a_stray_colon_is_an_error() {
        assert_error(":a", "unexpected ':'");
        assert_error("a :b", "unexpected ':'");
        assert_error("\"a\":b", "unexpected ':'");
    }

    #[test]
    fn a_field_inside_a_field_group_is_an_error() {
        assert_error("a:(b:c)", "nested field");
        assert_error("a:(b OR (c:d))", "nested field");
        assert_error("a:(b:[1 TO 2])", "nested field");
    }

    #[test]
    fn a_field_group_inside_a_plain_group_is_fine() {
        assert_eq!(parsed("(a:b OR c)"), or(vec![w("b").f("a").q(), w("c").q()]));
    }

    // --- ranges ---

    #[test]
    fn a_range_can_be_inclusive_exclusive_or_mixed() {
        assert_eq!(parsed("year:[1990 TO 1999]"), range("year", Some("1990"), Some("1999"), true, true));
        assert_eq!(parsed("year:{1990 TO 1999}"), range("year", Some("1990"), Some("1999"), false, false));
        assert_eq!(parsed("year:[1990 TO 1999}"), range("year", Some("1990"), Some("1999"), true, false));
        assert_eq!(parsed("year:{1990 TO 1999]"), range("year", Some("1990"), Some("1999"), false, true));
    }

    #[test]
    fn a_star_is_an_open_end_of_a_range() {
        assert_eq!(parsed("year:{* TO 2000]"), range("year", None, Some("2000"), false, true));
        assert_eq!(parsed("year:[2000 TO *]"), range("year", Some("2000"), None, true, true));
    }

    #[test]
    fn quoted_or_escaped_range_bounds_are_literal() {
        assert_eq!(parsed("title:[\"a b\" TO \"*\"]"), range("title", Some("a b"), Some("*"), true, true));
        assert_eq!(parsed("title:[\\* TO z]"), range("title", Some("*"), Some("z"), true, true));
    }

    #[test]
    fn range_bounds_can_be_negative_numbers() {
        assert_eq!(parsed("gain:[-5 TO -1]"), range("gain", Some("-5"), Some("-1"), true, true));
        assert_eq!(parsed("gain:[ -5 TO +1]"), range("gain", Some("-5"), Some("+1"), true, true));
    }

    #[test]
    fn a_range_combines_with_other_terms() {
        assert_eq!(
            parsed("year:[1990 TO 1999] OR -year:[2000 TO *] rock"),
            or(vec![
                range("year", Some("1990"), Some("1999"), true, true),
                and(vec![not(range("year", Some("2000"), None, true, true)), w("rock").pre().q()]),
            ])
        );
    }

    #[test]
    fn a_range_without_a_field_is_an_error() {
        assert_error("[1990 TO 1999]", "a range needs a field, e.g. year:[1990 TO 1999]");
        assert_error("rock {a TO b}", "a range needs a field");
        assert_eq!(error("rock {a TO b}").position, 5);
    }

    #[test]
    fn a_range_without_to_is_an_error() {
        assert_error("year:[1990 1999]", "expected TO");
        assert_error("year:[1990 to 1999]", "expected TO");
        assert_error("year:[1990]", "expected TO");
        assert_eq!(error("year:[1990 1999]").position, 11);
    }

    #[test]
    fn a_range_without_a_closing_bracket_is_an_error() {
        assert_error("year:[1990 TO 1999", "expected ']' or '}'");
        assert_error("year:[1990 TO 1999 2000]", "expected ']' or '}'");
        assert_eq!(error("year:[1990 TO 1999").position, 18);
    }

    #[test]
    fn a_range_with_a_missing_bound_is_an_error() {
        assert_error("year:[TO 1999]", "expected a value in the range");
        assert_error("year:[1990 TO ]", "expected a value in the range");
        assert_error("year:[", "expected a value in the range");
        assert_error("year:[(1990) TO 1999]", "expected a value in the range");
    }

    #[test]
    fn a_stray_closing_bracket_is_an_error() {
        assert_error("a ]", "unexpected ']'");
        assert_error("a}", "unexpected '}'");
    }

    #[test]
    fn modifiers_on_a_range_are_an_error() {
        assert_error("year:[1 TO 2]^2", "not supported on a range");
        assert_error("year:[1 TO 2]~", "not supported on a range");
    }

    // --- modifiers ---

    #[test]
    fn a_word_can_be_both_fuzzy_and_boosted_in_either_order() {
        assert_eq!(parsed("title:love~1^2"), w("love").f("title").fuzz(1).up(2.0).q());
        assert_eq!(parsed("love^2~1"), w("love").fuzz(1).up(2.0).q());
        assert_eq!(parsed("love~^0.5"), w("love").fuzz(2).up(0.5).q());
    }

    #[test]
    fn a_bare_tilde_means_two_edits() {
        assert_eq!(parsed("love~ you"), and(vec![w("love").fuzz(2).q(), w("you").pre().q()]));
    }

    #[test]
    fn fuzzy_distances_zero_to_two_are_accepted() {
        assert_eq!(parsed("a~0"), w("a").fuzz(0).q());
        assert_eq!(parsed("a~1"), w("a").fuzz(1).q());
        assert_eq!(parsed("a~2"), w("a").fuzz(2).q());
    }

    #[test]
    fn a_fuzzy_distance_above_two_is_an_error() {
        assert_error("a~3", "fuzzy distance must be 0, 1 or 2");
        assert_error("a~10", "fuzzy distance must be 0, 1 or 2");
        assert_error("a~x", "fuzzy distance must be 0, 1 or 2");
        assert_error("a~0.5", "fuzzy distance must be 0, 1 or 2");
        assert_eq!(error("abc~3").position, 3);
    }

    #[test]
    fn boosts_can_be_integers_or_decimals() {
        assert_eq!(parsed("a^2"), w("a").up(2.0).q());
        assert_eq!(parsed("a^0.5"), w("a").up(0.5).q());
        assert_eq!(parsed("a^1.25 b"), and(vec![w("a").up(1.25).q(), w("b").pre().q()]));
    }

    #[test]
    fn a_boost_that_is_not_a_positive_finite_number_is_an_error() {
        for input in ["a^", "a^0", "a^0.0", "a^x", "a^-1", "a^1.2.3", "a^1e5", "a^.", "a^inf", "a^NaN", "a^ 2"] {
            assert_error(input, "boost must be a positive number");
        }
        assert_error(&format!("a^{}", "9".repeat(60)), "boost must be a positive number");
    }

    #[test]
    fn a_modifier_given_twice_is_an_error() {
        assert_error("a~1~2", "'~' can only be given once");
        assert_error("a^2~1^3", "'^' can only be given once");
    }

    #[test]
    fn a_modifier_after_whitespace_is_an_error() {
        assert_error("a ~1", "unexpected '~'");
        assert_error("a ^2", "unexpected '^'");
        assert_error("~", "unexpected '~'");
    }

    #[test]
    fn modifiers_on_a_group_are_an_error() {
        assert_error("(a b)^2", "not supported on a group");
        assert_error("(a)~", "not supported on a group");
        assert_error("genre:(rock OR pop)^2", "not supported on a group");
    }

    // --- parentheses ---

    #[test]
    fn unbalanced_parentheses_are_an_error() {
        assert_error("(a", "unbalanced parenthes");
        assert_error("a)", "unbalanced parenthes");
        assert_error("((a)", "unbalanced parenthes");
        assert_error("(a))", "unbalanced parenthes");
        assert_error(")(", "unbalanced parenthes");
        assert_eq!(error("x ((a)").position, 2);
        assert_eq!(error("(a)) b").position, 3);
    }

    #[test]
    fn parentheses_inside_a_phrase_do_not_count() {
        assert_eq!(parsed("\"(a\""), p("(a").q());
    }

    #[test]
    fn empty_parentheses_are_an_error() {
        assert_error("()", "empty parentheses");
        assert_error("a ( ) b", "empty parentheses");
        assert_error("genre:()", "empty parentheses");
    }

    // --- dangling operators ---

    #[test]
    fn an_operator_without_a_right_operand_is_an_error() {
        assert_error("a AND", "expected a term after AND");
        assert_error("a OR", "expected a term after OR");
        assert_error("NOT", "expected a term after NOT");
        assert_error("a AND OR b", "expected a term after AND");
        assert_error("a OR AND b", "expected a term after OR");
        assert_error("(a OR)", "expected a term after OR");
        assert_error("(NOT) a", "expected a term after NOT");
        assert_error("(a -)", "expected a term after '-'");
        assert_eq!(error("a AND").position, 5);
    }

    #[test]
    fn an_operator_without_a_left_operand_is_an_error() {
        assert_error("OR b", "expected a term before OR");
        assert_error("AND b", "expected a term before AND");
        assert_error("(OR b)", "expected a term before OR");
        assert_eq!(error("(AND b)").position, 1);
    }

    #[test]
    fn a_lone_minus_or_plus_is_an_error() {
        assert_error("-", "expected a term after '-'");
        assert_error("+", "expected a term after '+'");
        assert_error("a - b", "expected a term after '-'");
        assert_error("a +", "expected a term after '+'");
        assert_eq!(error("a - b").position, 2);
    }

    // --- limits ---

    #[test]
    fn a_query_at_the_length_limit_is_accepted() {
        let input = "a".repeat(MAX_QUERY_CHARS);
        assert_eq!(parsed(&input), w(&input).pre().q());
    }

    #[test]
    fn a_query_over_the_length_limit_is_an_error() {
        assert_error(&"a".repeat(MAX_QUERY_CHARS + 1), "too long");
        assert_error(&" ".repeat(MAX_QUERY_CHARS + 1), "too long");
    }

    #[test]
    fn the_length_limit_counts_characters_not_bytes() {
        let input = "é".repeat(MAX_QUERY_CHARS);
        assert_eq!(parsed(&input), w(&input).pre().q());
    }

    #[test]
    fn a_query_at_the_term_limit_is_accepted() {
        let input = vec!["a"; MAX_TERMS].join(" ");
        assert!(matches!(parsed(&input), Query::And(children) if children.len() == MAX_TERMS));
    }

    #[test]
    fn a_query_over_the_term_limit_is_an_error() {
        assert_error(&vec!["a"; MAX_TERMS + 1].join(" "), "too many terms");
        assert_eq!(error(&vec!["a"; MAX_TERMS + 1].join(" ")).position, MAX_TERMS * 2);
    }

    #[test]
    fn phrases_and_ranges_count_as_terms() {
        let mut parts = vec!["\"a b\""; MAX_TERMS / 2];
        parts.extend(vec!["y:[1 TO 2]"; MAX_TERMS / 2]);
        assert!(parse(&parts.join(" ")).is_ok());
        parts.push("x");
        assert_error(&parts.join(" "), "too many terms");
    }

    #[test]
    fn nesting_at_the_depth_limit_is_accepted() {
        let input = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parsed(&input), w("a").q());
    }

    #[test]
    fn nesting_over_the_depth_limit_is_an_error() {
        let input = format!("{}a{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert_error(&input, "too many nested parentheses");
        assert_eq!(error(&input).position, MAX_DEPTH);
    }

    #[test]
    fn long_chains_of_operators_do_not_overflow_the_stack() {
        assert!(parse(&format!("{}a", "NOT ".repeat(120))).is_ok());
        assert!(parse(&format!("{}a", "-(".repeat(100))).is_err());
        assert!(parse(&"(".repeat(100_000)).is_err());
        assert!(parse(&"\\".repeat(100_000)).is_err());
    }

    // --- errors in general ---

    #[test]
    fn error_positions_count_characters_not_bytes() {
        assert_eq!(error("éé \"x").position, 3);
        assert_eq!(error("日本 AND").position, 6);
    }

    #[test]
    fn an_error_displays_its_message_and_position() {
        assert_eq!(error("a AND").to_string(), "expected a term after AND (at character 5)");
    }

    /// xorshift64: a tiny deterministic PRNG, so failures reproduce.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    fn random_inputs(seed: u64, count: usize, max_len: usize, charset: &[char]) -> Vec<String> {
        let mut rng = XorShift(seed);
        (0..count).map(|_| (0..rng.below(max_len + 1)).map(|_| charset[rng.below(charset.len())]).collect()).collect()
    }

    fn assert_never_panics(inputs: &[String]) {
        for input in inputs {
            match std::panic::catch_unwind(|| parse(input)) {
                Ok(Err(error)) => {
                    assert!(error.position <= input.chars().count(), "{input:?}: {error:?} points past the end");
                    assert!(!error.message.is_empty());
                }
                Ok(Ok(Some(_))) => assert!(!input.trim().is_empty()),
                Ok(Ok(None)) => assert!(input.trim().is_empty(), "{input:?} parsed to nothing"),
                Err(_) => panic!("parse panicked on {input:?}"),
            }
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let charset: Vec<char> = "ab :\"()[]{}~^*+-\\ANDORNOT TO 0123é\t".chars().collect();
        assert_never_panics(&random_inputs(0x9E37_79B9_7F4A_7C15, 5000, 40, &charset));
    }

    #[test]
    fn random_token_soup_never_panics() {
        let words =
            ["a", "b", "AND", "OR", "NOT", "TO", "*", "-", "+", "(", ")", "[", "]", "{", "}", "\"", ":", "~", "^"];
        let mut rng = XorShift(42);
        let inputs: Vec<String> = (0..3000)
            .map(|_| {
                let mut input = String::new();
                for _ in 0..rng.below(24) {
                    input.push_str(words[rng.below(words.len())]);
                    if rng.below(2) == 0 {
                        input.push(' ');
                    }
                }
                input
            })
            .collect();
        assert_never_panics(&inputs);
    }

    #[test]
    fn long_random_garbage_never_panics() {
        let charset: Vec<char> = "(((a b)) :\"-".chars().collect();
        assert_never_panics(&random_inputs(7, 300, MAX_QUERY_CHARS + 50, &charset));
    }
}
