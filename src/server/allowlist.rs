//! Per-token network allowlists (issue 14): the networks a token may be used
//! from. Parsed once where a token is created; checked wherever a token is
//! presented (`Tokens::authenticate`), cached or not.

use crate::model::{parse_network, ALLOWED_CIDRS_MAX};
use crate::server::error::ServiceError;
use ipnet::IpNet;
use std::net::IpAddr;

/// The networks a token may be used from; empty: anywhere.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowlist(Vec<IpNet>);

impl Allowlist {
    /// Up to [`ALLOWED_CIDRS_MAX`] entries, IPv4 or IPv6, each a network
    /// (`10.0.0.0/8`) or a bare address (one host: /32 or /128). Host bits are
    /// cleared (`10.1.2.3/8` is `10.0.0.0/8`); duplicates are dropped.
    pub fn parse(raw: &[String]) -> Result<Self, ServiceError> {
        if raw.len() > ALLOWED_CIDRS_MAX {
            return Err(ServiceError::invalid(
                "allowed_cidrs",
                format!("must name at most {ALLOWED_CIDRS_MAX} networks"),
            ));
        }
        let mut nets: Vec<IpNet> = Vec::with_capacity(raw.len());
        for entry in raw {
            let entry = entry.trim();
            let net = parse_network(entry)
                .and_then(|(addr, prefix)| IpNet::new(addr, prefix).ok())
                .ok_or_else(|| {
                    let shown: String = entry.chars().filter(|c| !c.is_control()).take(64).collect();
                    ServiceError::invalid(
                        "allowed_cidrs",
                        format!(
                            "`{shown}` is not an IPv4 or IPv6 network (like 10.0.0.0/8 or 2001:db8::/32) or address"
                        ),
                    )
                })?;
            let net = canonical(net).trunc();
            if !nets.contains(&net) {
                nets.push(net);
            }
        }
        Ok(Allowlist(nets))
    }

    /// As stored: space-separated. Unreadable entries (none are written)
    /// are skipped, which can only narrow the list: an empty result from a
    /// non-empty column allows nothing.
    pub fn from_stored(stored: &str) -> Self {
        Allowlist(
            stored
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect(),
        )
    }

    pub fn to_stored(&self) -> String {
        self.names().join(" ")
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(IpNet::to_string).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a request from `ip` may use the token.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.is_empty() || self.0.iter().any(|n| n.contains(&ip))
    }
}

/// An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) as the IPv4 one, as
/// client addresses are canonical too.
fn canonical(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) if v6.prefix_len() >= 96 => {
                IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).unwrap_or(net)
            }
            _ => net,
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(raw: &[&str]) -> Result<Allowlist, ServiceError> {
        Allowlist::parse(&raw.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn networks_and_bare_addresses() {
        let l = list(&[
            "10.1.2.3/8",
            "192.168.1.7",
            "2001:db8::/32",
            "::1",
            "10.0.0.0/8",
        ])
        .unwrap();
        assert_eq!(
            l.names(),
            ["10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "::1/128"]
        );
        assert_eq!(Allowlist::from_stored(&l.to_stored()), l);
        for ok in [
            "10.200.0.1",
            "192.168.1.7",
            "2001:db8:1::5",
            "::1",
            "::ffff:10.0.0.9",
        ] {
            assert!(l.allows(ok.parse().unwrap()), "{ok}");
        }
        for no in ["11.0.0.1", "192.168.1.8", "2001:db9::1", "::2"] {
            assert!(!l.allows(no.parse().unwrap()), "{no}");
        }
        assert!(Allowlist::default().allows("1.2.3.4".parse().unwrap()));
        let mapped = list(&["::ffff:10.0.0.0/104"]).unwrap();
        assert_eq!(mapped.names(), ["10.0.0.0/8"]);
    }

    #[test]
    fn bad_entries_are_named() {
        let e = list(&["10.0.0.0/8", "10.0.0.0/33"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`10.0.0.0/33`"), "{e}");
        let e = list(&["example.com"]).unwrap_err().to_string();
        assert!(e.contains("`example.com`"), "{e}");
        let many: Vec<String> = (0..21).map(|i| format!("10.0.0.{i}")).collect();
        assert!(Allowlist::parse(&many).is_err());
        assert!(Allowlist::parse(&many[..20]).is_ok());
    }
}
