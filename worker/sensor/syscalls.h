/*
 * syscalls — the per-architecture syscall table of the sensor: the native
 * number of every syscall the kernel half reports, by name (SF_NR_<name>),
 * and the Falco event name of a number (sf_syscall_name). The one place
 * that knows an architecture's numbers, as libbpf-tools keeps them in
 * syscall_helpers.c: the kernel half (sensor.bpf.c) selects syscalls by
 * these names, the user half (decode) names records and tells the setid
 * variants apart with them.
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
	X(sendmmsg, 307)                                                                       \
	X(process_vm_readv, 310)                                                               \
	X(process_vm_writev, 311)                                                              \
	X(renameat2, 316)                                                                      \
	X(memfd_create, 319)                                                                   \
	X(execveat, 322)                                                                       \
	X(clone3, 435)                                                                         \
	X(openat2, 437)                                                                        \
	X(fchmodat2, 452)
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
