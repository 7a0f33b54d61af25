/* observe — see observe.h. */
#include "observe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "rules.h"
#include "sha256.h"
#include "util.h"

#define OBS_BUCKETS 1024
#define OBS_MAX_PROCS 20000	   /* process entries kept per job */
#define OBS_MAX_FACTS 20000	   /* facts kept per job */
#define OBS_MAX_ALERTS 1000	   /* alerts kept per job */
#define OBS_MAX_ALERTS_PER_RULE 20 /* then only counted */
#define OBS_PATH 1024

struct obs_proc {
	struct sf_proc p;
	char *exe, *exepath, *args, *cwd; /* owned; p points at them */
	bool exited;
	struct obs_proc *next; /* hash chain */
};

/* A fact, deduplicated by (kind, value, detail) through a hash set. */
struct obs_fact {
	struct sf_fact f;
	uint64_t hash;
	struct obs_fact *next;
};

struct obs_rule_count {
	const void *rule;
	uint32_t fired;
	struct obs_rule_count *next;
};

struct sf_observe {
	struct sf_sensor *sensor;
	struct sf_observe_opts opts;
	uint64_t cgid;
	bool watching;
	bool started; /* the container's first exec was seen */
	struct sf_rules_ctx rctx; /* the rule engine's per-thread scratch */
	struct obs_proc *procs[OBS_BUCKETS];
	uint32_t nprocs;
	struct obs_fact *facts[OBS_BUCKETS];
	uint32_t nfacts;
	bool facts_truncated;
	struct sf_alert *alerts;
	uint32_t nalerts, alerts_cap;
	struct obs_rule_count *rule_counts;
	uint64_t alerts_suppressed; /* over the caps */
	uint64_t alerts_repeated;   /* identical to one already kept */
	uint64_t records, evaluated;
	uint64_t drops_at_start;
	bool oom; /* an allocation failed: the report says so */
};

/* --- small helpers ------------------------------------------------------ */

static uint64_t obs_hash(const char *a, const char *b, const char *c)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	const char *parts[3] = {a, b, c};
	for (int i = 0; i < 3; i++) {
		for (const char *p = parts[i]; p && *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

static const char *obs_errno_name(int64_t res)
{
	if (res >= 0)
		return "SUCCESS";
	const char *n = strerrorname_np((int)-res);
	return n ? n : "E?";
}

/* Adds a fact unless it is already known. */
static void obs_fact(struct sf_observe *o, const char *kind, const char *value, const char *detail)
{
	uint64_t h = obs_hash(kind, value, detail);
	struct obs_fact **head = &o->facts[h % OBS_BUCKETS];
	for (struct obs_fact *f = *head; f; f = f->next)
		if (f->hash == h && !strcmp(f->f.kind, kind) && !strcmp(f->f.value, value) &&
		    !strcmp(f->f.detail, detail))
			return;
	if (o->nfacts >= OBS_MAX_FACTS) {
		o->facts_truncated = true;
		return;
	}
	struct obs_fact *f = calloc(1, sizeof(*f));
	if (!f || !(f->f.kind = strdup(kind)) || !(f->f.value = strdup(value)) ||
	    !(f->f.detail = strdup(detail))) {
		if (f) {
			free(f->f.kind);
			free(f->f.value);
			free(f);
		}
		o->oom = true;
		return;
	}
	f->hash = h;
	f->next = *head;
	*head = f;
	o->nfacts++;
}

/* Lexically normalises an absolute path in place: "//", "/./", "/../". */
static void obs_normalize(char *path)
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
static void obs_join(char *out, size_t len, const char *base, const char *path)
{
	if (path[0] == '/' || !base || !base[0])
		snprintf(out, len, "%s", path);
	else
		snprintf(out, len, "%s/%s", base, path);
	if (out[0] == '/')
		obs_normalize(out);
}

/* Slot i of a record as a string: a walked path is reassembled into an
 * absolute path, argv NULs become spaces when join_args is set. */
static const char *obs_slot(const struct sf_bpf_event *r, size_t len, int i, char *buf,
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

/* --- process table ------------------------------------------------------ */

static struct obs_proc *obs_proc_find(struct sf_observe *o, int32_t pid)
{
	for (struct obs_proc *p = o->procs[(uint32_t)pid % OBS_BUCKETS]; p; p = p->next)
		if (p->p.pid == pid)
			return p;
	return NULL;
}

static char *obs_strdup_or_empty(const char *s) { return strdup(s ? s : ""); }

static void obs_proc_set_strings(struct obs_proc *p, const char *exe, const char *exepath,
				 const char *args, const char *cwd)
{
	char *e = obs_strdup_or_empty(exe), *ep = obs_strdup_or_empty(exepath),
	     *a = obs_strdup_or_empty(args), *c = obs_strdup_or_empty(cwd);
	if (!e || !ep || !a || !c) {
		free(e);
		free(ep);
		free(a);
		free(c);
		return; /* keeps the old strings */
	}
	free(p->exe);
	free(p->exepath);
	free(p->args);
	free(p->cwd);
	p->exe = e;
	p->exepath = ep;
	p->args = a;
	p->cwd = c;
	p->p.exe = e;
	p->p.exepath = ep;
	p->p.args = a;
	p->p.cwd = c;
}

/* The process a record came from; created from the record if unknown
 * (it was forked before the watch began, or the table is full). */
static struct obs_proc *obs_proc_get(struct sf_observe *o, const struct sf_bpf_event *r)
{
	struct obs_proc *p = obs_proc_find(o, (int32_t)r->pid);
	if (!p) {
		if (o->nprocs >= OBS_MAX_PROCS || !(p = calloc(1, sizeof(*p)))) {
			o->oom = o->nprocs < OBS_MAX_PROCS;
			return NULL;
		}
		p->p.pid = (int32_t)r->pid;
		obs_proc_set_strings(p, "", "", "", "");
		if (!p->exe) {
			free(p);
			o->oom = true;
			return NULL;
		}
		p->next = o->procs[r->pid % OBS_BUCKETS];
		o->procs[r->pid % OBS_BUCKETS] = p;
		o->nprocs++;
	}
	p->p.ppid = (int32_t)r->ppid;
	p->p.vpid = (int32_t)r->vpid;
	p->p.uid = r->uid;
	p->p.gid = r->gid;
	memcpy(p->p.name, r->comm, sizeof(p->p.name));
	p->p.name[sizeof(p->p.name) - 1] = 0;
	struct obs_proc *parent = obs_proc_find(o, (int32_t)r->ppid);
	p->p.parent = parent && parent != p ? &parent->p : NULL;
	return p;
}

static void obs_proc_free_all(struct sf_observe *o)
{
	for (int b = 0; b < OBS_BUCKETS; b++) {
		struct obs_proc *p = o->procs[b];
		while (p) {
			struct obs_proc *next = p->next;
			free(p->exe);
			free(p->exepath);
			free(p->args);
			free(p->cwd);
			free(p);
			p = next;
		}
		o->procs[b] = NULL;
	}
}

/* --- executables' SHA-256 ----------------------------------------------- */

/* Hashes are cached worker-wide by (device, inode, size, mtime): the
 * rootfs is shared by every job and node is large. */
#define OBS_HASH_CACHE 256
static struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char hex[SF_SHA256_HEX + 1];
} obs_hash_cache[OBS_HASH_CACHE];
static unsigned obs_hash_next;

static int obs_hash_fd(int fd, char hex[SF_SHA256_HEX + 1])
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	for (unsigned i = 0; i < OBS_HASH_CACHE; i++)
		if (obs_hash_cache[i].ino == st.st_ino && obs_hash_cache[i].dev == st.st_dev &&
		    obs_hash_cache[i].size == st.st_size &&
		    obs_hash_cache[i].mtime.tv_sec == st.st_mtim.tv_sec &&
		    obs_hash_cache[i].mtime.tv_nsec == st.st_mtim.tv_nsec && obs_hash_cache[i].hex[0]) {
			memcpy(hex, obs_hash_cache[i].hex, SF_SHA256_HEX + 1);
			return 0;
		}
	long long size;
	int rc = sf_sha256_fd(fd, hex, &size);
	if (rc)
		return rc;
	unsigned i = obs_hash_next++ % OBS_HASH_CACHE;
	obs_hash_cache[i].dev = st.st_dev;
	obs_hash_cache[i].ino = st.st_ino;
	obs_hash_cache[i].size = st.st_size;
	obs_hash_cache[i].mtime = st.st_mtim;
	memcpy(obs_hash_cache[i].hex, hex, SF_SHA256_HEX + 1);
	return 0;
}

/* The executable of a process that just exec'd: through /proc/<pid>/exe
 * while it lives (works even for deleted files and memfds), else through
 * the host path of the sandbox mounts. */
static int obs_exe_sha256(struct sf_observe *o, int32_t pid, const char *exepath,
			  char hex[SF_SHA256_HEX + 1])
{
	char path[OBS_PATH + 300];
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && exepath[0] == '/') {
		if (!strncmp(exepath, "/work/", 6) && o->opts.work_host_dir)
			snprintf(path, sizeof(path), "%s/%s", o->opts.work_host_dir, exepath + 6);
		else if (!strncmp(exepath, "/tmp/", 5) && o->opts.tmp_host_dir)
			snprintf(path, sizeof(path), "%s/%s", o->opts.tmp_host_dir, exepath + 5);
		else if (strncmp(exepath, "/tmp/", 5) && strncmp(exepath, "/proc/", 6) &&
			 strncmp(exepath, "/dev/", 5) && o->opts.rootfs)
			snprintf(path, sizeof(path), "%s%s", o->opts.rootfs, exepath);
		else
			return -ENOENT;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return -errno;
	int rc = obs_hash_fd(fd, hex);
	close(fd);
	return rc;
}

/* --- rendering ---------------------------------------------------------- */

struct obs_flag {
	uint32_t bit;
	const char *name;
};

static void obs_flags(char *buf, size_t len, uint32_t v, const struct obs_flag *t, size_t n,
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

static void obs_open_flags(char *buf, size_t len, uint32_t f)
{
	static const struct obs_flag t[] = {
	    {O_CREAT, "O_CREAT"},	  {O_EXCL, "O_EXCL"},	    {O_NOCTTY, "O_NOCTTY"},
	    {O_TRUNC, "O_TRUNC"},	  {O_APPEND, "O_APPEND"},   {O_NONBLOCK, "O_NONBLOCK"},
	    {O_DSYNC, "O_DSYNC"},	  {O_DIRECT, "O_DIRECT"},   {O_DIRECTORY, "O_DIRECTORY"},
	    {O_NOFOLLOW, "O_NOFOLLOW"}, {O_NOATIME, "O_NOATIME"}, {O_CLOEXEC, "O_CLOEXEC"},
	    {O_PATH, "O_PATH"},	  {__O_TMPFILE, "O_TMPFILE"}};
	const char *acc = (f & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
			  : (f & O_ACCMODE) == O_RDWR ? "O_RDWR"
						      : "O_RDONLY";
	obs_flags(buf, len, f, t, sizeof(t) / sizeof(t[0]), acc);
}

static void obs_mode(char *buf, size_t len, uint32_t m)
{
	static const struct obs_flag t[] = {
	    {S_IXOTH, "S_IXOTH"}, {S_IWOTH, "S_IWOTH"}, {S_IROTH, "S_IROTH"},
	    {S_IXGRP, "S_IXGRP"}, {S_IWGRP, "S_IWGRP"}, {S_IRGRP, "S_IRGRP"},
	    {S_IXUSR, "S_IXUSR"}, {S_IWUSR, "S_IWUSR"}, {S_IRUSR, "S_IRUSR"},
	    {S_ISVTX, "S_ISVTX"}, {S_ISGID, "S_ISGID"}, {S_ISUID, "S_ISUID"}};
	obs_flags(buf, len, m, t, sizeof(t) / sizeof(t[0]), NULL);
	if (!buf[0])
		snprintf(buf, len, "0");
}

static const char *obs_ptrace_request(int64_t r)
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

/* x86-64 syscall numbers → Falco event names, for the syscalls the
 * kernel half reports. */
static const char *obs_syscall_name(uint32_t nr)
{
	switch (nr) {
	case 2: return "open";
	case 42: return "connect";
	case 43: return "accept";
	case 44: return "sendto";
	case 46: return "sendmsg";
	case 49: return "bind";
	case 50: return "listen";
	case 56: return "clone";
	case 57: return "fork";
	case 58: return "vfork";
	case 59: return "execve";
	case 80: return "chdir";
	case 81: return "fchdir";
	case 82: return "rename";
	case 85: return "creat";
	case 87: return "unlink";
	case 90: return "chmod";
	case 91: return "fchmod";
	case 92: return "chown";
	case 93: return "fchown";
	case 94: return "lchown";
	case 260: return "fchownat";
	case 101: return "ptrace";
	case 105: return "setuid";
	case 106: return "setgid";
	case 113: return "setreuid";
	case 114: return "setregid";
	case 117: return "setresuid";
	case 119: return "setresgid";
	case 165: return "mount";
	case 257: return "openat";
	case 263: return "unlinkat";
	case 264: return "renameat";
	case 268: return "fchmodat";
	case 288: return "accept4";
	case 307: return "sendmmsg";
	case 310: return "process_vm_readv";
	case 311: return "process_vm_writev";
	case 316: return "renameat2";
	case 319: return "memfd_create";
	case 322: return "execveat";
	case 435: return "clone3";
	case 437: return "openat2";
	case 452: return "fchmodat2";
	default: return NULL;
	}
}

static void obs_endpoint(struct sf_endpoint *ep, uint16_t family, const uint8_t *addr, uint16_t port)
{
	ep->family = family == AF_INET || family == AF_INET6 ? family : 0;
	ep->port = port;
	memcpy(ep->addr, addr, family == AF_INET ? 4 : 16);
}

static void obs_ep_str(char *buf, size_t len, const struct sf_endpoint *ep)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ep->family == AF_INET || ep->family == AF_INET6)
		inet_ntop(ep->family, ep->addr, ip, sizeof(ip));
	if (ep->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, ep->port);
	else
		snprintf(buf, len, "%s:%u", ip, ep->port);
}

int sf_observe_dns_name(const unsigned char *m, size_t len, char *name, size_t namelen)
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

/* --- alerts ------------------------------------------------------------- */

static void obs_on_match(void *arg, const struct sf_rule *rule, const struct sf_event *ev)
{
	struct sf_observe *o = arg;
	struct obs_rule_count *c;
	for (c = o->rule_counts; c && c->rule != rule; c = c->next)
		;
	if (!c) {
		if (!(c = calloc(1, sizeof(*c)))) {
			o->oom = true;
			return;
		}
		c->rule = rule;
		c->next = o->rule_counts;
		o->rule_counts = c;
	}
	if (c->fired >= OBS_MAX_ALERTS_PER_RULE || o->nalerts >= OBS_MAX_ALERTS) {
		o->alerts_suppressed++;
		return;
	}
	if (o->nalerts == o->alerts_cap) {
		uint32_t cap = o->alerts_cap ? o->alerts_cap * 2 : 16;
		struct sf_alert *a = realloc(o->alerts, cap * sizeof(*a));
		if (!a) {
			o->oom = true;
			return;
		}
		o->alerts = a;
		o->alerts_cap = cap;
	}
	struct sf_alert *a = &o->alerts[o->nalerts];
	memset(a, 0, sizeof(*a));
	if (sf_rules_alert(o->opts.rules, rule, ev, o->opts.hostname, a) != 0) {
		sf_alert_free(a);
		o->oom = true;
		return;
	}
	/* The same rule saying the same thing again (a resent DNS question,
	 * a file read twice) is one alert. */
	for (uint32_t i = 0; i < o->nalerts; i++)
		if (!strcmp(o->alerts[i].rule, a->rule) && !strcmp(o->alerts[i].output, a->output)) {
			sf_alert_free(a);
			o->alerts_repeated++;
			return;
		}
	c->fired++;
	o->nalerts++;
}

/* --- records → events --------------------------------------------------- */

static bool obs_writable_path(const char *p)
{
	return !strncmp(p, "/tmp/", 5) || !strncmp(p, "/work/", 6) || !strncmp(p, "/dev/shm/", 9) ||
	       !strncmp(p, "/memfd:", 7) || !strncmp(p, "/proc/", 6);
}

static void obs_arg(struct sf_event *ev, const char *name, const char *value)
{
	if (ev->nargs < SF_EVENT_MAX_ARGS && value) {
		ev->args[ev->nargs].name = name;
		ev->args[ev->nargs].value = value;
		ev->nargs++;
	}
}

/* Everything an event may point at lives here, on the sensor thread's
 * stack, for the duration of one record. */
struct obs_scratch {
	char s[4][OBS_PATH];
	char path[OBS_PATH], path2[OBS_PATH];
	char args[SF_BPF_ARGS + 1];
	char flags[256], mode[256], num[4][32], fdname[160], dns[256];
};

/* The file an event is about: slot 0's path made absolute with slot 1's
 * directory (walked from a dirfd) or the process's cwd; sets fd.name. */
static bool obs_event_path(const struct sf_bpf_event *r, size_t len, struct obs_scratch *sc,
			   const char *cwd, struct sf_event *ev)
{
	const char *path = obs_slot(r, len, 0, sc->s[0], sizeof(sc->s[0]));
	const char *dir = obs_slot(r, len, 1, sc->s[1], sizeof(sc->s[1]));
	if (!path)
		return false;
	obs_join(sc->path, sizeof(sc->path), dir ? dir : cwd, path);
	ev->fd_type = SF_FD_FILE;
	ev->fd_name = sc->path;
	return true;
}

static void obs_file_written(struct sf_observe *o, const char *path)
{
	if (path[0] == '/' && strncmp(path, "/work/", 6) && strcmp(path, "/work"))
		obs_fact(o, "file_written", path, "");
}

static void obs_record(void *arg, const struct sf_bpf_event *r, size_t len)
{
	struct sf_observe *o = arg;
	struct obs_scratch sc;
	struct sf_event ev;
	o->records++;
	memset(&ev, 0, sizeof(ev));
	ev.time_ns = sf_sensor_realtime_ns(o->sensor, r->ts_ns);
	ev.res = r->ret;
	ev.container_id = o->opts.container_id;
	ev.container_name = o->opts.container_id;
	ev.container_image = o->opts.image;

	struct obs_proc *p = obs_proc_get(o, r);
	if (!p)
		return;
	const char *base = p->p.cwd && p->p.cwd[0] ? p->p.cwd : NULL;
	ev.type = obs_syscall_name(r->syscall);

	switch (r->kind) {
	case SF_BPF_EXEC: {
		const char *filename = obs_slot(r, len, 0, sc.s[0], sizeof(sc.s[0]));
		const char *exepath = obs_slot(r, len, 1, sc.s[1], sizeof(sc.s[1]));
		const char *cwd = obs_slot(r, len, 2, sc.s[2], sizeof(sc.s[2]));
		/* argv: NUL-separated; argv[0] is proc.exe, the rest proc.args */
		size_t off = offsetof(struct sf_bpf_event, data) + SF_BPF_SLOT_OFF(3);
		size_t n = r->slot_len[3];
		if (off + n > len)
			n = len > off ? len - off : 0;
		if (n > SF_BPF_ARGS)
			n = SF_BPF_ARGS;
		memcpy(sc.args, r->data + SF_BPF_SLOT_OFF(3), n);
		sc.args[n] = 0;
		while (n && sc.args[n - 1] == 0)
			n--;
		size_t a0 = strnlen(sc.args, n);
		for (size_t i = a0 + 1; i < n; i++)
			if (sc.args[i] == 0)
				sc.args[i] = ' ';
		const char *rest = a0 < n ? sc.args + a0 + 1 : "";
		char cwdslash[OBS_PATH];
		snprintf(cwdslash, sizeof(cwdslash), "%s%s", cwd ? cwd : "",
			 cwd && strcmp(cwd, "/") ? "/" : "");
		if (filename && filename[0] != '/') {
			obs_join(sc.path, sizeof(sc.path), cwd, filename);
			filename = sc.path;
		}
		obs_proc_set_strings(p, sc.args, exepath ? exepath : filename, rest,
				     cwd ? cwdslash : "");
		p->p.exe_writable = obs_writable_path(p->p.exepath);
		ev.type = r->syscall == 322 ? "execveat" : "execve";
		obs_arg(&ev, "filename", filename);
		obs_arg(&ev, "exe", p->p.exe);
		obs_arg(&ev, "args", p->p.args);
		obs_arg(&ev, "cwd", p->p.cwd);
		o->started = true; /* the container's entry point, or later */
		char hex[SF_SHA256_HEX + 1];
		int rc = obs_exe_sha256(o, p->p.pid, p->p.exepath, hex);
		if (rc)
			snprintf(hex, sizeof(hex), "unreadable: %s", strerrorname_np(-rc) ?: "?");
		obs_fact(o, "exec", p->p.exepath, hex);
		snprintf(sc.num[0], sizeof(sc.num[0]), "%d", p->p.vpid);
		char detail[OBS_PATH + SF_BPF_ARGS + 64];
		const struct sf_proc *pp = p->p.parent;
		snprintf(detail, sizeof(detail), "ppid=%d %s%s%s", pp ? pp->vpid : 0, p->p.name,
			 p->p.args[0] ? " " : "", p->p.args);
		obs_fact(o, "process", sc.num[0], detail);
		break;
	}
	case SF_BPF_EXEC_FAIL: {
		const char *filename = obs_slot(r, len, 0, sc.s[0], sizeof(sc.s[0]));
		if (!ev.type)
			ev.type = "execve";
		obs_arg(&ev, "filename", filename);
		break;
	}
	case SF_BPF_FORK: {
		ev.type = ev.type ? ev.type : "clone";
		struct obs_proc *c = obs_proc_find(o, r->u.fork.child_pid);
		if (!c && o->nprocs < OBS_MAX_PROCS && (c = calloc(1, sizeof(*c)))) {
			c->p.pid = r->u.fork.child_pid;
			c->next = o->procs[(uint32_t)c->p.pid % OBS_BUCKETS];
			o->procs[(uint32_t)c->p.pid % OBS_BUCKETS] = c;
			o->nprocs++;
		}
		if (c) {
			/* the child starts as a copy of its parent */
			c->exited = false;
			c->p.ppid = p->p.pid;
			c->p.vpid = r->u.fork.child_vpid;
			c->p.uid = p->p.uid;
			c->p.gid = p->p.gid;
			memcpy(c->p.name, p->p.name, sizeof(c->p.name));
			c->p.exe_writable = p->p.exe_writable;
			c->p.parent = &p->p;
			obs_proc_set_strings(c, p->p.exe, p->p.exepath, p->p.args, p->p.cwd);
		}
		break;
	}
	case SF_BPF_EXIT:
		ev.type = "procexit";
		p->exited = true;
		snprintf(sc.num[0], sizeof(sc.num[0]), "%lld", (long long)r->ret);
		obs_arg(&ev, "status", sc.num[0]);
		break;
	case SF_BPF_CHDIR: {
		const char *cwd = obs_slot(r, len, 0, sc.s[0], sizeof(sc.s[0]));
		if (cwd) {
			char cwdslash[OBS_PATH];
			snprintf(cwdslash, sizeof(cwdslash), "%s%s", cwd, strcmp(cwd, "/") ? "/" : "");
			obs_proc_set_strings(p, p->p.exe, p->p.exepath, p->p.args, cwdslash);
		}
		break;
	}
	case SF_BPF_OPEN: {
		if (!obs_event_path(r, len, &sc, base, &ev))
			return;
		uint32_t f = r->u.file.flags;
		uint32_t acc = f & O_ACCMODE;
		if (f & O_DIRECTORY)
			ev.fd_type = SF_FD_DIRECTORY;
		ev.open_flags = f;
		ev.is_open_read = !(f & O_PATH) && (acc == O_RDONLY || acc == O_RDWR);
		ev.is_open_write = acc == O_WRONLY || acc == O_RDWR;
		ev.is_open_exec = (f & O_CREAT) && (r->u.file.mode & 0111);
		obs_open_flags(sc.flags, sizeof(sc.flags), f);
		obs_mode(sc.mode, sizeof(sc.mode), r->u.file.mode);
		obs_arg(&ev, "name", sc.path);
		obs_arg(&ev, "flags", sc.flags);
		obs_arg(&ev, "mode", sc.mode);
		if (ev.is_open_write && o->started)
			obs_file_written(o, sc.path);
		break;
	}
	case SF_BPF_UNLINK: {
		if (!obs_event_path(r, len, &sc, base, &ev))
			return;
		obs_arg(&ev, "name", sc.path);
		obs_arg(&ev, "path", sc.path);
		break;
	}
	case SF_BPF_RENAME: {
		const char *from = obs_slot(r, len, 0, sc.s[0], sizeof(sc.s[0]));
		const char *to = obs_slot(r, len, 1, sc.s[1], sizeof(sc.s[1]));
		const char *d1 = obs_slot(r, len, 2, sc.s[2], sizeof(sc.s[2]));
		const char *d2 = obs_slot(r, len, 3, sc.s[3], sizeof(sc.s[3]));
		if (!from || !to)
			return;
		obs_join(sc.path, sizeof(sc.path), d1 ? d1 : base, from);
		obs_join(sc.path2, sizeof(sc.path2), d2 ? d2 : base, to);
		ev.fd_type = SF_FD_FILE;
		ev.fd_name = sc.path2;
		obs_arg(&ev, "oldpath", sc.path);
		obs_arg(&ev, "newpath", sc.path2);
		if (r->ret >= 0 && o->started)
			obs_file_written(o, sc.path2);
		break;
	}
	case SF_BPF_CHMOD: {
		if (!obs_event_path(r, len, &sc, base, &ev))
			return;
		obs_mode(sc.mode, sizeof(sc.mode), r->u.file.mode);
		ev.is_open_exec = (r->u.file.mode & 0111) != 0;
		obs_arg(&ev, "filename", sc.path);
		obs_arg(&ev, "mode", sc.mode);
		break;
	}
	case SF_BPF_CHOWN: {
		if (!obs_event_path(r, len, &sc, base, &ev))
			return;
		snprintf(sc.num[0], sizeof(sc.num[0]), "%d", (int32_t)r->u.file.uid);
		snprintf(sc.num[1], sizeof(sc.num[1]), "%d", (int32_t)r->u.file.gid);
		obs_arg(&ev, "path", sc.path);
		obs_arg(&ev, "uid", sc.num[0]);
		obs_arg(&ev, "gid", sc.num[1]);
		break;
	}
	case SF_BPF_CONNECT:
	case SF_BPF_BIND:
	case SF_BPF_LISTEN:
	case SF_BPF_ACCEPT:
	case SF_BPF_SEND: {
		const struct sf_bpf_sock *s = &r->u.sock;
		if (s->family == AF_UNIX) {
			ev.fd_type = SF_FD_UNIX;
			ev.fd_name = "unix";
			break;
		}
		if (s->family != AF_INET && s->family != AF_INET6)
			break;
		ev.fd_type = s->family == AF_INET ? SF_FD_IPV4 : SF_FD_IPV6;
		ev.l4proto = s->proto == IPPROTO_TCP ? "tcp" : s->proto == IPPROTO_UDP ? "udp" : "raw";
		bool server_side = r->kind == SF_BPF_BIND || r->kind == SF_BPF_LISTEN ||
				   r->kind == SF_BPF_ACCEPT;
		ev.is_server = server_side;
		char a[80], b[80];
		if (server_side) {
			obs_endpoint(&ev.server, s->family, s->laddr, s->lport);
			if (r->kind == SF_BPF_ACCEPT && r->ret >= 0)
				obs_endpoint(&ev.client, s->family, s->raddr, s->rport);
		} else {
			obs_endpoint(&ev.client, s->family, s->laddr, s->lport);
			obs_endpoint(&ev.server, s->family, s->raddr, s->rport);
		}
		obs_ep_str(b, sizeof(b), &ev.server);
		if (ev.client.family) {
			obs_ep_str(a, sizeof(a), &ev.client);
			snprintf(sc.fdname, sizeof(sc.fdname), "%s->%s", a, b);
		} else {
			snprintf(sc.fdname, sizeof(sc.fdname), "%s", b);
		}
		ev.fd_name = sc.fdname;
		if (!o->started)
			break;
		char v[100];
		snprintf(v, sizeof(v), "%s/%s", b, ev.l4proto);
		if (r->kind == SF_BPF_CONNECT)
			obs_fact(o, "connect", v, r->ret >= 0 || r->ret == -EINPROGRESS ? "succeeded"
							      : obs_errno_name(r->ret));
		else if (r->kind == SF_BPF_LISTEN)
			obs_fact(o, "listen", v, r->ret >= 0 ? "succeeded" : obs_errno_name(r->ret));
		else if (r->kind == SF_BPF_ACCEPT && r->ret >= 0)
			obs_fact(o, "accept", v, a);
		else if (r->kind == SF_BPF_SEND) {
			size_t n = r->slot_len[0];
			size_t off = offsetof(struct sf_bpf_event, data);
			if (off + n <= len &&
			    sf_observe_dns_name((const unsigned char *)r->data, n, sc.dns,
						sizeof(sc.dns)) == 0) {
				ev.dns_name = sc.dns;
				obs_fact(o, "dns", sc.dns, b);
			}
		}
		break;
	}
	case SF_BPF_PTRACE:
		snprintf(sc.num[0], sizeof(sc.num[0]), "%d", r->u.ptrace.target);
		obs_arg(&ev, "request", obs_ptrace_request(r->u.ptrace.request));
		obs_arg(&ev, "pid", sc.num[0]);
		break;
	case SF_BPF_VM_RW:
		snprintf(sc.num[0], sizeof(sc.num[0]), "%d", r->u.ptrace.target);
		obs_arg(&ev, "pid", sc.num[0]);
		break;
	case SF_BPF_MEMFD: {
		const char *name = obs_slot(r, len, 0, sc.s[0], sizeof(sc.s[0]));
		ev.fd_type = SF_FD_MEMFD;
		snprintf(sc.path, sizeof(sc.path), "/memfd:%s", name ? name : "");
		ev.fd_name = sc.path;
		obs_arg(&ev, "name", name ? name : "");
		break;
	}
	case SF_BPF_SETID: {
		static const char *const uidn[] = {"uid", "euid", "suid"};
		static const char *const ruidn[] = {"ruid", "euid", "suid"};
		static const char *const gidn[] = {"gid", "egid", "sgid"};
		static const char *const rgidn[] = {"rgid", "egid", "sgid"};
		const char *const *names = r->syscall == 105 ? uidn
					   : r->syscall == 106 ? gidn
					   : (r->syscall == 113 || r->syscall == 117) ? ruidn
										     : rgidn;
		int nids = (r->syscall == 105 || r->syscall == 106) ? 1
			   : (r->syscall == 113 || r->syscall == 114) ? 2
								      : 3;
		for (int i = 0; i < nids; i++) {
			snprintf(sc.num[i], sizeof(sc.num[i]), "%d", (int32_t)r->u.setid.id[i]);
			obs_arg(&ev, names[i], sc.num[i]);
		}
		break;
	}
	case SF_BPF_MOUNT:
		obs_arg(&ev, "dev", obs_slot(r, len, 0, sc.s[0], sizeof(sc.s[0])));
		obs_arg(&ev, "dir", obs_slot(r, len, 1, sc.s[1], sizeof(sc.s[1])));
		obs_arg(&ev, "type", obs_slot(r, len, 2, sc.s[2], sizeof(sc.s[2])));
		break;
	default:
		return;
	}
	if (!ev.type || !o->started)
		return; /* crun's own setup of the container */
	ev.proc = &p->p;
	o->evaluated++;
	if (o->opts.rules)
		sf_rules_eval(o->opts.rules, &o->rctx, &ev, obs_on_match, o);
	if (o->opts.on_event)
		o->opts.on_event(o->opts.on_event_arg, &ev);
}

/* --- lifecycle ---------------------------------------------------------- */

int sf_observe_start(struct sf_observe **out, struct sf_sensor *sensor, const char *name,
		     const struct sf_observe_opts *opts)
{
	struct sf_observe *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->sensor = sensor;
	o->opts = *opts;
	sf_rules_ctx_init(&o->rctx);
	uint64_t events;
	sf_sensor_counters(sensor, &events, &o->drops_at_start);
	int rc = sf_sensor_watch(sensor, name, obs_record, o, &o->cgid);
	if (rc) {
		sf_observe_free(o);
		return rc;
	}
	o->watching = true;
	*out = o;
	return 0;
}

static int obs_fact_cmp(const void *a, const void *b)
{
	const struct sf_fact *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);
	if (!c)
		c = strcmp(x->value, y->value);
	return c ? c : strcmp(x->detail, y->detail);
}

int sf_observe_finish(struct sf_observe *o, struct sf_batch *b)
{
	if (o->watching) {
		sf_sensor_unwatch(o->sensor, o->cgid);
		o->watching = false;
	}
	uint64_t events, drops;
	sf_sensor_counters(o->sensor, &events, &drops);
	b->events = o->records;
	b->drops = drops - o->drops_at_start;
	if (o->alerts_suppressed) {
		char n[32];
		snprintf(n, sizeof(n), "%llu", (unsigned long long)o->alerts_suppressed);
		obs_fact(o, "sensor", "alerts_suppressed", n);
	}
	if (o->alerts_repeated) {
		char n[32];
		snprintf(n, sizeof(n), "%llu", (unsigned long long)o->alerts_repeated);
		obs_fact(o, "sensor", "alerts_repeated", n);
	}
	if (o->facts_truncated)
		obs_fact(o, "sensor", "facts_truncated", "yes"); /* may itself not fit */
	if (o->oom)
		obs_fact(o, "sensor", "out_of_memory", "some events were not recorded");
	struct sf_fact *facts = calloc(o->nfacts ? o->nfacts : 1, sizeof(*facts));
	if (!facts)
		return -ENOMEM;
	uint32_t n = 0;
	for (int i = 0; i < OBS_BUCKETS; i++) {
		struct obs_fact *f = o->facts[i];
		while (f) {
			struct obs_fact *next = f->next;
			facts[n++] = f->f;
			free(f);
			f = next;
		}
		o->facts[i] = NULL;
	}
	o->nfacts = 0;
	qsort(facts, n, sizeof(*facts), obs_fact_cmp);
	b->facts = facts;
	b->nfacts = n;
	b->alerts = o->alerts;
	b->nalerts = o->nalerts;
	o->alerts = NULL;
	o->nalerts = o->alerts_cap = 0;
	return 0;
}

void sf_observe_free(struct sf_observe *o)
{
	if (!o)
		return;
	if (o->watching)
		sf_sensor_unwatch(o->sensor, o->cgid);
	obs_proc_free_all(o);
	for (int i = 0; i < OBS_BUCKETS; i++) {
		struct obs_fact *f = o->facts[i];
		while (f) {
			struct obs_fact *next = f->next;
			free(f->f.kind);
			free(f->f.value);
			free(f->f.detail);
			free(f);
			f = next;
		}
	}
	for (uint32_t i = 0; i < o->nalerts; i++)
		sf_alert_free(&o->alerts[i]);
	free(o->alerts);
	while (o->rule_counts) {
		struct obs_rule_count *next = o->rule_counts->next;
		free(o->rule_counts);
		o->rule_counts = next;
	}
	free(o);
}
