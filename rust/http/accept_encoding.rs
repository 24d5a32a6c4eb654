//! Accept-Encoding per RFC 9110 §12.5.3, q-values included: which of the codings we produce
//! a client gets (Compress, Gzip), and what of the header decides that (Cache keys its
//! variants on it).
//!
//! Peers' bugs this avoids: `gzip;q=0` taken as a yes (substring checks), q-values ignored
//! (starlette-compress), `*` ignored, and exceptions on malformed headers. A malformed
//! element is ignored; the others still count.

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

/// The content codings wsgi_mw produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    Zstd,
    Br,
    Gzip,
}

impl Coding {
    pub const ALL: [Coding; 3] = [Coding::Zstd, Coding::Br, Coding::Gzip];

    /// The coding's name in Accept-Encoding and Content-Encoding.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Zstd => "zstd",
            Coding::Br => "br",
            Coding::Gzip => "gzip",
        }
    }

    /// The coding a name (any case) stands for.
    pub fn from_token(name: &str) -> Option<Coding> {
        Coding::ALL
            .into_iter()
            .find(|coding| coding.token().eq_ignore_ascii_case(name))
    }
}

/// Every well-formed element of the header with its weight (codings lowercased, `x-gzip`
/// as `gzip`, `*` kept), in order. A malformed element (a coding that is no token, a bad
/// q-value, a parameter without `=`) is ignored. Only the first [`MAX_CODINGS`] elements are
/// read, so the cost is linear in the header and bounded.
pub fn weighted_codings(header: &str) -> Vec<(String, u16)> {
    header
        .split(',')
        .map(str::trim)
        // RFC 9110 §5.6.1: empty list elements are allowed and ignored (and not counted).
        .filter(|element| !element.is_empty())
        .take(MAX_CODINGS)
        .filter_map(weighted_element)
        .collect()
}

/// One list element as (coding, weight), or None when it is malformed.
fn weighted_element(element: &str) -> Option<(String, u16)> {
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
    Some((coding, q))
}

/// The highest weight given to `coding` (already normalised), if it is named.
fn weight_of(codings: &[(String, u16)], coding: &str) -> Option<u16> {
    codings
        .iter()
        .filter(|(name, _)| name == coding)
        .map(|(_, q)| *q)
        .max()
}

/// The weight the client gives `coding`: its own element's (the highest, if named twice),
/// else that of `*`, else 0 (not acceptable).
fn effective_weight(codings: &[(String, u16)], coding: &str) -> u16 {
    weight_of(codings, coding)
        .or_else(|| weight_of(codings, "*"))
        .unwrap_or(0)
}

/// The coding of `offered` (the server's order of preference) a client with this
/// Accept-Encoding gets, RFC 9110 §12.5.3: the one it weighs highest; a tie goes to the
/// earlier in `offered`. A coding the header does not name has the weight of `*`, and q=0
/// refuses. `identity` named with a higher weight than every offered coding wins (None);
/// not named, it never competes (it is acceptable, not preferred). No header, or nothing
/// acceptable: None, the body as it is.
pub fn negotiate(header: Option<&str>, offered: &[Coding]) -> Option<Coding> {
    let codings = weighted_codings(header?);
    let mut best: Option<(Coding, u16)> = None;
    for &coding in offered {
        let weight = effective_weight(&codings, coding.token());
        if weight > 0 && best.is_none_or(|(_, best)| weight > best) {
            best = Some((coding, weight));
        }
    }
    let (coding, weight) = best?;
    match weight_of(&codings, "identity") {
        Some(identity) if identity > weight => None,
        _ => Some(coding),
    }
}

/// What of an Accept-Encoding header decides the response, as one normalised string, for
/// Cache to key its variants on (Vary: Accept-Encoding): the weights the client gives the
/// codings we produce (zstd, br, gzip) and `identity`, and the set of any other codings it
/// accepts (an app may produce those itself). Two headers with the same normal form get the
/// same coding from every Compress and Gzip, whatever their order, spelling or weights of
/// codings nobody produces; two that could get different ones never share it.
pub fn normal_form(header: Option<&str>) -> String {
    let Some(header) = header else {
        return String::new();
    };
    let codings = weighted_codings(header);
    let mut normal = String::new();
    for coding in Coding::ALL {
        normal.push_str(coding.token());
        normal.push('=');
        normal.push_str(&effective_weight(&codings, coding.token()).to_string());
        normal.push(';');
    }
    normal.push_str("identity=");
    if let Some(identity) = weight_of(&codings, "identity") {
        normal.push_str(&identity.to_string());
    }
    let mut others: Vec<&str> = codings
        .iter()
        .filter(|(name, q)| {
            *q > 0
                && name != "identity"
                && Coding::from_token(name).is_none()
                && weight_of(&codings, name) == Some(*q)
        })
        .map(|(name, _)| name.as_str())
        .collect();
    others.sort_unstable();
    others.dedup();
    for other in others {
        normal.push(';');
        normal.push_str(other);
    }
    normal
}

#[cfg(test)]
#[path = "accept_encoding_tests.rs"]
mod tests;
