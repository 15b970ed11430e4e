//! The seccomp filter installed last before exec: everything is allowed except the system
//! calls that attack the kernel or the sandbox itself (debugging other processes, mounts
//! and namespaces, kernel keyrings, BPF, io_uring, modules, non-Unix sockets, ...), which
//! fail with `EPERM`. `clone3` fails with `ENOSYS` so that libc falls back to `clone`,
//! whose flags the filter can inspect.
//!
//! A deny list rather than an allow list: the interpreters and whatever they run use a
//! wide, version-dependent set of calls, and the namespaces, the dropped capabilities and
//! `no_new_privs` already take the rest of the kernel's privileged surface away.

use std::collections::BTreeMap;

use nix::libc;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

/// Calls denied whatever their arguments.
const DENIED: &[libc::c_long] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_process_madvise,
    libc::SYS_pidfd_getfd,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_mount_setattr,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_userfaultfd,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_syslog,
    libc::SYS_vhangup,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_modify_ldt,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_uselib,
];

/// `clone` flags that create namespaces. (`CLONE_NEWTIME` is only valid with `clone3`.)
const NAMESPACE_FLAGS: &[libc::c_int] = &[
    libc::CLONE_NEWNS,
    libc::CLONE_NEWCGROUP,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
];

/// x86_64 system call numbers at and above this are the x32 ABI, which shares the
/// x86_64 audit architecture: without this check `ptrace | 0x40000000` would slip past
/// a deny list keyed on numbers.
#[cfg(target_arch = "x86_64")]
const FIRST_FOREIGN_NR: u32 = 0x4000_0000;
#[cfg(not(target_arch = "x86_64"))]
const FIRST_FOREIGN_NR: u32 = u32::MAX;

/// Compiles the filters (several programs, all of which the kernel runs; the strictest
/// answer wins).
pub(crate) fn build() -> Result<Vec<BpfProgram>, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())?;
    let rule =
        |conditions: Vec<SeccompCondition>| SeccompRule::new(conditions).map_err(|e| e.to_string());
    let condition = |arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64| {
        SeccompCondition::new(arg, len, op, value).map_err(|e| e.to_string())
    };

    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&nr| (nr, Vec::new())).collect();
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            let flag = u64::from(flag.unsigned_abs());
            rule(vec![condition(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )?])
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_clone, clone_rules);
    // Unix sockets are local to the sandbox's network namespace; everything else (IP,
    // netlink, packet, vsock, ...) is refused outright.
    let af_unix = u64::from(libc::AF_UNIX.unsigned_abs());
    rules.insert(
        libc::SYS_socket,
        vec![rule(vec![condition(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            af_unix,
        )?])?],
    );
    // Only queries and the default persona: ADDR_NO_RANDOMIZE and friends help exploits.
    rules.insert(
        libc::SYS_personality,
        vec![rule(vec![
            condition(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, 0)?,
            condition(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, 0xffff_ffff)?,
        ])?],
    );

    let denied = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM.unsigned_abs()),
        arch,
    )
    .map_err(|e| e.to_string())?;
    let denied = BpfProgram::try_from(denied).map_err(|e| e.to_string())?;
    Ok(vec![denied, enosys_program(arch)])
}

/// A hand-written program for what `seccompiler` cannot say with one match action:
/// `clone3` and foreign-ABI numbers get `ENOSYS`.
fn enosys_program(arch: TargetArch) -> BpfProgram {
    const LD_ABS_W: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS
    const JEQ_K: u16 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE_K: u16 = 0x05 | 0x30; // BPF_JMP | BPF_JGE | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const NR_OFFSET: u32 = 0; // offsetof(struct seccomp_data, nr)
    const ARCH_OFFSET: u32 = 4; // offsetof(struct seccomp_data, arch)
    let audit_arch = match arch {
        TargetArch::x86_64 => 0xC000_003E,
        TargetArch::aarch64 => 0xC000_00B7,
        TargetArch::riscv64 => 0xC000_00F3,
    };
    let clone3 = u32::try_from(libc::SYS_clone3).unwrap_or(u32::MAX);
    let op = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    vec![
        op(LD_ABS_W, 0, 0, ARCH_OFFSET),
        // Another architecture: the main filter kills it, nothing to add here.
        op(JEQ_K, 0, 3, audit_arch),
        op(LD_ABS_W, 0, 0, NR_OFFSET),
        op(JEQ_K, 2, 0, clone3),
        op(JGE_K, 1, 0, FIRST_FOREIGN_NR),
        op(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
        op(
            RET_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS.unsigned_abs(),
        ),
    ]
}

/// Installs the filters on the calling thread (`seccompiler` sets `no_new_privs` first).
pub(crate) fn install(programs: &[BpfProgram]) -> Result<(), String> {
    for program in programs {
        seccompiler::apply_filter(program).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile_for_this_architecture() {
        let programs = build().unwrap();
        assert_eq!(programs.len(), 2);
        assert!(programs.iter().all(|p| !p.is_empty() && p.len() < 4096));
    }
}
