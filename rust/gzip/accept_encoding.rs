//! Does the client accept gzip? Accept-Encoding per RFC 9110 §12.5.3, q-values included.
//!
//! Peers' bugs this avoids: `gzip;q=0` taken as a yes (substring checks), `*` ignored, and
//! exceptions on malformed headers. A header we cannot parse means "no compression".

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

/// The weights the header gives gzip (`gzip` or `x-gzip`) and `*`, or None when malformed.
fn weights(header: &str) -> Option<(Option<u16>, Option<u16>)> {
    let mut gzip: Option<u16> = None;
    let mut star: Option<u16> = None;
    for element in header.split(',') {
        let element = element.trim();
        if element.is_empty() {
            // RFC 9110 §5.6.1: empty list elements are allowed and ignored.
            continue;
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
        // A coding listed twice keeps its highest weight.
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(gzip.map_or(q, |old: u16| old.max(q)));
        } else if coding == "*" {
            star = Some(star.map_or(q, |old: u16| old.max(q)));
        }
    }
    Some((gzip, star))
}

/// True when the request's Accept-Encoding allows a gzip response.
pub fn accepts_gzip(header: Option<&str>) -> bool {
    match header.and_then(weights) {
        // An explicit gzip weight wins over `*`, so `gzip;q=0, *` refuses.
        Some((Some(q), _)) => q > 0,
        Some((None, Some(q))) => q > 0,
        _ => false,
    }
}

#[cfg(test)]
#[path = "accept_encoding_tests.rs"]
mod tests;
