/* guard — see guard.h. */
#include "guard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"

#define GUARD_TICK_MS 250 /* how often the reaper looks */

struct sf_guard_conn {
	struct sf_guard_conn *prev, *next;
	int fd;
	int64_t waiting_since_ms; /* for headers; 0 while a request is in progress */
	bool cut;		  /* shut down already */
};

static int64_t guard_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sf_guard_conn *guard_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return i && i->socket_context ? i->socket_context : NULL;
}

static void *guard_reaper(void *arg)
{
	struct sf_guard *g = arg;
	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		int64_t now = guard_now_ms(), limit = (int64_t)g->header_timeout_s * 1000;
		for (struct sf_guard_conn *k = g->conns; k; k = k->next) {
			int64_t since = __atomic_load_n(&k->waiting_since_ms, __ATOMIC_RELAXED);
			if (k->cut || !since || now - since < limit)
				continue;
			/* the record exists until MHD's close notification, which
			 * comes before MHD closes the descriptor: fd is still its */
			k->cut = true;
			shutdown(k->fd, SHUT_RDWR);
			atomic_fetch_add(&g->header_cuts, 1);
		}
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += GUARD_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int sf_guard_start(struct sf_guard *g, int header_timeout_s)
{
	if (header_timeout_s < 1)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->header_timeout_s = header_timeout_s;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&g->thread, NULL, guard_reaper, g);
	if (rc) {
		pthread_mutex_destroy(&g->lock);
		pthread_cond_destroy(&g->wake);
		return -rc;
	}
	g->have_thread = true;
	return 0;
}

void sf_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		     enum MHD_ConnectionNotificationCode toe)
{
	struct sf_guard *g = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *i =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct sf_guard_conn *k = i ? calloc(1, sizeof(*k)) : NULL;
		if (!k) /* unguarded: the idle timeout still applies */
			return;
		k->fd = i->connect_fd;
		k->waiting_since_ms = guard_now_ms();
		pthread_mutex_lock(&g->lock);
		k->next = g->conns;
		if (g->conns)
			g->conns->prev = k;
		g->conns = k;
		pthread_mutex_unlock(&g->lock);
		*socket_context = k;
		atomic_fetch_add(&g->open, 1);
		return;
	}
	struct sf_guard_conn *k = *socket_context;
	if (!k)
		return;
	pthread_mutex_lock(&g->lock);
	if (k->prev)
		k->prev->next = k->next;
	else
		g->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	pthread_mutex_unlock(&g->lock);
	free(k);
	*socket_context = NULL;
	atomic_fetch_sub(&g->open, 1);
}

/* Plain stores under no lock: the reaper reads a stale value at worst one
 * tick late, and a cut already made is final either way. */
void sf_guard_request_started(struct MHD_Connection *c)
{
	struct sf_guard_conn *k = guard_conn_of(c);
	if (k)
		__atomic_store_n(&k->waiting_since_ms, 0, __ATOMIC_RELAXED);
}

void sf_guard_request_done(struct sf_guard *g, struct MHD_Connection *c)
{
	(void)g;
	struct sf_guard_conn *k = guard_conn_of(c);
	if (k)
		__atomic_store_n(&k->waiting_since_ms, guard_now_ms(), __ATOMIC_RELAXED);
}

void sf_guard_stop(struct sf_guard *g)
{
	if (!g->have_thread)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_broadcast(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	g->have_thread = false;
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->wake);
	/* MHD_stop_daemon has closed (and notified) every connection */
	for (struct sf_guard_conn *k = g->conns, *next; k; k = next) {
		next = k->next;
		free(k);
	}
	g->conns = NULL;
}
