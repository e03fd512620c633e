//! Sets of integers as sorted, disjoint, non-adjacent inclusive ranges.
//!
//! One type serves IPv4 addresses (32 bits), IPv6 addresses (128 bits) and
//! ports (16 bits). nftables refuses overlapping elements in an interval set,
//! so every set is kept canonical: overlapping and adjacent ranges are merged
//! when built, and the emitters print exactly these ranges.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A set of `bits`-wide unsigned integers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IntervalSet {
    bits: u32,
    /// Sorted, disjoint and non-adjacent: `ranges[i].1 + 1 < ranges[i + 1].0`.
    ranges: Vec<(u128, u128)>,
}

impl IntervalSet {
    /// The empty set of `bits`-wide values (`bits` is clamped to 1..=128).
    pub fn empty(bits: u32) -> IntervalSet {
        IntervalSet {
            bits: bits.clamp(1, 128),
            ranges: Vec::new(),
        }
    }

    /// Every `bits`-wide value.
    pub fn full(bits: u32) -> IntervalSet {
        let mut s = IntervalSet::empty(bits);
        s.ranges.push((0, s.max()));
        s
    }

    /// The set of the given inclusive ranges, merged. Ranges with `lo > hi` are
    /// ignored and values above the width are clamped.
    pub fn from_ranges(bits: u32, ranges: impl IntoIterator<Item = (u128, u128)>) -> IntervalSet {
        let mut s = IntervalSet::empty(bits);
        let max = s.max();
        let mut v: Vec<(u128, u128)> = ranges
            .into_iter()
            .filter(|(lo, hi)| lo <= hi && *lo <= max)
            .map(|(lo, hi)| (lo, hi.min(max)))
            .collect();
        v.sort_unstable();
        for (lo, hi) in v {
            match s.ranges.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => s.ranges.push((lo, hi)),
            }
        }
        s
    }

    /// Width in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The largest value of this width.
    pub fn max(&self) -> u128 {
        if self.bits >= 128 {
            u128::MAX
        } else {
            (1u128 << self.bits) - 1
        }
    }

    /// The canonical ranges.
    pub fn ranges(&self) -> &[(u128, u128)] {
        &self.ranges
    }

    /// True if nothing is in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// True if every value is in the set.
    pub fn is_full(&self) -> bool {
        self.ranges == [(0, self.max())]
    }

    /// Membership.
    pub fn contains(&self, v: u128) -> bool {
        // Ranges are sorted: the candidate is the last range starting at or before v.
        let i = self.ranges.partition_point(|(lo, _)| *lo <= v);
        i > 0 && self.ranges.get(i - 1).is_some_and(|(_, hi)| v <= *hi)
    }

    /// Union.
    pub fn union(&self, other: &IntervalSet) -> IntervalSet {
        IntervalSet::from_ranges(self.bits, self.ranges.iter().chain(&other.ranges).copied())
    }

    /// Intersection.
    pub fn intersect(&self, other: &IntervalSet) -> IntervalSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(a), Some(b)) = (self.ranges.get(i), other.ranges.get(j)) {
            let lo = a.0.max(b.0);
            let hi = a.1.min(b.1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a.1 < b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        IntervalSet {
            bits: self.bits,
            ranges: out,
        }
    }

    /// Everything of this width not in the set.
    pub fn complement(&self) -> IntervalSet {
        let mut out = Vec::new();
        let mut next: Option<u128> = Some(0);
        for &(lo, hi) in &self.ranges {
            if let Some(n) = next {
                if lo > n {
                    out.push((n, lo - 1));
                }
            }
            next = hi.checked_add(1).filter(|v| *v <= self.max());
        }
        if let Some(n) = next {
            out.push((n, self.max()));
        }
        IntervalSet {
            bits: self.bits,
            ranges: out,
        }
    }

    /// True if every value of `self` is in `other`.
    pub fn is_subset(&self, other: &IntervalSet) -> bool {
        self.intersect(other) == *self
    }

    /// The set as a minimal list of prefixes `(network, prefix length)`, for
    /// targets that only take CIDRs (iptables `-d`).
    pub fn prefixes(&self) -> Vec<(u128, u32)> {
        let mut out = Vec::new();
        for &(lo, hi) in &self.ranges {
            let mut cur = lo;
            loop {
                // The largest block aligned at `cur` that does not pass `hi`.
                let align = if cur == 0 {
                    self.bits
                } else {
                    cur.trailing_zeros().min(self.bits)
                };
                let mut size_bits = align;
                while size_bits > 0 {
                    let last = block_last(cur, size_bits);
                    if last <= hi {
                        break;
                    }
                    size_bits -= 1;
                }
                out.push((cur, self.bits - size_bits));
                let last = block_last(cur, size_bits);
                if last >= hi {
                    break;
                }
                cur = last + 1;
            }
        }
        out
    }
}

/// Last value of the block of `2^size_bits` values starting at `start`.
fn block_last(start: u128, size_bits: u32) -> u128 {
    if size_bits >= 128 {
        u128::MAX
    } else {
        start.saturating_add((1u128 << size_bits) - 1)
    }
}

/// The inclusive numeric range of an IPv4 network.
pub fn v4_range(n: &Ipv4Net) -> (u128, u128) {
    (
        u128::from(u32::from(n.network())),
        u128::from(u32::from(n.broadcast())),
    )
}

/// The inclusive numeric range of an IPv6 network.
pub fn v6_range(n: &Ipv6Net) -> (u128, u128) {
    (u128::from(n.network()), u128::from(n.broadcast()))
}

/// An IPv4 address from its number (values above 32 bits saturate).
pub fn v4_addr(v: u128) -> Ipv4Addr {
    Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX))
}

/// An IPv6 address from its number.
pub fn v6_addr(v: u128) -> Ipv6Addr {
    Ipv6Addr::from(v)
}

/// The number of an address (v4 in 32 bits, v6 in 128).
pub fn addr_num(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// `::ffff:a.b.c.d/p` (p ≥ 96) as `a.b.c.d/(p-96)`; `None` for any other network.
pub fn unmap_v4(n: &IpNet) -> Option<Ipv4Net> {
    match n {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => {
            let v4 = v6.network().to_ipv4_mapped()?;
            Ipv4Net::new(v4, v6.prefix_len() - 96).ok()
        }
        _ => None,
    }
}

/// An IPv4-mapped IPv6 address as IPv4; other addresses unchanged.
pub fn unmap_addr(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

/// A v4 and a v6 set as a minimal list of networks.
pub fn to_nets(v4: &IntervalSet, v6: &IntervalSet) -> Vec<IpNet> {
    let mut out = Vec::new();
    for (net, len) in v4.prefixes() {
        if let Ok(n) = Ipv4Net::new(v4_addr(net), u8::try_from(len).unwrap_or(32)) {
            out.push(IpNet::V4(n));
        }
    }
    for (net, len) in v6.prefixes() {
        if let Ok(n) = Ipv6Net::new(v6_addr(net), u8::try_from(len).unwrap_or(128)) {
            out.push(IpNet::V6(n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(bits: u32, r: &[(u128, u128)]) -> IntervalSet {
        IntervalSet::from_ranges(bits, r.iter().copied())
    }

    #[test]
    fn merges_overlaps_and_neighbours() {
        let s = set(
            16,
            &[(10, 20), (15, 30), (31, 31), (40, 50), (5, 5), (9, 1)],
        );
        assert_eq!(s.ranges(), &[(5, 5), (10, 31), (40, 50)]);
    }

    #[test]
    fn complement_edges() {
        assert_eq!(set(16, &[]).complement().ranges(), &[(0, 65535)]);
        assert_eq!(IntervalSet::full(16).complement().ranges(), &[]);
        assert_eq!(
            set(16, &[(0, 0), (65535, 65535)]).complement().ranges(),
            &[(1, 65534)]
        );
        assert_eq!(IntervalSet::full(128).complement().ranges(), &[]);
        assert_eq!(set(128, &[(0, 5)]).complement().ranges(), &[(6, u128::MAX)]);
    }

    #[test]
    fn prefixes_of_ranges() {
        let s = set(32, &[(0xC000_0201, 0xC000_02FE)]); // 192.0.2.1 - 192.0.2.254
        let p = s.prefixes();
        assert_eq!(p.first(), Some(&(0xC000_0201, 32)));
        assert_eq!(p.last(), Some(&(0xC000_02FE, 32)));
        assert_eq!(p.len(), 14);
        assert_eq!(IntervalSet::full(32).prefixes(), vec![(0, 0)]);
        assert_eq!(IntervalSet::full(128).prefixes(), vec![(0, 0)]);
    }

    #[test]
    fn unmapping() {
        let n: IpNet = "::ffff:192.0.2.0/120".parse().unwrap();
        assert_eq!(unmap_v4(&n), Some("192.0.2.0/24".parse().unwrap()));
        let n: IpNet = "2001:db8::/32".parse().unwrap();
        assert_eq!(unmap_v4(&n), None);
    }

    fn arb_set(bits: u32) -> impl Strategy<Value = IntervalSet> {
        let max: u128 = if bits >= 128 {
            u128::MAX
        } else {
            (1 << bits) - 1
        };
        // Small values make overlaps and adjacency likely.
        let small = 0u128..64;
        prop::collection::vec((small.clone(), small), 0..6).prop_map(move |v| {
            IntervalSet::from_ranges(
                bits,
                v.into_iter().map(|(a, b)| (a.min(b), a.max(b).min(max))),
            )
        })
    }

    proptest! {
        #[test]
        fn algebra_matches_membership(a in arb_set(8), b in arb_set(8), x in 0u128..80) {
            prop_assert_eq!(a.union(&b).contains(x), a.contains(x) || b.contains(x));
            prop_assert_eq!(a.intersect(&b).contains(x), a.contains(x) && b.contains(x));
            prop_assert_eq!(a.complement().contains(x), !a.contains(x) && x <= 255);
            // canonical: no overlap, no adjacency
            for w in a.ranges().windows(2) {
                prop_assert!(w[0].1 + 1 < w[1].0);
            }
        }

        #[test]
        fn prefixes_cover_exactly(a in arb_set(8), x in 0u128..256) {
            let in_prefix = a.prefixes().iter().any(|&(net, len)| {
                let size = 1u128 << (8 - len);
                x >= net && x < net + size
            });
            prop_assert_eq!(in_prefix, a.contains(x));
        }
    }
}
