/* netns — see netns.h. */
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "sinkhole.h"
#include "userns.h"

#define NETNS_MAX_CONN 64   /* npm opens a handful; more is not a registry client */
#define NETNS_BUF      16384

/* One forwarded connection: buf[i] holds bytes read from fd[i] that are
 * still to be written to fd[1 - i]. */
struct netns_conn {
	int fd[2]; /* 0: sandbox side, 1: proxy side */
	char buf[2][NETNS_BUF];
	size_t len[2], off[2];
	bool eof[2];
};

struct sf_netns {
	int ns_fd;
	int listen_fd; /* inside the namespace, or -1 */
	int stop_fd;   /* eventfd that wakes the forwarder to stop */
	struct sockaddr_in to;
	pthread_t thread;
	bool running;
	char path[64];
	struct netns_conn *conns[NETNS_MAX_CONN];
	_Atomic uint64_t connections, bytes_out, bytes_in;
	struct sf_sinkhole *sinkhole;
};

struct netns_make {
	struct sf_netns *n;
	const struct sf_netns_opts *opts;
	char err[256];
	int rc;
};

/* lo starts down in a new namespace; 127.0.0.1 needs it up. */
static int netns_lo_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int rc = 0;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (!rc && ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		rc = -errno;
	close(s);
	return rc;
}

/* Runs on a thread of its own: unshare(CLONE_NEWNET) moves only this
 * thread, and whatever it creates stays in the new namespace after it ends. */
static void *netns_make_thread(void *arg)
{
	struct netns_make *m = arg;
	struct sf_netns *n = m->n;
	/* owned by the sandbox's user namespace, the namespace is made there
	 * (the kernel gives the container its own /sys only then); this
	 * thread joins it */
	int made = -1;
	if (m->opts->owner && (m->rc = sf_userns_netns(m->opts->owner, &made)))
		return NULL;
	if (made >= 0 ? setns(made, CLONE_NEWNET) != 0 : unshare(CLONE_NEWNET) != 0) {
		m->rc = -errno;
		if (made >= 0)
			close(made);
		return NULL;
	}
	if (made >= 0)
		close(made);
	n->ns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->ns_fd < 0) {
		m->rc = -errno;
		return NULL;
	}
	if ((m->rc = netns_lo_up())) {
		snprintf(m->err, sizeof(m->err), "cannot bring lo up: %s", strerror(-m->rc));
		return NULL;
	}
	if (m->opts->sinkhole) {
		if ((m->rc = sf_netpolicy_apply_blocked(m->opts->blocked, m->opts->nblocked, m->err,
							sizeof(m->err))) ||
		    (m->rc = sf_netpolicy_apply_sinkhole(SF_SINKHOLE_PORT, m->err, sizeof(m->err))))
			return NULL;
		if ((m->rc = sf_sinkhole_open(&n->sinkhole, SF_SINKHOLE_PORT)))
			snprintf(m->err, sizeof(m->err), "cannot open the sinkhole's sockets: %s",
				 strerror(-m->rc));
		return NULL;
	}
	if (!m->opts->forward_port)
		return NULL;
	n->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->listen_fd < 0) {
		m->rc = -errno;
		return NULL;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(m->opts->forward_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	setsockopt(n->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(n->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(n->listen_fd, 64) != 0) {
		m->rc = -errno;
		snprintf(m->err, sizeof(m->err), "cannot listen on 127.0.0.1:%u: %s",
			 (unsigned)m->opts->forward_port, strerror(errno));
	}
	return NULL;
}

static void netns_conn_close(struct sf_netns *n, int k)
{
	struct netns_conn *c = n->conns[k];
	close(c->fd[0]);
	close(c->fd[1]);
	free(c);
	n->conns[k] = NULL;
}

static void netns_accept(struct sf_netns *n)
{
	int s = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (s < 0)
		return;
	int k = 0;
	while (k < NETNS_MAX_CONN && n->conns[k])
		k++;
	struct netns_conn *c = k < NETNS_MAX_CONN ? calloc(1, sizeof(*c)) : NULL;
	int p = c ? socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
	/* the proxy is on the host's loopback: a blocking connect is immediate */
	if (p < 0 || connect(p, (struct sockaddr *)&n->to, sizeof(n->to)) != 0 ||
	    fcntl(p, F_SETFL, O_NONBLOCK) != 0) {
		if (p >= 0)
			close(p);
		free(c);
		close(s);
		return;
	}
	c->fd[0] = s;
	c->fd[1] = p;
	n->conns[k] = c;
	atomic_fetch_add(&n->connections, 1);
}

/* Moves what it can in both directions; returns false when the pair is done. */
static bool netns_pump(struct sf_netns *n, struct netns_conn *c, const short rev[2])
{
	for (int i = 0; i < 2; i++) {
		int j = 1 - i;
		if (!c->eof[i] && c->len[i] == 0 && (rev[i] & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(c->fd[i], c->buf[i], NETNS_BUF);
			if (r > 0) {
				c->len[i] = (size_t)r;
				c->off[i] = 0;
				atomic_fetch_add(i == 0 ? &n->bytes_out : &n->bytes_in, (uint64_t)r);
			} else if (r == 0) {
				c->eof[i] = true;
				shutdown(c->fd[j], SHUT_WR);
			} else if (errno != EAGAIN && errno != EINTR) {
				return false;
			}
		}
		if (c->len[i] > 0) {
			ssize_t w = write(c->fd[j], c->buf[i] + c->off[i], c->len[i] - c->off[i]);
			if (w > 0) {
				c->off[i] += (size_t)w;
				if (c->off[i] == c->len[i])
					c->len[i] = 0;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				return false;
			}
		}
	}
	return !(c->eof[0] && c->eof[1] && c->len[0] == 0 && c->len[1] == 0);
}

static void *netns_forward_thread(void *arg)
{
	struct sf_netns *n = arg;
	struct pollfd p[2 + 2 * NETNS_MAX_CONN];
	int idx[NETNS_MAX_CONN];
	for (;;) {
		int np = 0;
		p[np++] = (struct pollfd){.fd = n->stop_fd, .events = POLLIN};
		p[np++] = (struct pollfd){.fd = n->listen_fd, .events = POLLIN};
		for (int k = 0; k < NETNS_MAX_CONN; k++) {
			struct netns_conn *c = n->conns[k];
			idx[k] = -1;
			if (!c)
				continue;
			idx[k] = np;
			for (int i = 0; i < 2; i++) {
				short ev = 0;
				if (!c->eof[i] && c->len[i] == 0)
					ev |= POLLIN;
				if (c->len[1 - i] > 0)
					ev |= POLLOUT;
				p[np++] = (struct pollfd){.fd = c->fd[i], .events = ev};
			}
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			sf_warn("registry path forwarder: poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents)
			break;
		for (int k = 0; k < NETNS_MAX_CONN; k++) {
			if (idx[k] < 0)
				continue;
			short rev[2] = {p[idx[k]].revents, p[idx[k] + 1].revents};
			if ((rev[0] | rev[1]) && !netns_pump(n, n->conns[k], rev))
				netns_conn_close(n, k);
		}
		if (p[1].revents & POLLIN)
			netns_accept(n);
	}
	return NULL;
}

int sf_netns_create(struct sf_netns **out, const struct sf_netns_opts *opts, char *err,
		    size_t errlen)
{
	*out = NULL;
	struct sf_netns *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->ns_fd = n->listen_fd = n->stop_fd = -1;
	if (opts->forward_to)
		n->to = *opts->forward_to;
	struct netns_make m = {.n = n, .opts = opts};
	pthread_t t;
	int rc = -pthread_create(&t, NULL, netns_make_thread, &m);
	if (rc == 0) {
		pthread_join(t, NULL);
		rc = m.rc;
	}
	if (rc) {
		snprintf(err, errlen, "%s", m.err[0] ? m.err : strerror(-rc));
		goto fail;
	}
	snprintf(n->path, sizeof(n->path), "/proc/%d/fd/%d", (int)getpid(), n->ns_fd);
	if (n->sinkhole && (rc = sf_sinkhole_start(n->sinkhole))) {
		snprintf(err, errlen, "cannot start the sinkhole: %s", strerror(-rc));
		goto fail;
	}
	if (opts->forward_port && !opts->sinkhole) {
		n->stop_fd = eventfd(0, EFD_CLOEXEC);
		if (n->stop_fd < 0) {
			rc = -errno;
			snprintf(err, errlen, "eventfd: %s", strerror(-rc));
			goto fail;
		}
		if ((rc = -pthread_create(&n->thread, NULL, netns_forward_thread, n))) {
			snprintf(err, errlen, "cannot start the forwarder: %s", strerror(-rc));
			goto fail;
		}
		n->running = true;
	}
	*out = n;
	return 0;
fail:
	sf_netns_free(n);
	return rc;
}

const char *sf_netns_path(const struct sf_netns *n) { return n->path; }

struct sf_sinkhole *sf_netns_sinkhole(const struct sf_netns *n) { return n->sinkhole; }

void sf_netns_stats(const struct sf_netns *n, struct sf_netns_stats *st)
{
	st->connections = atomic_load(&n->connections);
	st->bytes_out = atomic_load(&n->bytes_out);
	st->bytes_in = atomic_load(&n->bytes_in);
}

void sf_netns_free(struct sf_netns *n)
{
	if (!n)
		return;
	if (n->running) {
		uint64_t one = 1;
		if (write(n->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
			sf_warn("registry path forwarder: cannot wake it to stop");
		pthread_join(n->thread, NULL);
	}
	for (int k = 0; k < NETNS_MAX_CONN; k++)
		if (n->conns[k])
			netns_conn_close(n, k);
	sf_sinkhole_free(n->sinkhole);
	if (n->listen_fd >= 0)
		close(n->listen_fd);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	if (n->ns_fd >= 0)
		close(n->ns_fd);
	free(n);
}
