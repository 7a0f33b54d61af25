/*
 * syscalls — the per-architecture syscall table of the sensor: the native
 * number of every syscall the kernel half reports, by name (SF_NR_<name>),
 * and the Falco event name of a number (sf_syscall_name). The one place
 * that knows an architecture's numbers, as libbpf-tools keeps them in
 * syscall_helpers.c: the kernel half (sensor.bpf.c) selects syscalls by
 * these names, the user half (decode) names records and tells the setid
 * variants apart with them.
 *
 * It also lists the calls the sandbox's seccomp filter denies
 * (SF_SYSCALLS_DENIED; seccomp.c builds the filter from it): the kernel half
 * reports every attempt of them, so a denied call is an event the rules see.
 *
 * Shared by both halves, so the table is macros and an enum only; the
 * user-side lookup is declared when the header is not built against
 * vmlinux.h.
 *
 * Owns: nothing (constants; names are static strings). Calls: nothing.
 */
#ifndef SF_SYSCALLS_H
#define SF_SYSCALLS_H

#if defined(__x86_64__) || defined(__TARGET_ARCH_x86)
/* x86-64: arch/x86/entry/syscalls/syscall_64.tbl */
#define SF_SYSCALLS(X)                                                                         \
	X(open, 2)                                                                             \
	X(dup, 32)                                                                             \
	X(dup2, 33)                                                                            \
	X(connect, 42)                                                                         \
	X(accept, 43)                                                                          \
	X(sendto, 44)                                                                          \
	X(sendmsg, 46)                                                                         \
	X(bind, 49)                                                                            \
	X(listen, 50)                                                                          \
	X(clone, 56)                                                                           \
	X(fork, 57)                                                                            \
	X(vfork, 58)                                                                           \
	X(execve, 59)                                                                          \
	X(chdir, 80)                                                                           \
	X(fchdir, 81)                                                                          \
	X(rename, 82)                                                                          \
	X(creat, 85)                                                                           \
	X(unlink, 87)                                                                          \
	X(chmod, 90)                                                                           \
	X(fchmod, 91)                                                                          \
	X(chown, 92)                                                                           \
	X(fchown, 93)                                                                          \
	X(lchown, 94)                                                                          \
	X(ptrace, 101)                                                                         \
	X(setuid, 105)                                                                         \
	X(setgid, 106)                                                                         \
	X(setreuid, 113)                                                                       \
	X(setregid, 114)                                                                       \
	X(setresuid, 117)                                                                      \
	X(setresgid, 119)                                                                      \
	X(mount, 165)                                                                          \
	X(openat, 257)                                                                         \
	X(fchownat, 260)                                                                       \
	X(unlinkat, 263)                                                                       \
	X(renameat, 264)                                                                       \
	X(fchmodat, 268)                                                                       \
	X(accept4, 288)                                                                        \
	X(dup3, 292)                                                                           \
	X(sendmmsg, 307)                                                                       \
	X(process_vm_readv, 310)                                                               \
	X(process_vm_writev, 311)                                                              \
	X(renameat2, 316)                                                                      \
	X(memfd_create, 319)                                                                   \
	X(execveat, 322)                                                                       \
	X(clone3, 435)                                                                         \
	X(openat2, 437)                                                                        \
	X(fchmodat2, 452)                                                                      \
	X(unshare, 272)                                                                        \
	SF_SYSCALLS_DENIED(X)

/*
 * Denied with EPERM whatever their arguments, and reported at every
 * attempt: the kernel's log, modules, kexec, keyrings, bpf,
 * perf_event_open, mounts (mount itself is in the table above: the sensor
 * reports it with its arguments), pivot_root, setns, file handles (the
 * "shocker" escape), userfaultfd, swap, reboot, clocks, port I/O, quotas,
 * accounting and obsolete calls. clone and unshare are denied only when
 * they ask for a new namespace (SF_CLONE_NEW_FLAGS) and reported only then;
 * clone3 (its flags live in memory a filter cannot read: C libraries fall
 * back to clone) and io_uring (whose requests never pass the syscall
 * tracepoints) fail with ENOSYS, as on a kernel without them, unreported.
 */
#define SF_SYSCALLS_DENIED(X)                                                                  \
	X(syslog, 103)                                                                         \
	X(uselib, 134)                                                                         \
	X(ustat, 136)                                                                          \
	X(sysfs, 139)                                                                          \
	X(vhangup, 153)                                                                        \
	X(pivot_root, 155)                                                                     \
	X(acct, 163)                                                                           \
	X(settimeofday, 164)                                                                   \
	X(umount2, 166)                                                                        \
	X(swapon, 167)                                                                         \
	X(swapoff, 168)                                                                        \
	X(reboot, 169)                                                                         \
	X(iopl, 172)                                                                           \
	X(ioperm, 173)                                                                         \
	X(init_module, 175)                                                                    \
	X(delete_module, 176)                                                                  \
	X(quotactl, 179)                                                                       \
	X(nfsservctl, 180)                                                                     \
	X(lookup_dcookie, 212)                                                                 \
	X(clock_settime, 227)                                                                  \
	X(kexec_load, 246)                                                                     \
	X(add_key, 248)                                                                        \
	X(request_key, 249)                                                                    \
	X(keyctl, 250)                                                                         \
	X(perf_event_open, 298)                                                                \
	X(name_to_handle_at, 303)                                                              \
	X(open_by_handle_at, 304)                                                              \
	X(clock_adjtime, 305)                                                                  \
	X(setns, 308)                                                                          \
	X(finit_module, 313)                                                                   \
	X(kexec_file_load, 320)                                                                \
	X(bpf, 321)                                                                            \
	X(userfaultfd, 323)                                                                    \
	X(open_tree, 428)                                                                      \
	X(move_mount, 429)                                                                     \
	X(fsopen, 430)                                                                         \
	X(fsconfig, 431)                                                                       \
	X(fsmount, 432)                                                                        \
	X(fspick, 433)                                                                         \
	X(mount_setattr, 442)                                                                  \
	X(quotactl_fd, 443)
/* Denied with ENOSYS, not reported (see above). */
#define SF_SYSCALLS_ENOSYS(X)                                                                  \
	X(io_uring_setup, 425)                                                                 \
	X(io_uring_enter, 426)                                                                 \
	X(io_uring_register, 427)                                                              \
	X(clone3, 435)
/* CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET: a
 * clone or unshare with any of them is denied; unshare's CLONE_NEWTIME
 * (0x80, in clone the exit signal's bits) too. */
#define SF_CLONE_NEW_FLAGS 0x7e020000ULL
#define SF_CLONE_NEWTIME 0x80ULL
#else
/* Another architecture needs its own table here, and the kernel half its
 * pt_regs argument registers. */
#error "the sensor's syscall table covers x86-64 only"
#endif

enum sf_syscall_nr {
#define SF_SYSCALL_ENUM(name, nr) SF_NR_##name = nr,
	SF_SYSCALLS(SF_SYSCALL_ENUM)
#undef SF_SYSCALL_ENUM
};

#ifndef __VMLINUX_H__
#include <stdint.h>

/* The Falco event name of syscall nr ("openat", "execveat", …), or NULL
 * for a syscall the sensor does not report. */
const char *sf_syscall_name(uint32_t nr);
#endif

#endif
