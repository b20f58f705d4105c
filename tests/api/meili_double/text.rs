//! Text normalization shared by search, filters and facets: lowercase, fold
//! common Latin accents, split into maximal runs of alphanumeric characters.

/// The accent-free spelling of a lowercase character, when it has one.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Lowercased, accent-folded text.
pub(super) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match fold(c) {
            Some(folded) => out.push_str(folded),
            None => out.push(c),
        }
    }
    out
}

/// A facet value as Meilisearch compares it in filters: trimmed and
/// lower-cased, accents kept (milli's `normalize_facet`: compatibility
/// decomposition and lower case, no accent stripping).
pub(super) fn facet_value(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Each token of `text` as (byte start, byte length) in `text` and its normalized form.
pub(super) fn token_spans(text: &str) -> Vec<(usize, usize, String)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i - s, normalize(&text[s..i])));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len() - s, normalize(&text[s..])));
    }
    spans
}

/// The normalized tokens of `text`.
pub(super) fn tokens(text: &str) -> Vec<String> {
    token_spans(text).into_iter().map(|(_, _, token)| token).collect()
}

/// Optimal-string-alignment (restricted Damerau) distance table between `a`
/// and `b`; `table[i][j]` is the distance between `a[..i]` and `b[..j]`.
fn osa_table(a: &[char], b: &[char]) -> Vec<Vec<usize>> {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d
}

/// Distance between `word` and `token`.
pub(super) fn distance(word: &[char], token: &[char]) -> usize {
    osa_table(word, token)[word.len()][token.len()]
}

/// Smallest distance between `word` and any prefix of `token` (the empty one included).
pub(super) fn prefix_distance(word: &[char], token: &[char]) -> usize {
    osa_table(word, token)[word.len()].iter().copied().min().unwrap_or(word.len())
}

/// Whether `needle` occurs as consecutive tokens in `haystack`.
pub(super) fn contains_run(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
