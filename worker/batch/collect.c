/* collect — see collect.h. */
#include "collect.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "rules.h"
#include "sha256.h"
#include "util.h"

#define COLLECT_PATH 1024

/* A fact, deduplicated by (kind, value, detail, package, phase) through a
 * hash set. */
struct collect_fact {
	struct sf_fact f;
	uint64_t hash;
	struct collect_fact *next;
};

struct collect_rule_count {
	const void *rule; /* the engine's rule; NULL: counted by name */
	char *name;
	uint32_t fired;
	struct collect_rule_count *next;
};

void sf_collect_init(struct sf_collect *c, const struct sf_collect_opts *opts)
{
	memset(c, 0, sizeof(*c));
	c->opts = *opts;
}

/* --- facts -------------------------------------------------------------- */

static uint64_t collect_hash(const char *const parts[5])
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (int i = 0; i < 5; i++) {
		for (const char *p = parts[i]; p && *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

/* NULL and "" are the same: nothing. */
static bool collect_same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static void collect_fact_free(struct collect_fact *f)
{
	sf_fact_free(&f->f);
	free(f);
}

void sf_collect_fact(struct sf_collect *c, const char *kind, const char *value,
		     const char *detail, const char *package, const char *phase)
{
	if (package && !package[0])
		package = NULL;
	if (phase && !phase[0])
		phase = NULL;
	const char *const key[5] = {kind, value, detail, package, phase};
	uint64_t h = collect_hash(key);
	struct collect_fact **head = &c->facts[h % SF_COLLECT_BUCKETS];
	for (struct collect_fact *f = *head; f; f = f->next)
		if (f->hash == h && !strcmp(f->f.kind, kind) && !strcmp(f->f.value, value) &&
		    !strcmp(f->f.detail, detail) && collect_same(f->f.package, package) &&
		    collect_same(f->f.phase, phase))
			return;
	if (c->nfacts >= SF_COLLECT_MAX_FACTS) {
		c->facts_truncated = true;
		return;
	}
	struct collect_fact *f = calloc(1, sizeof(*f));
	if (!f || !(f->f.kind = strdup(kind)) || !(f->f.value = strdup(value)) ||
	    !(f->f.detail = strdup(detail)) || (package && !(f->f.package = strdup(package))) ||
	    (phase && !(f->f.phase = strdup(phase)))) {
		if (f)
			collect_fact_free(f);
		c->oom = true;
		return;
	}
	f->hash = h;
	f->next = *head;
	*head = f;
	c->nfacts++;
}

/* --- executables' SHA-256 ----------------------------------------------- */

/* Hashes are cached worker-wide by (device, inode, size, mtime): the
 * rootfs is shared by every job and node is large. */
#define COLLECT_HASH_CACHE 256
static struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char hex[SF_SHA256_HEX + 1];
} collect_hash_cache[COLLECT_HASH_CACHE];
static unsigned collect_hash_next;
/* The cache is worker-wide: the jobs of several slots look it up at once. */
static pthread_mutex_t collect_hash_lock = PTHREAD_MUTEX_INITIALIZER;

/* A cached hash of st's file into hex: whether there was one. */
static bool collect_hash_cached(const struct stat *st, char hex[SF_SHA256_HEX + 1])
{
	bool found = false;
	pthread_mutex_lock(&collect_hash_lock);
	for (unsigned i = 0; i < COLLECT_HASH_CACHE && !found; i++)
		if (collect_hash_cache[i].ino == st->st_ino &&
		    collect_hash_cache[i].dev == st->st_dev &&
		    collect_hash_cache[i].size == st->st_size &&
		    collect_hash_cache[i].mtime.tv_sec == st->st_mtim.tv_sec &&
		    collect_hash_cache[i].mtime.tv_nsec == st->st_mtim.tv_nsec &&
		    collect_hash_cache[i].hex[0]) {
			memcpy(hex, collect_hash_cache[i].hex, SF_SHA256_HEX + 1);
			found = true;
		}
	pthread_mutex_unlock(&collect_hash_lock);
	return found;
}

static int collect_hash_fd(int fd, const struct stat *st, char hex[SF_SHA256_HEX + 1])
{
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (collect_hash_cached(st, hex))
		return 0;
	long long size;
	int rc = sf_sha256_fd(fd, hex, &size);
	if (rc)
		return rc;
	pthread_mutex_lock(&collect_hash_lock);
	unsigned i = collect_hash_next++ % COLLECT_HASH_CACHE;
	collect_hash_cache[i].dev = st->st_dev;
	collect_hash_cache[i].ino = st->st_ino;
	collect_hash_cache[i].size = st->st_size;
	collect_hash_cache[i].mtime = st->st_mtim;
	memcpy(collect_hash_cache[i].hex, hex, SF_SHA256_HEX + 1);
	pthread_mutex_unlock(&collect_hash_lock);
	return 0;
}

/* Is st the file the kernel executed (inode ino on device kdev, the
 * kernel's encoding)? ino 0: unknown, anything goes. A file system that
 * reports an anonymous device of its own in stat (btrfs subvolumes:
 * major 0) is matched by inode number when the kernel's device is
 * anonymous too. */
static bool collect_same_file(const struct stat *st, uint64_t ino, uint32_t kdev)
{
	if (!ino)
		return true;
	if ((uint64_t)st->st_ino != ino)
		return false;
	unsigned kmajor = kdev >> 20, kminor = kdev & 0xfffff;
	if (major(st->st_dev) == kmajor && minor(st->st_dev) == kminor)
		return true;
	return kmajor == 0 && major(st->st_dev) == 0;
}

/* Hashes fd if it is the executed file: 0, -ESTALE (another file), -errno. */
static int collect_hash_verified(int fd, uint64_t ino, uint32_t dev, char hex[SF_SHA256_HEX + 1])
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!collect_same_file(&st, ino, dev))
		return -ESTALE;
	return collect_hash_fd(fd, &st, hex);
}

/* The host side of an executable's path in the sandbox: the project
 * tree's, the home's and /tmp's mounts (written by the install: opened
 * beneath their host directory), else the read-only rootfs. Returns an fd
 * or -errno. */
static int collect_open_host(const struct sf_collect *c, const char *exepath)
{
	const int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY;
	if (exepath[0] != '/')
		return -ENOENT;
	const char *const dirs[2] = {c->opts.work_dir ? c->opts.work_dir : "/work", c->opts.home_dir};
	const char *const hosts[2] = {c->opts.work_host_dir, c->opts.home_host_dir};
	for (int i = 0; i < 2; i++) {
		size_t n = dirs[i] ? strlen(dirs[i]) : 0;
		if (n > 1 && hosts[i] && !strncmp(exepath, dirs[i], n) && exepath[n] == '/')
			return sf_open_beneath(hosts[i], exepath + n + 1, flags);
	}
	if (!strncmp(exepath, "/tmp/", 5) && c->opts.tmp_host_dir)
		return sf_open_beneath(c->opts.tmp_host_dir, exepath + 5, flags);
	if (!strncmp(exepath, "/tmp/", 5) || !strncmp(exepath, "/proc/", 6) ||
	    !strncmp(exepath, "/dev/", 5) || !c->opts.rootfs)
		return -ENOENT;
	char path[COLLECT_PATH + 300];
	if (snprintf(path, sizeof(path), "%s%s", c->opts.rootfs, exepath) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/* The executable a process just exec'd, the file with inode ino on
 * device dev: through /proc/<pid>/exe while the process still runs it
 * (works even for deleted files and memfds), else through the host path
 * of the sandbox mounts, each only if it is still that file — by the time
 * the record is read the process may run another program (`env node`
 * has become node) or the install may have replaced the file. -ESTALE:
 * neither is the file executed. */
static int collect_exe_sha256(struct sf_collect *c, int32_t pid, const char *exepath, uint64_t ino,
			      uint32_t dev, char hex[SF_SHA256_HEX + 1])
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	int rc = -ENOENT;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		rc = collect_hash_verified(fd, ino, dev, hex);
		close(fd);
		if (rc != -ESTALE)
			return rc;
	}
	fd = collect_open_host(c, exepath);
	if (fd < 0)
		return rc == -ESTALE ? rc : fd;
	rc = collect_hash_verified(fd, ino, dev, hex);
	close(fd);
	return rc;
}

void sf_collect_exec(struct sf_collect *c, int32_t pid, const char *exepath, uint64_t ino,
		     uint32_t dev, const char *package, const char *phase)
{
	char hex[SF_SHA256_HEX + 64];
	int rc = collect_exe_sha256(c, pid, exepath, ino, dev, hex);
	if (rc == -ESTALE)
		snprintf(hex, sizeof(hex), "unverified: replaced before it could be read");
	else if (rc)
		snprintf(hex, sizeof(hex), "unreadable: %s", strerrorname_np(-rc) ?: "?");
	sf_collect_fact(c, "exec", exepath, hex, package, phase);
}

/* --- alerts ------------------------------------------------------------- */

/* The value of output field key of a, or NULL. */
static const char *collect_alert_field(const struct sf_alert *a, const char *key)
{
	for (uint32_t i = 0; i < a->nfields; i++)
		if (!strcmp(a->fields[i].key, key))
			return a->fields[i].value;
	return NULL;
}

/* Appends scanfarm.package and scanfarm.phase to a's output_fields unless
 * the rule's output already named them: every alert says who and when. */
static int collect_alert_attribute(struct sf_alert *a, const struct sf_event *ev)
{
	const char *const keys[2] = {"scanfarm.package", "scanfarm.phase"};
	const char *const values[2] = {ev->proc && ev->proc->package ? ev->proc->package : "",
				       ev->phase ? ev->phase : ""};
	struct sf_kv *f = realloc(a->fields, (a->nfields + 2) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	a->fields = f;
	for (int k = 0; k < 2; k++) {
		if (collect_alert_field(a, keys[k]))
			continue;
		struct sf_kv *kv = &a->fields[a->nfields];
		kv->key = strdup(keys[k]);
		kv->value = strdup(values[k]);
		a->nfields++;
		if (!kv->key || !kv->value)
			return -ENOMEM;
	}
	return 0;
}

/* The per-rule count of a rule (the engine's rule, or by name for alerts
 * that arrive rendered), created at its first alert; NULL when memory ran
 * out. */
static struct collect_rule_count *collect_rule_count(struct sf_collect *c, const void *rule,
						     const char *name)
{
	struct collect_rule_count *rc;
	for (rc = c->rule_counts; rc; rc = rc->next)
		if (rule ? rc->rule == rule : (!rc->rule && !strcmp(rc->name, name)))
			return rc;
	if (!(rc = calloc(1, sizeof(*rc))) || (!rule && !(rc->name = strdup(name)))) {
		free(rc);
		c->oom = true;
		return NULL;
	}
	rc->rule = rule;
	rc->next = c->rule_counts;
	c->rule_counts = rc;
	return rc;
}

/* Room for one more alert within the caps, or false (counted). */
static bool collect_alert_room(struct sf_collect *c, struct collect_rule_count *rc)
{
	if (rc->fired >= SF_COLLECT_MAX_ALERTS_PER_RULE || c->nalerts >= SF_COLLECT_MAX_ALERTS) {
		c->alerts_suppressed++;
		return false;
	}
	if (c->nalerts == c->alerts_cap) {
		uint32_t cap = c->alerts_cap ? c->alerts_cap * 2 : 16;
		struct sf_alert *a = realloc(c->alerts, cap * sizeof(*a));
		if (!a) {
			c->oom = true;
			return false;
		}
		c->alerts = a;
		c->alerts_cap = cap;
	}
	return true;
}

/* Keeps the alert rendered at c->alerts[c->nalerts] unless the same rule
 * already said the same thing (a resent DNS question, a file read twice)
 * for the same package in the same phase: then it is one alert. */
static void collect_alert_keep(struct sf_collect *c, struct collect_rule_count *rc)
{
	struct sf_alert *a = &c->alerts[c->nalerts];
	const char *pkg = collect_alert_field(a, "scanfarm.package");
	const char *phase = collect_alert_field(a, "scanfarm.phase");
	for (uint32_t i = 0; i < c->nalerts; i++)
		if (!strcmp(c->alerts[i].rule, a->rule) && !strcmp(c->alerts[i].output, a->output) &&
		    collect_same(collect_alert_field(&c->alerts[i], "scanfarm.package"), pkg) &&
		    collect_same(collect_alert_field(&c->alerts[i], "scanfarm.phase"), phase)) {
			sf_alert_free(a);
			c->alerts_repeated++;
			return;
		}
	rc->fired++;
	c->nalerts++;
}

void sf_collect_alert(struct sf_collect *c, const struct sf_rule *rule, const struct sf_event *ev)
{
	struct collect_rule_count *rc = collect_rule_count(c, rule, NULL);
	if (!rc || !collect_alert_room(c, rc))
		return;
	struct sf_alert *a = &c->alerts[c->nalerts];
	memset(a, 0, sizeof(*a));
	if (sf_rules_alert(c->opts.rules, rule, ev, c->opts.hostname, a) != 0 ||
	    collect_alert_attribute(a, ev) != 0) {
		sf_alert_free(a);
		c->oom = true;
		return;
	}
	collect_alert_keep(c, rc);
}

void sf_collect_alert_take(struct sf_collect *c, struct sf_alert *a)
{
	struct collect_rule_count *rc = collect_rule_count(c, NULL, a->rule);
	if (!rc || !collect_alert_room(c, rc)) {
		sf_alert_free(a);
		return;
	}
	c->alerts[c->nalerts] = *a;
	memset(a, 0, sizeof(*a));
	collect_alert_keep(c, rc);
}

/* --- into the batch ----------------------------------------------------- */

static int collect_fact_cmp(const void *a, const void *b)
{
	const struct sf_fact *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);
	if (!c)
		c = strcmp(x->value, y->value);
	if (!c)
		c = strcmp(x->detail, y->detail);
	if (!c)
		c = strcmp(x->package ? x->package : "", y->package ? y->package : "");
	return c ? c : strcmp(x->phase ? x->phase : "", y->phase ? y->phase : "");
}

int sf_collect_finish(struct sf_collect *c, struct sf_batch *b)
{
	if (c->alerts_suppressed) {
		char n[32];
		snprintf(n, sizeof(n), "%llu", (unsigned long long)c->alerts_suppressed);
		sf_collect_fact(c, "sensor", "alerts_suppressed", n, NULL, NULL);
	}
	if (c->alerts_repeated) {
		char n[32];
		snprintf(n, sizeof(n), "%llu", (unsigned long long)c->alerts_repeated);
		sf_collect_fact(c, "sensor", "alerts_repeated", n, NULL, NULL);
	}
	if (c->facts_truncated)
		sf_collect_fact(c, "sensor", "facts_truncated", "yes", NULL, NULL); /* may itself not fit */
	if (c->oom)
		sf_collect_fact(c, "sensor", "out_of_memory", "some events were not recorded", NULL,
				NULL);
	struct sf_fact *facts = calloc(c->nfacts ? c->nfacts : 1, sizeof(*facts));
	if (!facts)
		return -ENOMEM;
	uint32_t n = 0;
	for (int i = 0; i < SF_COLLECT_BUCKETS; i++) {
		struct collect_fact *f = c->facts[i];
		while (f) {
			struct collect_fact *next = f->next;
			facts[n++] = f->f;
			free(f);
			f = next;
		}
		c->facts[i] = NULL;
	}
	c->nfacts = 0;
	qsort(facts, n, sizeof(*facts), collect_fact_cmp);
	b->facts = facts;
	b->nfacts = n;
	b->alerts = c->alerts;
	b->nalerts = c->nalerts;
	c->alerts = NULL;
	c->nalerts = c->alerts_cap = 0;
	return 0;
}

void sf_collect_free(struct sf_collect *c)
{
	for (int i = 0; i < SF_COLLECT_BUCKETS; i++) {
		struct collect_fact *f = c->facts[i];
		while (f) {
			struct collect_fact *next = f->next;
			collect_fact_free(f);
			f = next;
		}
		c->facts[i] = NULL;
	}
	for (uint32_t i = 0; i < c->nalerts; i++)
		sf_alert_free(&c->alerts[i]);
	free(c->alerts);
	c->alerts = NULL;
	c->nalerts = 0;
	while (c->rule_counts) {
		struct collect_rule_count *next = c->rule_counts->next;
		free(c->rule_counts->name);
		free(c->rule_counts);
		c->rule_counts = next;
	}
}
