/* sensor — see sensor.h. */
#include "sensor.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sensor.skel.h"
#include "util.h"

#define SENSOR_MAX_WATCH 64
#define SENSOR_TRACEFS "/sys/kernel/tracing"
#define SENSOR_TRACEFS_MAGIC 0x74726163
#define SENSOR_CGROUP2_MAGIC 0x63677270

struct sensor_watch {
	uint64_t cgid;
	sf_sensor_record_fn fn;
	void *arg;
	char name[128];
};

struct sf_sensor {
	struct sensor_bpf *skel;
	struct ring_buffer *rb;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	int ncpus;
	int64_t mono_to_real_ns;
	char cgroup_root[256];	 /* cgroup v2 mount point */
	char cgroup_parent[128]; /* relative, e.g. "scanfarm" */
	pthread_mutex_t lock;	 /* watches, and ring-buffer consumption */
	struct sensor_watch watches[SENSOR_MAX_WATCH];
	int nwatches;
};

static int sensor_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = 0;
	sf_log(level == LIBBPF_WARN ? SF_LOG_WARN : SF_LOG_INFO, "libbpf: %s", line);
	return 0;
}

/* Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on unified
 * hosts, /sys/fs/cgroup/unified on hybrid ones. */
static int sensor_find_cgroup2(char *out, size_t len)
{
	static const char *const candidates[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	for (size_t i = 0; i < 2; i++) {
		struct statfs st;
		if (statfs(candidates[i], &st) == 0 && st.f_type == SENSOR_CGROUP2_MAGIC)
			return sf_strlcpy(out, candidates[i], len);
	}
	return -ENOENT;
}

/* The syscall tracepoints need tracefs; tp_btf does not, but Falco and
 * operators expect it, and mounting it is harmless. */
static void sensor_mount_tracefs(void)
{
	struct statfs st;
	if (statfs(SENSOR_TRACEFS, &st) == 0 && st.f_type == SENSOR_TRACEFS_MAGIC)
		return;
	if (mount("nodev", SENSOR_TRACEFS, "tracefs", 0, NULL) == 0)
		sf_info("sensor: mounted tracefs at %s", SENSOR_TRACEFS);
	else
		sf_warn("sensor: cannot mount tracefs at %s: %s", SENSOR_TRACEFS, strerror(errno));
}

static struct sensor_watch *sensor_find(struct sf_sensor *s, uint64_t cgid)
{
	for (int i = 0; i < s->nwatches; i++)
		if (s->watches[i].cgid == cgid)
			return &s->watches[i];
	return NULL;
}

static int sensor_on_record(void *ctx, void *data, size_t len)
{
	struct sf_sensor *s = ctx;
	const struct sf_bpf_event *rec = data;
	if (len < offsetof(struct sf_bpf_event, data))
		return 0;
	struct sensor_watch *w = sensor_find(s, rec->cgid);
	if (w)
		w->fn(w->arg, rec, len);
	return 0;
}

static void *sensor_thread(void *arg)
{
	struct sf_sensor *s = arg;
	struct pollfd pfd = {.fd = ring_buffer__epoll_fd(s->rb), .events = POLLIN};
	while (!atomic_load(&s->stop)) {
		int n = poll(&pfd, 1, SF_BPF_POLL_MS);
		if (n < 0 && errno != EINTR) {
			sf_error("sensor: poll: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&s->lock);
		ring_buffer__consume(s->rb);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int sf_sensor_open(struct sf_sensor **out, const char *cgroup_parent, char *err, size_t errlen)
{
	return sf_sensor_open_sized(out, cgroup_parent, 0, err, errlen);
}

int sf_sensor_open_sized(struct sf_sensor **out, const char *cgroup_parent, size_t ring_bytes,
			 char *err, size_t errlen)
{
	int rc;
	long page = sysconf(_SC_PAGESIZE);
	if (ring_bytes == 0)
		ring_bytes = SF_BPF_RING_BYTES;
	if ((ring_bytes & (ring_bytes - 1)) || page <= 0 || ring_bytes < (size_t)page ||
	    ring_bytes > (1UL << 30)) {
		snprintf(err, errlen, "ring buffer of %zu bytes: a power of two from a page to 1 GiB",
			 ring_bytes);
		return -EINVAL;
	}
	struct sf_sensor *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	libbpf_set_print(sensor_libbpf_log);
	sf_strlcpy(s->cgroup_parent, cgroup_parent, sizeof(s->cgroup_parent));
	if ((rc = sensor_find_cgroup2(s->cgroup_root, sizeof(s->cgroup_root)))) {
		snprintf(err, errlen, "no cgroup v2 hierarchy mounted (looked at /sys/fs/cgroup"
				      " and /sys/fs/cgroup/unified)");
		goto fail;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		rc = -ENOTSUP;
		snprintf(err, errlen, "the kernel has no BTF (/sys/kernel/btf/vmlinux): the eBPF"
				      " sensor needs CONFIG_DEBUG_INFO_BTF");
		goto fail;
	}
	sensor_mount_tracefs();
	char parent[512];
	snprintf(parent, sizeof(parent), "%s/%s", s->cgroup_root, cgroup_parent);
	if ((rc = sf_mkdirs(parent, 0755))) {
		snprintf(err, errlen, "cannot create cgroup %s: %s", parent, strerror(-rc));
		goto fail;
	}
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		rc = -EINVAL;
		snprintf(err, errlen, "cannot count CPUs");
		goto fail;
	}
	s->skel = sensor_bpf__open();
	if (!s->skel) {
		rc = -errno ? -errno : -EINVAL;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(-rc));
		goto fail;
	}
	/* Job cgroups sit one level below the parent, which sits at the
	 * depth of its path components. */
	unsigned level = 1;
	for (const char *p = cgroup_parent; *p; p++)
		if (*p == '/' && p[1])
			level++;
	s->skel->rodata->watch_level = level + 1;
	s->skel->rodata->wakeup_bytes =
		ring_bytes / 4 < SF_BPF_WAKEUP_BYTES ? ring_bytes / 4 : SF_BPF_WAKEUP_BYTES;
	if ((rc = bpf_map__set_max_entries(s->skel->maps.events, (__u32)ring_bytes))) {
		snprintf(err, errlen, "cannot size the ring buffer: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = sensor_bpf__load(s->skel))) {
		snprintf(err, errlen, "cannot load the BPF program (root? BTF?): %s",
			 strerror(-rc));
		goto fail;
	}
	if ((rc = sensor_bpf__attach(s->skel))) {
		snprintf(err, errlen, "cannot attach the BPF program: %s", strerror(-rc));
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), sensor_on_record, s, NULL);
	if (!s->rb) {
		rc = -errno ? -errno : -ENOMEM;
		snprintf(err, errlen, "cannot set up the ring buffer: %s", strerror(-rc));
		goto fail;
	}
	struct timespec mono, real;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	s->mono_to_real_ns = (real.tv_sec - mono.tv_sec) * 1000000000LL + (real.tv_nsec - mono.tv_nsec);
	if ((rc = -pthread_create(&s->thread, NULL, sensor_thread, s))) {
		snprintf(err, errlen, "cannot start the sensor thread: %s", strerror(-rc));
		goto fail;
	}
	s->thread_started = true;
	sf_info("sensor: eBPF sensor attached (job cgroups under %s/%s, level %u, ring buffer"
		" %zu KiB)", s->cgroup_root, cgroup_parent, level + 1, ring_bytes >> 10);
	*out = s;
	return 0;
fail:
	sf_sensor_close(s);
	return rc;
}

void sf_sensor_close(struct sf_sensor *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, true);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	ring_buffer__free(s->rb);
	sensor_bpf__destroy(s->skel);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int sf_sensor_cgroup_path(const struct sf_sensor *s, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s/%s", s->cgroup_root, s->cgroup_parent, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A cgroup's id is its kernfs inode number, which is what
 * bpf_get_current_ancestor_cgroup_id returns. */
static int sensor_cgroup_id(const char *path, uint64_t *id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh.handle_bytes = sizeof(uint64_t)};
	int mount_id;
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) != 0)
		return -errno;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

int sf_sensor_watch(struct sf_sensor *s, const char *name, sf_sensor_record_fn fn, void *arg,
		    uint64_t *cgid)
{
	char path[512];
	uint64_t id;
	int rc;
	if (strchr(name, '/') || strlen(name) >= sizeof(s->watches[0].name))
		return -EINVAL;
	if ((rc = sf_sensor_cgroup_path(s, name, path, sizeof(path))))
		return rc;
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -errno;
	if ((rc = sensor_cgroup_id(path, &id))) {
		rmdir(path);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	if (s->nwatches == SENSOR_MAX_WATCH) {
		rc = -ENOSPC;
		goto out;
	}
	__u64 no_drops = 0;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.watched), &id, &no_drops, BPF_ANY) != 0) {
		rc = -errno;
		goto out;
	}
	struct sensor_watch *w = &s->watches[s->nwatches++];
	w->cgid = id;
	w->fn = fn;
	w->arg = arg;
	sf_strlcpy(w->name, name, sizeof(w->name));
	*cgid = id;
out:
	pthread_mutex_unlock(&s->lock);
	if (rc)
		rmdir(path);
	return rc;
}

int sf_sensor_unwatch(struct sf_sensor *s, uint64_t cgid, uint64_t *drops)
{
	char path[512] = "";
	__u64 lost = 0;
	pthread_mutex_lock(&s->lock);
	/* Records of the job's last processes are already in the ring
	 * buffer: a process's exit is traced before its parent can see it. */
	ring_buffer__consume(s->rb);
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.watched), &cgid, &lost) != 0)
		lost = 0;
	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.watched), &cgid);
	if (drops)
		*drops = lost;
	struct sensor_watch *w = sensor_find(s, cgid);
	if (w) {
		sf_sensor_cgroup_path(s, w->name, path, sizeof(path));
		*w = s->watches[--s->nwatches];
	}
	pthread_mutex_unlock(&s->lock);
	if (!w)
		return -ENOENT;
	if (path[0] && rmdir(path) != 0 && errno != ENOENT && errno != EBUSY)
		sf_warn("sensor: cannot remove cgroup %s: %s", path, strerror(errno));
	return 0;
}

void sf_sensor_counters(struct sf_sensor *s, uint64_t *events, uint64_t *drops)
{
	__u64 vals[512];
	*events = *drops = 0;
	if (s->ncpus > 512)
		return;
	for (__u32 k = 0; k < SF_BPF_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.counters), &k, vals) != 0)
			continue;
		uint64_t sum = 0;
		for (int c = 0; c < s->ncpus; c++)
			sum += vals[c];
		if (k == SF_BPF_CNT_EVENTS)
			*events = sum;
		else
			*drops = sum;
	}
}

int64_t sf_sensor_realtime_ns(const struct sf_sensor *s, uint64_t mono_ns)
{
	return (int64_t)mono_ns + (s ? s->mono_to_real_ns : 0);
}
