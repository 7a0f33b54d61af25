/* decode — see decode.h. */
#include "decode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sensor.h"
#include "syscalls.h"

/* --- paths and slots -------------------------------------------------- */

static const char *decode_errno_name(int64_t res)
{
	if (res >= 0)
		return "SUCCESS";
	const char *n = strerrorname_np((int)-res);
	return n ? n : "E?";
}

/* Lexically normalises an absolute path in place: "//", "/./", "/../". */
static void decode_normalize(char *path)
{
	char *out = path, *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > path && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == path)
		*out++ = '/';
	*out = 0;
}

/* Joins base (absolute directory) and path unless path is absolute. */
static void decode_join(char *out, size_t len, const char *base, const char *path)
{
	if (path[0] == '/' || !base || !base[0])
		snprintf(out, len, "%s", path);
	else
		snprintf(out, len, "%s/%s", base, path);
	if (out[0] == '/')
		decode_normalize(out);
}

/* Slot i of a record as a string: a walked path is reassembled into an
 * absolute path, argv NULs become spaces when join_args is set. */
static const char *decode_slot(const struct sf_bpf_event *r, size_t len, int i, char *buf,
			    size_t buflen)
{
	size_t off = offsetof(struct sf_bpf_event, data) + SF_BPF_SLOT_OFF(i);
	size_t n = r->slot_len[i];
	if (!n || off + n > len)
		return NULL;
	size_t cap = i == 3 ? SF_BPF_ARGS : SF_BPF_SLOT;
	if (n > cap)
		n = cap;
	const char *s = r->data + SF_BPF_SLOT_OFF(i);
	if (!(r->slot_flags[i] & SF_BPF_SLOT_WALKED)) {
		size_t m = strnlen(s, n);
		if (m >= buflen)
			m = buflen - 1;
		memcpy(buf, s, m);
		buf[m] = 0;
		return buf;
	}
	/* components leaf first, NUL-terminated: emit them root first */
	const char *comp[SF_BPF_PATH_DEPTH + 1];
	int nc = 0;
	for (size_t p = 0; p < n && nc <= SF_BPF_PATH_DEPTH;) {
		comp[nc++] = s + p;
		p += strnlen(s + p, n - p) + 1;
	}
	size_t o = 0;
	buf[0] = 0;
	for (int c = nc - 1; c >= 0; c--) {
		if (!comp[c][0])
			continue;
		int w = snprintf(buf + o, buflen - o, "/%.*s", (int)strnlen(comp[c], SF_BPF_SLOT),
				 comp[c]);
		if (w < 0 || (size_t)w >= buflen - o)
			break;
		o += (size_t)w;
	}
	if (!o)
		snprintf(buf, buflen, "/");
	return buf;
}

/* --- rendering ---------------------------------------------------------- */

struct decode_flag {
	uint32_t bit;
	const char *name;
};

static void decode_flags(char *buf, size_t len, uint32_t v, const struct decode_flag *t, size_t n,
		      const char *first)
{
	size_t o = 0;
	buf[0] = 0;
	if (first)
		o = (size_t)snprintf(buf, len, "%s", first);
	for (size_t i = 0; i < n && o < len; i++)
		if ((v & t[i].bit) == t[i].bit && t[i].bit)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "|" : "", t[i].name);
}

static void decode_open_flags(char *buf, size_t len, uint32_t f)
{
	static const struct decode_flag t[] = {
	    {O_CREAT, "O_CREAT"},	  {O_EXCL, "O_EXCL"},	    {O_NOCTTY, "O_NOCTTY"},
	    {O_TRUNC, "O_TRUNC"},	  {O_APPEND, "O_APPEND"},   {O_NONBLOCK, "O_NONBLOCK"},
	    {O_DSYNC, "O_DSYNC"},	  {O_DIRECT, "O_DIRECT"},   {O_DIRECTORY, "O_DIRECTORY"},
	    {O_NOFOLLOW, "O_NOFOLLOW"}, {O_NOATIME, "O_NOATIME"}, {O_CLOEXEC, "O_CLOEXEC"},
	    {O_PATH, "O_PATH"},	  {__O_TMPFILE, "O_TMPFILE"}};
	const char *acc = (f & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
			  : (f & O_ACCMODE) == O_RDWR ? "O_RDWR"
						      : "O_RDONLY";
	decode_flags(buf, len, f, t, sizeof(t) / sizeof(t[0]), acc);
}

static void decode_mode(char *buf, size_t len, uint32_t m)
{
	static const struct decode_flag t[] = {
	    {S_IXOTH, "S_IXOTH"}, {S_IWOTH, "S_IWOTH"}, {S_IROTH, "S_IROTH"},
	    {S_IXGRP, "S_IXGRP"}, {S_IWGRP, "S_IWGRP"}, {S_IRGRP, "S_IRGRP"},
	    {S_IXUSR, "S_IXUSR"}, {S_IWUSR, "S_IWUSR"}, {S_IRUSR, "S_IRUSR"},
	    {S_ISVTX, "S_ISVTX"}, {S_ISGID, "S_ISGID"}, {S_ISUID, "S_ISUID"}};
	decode_flags(buf, len, m, t, sizeof(t) / sizeof(t[0]), NULL);
	if (!buf[0])
		snprintf(buf, len, "0");
}

static void decode_clone_flags(char *buf, size_t len, uint64_t f)
{
	static const struct decode_flag t[] = {
	    {0x00000100, "CLONE_VM"},	     {0x00000200, "CLONE_FS"},
	    {0x00000400, "CLONE_FILES"},     {0x00000800, "CLONE_SIGHAND"},
	    {0x00010000, "CLONE_THREAD"},    {0x00020000, "CLONE_NEWNS"},
	    {0x02000000, "CLONE_NEWCGROUP"}, {0x04000000, "CLONE_NEWUTS"},
	    {0x08000000, "CLONE_NEWIPC"},    {0x10000000, "CLONE_NEWUSER"},
	    {0x20000000, "CLONE_NEWPID"},    {0x40000000, "CLONE_NEWNET"}};
	decode_flags(buf, len, (uint32_t)f, t, sizeof(t) / sizeof(t[0]), NULL);
	if (!buf[0])
		snprintf(buf, len, "0");
}

static const char *decode_ptrace_request(int64_t r)
{
	switch (r) {
	case 0: return "PTRACE_TRACEME";
	case 1: return "PTRACE_PEEKTEXT";
	case 2: return "PTRACE_PEEKDATA";
	case 3: return "PTRACE_PEEKUSR";
	case 4: return "PTRACE_POKETEXT";
	case 5: return "PTRACE_POKEDATA";
	case 6: return "PTRACE_POKEUSR";
	case 7: return "PTRACE_CONT";
	case 8: return "PTRACE_KILL";
	case 9: return "PTRACE_SINGLESTEP";
	case 12: return "PTRACE_GETREGS";
	case 13: return "PTRACE_SETREGS";
	case 16: return "PTRACE_ATTACH";
	case 17: return "PTRACE_DETACH";
	case 24: return "PTRACE_SYSCALL";
	case 0x4206: return "PTRACE_SEIZE";
	default: return "PTRACE_UNKNOWN";
	}
}

static void decode_endpoint(struct sf_endpoint *ep, uint16_t family, const uint8_t *addr, uint16_t port)
{
	ep->family = family == AF_INET || family == AF_INET6 ? family : 0;
	ep->port = port;
	memcpy(ep->addr, addr, family == AF_INET ? 4 : 16);
}

static void decode_ep_str(char *buf, size_t len, const struct sf_endpoint *ep)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ep->family == AF_INET || ep->family == AF_INET6)
		inet_ntop(ep->family, ep->addr, ip, sizeof(ip));
	if (ep->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, ep->port);
	else
		snprintf(buf, len, "%s:%u", ip, ep->port);
}

int sf_decode_dns_name(const unsigned char *m, size_t len, char *name, size_t namelen)
{
	if (len < 13 || namelen < 2)
		return -EPROTO;
	if ((m[2] & 0x80) || ((m[4] << 8) | m[5]) == 0) /* a response, or no question */
		return -EPROTO;
	size_t p = 12, o = 0;
	while (p < len && m[p]) {
		size_t l = m[p++];
		if (l > 63 || p + l > len || o + l + 2 > namelen)
			return -EPROTO;
		if (o)
			name[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			unsigned char c = m[p + i];
			if (c < 0x21 || c > 0x7e)
				c = '?';
			name[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		p += l;
	}
	if (p >= len || o == 0)
		return -EPROTO;
	name[o] = 0;
	return 0;
}

/* Is path below dir (a container path without a trailing '/'; NULL: no)? */
static bool decode_below(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;
	return n > 1 && !strncmp(path, dir, n) && path[n] == '/';
}

/* The project tree's path in the container ("/work" unless told). */
static const char *decode_work_dir(const struct sf_decoder *d)
{
	return d->work_dir ? d->work_dir : "/work";
}

static bool decode_writable_path(const struct sf_decoder *d, const char *p)
{
	return !strncmp(p, "/tmp/", 5) || decode_below(p, decode_work_dir(d)) ||
	       decode_below(p, d->home_dir) || !strncmp(p, "/dev/shm/", 9) ||
	       !strncmp(p, "/memfd:", 7) || !strncmp(p, "/proc/", 6);
}

static void decode_arg(struct sf_event *ev, const char *name, const char *value)
{
	if (ev->nargs < SF_EVENT_MAX_ARGS && value) {
		ev->args[ev->nargs].name = name;
		ev->args[ev->nargs].value = value;
		ev->nargs++;
	}
}

/* The file an event is about: slot 0's path made absolute with slot 1's
 * directory (walked from a dirfd) or the process's cwd; sets fd.name. */
static bool decode_event_path(const struct sf_bpf_event *r, size_t len,
			      struct sf_decode_scratch *sc, const char *cwd, struct sf_event *ev)
{
	const char *path = decode_slot(r, len, 0, sc->s[0], sizeof(sc->s[0]));
	const char *dir = decode_slot(r, len, 1, sc->s[1], sizeof(sc->s[1]));
	if (!path)
		return false;
	decode_join(sc->path, sizeof(sc->path), dir ? dir : cwd, path);
	ev->fd_type = SF_FD_FILE;
	ev->fd_name = sc->path;
	return true;
}


static void decode_fact(struct sf_decoder *d, const char *kind, const char *value,
			const char *detail)
{
	d->sink.fact(d->sink.arg, d->cur, kind, value, detail);
}

static void decode_file_written(struct sf_decoder *d, const char *path)
{
	const char *work = decode_work_dir(d);
	if (path[0] == '/' && !decode_below(path, work) && strcmp(path, work))
		decode_fact(d, "file_written", path, "");
}

/* --- records → events, one kind at a time -------------------------------- */

/* A successful exec: the process's new image (proc.exe, exepath, args,
 * cwd), its binary's hash and its command line as facts. */
static bool decode_exec(struct sf_decoder *d, struct sf_proc_entry *p, const struct sf_bpf_event *r,
			size_t len, struct sf_decode_scratch *sc, struct sf_event *ev)
{
	const char *filename = decode_slot(r, len, 0, sc->s[0], sizeof(sc->s[0]));
	const char *exepath = decode_slot(r, len, 1, sc->s[1], sizeof(sc->s[1]));
	const char *cwd = decode_slot(r, len, 2, sc->s[2], sizeof(sc->s[2]));
	/* argv: NUL-separated; argv[0] is proc.exe, the rest proc.args */
	size_t off = offsetof(struct sf_bpf_event, data) + SF_BPF_SLOT_OFF(3);
	size_t n = r->slot_len[3];
	if (off + n > len)
		n = len > off ? len - off : 0;
	if (n > SF_BPF_ARGS)
		n = SF_BPF_ARGS;
	memcpy(sc->args, r->data + SF_BPF_SLOT_OFF(3), n);
	sc->args[n] = 0;
	while (n && sc->args[n - 1] == 0)
		n--;
	size_t a0 = strnlen(sc->args, n);
	for (size_t i = a0 + 1; i < n; i++)
		if (sc->args[i] == 0)
			sc->args[i] = ' ';
	const char *rest = a0 < n ? sc->args + a0 + 1 : "";
	char cwdslash[SF_DECODE_PATH];
	snprintf(cwdslash, sizeof(cwdslash), "%s%s", cwd ? cwd : "",
		 cwd && strcmp(cwd, "/") ? "/" : "");
	if (filename && filename[0] != '/') {
		decode_join(sc->path, sizeof(sc->path), cwd, filename);
		filename = sc->path;
	}
	sf_proctable_set_strings(p, sc->args, exepath ? exepath : filename, rest,
				 cwd ? cwdslash : "");
	if (d->has_init && p->p.vpid == 1)
		return false; /* our init: no fact, no event, and not yet started */
	p->p.exe_writable = decode_writable_path(d, p->p.exepath);
	if (d->packages) /* before the facts: they are the new package's */
		sf_packages_exec(d->packages, &p->p, p->p.cwd);
	ev->type = r->syscall == SF_NR_execveat ? "execveat" : "execve";
	decode_arg(ev, "filename", filename);
	decode_arg(ev, "exe", p->p.exe);
	decode_arg(ev, "args", p->p.args);
	decode_arg(ev, "cwd", p->p.cwd);
	d->started = true; /* the container's entry point, or later */
	d->sink.exec(d->sink.arg, &p->p, r->u.exec.ino, r->u.exec.dev);
	snprintf(sc->num[0], sizeof(sc->num[0]), "%d", p->p.vpid);
	char detail[SF_DECODE_PATH + SF_BPF_ARGS + 64];
	const struct sf_proc *pp = p->p.parent;
	snprintf(detail, sizeof(detail), "ppid=%d %s%s%s", pp ? pp->vpid : 0, p->p.name,
		 p->p.args[0] ? " " : "", p->p.args);
	decode_fact(d, "process", sc->num[0], detail);
	return true;
}

/* A new process: the child starts as a copy of its parent. */
static bool decode_fork(struct sf_decoder *d, struct sf_proc_entry *p, const struct sf_bpf_event *r,
			struct sf_event *ev)
{
	ev->type = ev->type ? ev->type : "clone";
	struct sf_proc_entry *c = sf_proctable_find(d->procs, r->u.fork.child_pid);
	if (!c)
		c = sf_proctable_add(d->procs, r->u.fork.child_pid);
	if (c) {
		c->exited = false;
		c->p.ppid = p->p.pid;
		c->p.vpid = r->u.fork.child_vpid;
		c->p.uid = p->p.uid;
		c->p.gid = p->p.gid;
		memcpy(c->p.name, p->p.name, sizeof(c->p.name));
		c->p.exe_writable = p->p.exe_writable;
		c->p.package = p->p.package;
		c->p.package_path = p->p.package_path;
		c->p.package_dir = p->p.package_dir;
		c->p.parent = &p->p;
		sf_proctable_set_strings(c, p->p.exe, p->p.exepath, p->p.args, p->p.cwd);
	}
	return true;
}

static bool decode_chdir(struct sf_proc_entry *p, const struct sf_bpf_event *r, size_t len,
			 struct sf_decode_scratch *sc)
{
	const char *cwd = decode_slot(r, len, 0, sc->s[0], sizeof(sc->s[0]));
	if (cwd) {
		char cwdslash[SF_DECODE_PATH];
		snprintf(cwdslash, sizeof(cwdslash), "%s%s", cwd, strcmp(cwd, "/") ? "/" : "");
		sf_proctable_set_strings(p, p->p.exe, p->p.exepath, p->p.args, cwdslash);
	}
	return true;
}

static bool decode_open(struct sf_decoder *d, const struct sf_bpf_event *r, size_t len,
			struct sf_decode_scratch *sc, const char *base, struct sf_event *ev)
{
	if (!decode_event_path(r, len, sc, base, ev))
		return false;
	uint32_t f = r->u.file.flags;
	uint32_t acc = f & O_ACCMODE;
	if (f & O_DIRECTORY)
		ev->fd_type = SF_FD_DIRECTORY;
	ev->open_flags = f;
	ev->is_open_read = !(f & O_PATH) && (acc == O_RDONLY || acc == O_RDWR);
	ev->is_open_write = acc == O_WRONLY || acc == O_RDWR;
	ev->is_open_exec = (f & O_CREAT) && (r->u.file.mode & 0111);
	decode_open_flags(sc->flags, sizeof(sc->flags), f);
	decode_mode(sc->mode, sizeof(sc->mode), r->u.file.mode);
	decode_arg(ev, "name", sc->path);
	decode_arg(ev, "flags", sc->flags);
	decode_arg(ev, "mode", sc->mode);
	if (ev->is_open_write && d->started)
		decode_file_written(d, sc->path);
	return true;
}

static bool decode_rename(struct sf_decoder *d, const struct sf_bpf_event *r, size_t len,
			  struct sf_decode_scratch *sc, const char *base, struct sf_event *ev)
{
	const char *from = decode_slot(r, len, 0, sc->s[0], sizeof(sc->s[0]));
	const char *to = decode_slot(r, len, 1, sc->s[1], sizeof(sc->s[1]));
	const char *d1 = decode_slot(r, len, 2, sc->s[2], sizeof(sc->s[2]));
	const char *d2 = decode_slot(r, len, 3, sc->s[3], sizeof(sc->s[3]));
	if (!from || !to)
		return false;
	decode_join(sc->path, sizeof(sc->path), d1 ? d1 : base, from);
	decode_join(sc->path2, sizeof(sc->path2), d2 ? d2 : base, to);
	ev->fd_type = SF_FD_FILE;
	ev->fd_name = sc->path2;
	decode_arg(ev, "oldpath", sc->path);
	decode_arg(ev, "newpath", sc->path2);
	if (r->ret >= 0 && d->started)
		decode_file_written(d, sc->path2);
	return true;
}

/* unlink, chmod and chown: one file and what was done to it. */
static bool decode_file_change(const struct sf_bpf_event *r, size_t len,
			       struct sf_decode_scratch *sc, const char *base, struct sf_event *ev)
{
	if (!decode_event_path(r, len, sc, base, ev))
		return false;
	if (r->kind == SF_BPF_UNLINK) {
		decode_arg(ev, "name", sc->path);
		decode_arg(ev, "path", sc->path);
	} else if (r->kind == SF_BPF_CHMOD) {
		decode_mode(sc->mode, sizeof(sc->mode), r->u.file.mode);
		ev->is_open_exec = (r->u.file.mode & 0111) != 0;
		decode_arg(ev, "filename", sc->path);
		decode_arg(ev, "mode", sc->mode);
	} else { /* SF_BPF_CHOWN */
		snprintf(sc->num[0], sizeof(sc->num[0]), "%d", (int32_t)r->u.file.uid);
		snprintf(sc->num[1], sizeof(sc->num[1]), "%d", (int32_t)r->u.file.gid);
		decode_arg(ev, "path", sc->path);
		decode_arg(ev, "uid", sc->num[0]);
		decode_arg(ev, "gid", sc->num[1]);
	}
	return true;
}

/* The facts of a socket event of the package's: where it connected,
 * listened, accepted from, and the DNS names it asked for. */
static void decode_sock_facts(struct sf_decoder *d, const struct sf_bpf_event *r, size_t len,
			      struct sf_decode_scratch *sc, struct sf_event *ev,
			      const char *client, const char *server)
{
	char v[100];
	snprintf(v, sizeof(v), "%s/%s", server, ev->l4proto);
	if (r->kind == SF_BPF_CONNECT)
		decode_fact(d, "connect", v, r->ret >= 0 || r->ret == -EINPROGRESS ? "succeeded"
								: decode_errno_name(r->ret));
	else if (r->kind == SF_BPF_LISTEN)
		decode_fact(d, "listen", v, r->ret >= 0 ? "succeeded" : decode_errno_name(r->ret));
	else if (r->kind == SF_BPF_ACCEPT && r->ret >= 0)
		decode_fact(d, "accept", v, client);
	else if (r->kind == SF_BPF_SEND) {
		size_t n = r->slot_len[0];
		size_t off = offsetof(struct sf_bpf_event, data);
		if (off + n <= len &&
		    sf_decode_dns_name((const unsigned char *)r->data, n, sc->dns, sizeof(sc->dns)) ==
			0) {
			ev->dns_name = sc->dns;
			decode_fact(d, "dns", sc->dns, server);
		}
	}
}

/* connect, bind, listen, accept, DNS sends and dups of a socket: the
 * endpoints in Falco's client/server terms and fd.name
 * "cip:cport->sip:sport". A dup'd socket is described as a connecting one
 * (its local end the client): the kernel does not say whether it was
 * accepted, which Falco's fd table remembers. */
static bool decode_sock(struct sf_decoder *d, const struct sf_bpf_event *r, size_t len,
			struct sf_decode_scratch *sc, struct sf_event *ev)
{
	const struct sf_bpf_sock *s = &r->u.sock;
	if (s->family == AF_UNIX) {
		ev->fd_type = SF_FD_UNIX;
		ev->fd_name = "unix";
		return true;
	}
	if (s->family != AF_INET && s->family != AF_INET6)
		return true;
	ev->fd_type = s->family == AF_INET ? SF_FD_IPV4 : SF_FD_IPV6;
	ev->l4proto = s->proto == IPPROTO_TCP ? "tcp" : s->proto == IPPROTO_UDP ? "udp" : "raw";
	bool server_side =
	    r->kind == SF_BPF_BIND || r->kind == SF_BPF_LISTEN || r->kind == SF_BPF_ACCEPT;
	ev->is_server = server_side;
	char a[80], b[80];
	if (server_side) {
		decode_endpoint(&ev->server, s->family, s->laddr, s->lport);
		if (r->kind == SF_BPF_ACCEPT && r->ret >= 0)
			decode_endpoint(&ev->client, s->family, s->raddr, s->rport);
	} else {
		decode_endpoint(&ev->client, s->family, s->laddr, s->lport);
		decode_endpoint(&ev->server, s->family, s->raddr, s->rport);
	}
	decode_ep_str(b, sizeof(b), &ev->server);
	if (ev->client.family) {
		decode_ep_str(a, sizeof(a), &ev->client);
		snprintf(sc->fdname, sizeof(sc->fdname), "%s->%s", a, b);
	} else {
		snprintf(sc->fdname, sizeof(sc->fdname), "%s", b);
	}
	ev->fd_name = sc->fdname;
	if (r->kind == SF_BPF_CONNECT) {
		/* the address asked for, as Falco renders connect's addr: "ip:port"
		 * for both families. Falco keeps no server end for a connect that
		 * failed at once (fd.sip is missing there), but this it has. */
		char ip[INET6_ADDRSTRLEN] = "?";
		inet_ntop(ev->server.family, ev->server.addr, ip, sizeof(ip));
		snprintf(sc->addr, sizeof(sc->addr), "%s:%u", ip, ev->server.port);
		decode_arg(ev, "addr", sc->addr);
	}
	if (d->started)
		decode_sock_facts(d, r, len, sc, ev, a, b);
	return true;
}

/* The setuid family: the ids under the names Falco gives each variant. */
static bool decode_setid(const struct sf_bpf_event *r, struct sf_decode_scratch *sc,
			 struct sf_event *ev)
{
	static const char *const uidn[] = {"uid", "euid", "suid"};
	static const char *const ruidn[] = {"ruid", "euid", "suid"};
	static const char *const gidn[] = {"gid", "egid", "sgid"};
	static const char *const rgidn[] = {"rgid", "egid", "sgid"};
	uint32_t nr = r->syscall;
	const char *const *names = nr == SF_NR_setuid				    ? uidn
				   : nr == SF_NR_setgid				    ? gidn
				   : (nr == SF_NR_setreuid || nr == SF_NR_setresuid) ? ruidn
										     : rgidn;
	int nids = (nr == SF_NR_setuid || nr == SF_NR_setgid)	      ? 1
		   : (nr == SF_NR_setreuid || nr == SF_NR_setregid) ? 2
								      : 3;
	for (int i = 0; i < nids; i++) {
		snprintf(sc->num[i], sizeof(sc->num[i]), "%d", (int32_t)r->u.setid.id[i]);
		decode_arg(ev, names[i], sc->num[i]);
	}
	return true;
}

/* The kinds that carry little: a failed exec, an exit, ptrace and
 * process_vm_*, memfd_create, mount. */
static bool decode_simple(struct sf_proc_entry *p, const struct sf_bpf_event *r, size_t len,
			  struct sf_decode_scratch *sc, struct sf_event *ev)
{
	switch (r->kind) {
	case SF_BPF_EXEC_FAIL:
		if (!ev->type)
			ev->type = "execve";
		decode_arg(ev, "filename", decode_slot(r, len, 0, sc->s[0], sizeof(sc->s[0])));
		return true;
	case SF_BPF_EXIT:
		/* Once per process: two of its threads ending at the same time
		 * can both find the live count at zero (the kernel drops it
		 * before the tracepoint), and the kernel half then reports the
		 * exit twice. The second is no event: taken for the exit of a
		 * process that outlived the phase's command, it made the
		 * command's own npm "left running" after its exit. */
		if (p->exited)
			return false;
		ev->type = "procexit";
		p->exited = true;
		snprintf(sc->num[0], sizeof(sc->num[0]), "%lld", (long long)r->ret);
		decode_arg(ev, "status", sc->num[0]);
		return true;
	case SF_BPF_PTRACE:
		snprintf(sc->num[0], sizeof(sc->num[0]), "%d", r->u.ptrace.target);
		decode_arg(ev, "request", decode_ptrace_request(r->u.ptrace.request));
		decode_arg(ev, "pid", sc->num[0]);
		return true;
	case SF_BPF_VM_RW:
		snprintf(sc->num[0], sizeof(sc->num[0]), "%d", r->u.ptrace.target);
		decode_arg(ev, "pid", sc->num[0]);
		return true;
	case SF_BPF_MEMFD: {
		const char *name = decode_slot(r, len, 0, sc->s[0], sizeof(sc->s[0]));
		ev->fd_type = SF_FD_MEMFD;
		ev->has_fd_num = true;
		ev->fd_num = r->ret;
		snprintf(sc->path, sizeof(sc->path), "/memfd:%s", name ? name : "");
		ev->fd_name = sc->path;
		decode_arg(ev, "name", name ? name : "");
		return true;
	}
	case SF_BPF_DENIED:
		/* a call the seccomp filter denies: its result is the filter's
		 * errno; clone and unshare say which namespaces were asked for */
		if (r->syscall == SF_NR_clone || r->syscall == SF_NR_unshare) {
			decode_clone_flags(sc->flags, sizeof(sc->flags), r->u.raw.args[0]);
			decode_arg(ev, "flags", sc->flags);
		}
		return true;
	case SF_BPF_MOUNT:
		decode_arg(ev, "dev", decode_slot(r, len, 0, sc->s[0], sizeof(sc->s[0])));
		decode_arg(ev, "dir", decode_slot(r, len, 1, sc->s[1], sizeof(sc->s[1])));
		decode_arg(ev, "type", decode_slot(r, len, 2, sc->s[2], sizeof(sc->s[2])));
		return true;
	default:
		return false;
	}
}

/* Records of our init (the container's pid 1): its exec names it, its
 * first fork is the phase's command; none is an event of the package's. */
static bool decode_init(struct sf_decoder *d, struct sf_proc_entry *p, const struct sf_bpf_event *r,
			size_t len, struct sf_decode_scratch *sc, struct sf_event *ev)
{
	if (r->kind == SF_BPF_EXEC) {
		decode_exec(d, p, r, len, sc, ev);
	} else if (r->kind == SF_BPF_FORK) {
		decode_fork(d, p, r, ev);
		if (!d->command_pid)
			d->command_pid = r->u.fork.child_pid;
	} else if (r->kind == SF_BPF_EXIT) {
		p->exited = true;
	}
	return false;
}

/* A process that outlived the phase's command has ended (by itself, or
 * killed with the rest when the grace was over): a fact. */
static void decode_left_running(struct sf_decoder *d, const struct sf_proc_entry *p,
				const struct sf_bpf_event *r)
{
	char cmd[SF_DECODE_PATH + SF_BPF_ARGS + 2], how[64];
	snprintf(cmd, sizeof(cmd), "%s%s%s", p->p.exepath ? p->p.exepath : p->p.name,
		 p->p.args && p->p.args[0] ? " " : "", p->p.args ? p->p.args : "");
	int code = (int)r->ret;
	if (code & 0x7f)
		snprintf(how, sizeof(how), "pid %d, killed by signal %d", p->p.vpid, code & 0x7f);
	else
		snprintf(how, sizeof(how), "pid %d, exited %d", p->p.vpid, (code >> 8) & 0xff);
	decode_fact(d, "left_running", cmd, how);
}

bool sf_decode_record(struct sf_decoder *d, const struct sf_bpf_event *r, size_t len,
		      struct sf_decode_scratch *sc, struct sf_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->time_ns = sf_sensor_realtime_ns(d->sensor, r->ts_ns);
	ev->res = r->ret;
	ev->container_id = d->container_id;
	ev->container_name = d->container_id;
	ev->container_image = d->image;
	ev->user_name = d->user_name;
	ev->user_id = d->user_id;
	ev->cgroups = d->cgroups;
	ev->tid = (int32_t)r->tid;
	ev->num = ++d->events;
	ev->phase = d->phase;

	struct sf_proc_entry *p = sf_proctable_get(d->procs, r);
	if (!p)
		return false;
	/* The sensor reports a process's exit when its last thread goes; two
	 * threads ending at once can both see themselves last. The second
	 * report is no news — after the phase's command it would read as the
	 * command itself left running. */
	if (r->kind == SF_BPF_EXIT && p->exited)
		return false;
	/* ids as the sandbox sees them (its user namespace maps them) */
	if (d->uid_count && r->uid - d->uid_base < d->uid_count)
		p->p.uid = r->uid - d->uid_base;
	if (d->uid_count && r->gid - d->uid_base < d->uid_count)
		p->p.gid = r->gid - d->uid_base;
	if (d->packages)
		sf_packages_adopt(d->packages, &p->p);
	d->cur = &p->p;
	if (d->has_init && p->p.vpid == 1)
		return decode_init(d, p, r, len, sc, ev);
	const char *base = p->p.cwd && p->p.cwd[0] ? p->p.cwd : NULL;
	ev->type = sf_syscall_name(r->syscall);

	bool keep;
	switch (r->kind) {
	case SF_BPF_EXEC:
		keep = decode_exec(d, p, r, len, sc, ev);
		break;
	case SF_BPF_FORK:
		keep = decode_fork(d, p, r, ev);
		break;
	case SF_BPF_CHDIR:
		keep = decode_chdir(p, r, len, sc);
		break;
	case SF_BPF_OPEN:
		keep = decode_open(d, r, len, sc, base, ev);
		/* the new fd (Falco's fd.num; a failed open's is its error) */
		ev->has_fd_num = true;
		ev->fd_num = r->ret;
		break;
	case SF_BPF_RENAME:
		keep = decode_rename(d, r, len, sc, base, ev);
		break;
	case SF_BPF_UNLINK:
	case SF_BPF_CHMOD:
	case SF_BPF_CHOWN:
		keep = decode_file_change(r, len, sc, base, ev);
		break;
	case SF_BPF_CONNECT:
	case SF_BPF_BIND:
	case SF_BPF_LISTEN:
	case SF_BPF_ACCEPT:
	case SF_BPF_SEND:
	case SF_BPF_DUP:
		keep = decode_sock(d, r, len, sc, ev);
		if ((r->kind == SF_BPF_ACCEPT || r->kind == SF_BPF_DUP) && r->ret >= 0) {
			ev->has_fd_num = true; /* the new fd */
			ev->fd_num = r->ret;
		}
		if (r->kind == SF_BPF_DUP) {
			/* Falco's arguments: oldfd, and newfd but for dup */
			snprintf(sc->num[0], sizeof(sc->num[0]), "%d", r->u.sock.fd);
			snprintf(sc->num[1], sizeof(sc->num[1]), "%lld", (long long)r->ret);
			decode_arg(ev, "oldfd", sc->num[0]);
			if (r->syscall != SF_NR_dup)
				decode_arg(ev, "newfd", sc->num[1]);
		}
		break;
	case SF_BPF_SETID:
		keep = decode_setid(r, sc, ev);
		break;
	default:
		keep = decode_simple(p, r, len, sc, ev);
		break;
	}
	if (!keep || !ev->type || !d->started)
		return false; /* crun's own setup of the container */
	ev->proc = &p->p;
	if (d->command_ended) {
		ev->left_running = true;
		if (r->kind == SF_BPF_EXIT)
			decode_left_running(d, p, r);
	} else if (r->kind == SF_BPF_EXIT && r->pid == (uint32_t)d->command_pid) {
		d->command_ended = true;
	}
	if (d->packages && ev->fd_name &&
	    (ev->fd_type == SF_FD_FILE || ev->fd_type == SF_FD_DIRECTORY))
		ev->fd_package = sf_packages_file_owner(d->packages, &p->p, ev->fd_name);
	return true;
}
