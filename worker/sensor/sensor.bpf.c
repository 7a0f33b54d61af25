// SPDX-License-Identifier: GPL-2.0
/*
 * sensor.bpf.c — the kernel half of scanfarm's eBPF sensor.
 *
 * Sees what processes inside a watched sandbox cgroup do: exec, fork and
 * exit from the scheduler tracepoints, and the syscalls rules care about
 * from the raw sys_exit tracepoint, where the result is known and the
 * arguments are still in the task's saved registers (exit events only, as
 * Falco's modern probe does). Anything outside a watched cgroup costs one
 * helper call and a map lookup. Records go to a ring buffer; a full buffer
 * is counted as a drop, never a stall. Layout: record.h; syscall numbers:
 * syscalls.h.
 *
 * x86-64 only: the syscall table and pt_regs are that ABI's.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "record.h"
#include "syscalls.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the user side before load: the cgroup v2 depth of the job
 * cgroups (/scanfarm/<job> is 2). */
const volatile __u32 watch_level = 2;

/* Set before load too: ring data that wakes the reader (at most a quarter
 * of the ring buffer, so a small buffer is drained before it fills). */
const volatile __u64 wakeup_bytes = SF_BPF_WAKEUP_BYTES;

/* Job cgroup ids being watched, each with the records of its own that
 * the full ring buffer lost: the jobs of a worker's slots share the
 * buffer, and each reports its own drops. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SF_BPF_RING_BYTES); /* the user side may resize it */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sf_bpf_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SF_BPF_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

#define AF_INET 2
#define AF_INET6 10
#define AF_UNIX 1
#define AT_FDCWD -100
#define SF_S_IFMT 0170000 /* the file type bits of i_mode */
#define SF_S_IFSOCK 0140000

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);
	if (c)
		(*c)++;
}

/* The job cgroup of the current task, or 0 when it is not watched. */
static __always_inline __u64 watched_cgroup(void)
{
	__u64 id = bpf_get_current_ancestor_cgroup_id(watch_level);
	if (!id || !bpf_map_lookup_elem(&watched, &id))
		return 0;
	return id;
}

static __always_inline __u32 task_vpid(struct task_struct *t)
{
	struct pid *pid = BPF_CORE_READ(t, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};
	bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[level & 31]);
	return up.nr;
}

/* Fills the common header from the current task. */
static __always_inline struct sf_bpf_event *event_start(__u16 kind, __u64 cgid, __u32 nr,
							long ret)
{
	__u32 zero = 0;
	struct sf_bpf_event *e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return NULL;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 pt = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();
	e->ts_ns = bpf_ktime_get_ns();
	e->cgid = cgid;
	e->ret = ret;
	e->pid = pt >> 32;
	e->tid = (__u32)pt;
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->vpid = task_vpid(t);
	e->uid = (__u32)ug;
	e->gid = ug >> 32;
	e->syscall = nr;
	e->kind = kind;
	for (int i = 0; i < SF_BPF_NSLOTS; i++) {
		e->slot_len[i] = 0;
		e->slot_flags[i] = 0;
	}
	__builtin_memset(&e->u, 0, sizeof(e->u));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* Sends the record: the header and the used part of data[]. */
static __always_inline void event_send(struct sf_bpf_event *e)
{
	__u32 end = 0;
	for (int i = 0; i < SF_BPF_NSLOTS; i++)
		if (e->slot_len[i])
			end = SF_BPF_SLOT_OFF(i) + e->slot_len[i];
	__u64 size = __builtin_offsetof(struct sf_bpf_event, data) + end;
	if (size > sizeof(*e))
		size = sizeof(*e);
	/* Waking the reader for every record costs more than the record:
	 * wake it only once a batch has piled up; it also polls on a timer. */
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes
			  ? BPF_RB_FORCE_WAKEUP
			  : BPF_RB_NO_WAKEUP;
	/* …except for an exec: the reader hashes the new executable through
	 * /proc/<pid>/exe, which only works while the process lives. */
	if (e->kind == SF_BPF_EXEC)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, e, size, flags)) {
		count(SF_BPF_CNT_DROPS);
		__u64 *job_drops = bpf_map_lookup_elem(&watched, &e->cgid);
		if (job_drops)
			__sync_fetch_and_add(job_drops, 1);
	} else
		count(SF_BPF_CNT_EVENTS);
}

/* Copies a user string into slot i. */
static __always_inline void slot_user_str(struct sf_bpf_event *e, int i, const void *uptr)
{
	if (!uptr)
		return;
	long n = bpf_probe_read_user_str(&e->data[SF_BPF_SLOT_OFF(i)], SF_BPF_SLOT, uptr);
	if (n > 0)
		e->slot_len[i] = n;
}

static __always_inline void slot_kernel_str(struct sf_bpf_event *e, int i, const void *kptr)
{
	if (!kptr)
		return;
	long n = bpf_probe_read_kernel_str(&e->data[SF_BPF_SLOT_OFF(i)], SF_BPF_SLOT, kptr);
	if (n > 0)
		e->slot_len[i] = n;
}

/*
 * Writes the path of (dentry, vfsmount) into slot i as components leaf
 * first, like d_path but bounded: stops at the task's root, crosses mount
 * points upwards, gives up after SF_BPF_PATH_DEPTH components.
 */
static __noinline void slot_walk(struct sf_bpf_event *e, int i, struct dentry *dentry,
				 struct vfsmount *vfsmnt)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct dentry *root_dentry = BPF_CORE_READ(t, fs, root.dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(t, fs, root.mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	__u32 off = 0;
	char *slot = &e->data[SF_BPF_SLOT_OFF(i & 3)];

	for (int d = 0; d < SF_BPF_PATH_DEPTH; d++) {
		if (dentry == root_dentry && vfsmnt == root_mnt)
			break;
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		if (dentry == mnt_root) {
			struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
			if (parent == mnt) {
				/* a root that is not ours (memfd, pipe, other
				 * namespace): keep its name as the last part */
				const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
				if (off < SF_BPF_SLOT - 1) {
					__u32 o = off;
					barrier_var(o);
					o &= SF_BPF_SLOT - 1;
					long n = bpf_probe_read_kernel_str(slot + o, SF_BPF_SLOT - o,
									   name);
					if (n > 1)
						off = o + n;
				}
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = parent;
			vfsmnt = &parent->mnt;
			continue;
		}
		/* A pseudo file (memfd, pipe) is its own parent: its name,
		 * "memfd:x", is the whole path. */
		struct dentry *up = BPF_CORE_READ(dentry, d_parent);
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		if (off >= SF_BPF_SLOT - 1)
			break;
		/* masked so the verifier sees the bound on both uses */
		__u32 o = off;
		barrier_var(o);
		o &= SF_BPF_SLOT - 1;
		long n = bpf_probe_read_kernel_str(slot + o, SF_BPF_SLOT - o, name);
		if (n <= 0)
			break;
		off = o + n;
		if (up == dentry)
			break;
		dentry = up;
	}
	if (off > SF_BPF_SLOT)
		off = SF_BPF_SLOT;
	/* an empty walk is "/" : one empty component */
	if (off == 0) {
		slot[0] = 0;
		off = 1;
	}
	e->slot_len[i & 3] = off;
	e->slot_flags[i & 3] = SF_BPF_SLOT_WALKED;
}

/* The struct file behind descriptor fd of the current task, or NULL. */
static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline void slot_walk_fd(struct sf_bpf_event *e, int i, int fd)
{
	struct file *f = fd_file(fd);
	if (f)
		slot_walk(e, i, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
}

/* A relative path under a directory fd: walk the directory into slot i. */
static __always_inline void slot_base(struct sf_bpf_event *e, int i, int dirfd, int path_slot)
{
	if (!e->slot_len[path_slot & 3] || e->data[SF_BPF_SLOT_OFF(path_slot & 3)] == '/')
		return;
	if (dirfd == AT_FDCWD || dirfd < 0)
		return; /* relative to the cwd, which the user side tracks */
	slot_walk_fd(e, i, dirfd);
}

/* Local and remote address of the socket behind fd. */
static __always_inline void sock_from_fd(struct sf_bpf_sock *s, int fd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	if (!sock)
		return;
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	s->sock_type = BPF_CORE_READ(sock, type);
	s->proto = BPF_CORE_READ(sk, sk_protocol);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	s->family = family;
	s->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	s->rport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(s->laddr, &l, 4);
		__builtin_memcpy(s->raddr, &r, 4);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&s->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&s->raddr, sk, __sk_common.skc_v6_daddr);
	}
}

/* Overrides the remote end with a user sockaddr (connect, sendto). */
static __always_inline void sock_remote_from_user(struct sf_bpf_sock *s, const void *uaddr,
						  int is_local)
{
	__u16 family = 0;
	if (!uaddr || bpf_probe_read_user(&family, sizeof(family), uaddr))
		return;
	if (family == AF_INET) {
		struct sockaddr_in in = {};
		bpf_probe_read_user(&in, sizeof(in), uaddr);
		s->family = AF_INET;
		if (is_local) {
			s->lport = __builtin_bswap16(in.sin_port);
			__builtin_memcpy(s->laddr, &in.sin_addr, 4);
		} else {
			s->rport = __builtin_bswap16(in.sin_port);
			__builtin_memset(s->raddr, 0, 16);
			__builtin_memcpy(s->raddr, &in.sin_addr, 4);
		}
	} else if (family == AF_INET6) {
		struct sockaddr_in6 in6 = {};
		bpf_probe_read_user(&in6, sizeof(in6), uaddr);
		s->family = AF_INET6;
		if (is_local) {
			s->lport = __builtin_bswap16(in6.sin6_port);
			__builtin_memcpy(s->laddr, &in6.sin6_addr, 16);
		} else {
			s->rport = __builtin_bswap16(in6.sin6_port);
			__builtin_memcpy(s->raddr, &in6.sin6_addr, 16);
		}
	} else if (family == AF_UNIX) {
		s->family = AF_UNIX;
	}
}

/* sendto/sendmsg/sendmmsg: only datagrams to port 53 are reported (DNS
 * questions), with the first bytes of the payload. */
static __noinline int on_send(__u64 cgid, __u32 nr, long ret, struct pt_regs *regs)
{
	int fd = (int)BPF_CORE_READ(regs, di);
	struct sf_bpf_event *e = event_start(SF_BPF_SEND, cgid, nr, ret);
	if (!e)
		return 0;
	sock_from_fd(&e->u.sock, fd);
	if (e->u.sock.proto != IPPROTO_UDP)
		return 0;
	const void *buf = NULL;
	__u64 len = 0;
	if (nr == SF_NR_sendto) {
		buf = (const void *)BPF_CORE_READ(regs, si);
		len = BPF_CORE_READ(regs, dx);
		sock_remote_from_user(&e->u.sock, (const void *)BPF_CORE_READ(regs, r8), 0);
	} else {
		struct user_msghdr mh = {};
		/* sendmmsg's vector starts with a msghdr: its first message */
		bpf_probe_read_user(&mh, sizeof(mh), (const void *)BPF_CORE_READ(regs, si));
		sock_remote_from_user(&e->u.sock, mh.msg_name, 0);
		struct iovec iov = {};
		if (mh.msg_iov && !bpf_probe_read_user(&iov, sizeof(iov), mh.msg_iov)) {
			buf = iov.iov_base;
			len = iov.iov_len;
		}
	}
	if (e->u.sock.rport != 53)
		return 0;
	if (len > SF_BPF_DNS_BYTES)
		len = SF_BPF_DNS_BYTES;
	if (buf && len && !bpf_probe_read_user(&e->data[0], len & 511, buf))
		e->slot_len[0] = len & 511;
	event_send(e);
	return 0;
}

/* How a syscall names its file: a path relative to the cwd (open, chmod),
 * a descriptor (fchmod), or a directory fd and a path (openat, fchmodat). */
enum file_by { BY_PATH, BY_FD, BY_AT };

/* Records the file into slot 0 (and the directory fd's path into slot 1
 * when the path is relative to it); returns how many of the arguments
 * a0, a1 it used, so callers know where the rest begin. */
static __always_inline int file_target(struct sf_bpf_event *e, enum file_by by, __u64 a0,
				       __u64 a1)
{
	if (by == BY_FD) {
		e->u.file.dirfd = (int)a0;
		slot_walk_fd(e, 0, (int)a0);
		return 1;
	}
	if (by == BY_AT) {
		e->u.file.dirfd = (int)a0;
		slot_user_str(e, 0, (const void *)a1);
		slot_base(e, 1, (int)a0, 0);
		return 2;
	}
	e->u.file.dirfd = AT_FDCWD;
	slot_user_str(e, 0, (const void *)a0);
	return 1;
}

static __noinline int on_file(__u64 cgid, __u32 nr, long ret, struct pt_regs *regs)
{
	__u64 a0 = BPF_CORE_READ(regs, di), a1 = BPF_CORE_READ(regs, si),
	      a2 = BPF_CORE_READ(regs, dx), a3 = BPF_CORE_READ(regs, r10);
	struct sf_bpf_event *e;
	switch (nr) {
	case SF_NR_open:
	case SF_NR_creat:
	case SF_NR_openat:
	case SF_NR_openat2:
		e = event_start(SF_BPF_OPEN, cgid, nr, ret);
		if (!e)
			return 0;
		if (file_target(e, nr == SF_NR_open || nr == SF_NR_creat ? BY_PATH : BY_AT, a0, a1) == 1) {
			e->u.file.flags = nr == SF_NR_creat ? 0x241 /* O_CREAT|O_WRONLY|O_TRUNC */ : a1;
			e->u.file.mode = nr == SF_NR_creat ? a1 : a2;
		} else if (nr == SF_NR_openat2) {
			struct open_how how = {};
			bpf_probe_read_user(&how, sizeof(how), (const void *)a2);
			e->u.file.flags = how.flags;
			e->u.file.mode = how.mode;
		} else {
			e->u.file.flags = a2;
			e->u.file.mode = a3;
		}
		break;
	case SF_NR_unlink:
	case SF_NR_unlinkat:
		e = event_start(SF_BPF_UNLINK, cgid, nr, ret);
		if (!e)
			return 0;
		if (file_target(e, nr == SF_NR_unlink ? BY_PATH : BY_AT, a0, a1) == 2)
			e->u.file.flags = a2;
		break;
	case SF_NR_rename:
	case SF_NR_renameat:
	case SF_NR_renameat2:
		e = event_start(SF_BPF_RENAME, cgid, nr, ret);
		if (!e)
			return 0;
		if (nr == SF_NR_rename) {
			e->u.file.dirfd = e->u.file.dirfd2 = AT_FDCWD;
			slot_user_str(e, 0, (const void *)a0);
			slot_user_str(e, 1, (const void *)a1);
		} else {
			e->u.file.dirfd = (int)a0;
			e->u.file.dirfd2 = (int)a2;
			slot_user_str(e, 0, (const void *)a1);
			slot_user_str(e, 1, (const void *)a3);
		}
		slot_base(e, 2, e->u.file.dirfd, 0);
		slot_base(e, 3, e->u.file.dirfd2, 1);
		break;
	case SF_NR_chmod:
	case SF_NR_fchmod:
	case SF_NR_fchmodat:
	case SF_NR_fchmodat2:
		e = event_start(SF_BPF_CHMOD, cgid, nr, ret);
		if (!e)
			return 0;
		e->u.file.mode = file_target(e, nr == SF_NR_chmod ? BY_PATH : nr == SF_NR_fchmod ? BY_FD : BY_AT,
					     a0, a1) == 1 ? a1 : a2;
		break;
	case SF_NR_chown:
	case SF_NR_fchown:
	case SF_NR_lchown:
	case SF_NR_fchownat:
		e = event_start(SF_BPF_CHOWN, cgid, nr, ret);
		if (!e)
			return 0;
		if (file_target(e, nr == SF_NR_fchown ? BY_FD : nr == SF_NR_fchownat ? BY_AT : BY_PATH, a0,
				a1) == 1) {
			e->u.file.uid = a1;
			e->u.file.gid = a2;
		} else {
			e->u.file.uid = a2;
			e->u.file.gid = a3;
		}
		break;
	case SF_NR_chdir:
	case SF_NR_fchdir: {
		if (ret < 0)
			return 0; /* the cwd did not change */
		e = event_start(SF_BPF_CHDIR, cgid, nr, ret);
		if (!e)
			return 0;
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		slot_walk(e, 0, BPF_CORE_READ(t, fs, pwd.dentry), BPF_CORE_READ(t, fs, pwd.mnt));
		break;
	}
	case SF_NR_memfd_create:
		e = event_start(SF_BPF_MEMFD, cgid, nr, ret);
		if (!e)
			return 0;
		slot_user_str(e, 0, (const void *)a0);
		e->u.memfd.flags = a1;
		break;
	case SF_NR_mount:
		e = event_start(SF_BPF_MOUNT, cgid, nr, ret);
		if (!e)
			return 0;
		slot_user_str(e, 0, (const void *)a0);
		slot_user_str(e, 1, (const void *)a1);
		slot_user_str(e, 2, (const void *)a2);
		e->u.mount.flags = a3;
		break;
	default:
		return 0;
	}
	event_send(e);
	return 0;
}

static __noinline int on_net(__u64 cgid, __u32 nr, long ret, struct pt_regs *regs)
{
	int fd = (int)BPF_CORE_READ(regs, di);
	const void *uaddr = (const void *)BPF_CORE_READ(regs, si);
	__u16 kind = nr == SF_NR_connect ? SF_BPF_CONNECT
		     : nr == SF_NR_bind  ? SF_BPF_BIND
		     : nr == SF_NR_listen ? SF_BPF_LISTEN
				       : SF_BPF_ACCEPT;
	struct sf_bpf_event *e = event_start(kind, cgid, nr, ret);
	if (!e)
		return 0;
	/* an accepted connection is described by its new socket */
	sock_from_fd(&e->u.sock, kind == SF_BPF_ACCEPT && ret >= 0 ? (int)ret : fd);
	if (kind == SF_BPF_CONNECT || kind == SF_BPF_BIND)
		sock_remote_from_user(&e->u.sock, uaddr, kind == SF_BPF_BIND);
	event_send(e);
	return 0;
}

/*
 * dup, dup2, dup3 whose descriptor is an IP socket: a shell's stdin and
 * stdout put onto a connection (the reverse shell). The socket is read from
 * the task's own descriptor table at the call, the state Falco keeps per fd
 * in user space. A dup of anything else is not reported: that is most
 * dups (every shell redirection, every child libuv gives a socketpair as
 * stdio), and no rule asks for them.
 */
static __noinline int on_dup(__u64 cgid, __u32 nr, long ret, struct pt_regs *regs)
{
	if (ret < 0)
		return 0;
	int fd = (int)BPF_CORE_READ(regs, di);
	struct file *f = fd_file(fd);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & SF_S_IFMT) != SF_S_IFSOCK)
		return 0;
	struct sf_bpf_event *e = event_start(SF_BPF_DUP, cgid, nr, ret);
	if (!e)
		return 0;
	sock_from_fd(&e->u.sock, fd);
	if (e->u.sock.family != AF_INET && e->u.sock.family != AF_INET6)
		return 0;
	e->u.sock.fd = fd;
	event_send(e);
	return 0;
}

static __noinline int on_proc(__u64 cgid, __u32 nr, long ret, struct pt_regs *regs)
{
	__u64 a0 = BPF_CORE_READ(regs, di), a1 = BPF_CORE_READ(regs, si),
	      a2 = BPF_CORE_READ(regs, dx);
	struct sf_bpf_event *e;
	switch (nr) {
	case SF_NR_ptrace:
		e = event_start(SF_BPF_PTRACE, cgid, nr, ret);
		if (!e)
			return 0;
		e->u.ptrace.request = a0;
		e->u.ptrace.target = a1;
		break;
	case SF_NR_process_vm_readv:
	case SF_NR_process_vm_writev:
		e = event_start(SF_BPF_VM_RW, cgid, nr, ret);
		if (!e)
			return 0;
		e->u.ptrace.target = a0;
		break;
	case SF_NR_setuid:
	case SF_NR_setgid:
	case SF_NR_setreuid:
	case SF_NR_setregid:
	case SF_NR_setresuid:
	case SF_NR_setresgid:
		e = event_start(SF_BPF_SETID, cgid, nr, ret);
		if (!e)
			return 0;
		e->u.setid.id[0] = a0;
		e->u.setid.id[1] = a1;
		e->u.setid.id[2] = a2;
		break;
	case SF_NR_execve:
	case SF_NR_execveat:
		if (ret == 0)
			return 0; /* reported by sched_process_exec */
		e = event_start(SF_BPF_EXEC_FAIL, cgid, nr, ret);
		if (!e)
			return 0;
		slot_user_str(e, 0, (const void *)(nr == SF_NR_execve ? a0 : a1));
		break;
	default:
		return 0;
	}
	event_send(e);
	return 0;
}

/*
 * A call the seccomp filter denies (SF_SYSCALLS_DENIED), or clone/unshare
 * asking for a new namespace. seccomp runs on syscall entry before the
 * sys_enter tracepoint, so an entry-side sensor never sees a denied call;
 * sys_exit still fires, with the filter's errno as the result.
 */
static __noinline int on_denied(__u64 cgid, __u32 nr, long ret, struct pt_regs *regs)
{
	__u64 a0 = BPF_CORE_READ(regs, di);
	if (nr == SF_NR_clone && !(a0 & SF_CLONE_NEW_FLAGS))
		return 0; /* an ordinary fork or thread */
	if (nr == SF_NR_unshare && !(a0 & (SF_CLONE_NEW_FLAGS | SF_CLONE_NEWTIME)))
		return 0;
	struct sf_bpf_event *e = event_start(SF_BPF_DENIED, cgid, nr, ret);
	if (!e)
		return 0;
	e->u.raw.args[0] = a0;
	e->u.raw.args[1] = BPF_CORE_READ(regs, si);
	e->u.raw.args[2] = BPF_CORE_READ(regs, dx);
	event_send(e);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sf_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 cgid = watched_cgroup();
	if (!cgid)
		return 0;
	__u32 nr = (__u32)BPF_CORE_READ(regs, orig_ax);
	switch (nr) {
	case SF_NR_open:
	case SF_NR_creat:
	case SF_NR_openat:
	case SF_NR_openat2:
	case SF_NR_unlink:
	case SF_NR_unlinkat:
	case SF_NR_rename:
	case SF_NR_renameat:
	case SF_NR_renameat2:
	case SF_NR_chmod:
	case SF_NR_fchmod:
	case SF_NR_fchmodat:
	case SF_NR_fchmodat2:
	case SF_NR_chown:
	case SF_NR_fchown:
	case SF_NR_lchown:
	case SF_NR_fchownat:
	case SF_NR_chdir:
	case SF_NR_fchdir:
	case SF_NR_memfd_create:
	case SF_NR_mount:
		return on_file(cgid, nr, ret, regs);
	case SF_NR_connect:
	case SF_NR_bind:
	case SF_NR_listen:
	case SF_NR_accept:
	case SF_NR_accept4:
		return on_net(cgid, nr, ret, regs);
	case SF_NR_sendto:
	case SF_NR_sendmsg:
	case SF_NR_sendmmsg:
		return on_send(cgid, nr, ret, regs);
	case SF_NR_dup:
	case SF_NR_dup2:
	case SF_NR_dup3:
		return on_dup(cgid, nr, ret, regs);
	case SF_NR_ptrace:
	case SF_NR_process_vm_readv:
	case SF_NR_process_vm_writev:
	case SF_NR_setuid:
	case SF_NR_setgid:
	case SF_NR_setreuid:
	case SF_NR_setregid:
	case SF_NR_setresuid:
	case SF_NR_setresgid:
	case SF_NR_execve:
	case SF_NR_execveat:
		return on_proc(cgid, nr, ret, regs);
	case SF_NR_clone:
	case SF_NR_unshare:
#define SF_DENIED_CASE(name, number) case number:
	SF_SYSCALLS_DENIED(SF_DENIED_CASE)
#undef SF_DENIED_CASE
		return on_denied(cgid, nr, ret, regs);
	}
	return 0;
}

/* The syscall the current task is in (to name exec and fork events). */
static __always_inline __u32 current_syscall(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return (__u32)BPF_CORE_READ(regs, orig_ax);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sf_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 cgid = watched_cgroup();
	if (!cgid)
		return 0;
	struct sf_bpf_event *e = event_start(SF_BPF_EXEC, cgid, current_syscall(), 0);
	if (!e)
		return 0;
	slot_kernel_str(e, 0, BPF_CORE_READ(bprm, filename));
	struct file *f = BPF_CORE_READ(bprm, file);
	if (f) {
		slot_walk(e, 1, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
		/* which file this is: the reader hashes it only if what it
		 * opens later is still this file (the process may have
		 * exec'd again by then: `env node`) */
		e->u.exec.ino = BPF_CORE_READ(f, f_inode, i_ino);
		e->u.exec.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	}
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	slot_walk(e, 2, BPF_CORE_READ(t, fs, pwd.dentry), BPF_CORE_READ(t, fs, pwd.mnt));
	/* argv of the new image: NUL-separated at mm->arg_start */
	unsigned long start = BPF_CORE_READ(t, mm, arg_start);
	unsigned long end = BPF_CORE_READ(t, mm, arg_end);
	unsigned long len = end - start;
	if (end > start) {
		if (len > SF_BPF_ARGS - 1)
			len = SF_BPF_ARGS - 1;
		if (!bpf_probe_read_user(&e->data[SF_BPF_SLOT_OFF(3)], len, (const void *)start))
			e->slot_len[3] = len;
	}
	event_send(e);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sf_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 cgid = watched_cgroup();
	if (!cgid)
		return 0;
	__u32 pid = BPF_CORE_READ(child, pid), tgid = BPF_CORE_READ(child, tgid);
	if (pid != tgid)
		return 0; /* a thread, not a process */
	struct sf_bpf_event *e = event_start(SF_BPF_FORK, cgid, current_syscall(), tgid);
	if (!e)
		return 0;
	e->u.fork.child_pid = tgid;
	e->u.fork.child_vpid = task_vpid(child);
	event_send(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sf_exit, struct task_struct *p)
{
	__u64 cgid = watched_cgroup();
	if (!cgid)
		return 0;
	/* report once per process: when its last thread goes (two threads
	 * ending at once may both see the count at 0; the user side keeps
	 * the first) */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	struct sf_bpf_event *e = event_start(SF_BPF_EXIT, cgid, 0, BPF_CORE_READ(p, exit_code));
	if (!e)
		return 0;
	event_send(e);
	return 0;
}
