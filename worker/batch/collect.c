/* collect — see collect.h. */
#include "collect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules.h"
#include "sha256.h"
#include "util.h"

#define COLLECT_PATH 1024

/* A fact, deduplicated by (kind, value, detail) through a hash set. */
struct collect_fact {
	struct sf_fact f;
	uint64_t hash;
	struct collect_fact *next;
};

struct collect_rule_count {
	const void *rule;
	uint32_t fired;
	struct collect_rule_count *next;
};

void sf_collect_init(struct sf_collect *c, const struct sf_collect_opts *opts)
{
	memset(c, 0, sizeof(*c));
	c->opts = *opts;
}

/* --- facts -------------------------------------------------------------- */

static uint64_t collect_hash(const char *a, const char *b, const char *c)
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

void sf_collect_fact(struct sf_collect *c, const char *kind, const char *value,
		     const char *detail)
{
	uint64_t h = collect_hash(kind, value, detail);
	struct collect_fact **head = &c->facts[h % SF_COLLECT_BUCKETS];
	for (struct collect_fact *f = *head; f; f = f->next)
		if (f->hash == h && !strcmp(f->f.kind, kind) && !strcmp(f->f.value, value) &&
		    !strcmp(f->f.detail, detail))
			return;
	if (c->nfacts >= SF_COLLECT_MAX_FACTS) {
		c->facts_truncated = true;
		return;
	}
	struct collect_fact *f = calloc(1, sizeof(*f));
	if (!f || !(f->f.kind = strdup(kind)) || !(f->f.value = strdup(value)) ||
	    !(f->f.detail = strdup(detail))) {
		if (f) {
			free(f->f.kind);
			free(f->f.value);
			free(f);
		}
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

static int collect_hash_fd(int fd, char hex[SF_SHA256_HEX + 1])
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	for (unsigned i = 0; i < COLLECT_HASH_CACHE; i++)
		if (collect_hash_cache[i].ino == st.st_ino && collect_hash_cache[i].dev == st.st_dev &&
		    collect_hash_cache[i].size == st.st_size &&
		    collect_hash_cache[i].mtime.tv_sec == st.st_mtim.tv_sec &&
		    collect_hash_cache[i].mtime.tv_nsec == st.st_mtim.tv_nsec &&
		    collect_hash_cache[i].hex[0]) {
			memcpy(hex, collect_hash_cache[i].hex, SF_SHA256_HEX + 1);
			return 0;
		}
	long long size;
	int rc = sf_sha256_fd(fd, hex, &size);
	if (rc)
		return rc;
	unsigned i = collect_hash_next++ % COLLECT_HASH_CACHE;
	collect_hash_cache[i].dev = st.st_dev;
	collect_hash_cache[i].ino = st.st_ino;
	collect_hash_cache[i].size = st.st_size;
	collect_hash_cache[i].mtime = st.st_mtim;
	memcpy(collect_hash_cache[i].hex, hex, SF_SHA256_HEX + 1);
	return 0;
}

/* The executable of a process that just exec'd: through /proc/<pid>/exe
 * while it lives (works even for deleted files and memfds), else through
 * the host path of the sandbox mounts. */
static int collect_exe_sha256(struct sf_collect *c, int32_t pid, const char *exepath,
			      char hex[SF_SHA256_HEX + 1])
{
	char path[COLLECT_PATH + 300];
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && exepath[0] == '/') {
		if (!strncmp(exepath, "/work/", 6) && c->opts.work_host_dir)
			snprintf(path, sizeof(path), "%s/%s", c->opts.work_host_dir, exepath + 6);
		else if (!strncmp(exepath, "/tmp/", 5) && c->opts.tmp_host_dir)
			snprintf(path, sizeof(path), "%s/%s", c->opts.tmp_host_dir, exepath + 5);
		else if (strncmp(exepath, "/tmp/", 5) && strncmp(exepath, "/proc/", 6) &&
			 strncmp(exepath, "/dev/", 5) && c->opts.rootfs)
			snprintf(path, sizeof(path), "%s%s", c->opts.rootfs, exepath);
		else
			return -ENOENT;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return -errno;
	int rc = collect_hash_fd(fd, hex);
	close(fd);
	return rc;
}

void sf_collect_exec(struct sf_collect *c, int32_t pid, const char *exepath)
{
	char hex[SF_SHA256_HEX + 1];
	int rc = collect_exe_sha256(c, pid, exepath, hex);
	if (rc)
		snprintf(hex, sizeof(hex), "unreadable: %s", strerrorname_np(-rc) ?: "?");
	sf_collect_fact(c, "exec", exepath, hex);
}

/* --- alerts ------------------------------------------------------------- */

void sf_collect_alert(struct sf_collect *c, const struct sf_rule *rule, const struct sf_event *ev)
{
	struct collect_rule_count *rc;
	for (rc = c->rule_counts; rc && rc->rule != rule; rc = rc->next)
		;
	if (!rc) {
		if (!(rc = calloc(1, sizeof(*rc)))) {
			c->oom = true;
			return;
		}
		rc->rule = rule;
		rc->next = c->rule_counts;
		c->rule_counts = rc;
	}
	if (rc->fired >= SF_COLLECT_MAX_ALERTS_PER_RULE || c->nalerts >= SF_COLLECT_MAX_ALERTS) {
		c->alerts_suppressed++;
		return;
	}
	if (c->nalerts == c->alerts_cap) {
		uint32_t cap = c->alerts_cap ? c->alerts_cap * 2 : 16;
		struct sf_alert *a = realloc(c->alerts, cap * sizeof(*a));
		if (!a) {
			c->oom = true;
			return;
		}
		c->alerts = a;
		c->alerts_cap = cap;
	}
	struct sf_alert *a = &c->alerts[c->nalerts];
	memset(a, 0, sizeof(*a));
	if (sf_rules_alert(c->opts.rules, rule, ev, c->opts.hostname, a) != 0) {
		sf_alert_free(a);
		c->oom = true;
		return;
	}
	/* The same rule saying the same thing again (a resent DNS question,
	 * a file read twice) is one alert. */
	for (uint32_t i = 0; i < c->nalerts; i++)
		if (!strcmp(c->alerts[i].rule, a->rule) && !strcmp(c->alerts[i].output, a->output)) {
			sf_alert_free(a);
			c->alerts_repeated++;
			return;
		}
	rc->fired++;
	c->nalerts++;
}

/* --- into the batch ----------------------------------------------------- */

static int collect_fact_cmp(const void *a, const void *b)
{
	const struct sf_fact *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);
	if (!c)
		c = strcmp(x->value, y->value);
	return c ? c : strcmp(x->detail, y->detail);
}

int sf_collect_finish(struct sf_collect *c, struct sf_batch *b)
{
	if (c->alerts_suppressed) {
		char n[32];
		snprintf(n, sizeof(n), "%llu", (unsigned long long)c->alerts_suppressed);
		sf_collect_fact(c, "sensor", "alerts_suppressed", n);
	}
	if (c->alerts_repeated) {
		char n[32];
		snprintf(n, sizeof(n), "%llu", (unsigned long long)c->alerts_repeated);
		sf_collect_fact(c, "sensor", "alerts_repeated", n);
	}
	if (c->facts_truncated)
		sf_collect_fact(c, "sensor", "facts_truncated", "yes"); /* may itself not fit */
	if (c->oom)
		sf_collect_fact(c, "sensor", "out_of_memory", "some events were not recorded");
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
			free(f->f.kind);
			free(f->f.value);
			free(f->f.detail);
			free(f);
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
		free(c->rule_counts);
		c->rule_counts = next;
	}
}
