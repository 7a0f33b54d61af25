/*
 * server — the coordinator's REST API on libmicrohttpd: the daemon, and
 * what happens on each of its calls. The first call of a request is timed,
 * refused while the coordinator drains, checked for access (access.h) and
 * routed (routes.h); the later calls of a request with a body go to its
 * upload (upload.h). Request durations feed /metrics (metrics.h).
 *
 * Uploads are streamed: each body chunk goes straight to the artifact store
 * while it is hashed; the reply is sent only after the bytes are fsynced
 * and the scan row committed. A connection that drops mid-upload leaves
 * nothing behind.
 *
 * The daemon is event-driven (epoll, a pool of `threads` threads), so that
 * idle and slow connections cost a descriptor, not a thread; the guard
 * (guard.h) gives each request's headers a deadline; libmicrohttpd caps
 * connections per client address. An optional operations listener of its
 * own serves /healthz, /readyz and /metrics (no token, no body), so probes
 * are answered while the public port is full or draining.
 *
 * Graceful shutdown: sf_api_quiesce stops accepting connections (new ones
 * are refused; a new request on a kept-alive connection gets 503) while
 * uploads in progress go on and are answered as usual; the caller waits
 * while sf_api_uploads says some are left, up to its deadline, then
 * sf_api_stop closes what is still open and those uploads are discarded.
 *
 * Owns: the MHD daemons, the API's counters, the uploads' state, the guard.
 * Calls: routes, access, upload, metrics, reply, guard, log, libmicrohttpd.
 */
#ifndef SF_SERVER_H
#define SF_SERVER_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "access.h"
#include "bulk.h"
#include "db.h"
#include "enqueue.h"
#include "guard.h"
#include "metrics.h"
#include "routes.h"
#include "store.h"
#include "upload.h"

struct sf_api_config {
	const char *address; /* "127.0.0.1:3000" */
	const char *ops_address; /* /healthz, /readyz, /metrics of their own, or NULL */
	const char *tls_cert;	 /* PEM files: HTTPS only; NULL: plain HTTP */
	const char *tls_key;
	int idle_timeout_s;	 /* a request's body may stay silent this long */
	int header_timeout_s;	 /* a request's headers must all arrive within this */
	int max_connections;
	int max_per_ip;		 /* connections from one address; 0: no limit */
	int threads;		 /* the event loop's threads */
	int worker_live_s; /* /v1/workers: a worker silent for longer is gone */
};

/* Everything sf_api_start needs: its own settings and those of the
 * modules it serves (copied), and what they reach (borrowed). */
struct sf_api_setup {
	struct sf_api_config api;
	struct sf_access_config access;
	struct sf_upload_config upload;
	struct sf_enqueue_config enqueue;
	struct sf_bulk_config bulk;
	struct sf_metrics_sources metrics;
	struct sf_store *store;
	struct sf_db_pool *pool;
};

struct sf_api {
	struct MHD_Daemon *daemon;
	struct MHD_Daemon *ops; /* the operations listener, or NULL */
	struct sf_guard guard;
	struct sf_api_config cfg;
	struct sf_access_config access;
	struct sf_db_pool *pool;
	struct sf_api_uploads uploads;
	struct sf_metrics metrics;
	struct sf_routes routes;
	unsigned short port;  /* the bound port (useful with port 0) */
	unsigned short ops_port;
	atomic_bool draining; /* quiesced: refuse new requests */
	char *tls_cert_pem;   /* read at start; MHD uses them while it runs */
	char *tls_key_pem;
	int listen_fd;	      /* ours to close once quiesced, else -1 */
};

int sf_api_start(struct sf_api *a, const struct sf_api_setup *setup);
/* Stops accepting connections, keeps serving those open. 0, or -EINVAL
 * if the daemon cannot (the caller then just stops it). */
int sf_api_quiesce(struct sf_api *a);
/* Requests with a body in progress: from their first call until answered. */
unsigned sf_api_uploads(struct sf_api *a);
/* Closes every connection (uploads still in progress are discarded:
 * nothing stored, no row) and frees the daemon. */
void sf_api_stop(struct sf_api *a);

#endif
