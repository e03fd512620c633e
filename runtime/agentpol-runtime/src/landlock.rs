//! Landlock on this kernel: probing the ABI and restricting the calling
//! process to a [`LandlockPlan`], through the maintained `landlock` crate.
//!
//! Every file-system right the probed ABI knows is *handled* (denied unless
//! granted), including the ones no policy action maps to (device ioctls,
//! symlink/fifo/socket creation): those are never granted, which is narrower
//! than the policy, never wider. A right the ABI cannot handle at all is
//! reported by [`abi_losses`].

use crate::landlock_plan::{LandlockPlan, Loss, Right};
use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

/// The highest Landlock ABI this kernel supports (as far as this crate's
/// rights can tell; 0 = Landlock unavailable).
pub fn probe_abi() -> u32 {
    // The crate keeps its own probe private, so ask it whether each ABI's
    // first right can be handled as a hard requirement; nothing is created.
    fn fs(right: AccessFs) -> bool {
        Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(right)
            .is_ok()
    }
    let net = || {
        Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessNet::ConnectTcp)
            .is_ok()
    };
    let scope = || {
        Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .scope(Scope::Signal)
            .is_ok()
    };
    if !fs(AccessFs::Execute) {
        0
    } else if !fs(AccessFs::Refer) {
        1
    } else if !fs(AccessFs::Truncate) {
        2
    } else if !net() {
        3
    } else if !fs(AccessFs::IoctlDev) {
        4
    } else if !scope() {
        5
    } else {
        6
    }
}

fn abi_of(n: u32) -> ABI {
    match n {
        0 => ABI::Unsupported,
        1 => ABI::V1,
        2 => ABI::V2,
        3 => ABI::V3,
        4 => ABI::V4,
        5 => ABI::V5,
        _ => ABI::V6,
    }
}

fn access_of(r: Right) -> AccessFs {
    match r {
        Right::ReadFile => AccessFs::ReadFile,
        Right::ReadDir => AccessFs::ReadDir,
        Right::WriteFile => AccessFs::WriteFile,
        Right::Truncate => AccessFs::Truncate,
        Right::MakeReg => AccessFs::MakeReg,
        Right::MakeDir => AccessFs::MakeDir,
        Right::RemoveFile => AccessFs::RemoveFile,
        Right::RemoveDir => AccessFs::RemoveDir,
        Right::Refer => AccessFs::Refer,
        Right::Execute => AccessFs::Execute,
    }
}

/// What ABI `abi` cannot enforce of the rights the planner uses, as losses
/// (wider: the kernel leaves that right unrestricted; or narrower: the kernel
/// always denies it).
pub fn abi_losses(abi: u32) -> Vec<Loss> {
    let mut out = Vec::new();
    let mut push = |m: String| {
        out.push(Loss {
            rule: None,
            src: None,
            message: m,
        })
    };
    if abi == 0 {
        push("Landlock is not available on this kernel: no file or exec rule is enforced".into());
        return out;
    }
    if abi < 2 {
        push(format!(
            "Landlock ABI {abi} has no `refer` right: rename and link across directories are \
             always denied (narrower)"
        ));
    }
    if abi < 3 {
        push(format!(
            "Landlock ABI {abi} cannot restrict truncate(2): truncating any file the user may \
             write is not confined (wider)"
        ));
    }
    out
}

/// Why restricting failed.
#[derive(Debug)]
pub struct LandlockError(pub String);

impl std::fmt::Display for LandlockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Restricts the calling process (and its future children) to `plan` on ABI
/// `abi`. Fails, rather than running unconfined, when the kernel does not
/// enforce the ruleset fully.
pub fn restrict_self(plan: &LandlockPlan, abi: u32) -> Result<(), LandlockError> {
    let abi = abi_of(abi);
    if abi == ABI::Unsupported {
        return Err(LandlockError(
            "Landlock is not available on this kernel".into(),
        ));
    }
    let handled = AccessFs::from_all(abi);
    let err = |e: landlock::RulesetError| LandlockError(e.to_string());
    let mut created = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(handled)
        .map_err(err)?
        .create()
        .map_err(err)?;
    for g in &plan.grants {
        let mut access: BitFlags<AccessFs> = BitFlags::empty();
        for r in &g.rights {
            access |= access_of(*r);
        }
        access &= handled;
        if access.is_empty() {
            continue;
        }
        let fd = PathFd::new(&g.path).map_err(|e| {
            LandlockError(format!("cannot open {} for a Landlock rule: {e}", g.path))
        })?;
        let is_dir = std::fs::metadata(&g.path)
            .map(|m| m.is_dir())
            .unwrap_or(false);
        if !is_dir {
            access &= AccessFs::from_file(abi);
        }
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(err)?;
    }
    let status = created.restrict_self().map_err(err)?;
    if status.ruleset != RulesetStatus::FullyEnforced {
        return Err(LandlockError(format!(
            "the kernel enforced the Landlock ruleset only partly ({:?})",
            status.ruleset
        )));
    }
    Ok(())
}
