//! Meilisearch's filter expression language: parser (after the `filter-parser`
//! crate's grammar, keywords upper case as there) and evaluation on documents.

use serde_json::{Map, Value};

use super::settings::View;
use super::text;

#[derive(Clone, Debug)]
pub(super) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare { attribute: String, op: Op, value: String },
    Between { attribute: String, from: String, to: String },
    In { attribute: String, values: Vec<String> },
    Exists(String),
    IsNull(String),
    IsEmpty(String),
    GeoRadius { lat: f64, lng: f64, radius: f64 },
    GeoBoundingBox { top_right: (f64, f64), bottom_left: (f64, f64) },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

const MAX_DEPTH: usize = 200;
const KEYWORDS: &[&str] = &[
    "AND",
    "OR",
    "IN",
    "NOT",
    "TO",
    "EXISTS",
    "IS",
    "NULL",
    "EMPTY",
    "CONTAINS",
    "STARTS",
    "WITH",
    "_geoRadius",
    "_geoBoundingBox",
];

/// A filter from its JSON form: a string, or an array of strings / arrays of
/// strings (outer = AND, inner = OR). `Ok(None)` when there is nothing to filter.
pub(super) fn from_json(value: &Value) -> Result<Option<Expr>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => parse(s),
        Value::Array(items) => {
            let mut ands = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => ands.extend(parse(s)?),
                    Value::Array(inner) => {
                        let mut ors = Vec::new();
                        for rule in inner {
                            match rule {
                                Value::String(s) => ors.extend(parse(s)?),
                                other => return Err(invalid_expression("String", other)),
                            }
                        }
                        match ors.len() {
                            0 => {}
                            1 => ands.extend(ors),
                            _ => ands.push(Expr::Or(ors)),
                        }
                    }
                    other => return Err(invalid_expression("String, [String]", other)),
                }
            }
            Ok(match ands.len() {
                0 => None,
                1 => ands.pop(),
                _ => Some(Expr::And(ands)),
            })
        }
        other => Err(invalid_expression("String, Array", other)),
    }
}

fn invalid_expression(expected: &str, found: &Value) -> String {
    format!("Invalid syntax for the filter parameter: `expected {expected}, found: {found}`.")
}

/// Parses one filter string; `Ok(None)` for a blank one.
pub(super) fn parse(input: &str) -> Result<Option<Expr>, String> {
    if input.trim().is_empty() {
        return Ok(None);
    }
    let mut parser = Parser { input, chars: input.chars().collect(), pos: 0, depth: 0 };
    let expr = parser.or()?;
    parser.skip_ws();
    if parser.pos < parser.chars.len() {
        return Err(parser.error(
            parser.pos,
            format!(
                "Found unexpected characters at the end of the filter: `{}`. You probably forgot an `OR` or an `AND` rule.",
                parser.rest()
            ),
        ));
    }
    Ok(Some(expr))
}

struct Parser<'a> {
    input: &'a str,
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

fn is_value_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

impl Parser<'_> {
    fn error(&self, at: usize, message: String) -> String {
        format!("{message}\n{}:{} {}", at + 1, self.chars.len() + 1, self.input)
    }

    fn rest(&self) -> String {
        self.chars[self.pos.min(self.chars.len())..].iter().collect()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// The bare word at the cursor (after whitespace) and where it ends.
    fn word_at(&mut self) -> (String, usize) {
        self.skip_ws();
        let mut end = self.pos;
        while end < self.chars.len() && is_value_char(self.chars[end]) {
            end += 1;
        }
        (self.chars[self.pos..end].iter().collect(), end)
    }

    /// Consumes `keyword` (exact, upper case) when it is the next word.
    fn keyword(&mut self, keyword: &str) -> bool {
        let start = self.pos;
        let (word, end) = self.word_at();
        if word == keyword {
            self.pos = end;
            true
        } else {
            self.pos = start;
            false
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                self.pos,
                "The filter exceeded the maximum depth limit. Try rewriting the filter so that it contains fewer nested conditions.".to_string(),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, String> {
        self.enter()?;
        let mut items = vec![self.and()?];
        while self.keyword("OR") {
            items.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
    }

    fn and(&mut self) -> Result<Expr, String> {
        self.enter()?;
        let mut items = vec![self.not()?];
        while self.keyword("AND") {
            items.push(self.not()?);
        }
        self.depth -= 1;
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn not(&mut self) -> Result<Expr, String> {
        self.enter()?;
        let expr = if self.keyword("NOT") {
            match self.not()? {
                Expr::Not(inner) => *inner,
                other => Expr::Not(Box::new(other)),
            }
        } else {
            self.primary()?
        };
        self.depth -= 1;
        Ok(expr)
    }

    fn expect_char(&mut self, c: char, message: &str) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(self.pos, message.to_string()))
        }
    }

    fn float(&mut self, message: &str) -> Result<f64, String> {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let value = text.parse::<f64>().map_err(|_| self.error(start, message.to_string()))?;
        self.skip_ws();
        Ok(value)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        self.enter()?;
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some('(') {
            self.pos += 1;
            let expr = self.or()?;
            self.skip_ws();
            if self.peek() != Some(')') {
                let text: String = self.chars[start..].iter().collect();
                return Err(
                    self.error(start, format!("Expression `{text}` is missing the following closing delimiter: `)`."))
                );
            }
            self.pos += 1;
            self.depth -= 1;
            return Ok(expr);
        }
        let (word, end) = self.word_at();
        if self.chars.get(end) == Some(&'(') {
            let expr = match word.as_str() {
                "_geoRadius" => self.geo_radius(end)?,
                "_geoBoundingBox" => self.geo_bounding_box(end)?,
                "_geoPoint" | "_geoDistance" | "_geo" => {
                    return Err(self.error(
                        start,
                        format!(
                            "`{word}` is a reserved keyword and thus can't be used as a filter expression. Use the `_geoRadius(latitude, longitude, distance)` or `_geoBoundingBox([latitude, longitude], [latitude, longitude])` built-in rules to filter on `_geo` coordinates."
                        ),
                    ));
                }
                _ => return Err(self.invalid_primary(start)),
            };
            self.depth -= 1;
            return Ok(expr);
        }
        let attribute = self.value()?;
        let expr = self.condition(attribute, start)?;
        self.depth -= 1;
        Ok(expr)
    }

    fn invalid_primary(&self, at: usize) -> String {
        let rest: String = self.chars[at..].iter().collect();
        let text =
            if rest.trim().is_empty() { "but instead got nothing.".to_string() } else { format!("at `{rest}`.") };
        self.error(
            at,
            format!(
                "Was expecting an operation `=`, `!=`, `>=`, `>`, `<=`, `<`, `IN`, `NOT IN`, `TO`, `EXISTS`, `NOT EXISTS`, `IS NULL`, `IS NOT NULL`, `IS EMPTY`, `IS NOT EMPTY`, `_geoRadius`, or `_geoBoundingBox` {text}"
            ),
        )
    }

    fn geo_radius(&mut self, open: usize) -> Result<Expr, String> {
        const MESSAGE: &str =
            "The `_geoRadius` filter expects three arguments: `_geoRadius(latitude, longitude, radius)`.";
        self.pos = open + 1;
        let mut args = vec![self.float(MESSAGE)?];
        while self.peek() == Some(',') {
            self.pos += 1;
            args.push(self.float(MESSAGE)?);
        }
        self.expect_char(')', MESSAGE)?;
        let [lat, lng, radius] = args[..] else { return Err(self.error(open, MESSAGE.to_string())) };
        check_point(lat, lng).map_err(|m| self.error(open, m))?;
        Ok(Expr::GeoRadius { lat, lng, radius })
    }

    fn geo_bounding_box(&mut self, open: usize) -> Result<Expr, String> {
        const MESSAGE: &str = "The `_geoBoundingBox` filter expects two pairs of arguments: `_geoBoundingBox([latitude, longitude], [latitude, longitude])`.";
        self.pos = open + 1;
        let mut points = Vec::new();
        loop {
            self.expect_char('[', MESSAGE)?;
            let lat = self.float(MESSAGE)?;
            self.expect_char(',', MESSAGE)?;
            let lng = self.float(MESSAGE)?;
            self.expect_char(']', MESSAGE)?;
            points.push((lat, lng));
            self.skip_ws();
            if self.peek() == Some(',') {
                self.pos += 1;
            } else {
                break;
            }
        }
        self.expect_char(')', MESSAGE)?;
        let [top_right, bottom_left] = points[..] else { return Err(self.error(open, MESSAGE.to_string())) };
        for (lat, lng) in [top_right, bottom_left] {
            check_point(lat, lng).map_err(|m| self.error(open, m))?;
        }
        if top_right.0 < bottom_left.0 {
            return Err(self.error(
                open,
                format!("The top latitude `{}` is below the bottom latitude `{}`.", top_right.0, bottom_left.0),
            ));
        }
        Ok(Expr::GeoBoundingBox { top_right, bottom_left })
    }

    /// A value: a bare word (`[alnum _ - .]+`, not a keyword) or a quoted string.
    fn value(&mut self) -> Result<String, String> {
        self.skip_ws();
        let start = self.pos;
        let value = match self.peek() {
            Some(quote @ ('\'' | '"')) => {
                self.pos += 1;
                let mut out = String::new();
                loop {
                    match self.peek() {
                        None => {
                            let text: String = self.chars[start..].iter().collect();
                            return Err(self.error(
                                start,
                                format!("Expression `{text}` is missing the following closing delimiter: `{quote}`."),
                            ));
                        }
                        Some(c) if c == quote => {
                            self.pos += 1;
                            break;
                        }
                        Some('\\') => {
                            let escaped = self.chars.get(self.pos + 1).copied();
                            let unescaped = match escaped {
                                Some(c @ ('\\' | '\'' | '"')) => c,
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some('r') => '\r',
                                Some('0') => '\0',
                                _ => {
                                    let text: String = self.chars[start..].iter().collect();
                                    return Err(self.error(start, format!("Malformed value: `{text}`.")));
                                }
                            };
                            out.push(unescaped);
                            self.pos += 2;
                        }
                        Some(c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                    }
                }
                out
            }
            _ => {
                let (word, end) = self.word_at();
                if word.is_empty() {
                    let rest = self.rest();
                    let shown: String =
                        rest.chars().take_while(|c| !c.is_whitespace() && !"()=<>!".contains(*c)).collect();
                    let message = if rest.trim().is_empty() {
                        "Was expecting a value but instead got nothing.".to_string()
                    } else {
                        format!("Was expecting a value but instead got `{shown}`.")
                    };
                    return Err(self.error(start, message));
                }
                if matches!(word.as_str(), "_geoRadius" | "_geoBoundingBox") {
                    return Err(
                        self.error(start, format!("The `{word}` filter is an operation and can't be used as a value."))
                    );
                }
                if KEYWORDS.contains(&word.as_str()) {
                    return Err(self.error(
                        start,
                        format!(
                            "Was expecting a value but instead got `{word}`, which is a reserved keyword. To use `{word}` as a field name or a value, surround it by quotes."
                        ),
                    ));
                }
                self.pos = end;
                word
            }
        };
        self.skip_ws();
        Ok(value)
    }

    fn condition(&mut self, attribute: String, start: usize) -> Result<Expr, String> {
        self.skip_ws();
        let two: String = self.chars[self.pos..].iter().take(2).collect();
        let op = match two.as_str() {
            "<=" => Some((Op::Le, 2)),
            ">=" => Some((Op::Ge, 2)),
            "!=" => Some((Op::Ne, 2)),
            _ => match self.peek() {
                Some('<') => Some((Op::Lt, 1)),
                Some('>') => Some((Op::Gt, 1)),
                Some('=') => Some((Op::Eq, 1)),
                _ => None,
            },
        };
        if let Some((op, len)) = op {
            self.pos += len;
            let value = self.value()?;
            return Ok(Expr::Compare { attribute, op, value });
        }
        if self.keyword("IN") {
            return Ok(Expr::In { attribute, values: self.list()? });
        }
        if self.keyword("NOT") {
            if self.keyword("IN") {
                return Ok(Expr::Not(Box::new(Expr::In { attribute, values: self.list()? })));
            }
            if self.keyword("EXISTS") {
                return Ok(Expr::Not(Box::new(Expr::Exists(attribute))));
            }
            return Err(self.invalid_primary(start));
        }
        if self.keyword("IS") {
            let negated = self.keyword("NOT");
            let expr = if self.keyword("NULL") {
                Expr::IsNull(attribute)
            } else if self.keyword("EMPTY") {
                Expr::IsEmpty(attribute)
            } else {
                return Err(self.invalid_primary(start));
            };
            return Ok(if negated { Expr::Not(Box::new(expr)) } else { expr });
        }
        if self.keyword("EXISTS") {
            return Ok(Expr::Exists(attribute));
        }
        if self.keyword("CONTAINS") || self.keyword("STARTS") {
            return Err(self.error(
                start,
                "Using `CONTAINS` or `STARTS WITH` in a filter requires enabling the `contains filter` experimental feature."
                    .to_string(),
            ));
        }
        let before_from = self.pos;
        if let Ok(from) = self.value()
            && self.keyword("TO")
        {
            let to = self.value()?;
            return Ok(Expr::Between { attribute, from, to });
        }
        self.pos = before_from;
        Err(self.invalid_primary(start))
    }

    /// `[v1, v2, ...]` after `IN` (a trailing comma is fine).
    fn list(&mut self) -> Result<Vec<String>, String> {
        self.skip_ws();
        if self.peek() != Some('[') {
            return Err(self.error(self.pos, "Expected `[` after `IN` keyword.".to_string()));
        }
        self.pos += 1;
        let mut values = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(']') => {
                    self.pos += 1;
                    break;
                }
                None => {
                    return Err(self.error(
                        self.pos,
                        "Expected matching `]` after the list of field names given to `IN[`".to_string(),
                    ));
                }
                _ => {}
            }
            values.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(']') => {}
                _ => {
                    return Err(self.error(
                        self.pos,
                        format!(
                            "Expected only comma-separated field names inside `IN[..]` but instead found `{}`.",
                            self.rest()
                        ),
                    ));
                }
            }
        }
        Ok(values)
    }
}

fn check_point(lat: f64, lng: f64) -> Result<(), String> {
    if !(-90.0..=90.0).contains(&lat) {
        return Err(format!("Bad latitude `{lat}`. Latitude must be contained between -90 and 90 degrees. "));
    }
    if !(-180.0..=180.0).contains(&lng) {
        return Err(format!("Bad longitude `{lng}`. Longitude must be contained between -180 and 180 degrees. "));
    }
    Ok(())
}

fn attributes<'e>(expr: &'e Expr, out: &mut Vec<&'e str>) {
    match expr {
        Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| attributes(e, out)),
        Expr::Not(inner) => attributes(inner, out),
        Expr::Compare { attribute, .. }
        | Expr::Between { attribute, .. }
        | Expr::In { attribute, .. }
        | Expr::Exists(attribute)
        | Expr::IsNull(attribute)
        | Expr::IsEmpty(attribute) => out.push(attribute),
        Expr::GeoRadius { .. } | Expr::GeoBoundingBox { .. } => out.push("_geo"),
    }
}

fn uses_geo_field_directly(expr: &Expr) -> bool {
    match expr {
        Expr::And(items) | Expr::Or(items) => items.iter().any(uses_geo_field_directly),
        Expr::Not(inner) => uses_geo_field_directly(inner),
        Expr::GeoRadius { .. } | Expr::GeoBoundingBox { .. } => false,
        other => {
            let mut names = Vec::new();
            attributes(other, &mut names);
            names.contains(&"_geo")
        }
    }
}

/// Every attribute the filter uses must be filterable.
pub(super) fn check_filterable(expr: &Expr, view: &View) -> Result<(), String> {
    if uses_geo_field_directly(expr) {
        return Err("`_geo` is a reserved keyword and thus can't be used as a filter expression. Use the `_geoRadius(latitude, longitude, distance)` or `_geoBoundingBox([latitude, longitude], [latitude, longitude])` built-in rules to filter on `_geo` coordinates.".to_string());
    }
    let mut names = Vec::new();
    attributes(expr, &mut names);
    match names.into_iter().find(|name| !view.is_filterable(name)) {
        None => Ok(()),
        Some(name) if view.filterable.is_empty() => Err(format!(
            "Attribute `{name}` is not filterable. This index does not have configured filterable attributes."
        )),
        Some(name) => {
            let mut available = view.filterable.clone();
            available.sort();
            Err(format!(
                "Attribute `{name}` is not filterable. Available filterable attributes are: {}.",
                super::backticked(&available)
            ))
        }
    }
}

// ---------------------------------------------------------------------------
// Evaluation

fn push_flat<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| push_flat(v, out)),
        other => out.push(other),
    }
}

/// The values at `path` (`a.b` reaches into objects and arrays of objects), unflattened.
pub(super) fn raw_values<'a>(doc: &'a Map<String, Value>, path: &str, out: &mut Vec<&'a Value>) {
    if let Some(value) = doc.get(path) {
        out.push(value);
    }
    for (i, _) in path.match_indices('.') {
        if let Some(value) = doc.get(&path[..i]) {
            descend(value, &path[i + 1..], out);
        }
    }
}

fn descend<'a>(value: &'a Value, path: &str, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => raw_values(map, path, out),
        Value::Array(items) => items.iter().for_each(|item| descend(item, path, out)),
        _ => {}
    }
}

/// The values at `path`, arrays flattened into their elements.
pub(super) fn values<'a>(doc: &'a Map<String, Value>, path: &str) -> Vec<&'a Value> {
    let mut raw = Vec::new();
    raw_values(doc, path, &mut raw);
    let mut out = Vec::new();
    raw.into_iter().for_each(|v| push_flat(v, &mut out));
    out
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

fn equals(value: &Value, literal: &str) -> bool {
    match value {
        Value::Number(n) => number(literal).is_some_and(|l| n.as_f64() == Some(l)),
        Value::String(s) => text::facet_value(s) == text::facet_value(literal),
        Value::Bool(b) => literal.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

/// Numbers against a numeric literal, strings (normalized, lexicographically) against any literal.
fn compare(value: &Value, op: Op, literal: &str) -> bool {
    let ordering = match value {
        Value::Number(n) => match (n.as_f64(), number(literal)) {
            (Some(v), Some(l)) => v.partial_cmp(&l),
            _ => None,
        },
        Value::String(s) => Some(text::facet_value(s).cmp(&text::facet_value(literal))),
        _ => None,
    };
    let Some(ordering) = ordering else { return false };
    match op {
        Op::Gt => ordering.is_gt(),
        Op::Ge => ordering.is_ge(),
        Op::Lt => ordering.is_lt(),
        Op::Le => ordering.is_le(),
        Op::Eq | Op::Ne => ordering.is_eq(),
    }
}

fn between(value: &Value, from: &str, to: &str) -> bool {
    match value {
        Value::Number(_) if number(from).is_some() && number(to).is_some() => {
            compare(value, Op::Ge, from) && compare(value, Op::Le, to)
        }
        Value::String(_) => compare(value, Op::Ge, from) && compare(value, Op::Le, to),
        _ => false,
    }
}

/// `(lat, lng)` of a document's `_geo` field.
pub(super) fn geo_point(doc: &Map<String, Value>) -> Option<(f64, f64)> {
    let geo = doc.get("_geo")?.as_object()?;
    let coordinate = |key: &str| match geo.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => number(s),
        _ => None,
    };
    Some((coordinate("lat")?, coordinate("lng")?))
}

/// Great-circle distance in metres (haversine, R = 6,371,000 m).
pub(super) fn haversine(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371_000.0;
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = (b.0 - a.0).to_radians();
    let dlng = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().min(1.0).asin()
}

pub(super) fn matches(expr: &Expr, doc: &Map<String, Value>) -> bool {
    match expr {
        Expr::And(items) => items.iter().all(|e| matches(e, doc)),
        Expr::Or(items) => items.iter().any(|e| matches(e, doc)),
        Expr::Not(inner) => !matches(inner, doc),
        Expr::Compare { attribute, op: Op::Eq, value } => values(doc, attribute).iter().any(|v| equals(v, value)),
        Expr::Compare { attribute, op: Op::Ne, value } => !values(doc, attribute).iter().any(|v| equals(v, value)),
        Expr::Compare { attribute, op, value } => values(doc, attribute).iter().any(|v| compare(v, *op, value)),
        Expr::Between { attribute, from, to } => values(doc, attribute).iter().any(|v| between(v, from, to)),
        Expr::In { attribute, values: literals } => {
            values(doc, attribute).iter().any(|v| literals.iter().any(|l| equals(v, l)))
        }
        Expr::Exists(attribute) => {
            let mut raw = Vec::new();
            raw_values(doc, attribute, &mut raw);
            !raw.is_empty()
        }
        Expr::IsNull(attribute) => {
            let mut raw = Vec::new();
            raw_values(doc, attribute, &mut raw);
            raw.iter().any(|v| v.is_null())
        }
        Expr::IsEmpty(attribute) => {
            let mut raw = Vec::new();
            raw_values(doc, attribute, &mut raw);
            raw.iter().any(|v| match v {
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            })
        }
        Expr::GeoRadius { lat, lng, radius } => {
            geo_point(doc).is_some_and(|point| haversine((*lat, *lng), point) <= *radius)
        }
        Expr::GeoBoundingBox { top_right, bottom_left } => geo_point(doc).is_some_and(|(lat, lng)| {
            let within_lat = lat <= top_right.0 && lat >= bottom_left.0;
            let within_lng = if bottom_left.1 <= top_right.1 {
                lng >= bottom_left.1 && lng <= top_right.1
            } else {
                // The box crosses the antimeridian.
                lng >= bottom_left.1 || lng <= top_right.1
            };
            within_lat && within_lng
        }),
    }
}
