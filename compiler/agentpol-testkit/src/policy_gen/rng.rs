//! The generators' randomness: a small seeded PRNG and the pools of values
//! random policies and requests draw from.

/// A small deterministic PRNG (SplitMix64): reproducible from a seed, no dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// From a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `num/den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    /// A random element (None for an empty slice).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

pub(super) const SEGS: &[&str] = &["a", "b", "ab", ".ssh", "x.pem", "id_rsa", "a.b", "c1", "zz"];
pub(super) const PIECE_LITS: &[&str] = &["a", ".", "x", "pem", "b", "1"];
pub(super) const NETS: &[&str] = &[
    "10.0.0.0/8",
    "10.1.2.0/24",
    "192.0.2.5/32",
    "2001:db8::/32",
    "::1/128",
    "0.0.0.0/0",
];
pub(super) const ADDRS: &[&str] = &[
    "10.1.2.3",
    "10.9.9.9",
    "192.0.2.5",
    "192.0.2.6",
    "2001:db8::7",
    "::1",
    "::ffff:10.1.2.3",
    "8.8.8.8",
];
pub(super) const PORTS: &[u16] = &[0, 22, 80, 443, 8000, 8080, 65535];
pub(super) const VARS: &[&str] = &["HOME", "TOKEN", "AWS_KEY", "PATH"];
pub(super) const STRS: &[&str] = &[
    "a@example.com",
    "b@example.com",
    "hello",
    "",
    "x*y",
    "/tmp/a",
    "secret-123",
];
pub(super) const INTS: &[i64] = &[-5, 0, 1, 10, 100, 1000, i64::MAX];
pub(super) const URLS: &[&str] = &[
    "https://api.example.com/v1/x",
    "http://a.b.example.com:8080/p",
    "https://10.1.2.3/",
    "https://[2001:db8::1]:8443/",
    "https://good.example.com@evil.org/",
    "mailto:a@example.com",
    "file:///etc/passwd",
    "HTTPS://API.EXAMPLE.COM./Q",
    "ftp://example.com/f",
];
