//! Plant addresses to loopback addresses. Every simulated host gets its own address in
//! 127.0.0.0/8 (Linux routes the whole block to `lo`), so real tools and `tshark -i lo` see
//! the plant's hosts as distinct peers without touching any real network.

use std::net::Ipv4Addr;

/// One rule: addresses in `from/prefix` map to the same offset in `to/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapRule {
    from: u32,
    to: u32,
    prefix: u8,
}

/// The map from plant addresses to live addresses; the first matching rule wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressMap {
    rules: Vec<MapRule>,
}

impl Default for AddressMap {
    /// 10.a.b.c becomes 127.a.b.c (DESIGN.md §5).
    fn default() -> Self {
        AddressMap {
            rules: vec![MapRule {
                from: u32::from(Ipv4Addr::new(10, 0, 0, 0)),
                to: u32::from(Ipv4Addr::new(127, 0, 0, 0)),
                prefix: 8,
            }],
        }
    }
}

fn parse_cidr(s: &str) -> Result<(u32, u8), String> {
    let (a, p) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not a network: expected address/prefix, e.g. \"10.0.0.0/8\""))?;
    let addr: Ipv4Addr = a.parse().map_err(|_| format!("{a:?} is not an IPv4 address"))?;
    let prefix: u8 = p
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| format!("{p:?} is not a prefix length (0..=32)"))?;
    let mask = mask(prefix);
    if u32::from(addr) & !mask != 0 {
        return Err(format!("{s:?} has host bits set: expected the network address"));
    }
    Ok((u32::from(addr), prefix))
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) }
}

impl AddressMap {
    /// Builds a map from `(from, to)` network pairs such as ("198.51.100.0/24",
    /// "127.198.51.0/24"). Both sides need the same prefix length.
    pub fn new(pairs: &[(String, String)]) -> Result<Self, String> {
        let mut rules = Vec::new();
        for (from, to) in pairs {
            let (f, fp) = parse_cidr(from)?;
            let (t, tp) = parse_cidr(to)?;
            if fp != tp {
                return Err(format!(
                    "{from} and {to} differ in prefix length: a map needs equal sizes"
                ));
            }
            rules.push(MapRule {
                from: f,
                to: t,
                prefix: fp,
            });
        }
        Ok(AddressMap { rules })
    }

    /// The live address of a plant address, if a rule covers it.
    pub fn live(&self, plant: Ipv4Addr) -> Option<Ipv4Addr> {
        let a = u32::from(plant);
        self.rules.iter().find_map(|r| {
            let m = mask(r.prefix);
            (a & m == r.from).then(|| Ipv4Addr::from(r.to | (a & !m)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_maps_ten_slash_eight_to_loopback() {
        let m = AddressMap::default();
        assert_eq!(
            m.live(Ipv4Addr::new(10, 40, 1, 11)),
            Some(Ipv4Addr::new(127, 40, 1, 11))
        );
        assert_eq!(m.live(Ipv4Addr::new(198, 51, 100, 20)), None);
    }

    #[test]
    fn explicit_rules_apply_in_order() {
        let m = AddressMap::new(&[
            ("198.51.100.0/24".into(), "127.198.51.0/24".into()),
            ("10.0.0.0/8".into(), "127.0.0.0/8".into()),
        ])
        .unwrap();
        assert_eq!(
            m.live(Ipv4Addr::new(198, 51, 100, 20)),
            Some(Ipv4Addr::new(127, 198, 51, 20))
        );
        assert_eq!(
            m.live(Ipv4Addr::new(10, 1, 2, 3)),
            Some(Ipv4Addr::new(127, 1, 2, 3))
        );
    }

    #[test]
    fn bad_rules_say_why() {
        let e = AddressMap::new(&[("10.0.0.1/8".into(), "127.0.0.0/8".into())]).unwrap_err();
        assert!(e.contains("host bits"), "{e}");
        let e = AddressMap::new(&[("10.0.0.0/8".into(), "127.0.0.0/16".into())]).unwrap_err();
        assert!(e.contains("prefix length"), "{e}");
    }
}
