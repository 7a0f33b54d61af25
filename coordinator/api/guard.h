/*
 * guard — what keeps slow clients from holding the API's connections: a
 * deadline for a request's headers, apart from the idle timeout of its body.
 *
 * libmicrohttpd times a connection out only when it is *idle*; a client that
 * drips one header byte every few seconds never is, and each such connection
 * is one of max-connections. The guard keeps one record per connection
 * (MHD's notify-connection callback: from accept to close) with the time its
 * current wait for headers began — the accept, or the answer to its previous
 * request on a kept-alive connection. A reaper thread shuts down (shutdown(2):
 * MHD then sees the end of the stream and closes it as usual) every connection
 * whose headers have not all arrived within header_timeout_s. Once the headers
 * are in, the body has the API's idle timeout only; a slow upload is not cut.
 *
 * Owns: the connection records, the reaper thread. Calls: libmicrohttpd,
 * pthreads, log.
 */
#ifndef SF_GUARD_H
#define SF_GUARD_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct sf_guard_conn;

struct sf_guard {
	int header_timeout_s;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct sf_guard_conn *conns; /* doubly linked, under lock */
	bool stop;
	bool have_thread;
	pthread_t thread;
	atomic_ullong open;	   /* connections now */
	atomic_ullong header_cuts; /* connections shut down for slow headers */
};

/* Starts the reaper. header_timeout_s >= 1. 0 or a negative errno. */
int sf_guard_start(struct sf_guard *g, int header_timeout_s);
/* MHD_OPTION_NOTIFY_CONNECTION's callback; cls is the guard. */
void sf_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		     enum MHD_ConnectionNotificationCode toe);
/* A request's headers are in (the access handler's first call): no
 * deadline until it is answered. */
void sf_guard_request_started(struct MHD_Connection *c);
/* The request was answered: a kept-alive connection waits for the next
 * headers under the deadline again. */
void sf_guard_request_done(struct sf_guard *g, struct MHD_Connection *c);
/* Stops the reaper; call after MHD_stop_daemon (every connection closed). */
void sf_guard_stop(struct sf_guard *g);

#endif
