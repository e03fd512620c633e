//! Loading the programs with aya 0.14, filling their maps from [`Maps`] and
//! attaching them to one cgroup.
//!
//! Lifetime: aya attaches with BPF links (kernel ≥ 5.7) owned by file
//! descriptors; unpinned, they detach when the process that holds them exits
//! or is killed (seen here: `bpftool cgroup show` is empty right after a
//! `kill -9` of the loader). For `run` that would be fail-open: a killed
//! supervisor would leave the agent running with unfiltered network. So
//! [`Enforcer::attach`] pins every link in bpffs (`<pin_dir>/<program>`): the
//! programs stay attached until the pins are removed, by the supervisor when
//! the run ends ([`Enforcer::detach`]) or by `agentpolc cleanup` after it has
//! killed what was left in the cgroup.

use crate::compile::{Maps, MAX_SEGS};
use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{Array, MapData, PerCpuArray, RingBuf};
use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::{CgroupAttachMode, CgroupSockAddr};
use aya::{Ebpf, EbpfLoader};
use std::path::Path;

/// The programs in `bpf/net.bpf.c`, by function name.
pub const PROGRAMS: [&str; 6] = [
    "connect4", "connect6", "sendmsg4", "sendmsg6", "bind4", "bind6",
];

/// Loaded programs with filled maps (attached once [`Enforcer::attach`] ran).
pub struct Enforcer {
    ebpf: Ebpf,
    pins: Vec<PinnedLink>,
}

fn err(what: &str, e: impl std::error::Error) -> String {
    let mut msg = format!("{what}: {e}");
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}

impl Enforcer {
    /// Loads the object, fills the maps from `maps` and loads (verifies) every
    /// program; nothing is attached yet. `audit`: an event for every decision,
    /// not only denials.
    pub fn load(maps: &Maps, audit: bool) -> Result<Enforcer, String> {
        let object = crate::object().ok_or_else(|| crate::NOT_BUILT.to_owned())?;
        let n = |len: usize| u32::try_from(len.max(1)).unwrap_or(u32::MAX);
        let mut ebpf = EbpfLoader::new()
            .map_max_entries("trie4", n(maps.v4.len()))
            .map_max_entries("trie6", n(maps.v6.len()))
            .map_max_entries("tables", n(maps.tables.len()))
            .load(object)
            .map_err(|e| err("loading the BPF object", e))?;
        {
            let map = ebpf.map_mut("trie4").ok_or("the object has no trie4 map")?;
            let mut trie: LpmTrie<&mut MapData, [u8; 8], u32> =
                LpmTrie::try_from(map).map_err(|e| err("trie4", e))?;
            for e in &maps.v4 {
                let (len, data) = Maps::key4(e);
                trie.insert(&Key::new(len, data), e.table, 0)
                    .map_err(|e| err("filling trie4", e))?;
            }
        }
        {
            let map = ebpf.map_mut("trie6").ok_or("the object has no trie6 map")?;
            let mut trie: LpmTrie<&mut MapData, [u8; 20], u32> =
                LpmTrie::try_from(map).map_err(|e| err("trie6", e))?;
            for e in &maps.v6 {
                let (len, data) = Maps::key6(e);
                trie.insert(&Key::new(len, data), e.table, 0)
                    .map_err(|e| err("filling trie6", e))?;
            }
        }
        {
            let map = ebpf
                .map_mut("tables")
                .ok_or("the object has no tables map")?;
            let mut tables: Array<&mut MapData, [u32; 2 + 2 * MAX_SEGS]> =
                Array::try_from(map).map_err(|e| err("tables", e))?;
            for (i, t) in maps.tables.iter().enumerate() {
                tables
                    .set(i as u32, Maps::table_words(t), 0)
                    .map_err(|e| err("filling tables", e))?;
            }
        }
        {
            let map = ebpf
                .map_mut("config")
                .ok_or("the object has no config map")?;
            let mut config: Array<&mut MapData, [u32; 2]> =
                Array::try_from(map).map_err(|e| err("config", e))?;
            config
                .set(0, [maps.layers, u32::from(audit)], 0)
                .map_err(|e| err("filling config", e))?;
        }
        for name in PROGRAMS {
            let prog: &mut CgroupSockAddr = ebpf
                .program_mut(name)
                .ok_or_else(|| format!("the object has no program {name}"))?
                .try_into()
                .map_err(|e| err(name, e))?;
            prog.load()
                .map_err(|e| err(&format!("loading {name}"), e))?;
        }
        Ok(Enforcer {
            ebpf,
            pins: Vec::new(),
        })
    }

    /// Attaches every program to the cgroup directory `cgroup` (its
    /// processes and their descendants only) and pins each link as
    /// `pin_dir/<program>` (`pin_dir` must be a new directory on bpffs).
    pub fn attach(&mut self, cgroup: &Path, pin_dir: &Path) -> Result<(), String> {
        let dir = std::fs::File::open(cgroup)
            .map_err(|e| format!("opening {}: {e}", cgroup.display()))?;
        std::fs::create_dir_all(pin_dir)
            .map_err(|e| format!("creating {}: {e}", pin_dir.display()))?;
        for name in PROGRAMS {
            let prog: &mut CgroupSockAddr = self
                .ebpf
                .program_mut(name)
                .ok_or_else(|| format!("no program {name}"))?
                .try_into()
                .map_err(|e| err(name, e))?;
            let id = prog
                .attach(&dir, CgroupAttachMode::Single)
                .map_err(|e| err(&format!("attaching {name} to {}", cgroup.display()), e))?;
            let link = prog.take_link(id).map_err(|e| err(name, e))?;
            let fd: FdLink = link.try_into().map_err(|e| err(name, e))?;
            let pinned = fd
                .pin(pin_dir.join(name))
                .map_err(|e| err(&format!("pinning {name} in {}", pin_dir.display()), e))?;
            self.pins.push(pinned);
        }
        Ok(())
    }

    /// Removes the pins (the links then go with this process's fds).
    pub fn detach(&mut self) -> Result<(), String> {
        let mut first_err = None;
        for p in self.pins.drain(..) {
            if let Err(e) = p.unpin() {
                first_err.get_or_insert(format!("unpinning a link: {e}"));
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The event ring buffer (once: it moves to the reader thread).
    pub fn take_events(&mut self) -> Option<RingBuf<MapData>> {
        let map = self.ebpf.take_map("events")?;
        RingBuf::try_from(map).ok()
    }

    /// Records the programs could not write (ring buffer full), all CPUs.
    pub fn lost(&self) -> u64 {
        let Some(map) = self.ebpf.map("lost") else {
            return 0;
        };
        let Ok(arr) = PerCpuArray::<&MapData, u64>::try_from(map) else {
            return 0;
        };
        arr.get(&0, 0).map(|v| v.iter().sum()).unwrap_or(0)
    }
}

/// Loads the programs once with empty maps and drops them: proves this
/// kernel accepts them (verifier, program type, map types) without assuming.
pub fn probe() -> Result<(), String> {
    Enforcer::load(&Maps::default(), false).map(|_| ())
}
