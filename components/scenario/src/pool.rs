//! Source-IP pools: single addresses, `a-b` ranges and CIDR blocks.
//! Virtual user n sends from `pool[n mod size]`, as k6's `--local-ips` does.

use serde::{Deserialize, Deserializer};
use std::net::IpAddr;

/// Pools larger than this are almost surely a typo (a /8 is 16M addresses).
pub const MAX_POOL: u128 = 65_536;

/// One `ip_pool` entry as written, expanded to its addresses.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolEntry(pub Vec<IpAddr>);

impl<'de> Deserialize<'de> for PoolEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        expand(&text)
            .map(PoolEntry)
            .map_err(serde::de::Error::custom)
    }
}

/// Expands "10.0.0.1", "10.0.0.1-10.0.0.9" or "10.0.0.0/30" (also IPv6).
pub fn expand(text: &str) -> Result<Vec<IpAddr>, String> {
    let t = text.trim();
    if let Some((net, bits)) = t.split_once('/') {
        let base: IpAddr = ip(net, text)?;
        let width = if base.is_ipv4() { 32 } else { 128 };
        let bits: u32 = bits.parse().ok().filter(|b| *b <= width).ok_or_else(|| {
            format!("invalid ip_pool entry {text:?}: prefix length must be 0..={width}")
        })?;
        let host_bits = width - bits;
        let mask = if host_bits >= 128 {
            0
        } else {
            !0u128 << host_bits
        };
        let first = to_int(base) & mask;
        let count = 1u128.checked_shl(host_bits).unwrap_or(u128::MAX);
        // Like k6, a v4 block larger than /31 skips its network and broadcast addresses.
        let (lo, hi) = if base.is_ipv4() && host_bits >= 2 {
            (first + 1, first + count - 2)
        } else {
            (first, first + (count - 1))
        };
        return range(lo, hi, base.is_ipv4(), text);
    }
    if let Some((a, b)) = t.split_once('-') {
        let (a, b) = (ip(a, text)?, ip(b, text)?);
        if a.is_ipv4() != b.is_ipv4() {
            return Err(format!(
                "invalid ip_pool entry {text:?}: range mixes IPv4 and IPv6"
            ));
        }
        if to_int(a) > to_int(b) {
            return Err(format!(
                "invalid ip_pool entry {text:?}: range start is after its end"
            ));
        }
        return range(to_int(a), to_int(b), a.is_ipv4(), text);
    }
    Ok(vec![ip(t, text)?])
}

fn ip(part: &str, whole: &str) -> Result<IpAddr, String> {
    part.trim().parse().map_err(|_| {
        format!(
            "invalid ip_pool entry {whole:?}: {:?} is not an IP address",
            part.trim()
        )
    })
}

fn to_int(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn range(lo: u128, hi: u128, v4: bool, text: &str) -> Result<Vec<IpAddr>, String> {
    if hi - lo >= MAX_POOL {
        return Err(format!(
            "invalid ip_pool entry {text:?}: more than {MAX_POOL} addresses"
        ));
    }
    Ok((lo..=hi)
        .map(|n| {
            if v4 {
                IpAddr::V4((n as u32).into())
            } else {
                IpAddr::V6(n.into())
            }
        })
        .collect())
}

/// The flattened pool; `None` source when empty (bind to the unspecified address).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IpPool(pub Vec<IpAddr>);

impl IpPool {
    pub fn from_entries(entries: &[PoolEntry]) -> Result<Self, String> {
        let all: Vec<IpAddr> = entries.iter().flat_map(|e| e.0.iter().copied()).collect();
        if all.len() as u128 > MAX_POOL {
            return Err(format!(
                "load.ip_pool: more than {MAX_POOL} addresses in all"
            ));
        }
        Ok(IpPool(all))
    }

    /// The source address of virtual user `vu`.
    pub fn for_vu(&self, vu: u32) -> Option<IpAddr> {
        (!self.0.is_empty()).then(|| self.0[vu as usize % self.0.len()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn single_range_and_cidr() {
        assert_eq!(expand("127.0.0.2").unwrap(), ips(&["127.0.0.2"]));
        assert_eq!(
            expand("127.0.0.2-127.0.0.4").unwrap(),
            ips(&["127.0.0.2", "127.0.0.3", "127.0.0.4"])
        );
        assert_eq!(
            expand("10.0.0.0/30").unwrap(),
            ips(&["10.0.0.1", "10.0.0.2"])
        );
        assert_eq!(
            expand("10.0.0.8/31").unwrap(),
            ips(&["10.0.0.8", "10.0.0.9"])
        );
        assert_eq!(expand("10.0.0.7/32").unwrap(), ips(&["10.0.0.7"]));
        assert_eq!(
            expand("fd00::1-fd00::3").unwrap(),
            ips(&["fd00::1", "fd00::2", "fd00::3"])
        );
        assert_eq!(expand("fd00::/127").unwrap(), ips(&["fd00::", "fd00::1"]));
    }

    #[test]
    fn bad_entries_name_themselves() {
        for bad in [
            "300.1.1.1",
            "1.1.1.9-1.1.1.1",
            "1.1.1.1-::1",
            "1.1.1.0/33",
            "10.0.0.0/8",
            "x",
        ] {
            let err = expand(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn vu_n_uses_pool_n_mod_size() {
        let pool = IpPool(ips(&["127.0.0.2", "127.0.0.3"]));
        let got: Vec<_> = (0..5)
            .map(|n| pool.for_vu(n).unwrap().to_string())
            .collect();
        assert_eq!(
            got,
            [
                "127.0.0.2",
                "127.0.0.3",
                "127.0.0.2",
                "127.0.0.3",
                "127.0.0.2"
            ]
        );
        assert_eq!(IpPool::default().for_vu(3), None);
    }
}
