/* falco_relay — see falco_relay.h. */
#include "falco_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "falco_feed.h"
#include "log.h"
#include "util.h"

struct sf_falco_relay {
	struct sf_falco *feed;
	char dir[96];
	struct sockaddr_un self;
	int rx, tx, lock;
	bool leading;
	pthread_t thread;
	bool started;
	atomic_bool stop;
};

pid_t sf_falco_relay_pid(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	if (!s || strncmp(s, prefix, n) != 0)
		return 0;
	long long pid = 0;
	const char *p = s + n;
	for (; *p >= '0' && *p <= '9' && pid < (1LL << 31); p++)
		pid = pid * 10 + (*p - '0');
	return *p == '-' && p > s + n && pid > 0 && pid < (1LL << 31) ? (pid_t)pid : 0;
}

static int relay_addr(const char *dir, pid_t pid, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/w-%d.sock", dir, (int)pid);
	return n < (int)sizeof(sa->sun_path) ? 0 : -ENAMETOOLONG;
}

/* The directory: made if missing, else it must be root's alone. */
static int relay_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (sf_mkdirs(dir, 0700) != 0 || lstat(dir, &st) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077)) {
		snprintf(err, errlen, "%s must be a directory of this user's with mode 0700", dir);
		return -EPERM;
	}
	return 0;
}

static void *relay_receive(void *arg)
{
	struct sf_falco_relay *r = arg;
	char *buf = malloc(SF_FALCO_RELAY_MAX);
	if (!buf)
		return NULL;
	while (!atomic_load(&r->stop)) {
		struct pollfd p = {.fd = r->rx, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(r->rx, buf, SF_FALCO_RELAY_MAX, MSG_DONTWAIT);
		if (n > 0)
			sf_falco_deliver(r->feed, SF_FALCO_JSON, buf, (size_t)n);
	}
	free(buf);
	return NULL;
}

int sf_falco_relay_open(struct sf_falco_relay **out, struct sf_falco *feed, const char *dir,
			char *err, size_t errlen)
{
	int rc = relay_dir(dir, err, errlen);
	if (rc)
		return rc;
	struct sf_falco_relay *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->feed = feed;
	r->rx = r->tx = r->lock = -1;
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	char lockpath[128];
	snprintf(lockpath, sizeof(lockpath), "%s/reader.lock", dir);
	int bufsz = 4 << 20;
	if ((rc = relay_addr(dir, getpid(), &r->self)) ||
	    (r->rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    (r->tx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    (r->lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		rc = rc ? rc : -errno;
		snprintf(err, errlen, "relay in %s: %s", dir, strerror(-rc));
		sf_falco_relay_close(r);
		return rc;
	}
	setsockopt(r->rx, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	setsockopt(r->tx, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	unlink(r->self.sun_path); /* a socket of an earlier process with this pid */
	if (bind(r->rx, (struct sockaddr *)&r->self, sizeof(r->self)) != 0 ||
	    (rc = pthread_create(&r->thread, NULL, relay_receive, r)) != 0) {
		rc = rc ? -rc : -errno;
		snprintf(err, errlen, "relay socket %s: %s", r->self.sun_path, strerror(-rc));
		sf_falco_relay_close(r);
		return rc;
	}
	r->started = true;
	*out = r;
	return 0;
}

bool sf_falco_relay_lead(struct sf_falco_relay *r)
{
	if (!r->leading && flock(r->lock, LOCK_EX | LOCK_NB) == 0)
		r->leading = true;
	return r->leading;
}

/* a as Falco's JSON (what the receiver decodes). */
static char *relay_json(const struct sf_alert *a)
{
	char when[64];
	struct tm tm;
	time_t sec = (time_t)(a->time_ns / 1000000000);
	gmtime_r(&sec, &tm);
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%09lldZ", (long long)(a->time_ns % 1000000000));
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "rule", a->rule, "priority",
			      a->priority, "output", a->output, "source", a->source, "hostname",
			      a->hostname, "time", when);
	json_t *fields = json_object(), *tags = json_array();
	for (uint32_t i = 0; fields && i < a->nfields; i++)
		json_object_set_new(fields, a->fields[i].key, json_string(a->fields[i].value));
	for (uint32_t i = 0; tags && i < a->ntags; i++)
		json_array_append_new(tags, json_string(a->tags[i]));
	char *s = NULL;
	if (o && fields && tags && json_object_set_new(o, "output_fields", fields) == 0 &&
	    json_object_set_new(o, "tags", tags) == 0) {
		fields = tags = NULL;
		s = json_dumps(o, JSON_COMPACT);
	}
	json_decref(fields);
	json_decref(tags);
	json_decref(o);
	return s;
}

int sf_falco_relay_send(struct sf_falco_relay *r, pid_t pid, const struct sf_alert *a)
{
	struct sockaddr_un to;
	int rc = relay_addr(r->dir, pid, &to);
	if (rc)
		return rc;
	char *js = relay_json(a);
	if (!js)
		return -ENOMEM;
	size_t n = strlen(js);
	if (n > SF_FALCO_RELAY_MAX)
		rc = -EMSGSIZE;
	else if (sendto(r->tx, js, n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&to,
			sizeof(to)) < 0)
		rc = errno == ECONNREFUSED ? -ENOENT : -errno;
	free(js);
	return rc == -EWOULDBLOCK ? -EAGAIN : rc;
}

void sf_falco_relay_close(struct sf_falco_relay *r)
{
	if (!r)
		return;
	atomic_store(&r->stop, true);
	if (r->started)
		pthread_join(r->thread, NULL);
	if (r->rx >= 0) {
		close(r->rx);
		unlink(r->self.sun_path);
	}
	if (r->tx >= 0)
		close(r->tx);
	if (r->lock >= 0)
		close(r->lock); /* releases the reader's lock */
	free(r);
}
