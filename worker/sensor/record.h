/*
 * record — the one record the kernel half of the sensor (sensor.bpf.c)
 * writes into the ring buffer and the user half (sensor.c delivers it,
 * decode.c reads it) consumes. Shared by both sides, so it holds only
 * fixed-width types.
 *
 * A record is a fixed header, a small per-kind union and up to four
 * string slots at fixed offsets in data[]; only the bytes up to the end of
 * the last used slot are sent. A slot holds either a plain NUL-terminated
 * string, NUL-separated argv (exec arguments), or — when its SLOT_WALKED
 * flag is set — a path the kernel walked from a dentry upwards: its
 * components leaf first, each NUL-terminated, which the user side
 * reverses and joins with '/'.
 *
 * Owns: nothing (a layout). Calls: nothing.
 */
#ifndef SF_RECORD_H
#define SF_RECORD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SF_BPF_SLOT 512		/* bytes per string slot (power of two) */
#define SF_BPF_ARGS 1024	/* exec arguments slot (power of two) */
#define SF_BPF_DATA (3 * SF_BPF_SLOT + SF_BPF_ARGS)
#define SF_BPF_NSLOTS 4
#define SF_BPF_PATH_DEPTH 24	/* path components walked at most */
#define SF_BPF_DNS_BYTES 300	/* payload kept of a datagram to port 53 */
#define SF_BPF_WAKEUP_BYTES (256 << 10) /* ring data that wakes the reader */
#define SF_BPF_RING_BYTES (16 << 20)   /* the ring buffer's default size */
#define SF_BPF_POLL_MS 20	/* the reader's timer when nobody wakes it */

/* Slot offsets in data[]. Slot 3 is larger so it can carry exec argv. */
#define SF_BPF_SLOT_OFF(i) ((i) * SF_BPF_SLOT)

enum sf_bpf_kind {
	SF_BPF_EXEC = 1,   /* successful execve/execveat: filename, exepath, cwd, argv */
	SF_BPF_EXEC_FAIL,  /* failed execve/execveat: filename */
	SF_BPF_FORK,	   /* new process (threads are not reported) */
	SF_BPF_EXIT,	   /* process exit */
	SF_BPF_OPEN,	   /* open/openat/openat2/creat: path, dirfd base */
	SF_BPF_UNLINK,	   /* unlink/unlinkat: path, dirfd base */
	SF_BPF_RENAME,	   /* rename*: old, new, old base, new base */
	SF_BPF_CHMOD,	   /* chmod/fchmod/fchmodat: path (or walked fd), dirfd base */
	SF_BPF_CHDIR,	   /* chdir/fchdir: the new cwd, walked */
	SF_BPF_CONNECT,	   /* connect */
	SF_BPF_BIND,	   /* bind */
	SF_BPF_LISTEN,	   /* listen */
	SF_BPF_ACCEPT,	   /* accept/accept4 */
	SF_BPF_SEND,	   /* sendto/sendmsg/sendmmsg to UDP port 53: payload */
	SF_BPF_PTRACE,	   /* ptrace */
	SF_BPF_VM_RW,	   /* process_vm_readv/writev */
	SF_BPF_MEMFD,	   /* memfd_create: name */
	SF_BPF_SETID,	   /* setuid family */
	SF_BPF_MOUNT,	   /* mount: dev, dir, type */
	SF_BPF_CHOWN,	   /* chown/fchown/lchown/fchownat: path (or walked fd), dirfd base */
	SF_BPF_DENIED,	   /* a call the sandbox's seccomp filter denies (syscalls.h): args */
	SF_BPF_DUP,	   /* dup/dup2/dup3 of an IP socket: the socket, the old fd; ret the new */
};

#define SF_BPF_SLOT_WALKED 1 /* slot holds reversed path components */

struct sf_bpf_sock {
	__u16 family;	/* AF_INET, AF_INET6, AF_UNIX, 0 */
	__u16 proto;	/* IPPROTO_TCP, IPPROTO_UDP, 0 */
	__u16 lport;	/* local port, host order */
	__u16 rport;	/* remote (peer) port, host order */
	__u8 laddr[16]; /* network order */
	__u8 raddr[16];
	__u32 sock_type; /* SOCK_STREAM, SOCK_DGRAM, … */
	__s32 fd;	 /* SF_BPF_DUP: the descriptor duplicated */
};

struct sf_bpf_event {
	__u64 ts_ns;	/* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 cgid;	/* the job's cgroup: ancestor at the watched level */
	__s64 ret;	/* syscall return value (or exit code for SF_BPF_EXIT) */
	__u32 pid;	/* tgid, host namespace */
	__u32 tid;
	__u32 ppid;	/* tgid of the real parent */
	__u32 vpid;	/* tgid in the task's own pid namespace */
	__u32 uid;
	__u32 gid;
	__u32 syscall;	/* native syscall number (syscalls.h) */
	__u16 kind;	/* enum sf_bpf_kind */
	__u8 slot_flags[SF_BPF_NSLOTS];
	__u16 slot_len[SF_BPF_NSLOTS]; /* bytes used in each slot, 0 = absent */
	char comm[16];
	union {
		struct {
			__s32 dirfd;
			__u32 flags;
			__u32 mode;
			__s32 dirfd2; /* renameat: new dirfd */
			__u32 uid;    /* chown: new owner */
			__u32 gid;
		} file;
		struct sf_bpf_sock sock;
		struct {
			__s64 request;
			__s32 target;
		} ptrace;
		struct {
			__u32 id[3];
		} setid;
		struct {
			__s32 child_pid;  /* host tgid of the child */
			__s32 child_vpid;
			__u64 clone_flags;
		} fork;
		struct {
			__u64 flags;
		} mount;
		struct {
			__u32 flags;
		} memfd;
		struct {
			__u64 args[3]; /* the first three arguments, raw */
		} raw;
		struct {
			/* the file executed (bprm->file): its inode number and
			 * its super block's s_dev (the kernel's encoding:
			 * major << 20 | minor); 0 when unknown */
			__u64 ino;
			__u32 dev;
		} exec;
	} u;
	char data[SF_BPF_DATA];
};

/* Index of the per-CPU counters in the "counters" array map. */
enum sf_bpf_counter {
	SF_BPF_CNT_EVENTS = 0, /* records written */
	SF_BPF_CNT_DROPS,      /* records lost: ring buffer full */
	SF_BPF_CNT_MAX,
};

#endif
