//! Accept-Encoding per RFC 9110 §12.5.3, q-values included: does the client accept gzip
//! (Gzip), and which codings does it accept (Cache keys its variants on that set).
//!
//! Peers' bugs this avoids: `gzip;q=0` taken as a yes (substring checks), `*` ignored, and
//! exceptions on malformed headers. A header we cannot parse means "no compression".

use std::collections::BTreeMap;

/// q-values in thousandths (RFC 9110 §12.4.2: at most three decimals, 0 to 1).
fn parse_qvalue(text: &str) -> Option<u16> {
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (text, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, digit) in frac.bytes().enumerate() {
        let weight = [100, 10, 1].get(i).copied().unwrap_or(0);
        thousandths += u16::from(digit - b'0') * weight;
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Elements of one Accept-Encoding header considered; later ones are ignored. Browsers send
/// four or five; a client sending thousands only makes every reader do more work (the
/// header can be hundreds of KiB under some servers).
pub const MAX_CODINGS: usize = 64;

/// Every coding the header names with its weight (codings lowercased, `x-gzip` as `gzip`,
/// `*` kept), in order, or None when the header is malformed. Only the first
/// [`MAX_CODINGS`] elements are read, so the cost is linear in the header and bounded.
pub fn weighted_codings(header: &str) -> Option<Vec<(String, u16)>> {
    let mut codings = Vec::new();
    for element in header.split(',') {
        let element = element.trim();
        if element.is_empty() {
            // RFC 9110 §5.6.1: empty list elements are allowed and ignored.
            continue;
        }
        if codings.len() == MAX_CODINGS {
            break;
        }
        let mut parts = element.split(';');
        let coding = parts.next().unwrap_or("").trim();
        if coding != "*" && !is_token(coding) {
            return None;
        }
        let mut q = 1000;
        for param in parts {
            let (name, value) = param.split_once('=')?;
            let (name, value) = (name.trim(), value.trim());
            if !is_token(name) {
                return None;
            }
            if name.eq_ignore_ascii_case("q") {
                q = parse_qvalue(value)?;
            }
        }
        let coding = coding.to_ascii_lowercase();
        let coding = if coding == "x-gzip" {
            "gzip".to_owned()
        } else {
            coding
        };
        codings.push((coding, q));
    }
    Some(codings)
}

/// The highest weight given to `coding` (already normalised), if it is named.
fn weight_of(codings: &[(String, u16)], coding: &str) -> Option<u16> {
    codings
        .iter()
        .filter(|(name, _)| name == coding)
        .map(|(_, q)| *q)
        .max()
}

/// The codings a client accepts (weight > 0), sorted and deduplicated: `gzip, deflate, br`
/// and `br;q=0.5, gzip` name the same set when they accept the same codings. A malformed
/// header accepts nothing. Used to key cached variants (Vary: Accept-Encoding).
pub fn accepted_set(header: Option<&str>) -> Vec<String> {
    let Some(codings) = header.and_then(weighted_codings) else {
        return Vec::new();
    };
    // One pass: each coding's highest weight (a coding listed twice keeps its best).
    let mut best: BTreeMap<String, u16> = BTreeMap::new();
    for (name, q) in codings {
        let weight = best.entry(name).or_insert(q);
        *weight = (*weight).max(q);
    }
    best.into_iter()
        .filter(|(_, q)| *q > 0)
        .map(|(name, _)| name)
        .collect()
}

/// True when the request's Accept-Encoding allows a gzip response.
pub fn accepts_gzip(header: Option<&str>) -> bool {
    let Some(codings) = header.and_then(weighted_codings) else {
        return false;
    };
    // An explicit gzip weight wins over `*`, so `gzip;q=0, *` refuses; a coding listed
    // twice keeps its highest weight.
    match weight_of(&codings, "gzip").or_else(|| weight_of(&codings, "*")) {
        Some(q) => q > 0,
        None => false,
    }
}

#[cfg(test)]
#[path = "accept_encoding_tests.rs"]
mod tests;
