//! The client address behind trusted reverse proxies: `X-Forwarded-For` is believed only when
//! the peer (REMOTE_ADDR) is a trusted proxy, and then only as far as trusted proxies wrote it
//! (the right-most untrusted hop), so a client cannot choose the address it is logged under.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP network (`10.0.0.0/8`, `::1/128`); IPv4 networks are kept as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parse `"10.0.0.0/8"`, `"192.0.2.1"` (a single host) or `"2001:db8::/32"`; host bits
    /// are masked off (`"10.1.2.3/8"` is `10.0.0.0/8`).
    pub fn parse(text: &str) -> Result<Network, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network"))?;
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("{text:?} has an invalid prefix length")),
            },
        };
        Ok(Network {
            base: mask(addr, prefix),
            prefix,
        })
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        addr.is_ipv4() == self.base.is_ipv4() && mask(addr, self.prefix) == self.base
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are IPv4 addresses.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & kept))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & kept))
        }
    }
}

/// The IP address of one `X-Forwarded-For` hop or REMOTE_ADDR: `1.2.3.4`, `::1`, and with a
/// port, `1.2.3.4:80` or `[::1]:80`. `None` for anything else (`unknown`, obfuscated names).
pub fn hop_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(addr) = hop.parse() {
        return Some(addr);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (host, port) = hop.rsplit_once(':')?;
    if port.bytes().all(|b| b.is_ascii_digit()) {
        return host.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    None
}

/// The trusted proxies of one Logger.
#[derive(Debug, Clone, Default)]
pub struct Trusted {
    networks: Vec<Network>,
}

impl Trusted {
    pub fn new(networks: Vec<Network>) -> Self {
        Trusted { networks }
    }

    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    pub fn networks(&self) -> &[Network] {
        &self.networks
    }

    fn trusts(&self, hop: &str) -> bool {
        hop_address(hop).is_some_and(|addr| self.networks.iter().any(|n| n.contains(addr)))
    }

    /// The client to log: `remote` unless it is a trusted proxy; then the right-most entry of
    /// `forwarded_for` that is not a trusted proxy (whatever its form: trusted proxies wrote
    /// it), or its left-most entry when every hop is trusted.
    pub fn client<'a>(&self, remote: &'a str, forwarded_for: Option<&'a str>) -> &'a str {
        let Some(forwarded_for) = forwarded_for else {
            return remote;
        };
        if !self.trusts(remote) {
            return remote;
        }
        let mut last = None;
        for hop in forwarded_for.rsplit(',').map(str::trim) {
            if hop.is_empty() {
                continue;
            }
            if !self.trusts(hop) {
                return hop;
            }
            last = Some(hop);
        }
        last.unwrap_or(remote)
    }
}

#[cfg(test)]
#[path = "proxies_tests.rs"]
mod tests;
