/* server — see server.h. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "reply.h"
#include "util.h"

static int64_t server_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One call of MHD's access handler: a later call of a request with a body
 * goes to its upload; a first call is refused while draining, checked for
 * access, then routed. */
static enum MHD_Result server_call(struct sf_api *a, struct MHD_Connection *c, const char *url,
				   const char *method, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct sf_api_upload *req = *con_cls;
	if (req) /* a body chunk, or the end of a body */
		return sf_api_upload_body(&a->uploads, c, req, upload_data, upload_data_size);
	if (atomic_load(&a->draining))
		return sf_reply_shutting_down(c);
	enum MHD_Result denied;
	if (!sf_access_allowed(&a->access, a->pool, c, url, method, &denied))
		return denied;
	return sf_routes_answer(&a->routes, c, url, method, con_cls);
}

/* Times every request: one answered in its first call is counted here;
 * one that keeps state (a body) from this first call to its completion. */
static enum MHD_Result server_handle(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version,
				     const char *upload_data, size_t *upload_data_size,
				     void **con_cls)
{
	(void)version;
	struct sf_api *a = cls;
	bool first = *con_cls == NULL;
	if (first)
		sf_guard_request_started(c);
	int64_t t0 = first ? server_now_us() : 0;
	enum MHD_Result rc = server_call(a, c, url, method, upload_data, upload_data_size, con_cls);
	if (first) {
		struct sf_api_upload *req = *con_cls;
		if (req)
			req->started_us = t0;
		else
			sf_metrics_observe(&a->metrics, server_now_us() - t0);
	}
	return rc;
}

static void server_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			     enum MHD_RequestTerminationCode toe)
{
	struct sf_api *a = cls;
	sf_guard_request_done(&a->guard, c);
	struct sf_api_upload *req = *con_cls;
	if (!req)
		return;
	if (req->started_us)
		sf_metrics_observe(&a->metrics, server_now_us() - req->started_us);
	sf_api_upload_done(&a->uploads, req, (int)toe);
	*con_cls = NULL;
}

/* "a.b.c.d:port" → sa; -EINVAL for anything else. */
static int server_parse_address(const char *address, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(address, ':');
	if (!colon || (size_t)(colon - address) >= sizeof(host))
		return -EINVAL;
	memcpy(host, address, (size_t)(colon - address));
	host[colon - address] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	*sa = (struct sockaddr_in){.sin_family = AF_INET};
	if (end == colon + 1 || *end || port < 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

static unsigned short server_bound_port(struct MHD_Daemon *d, const struct sockaddr_in *sa)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : ntohs(sa->sin_port);
}

/* The operations listener: the three probes only, no token, answered while
 * the public port drains (/readyz then says 503: take no more traffic). */
static enum MHD_Result server_ops_handle(void *cls, struct MHD_Connection *c, const char *url,
					 const char *method, const char *version,
					 const char *upload_data, size_t *upload_data_size,
					 void **con_cls)
{
	struct sf_api *a = cls;
	(void)version, (void)upload_data;
	if (*upload_data_size) { /* no probe has a body */
		*upload_data_size = 0;
		return MHD_YES;
	}
	bool probe = !strcmp(url, "/healthz") || !strcmp(url, "/readyz") || !strcmp(url, "/metrics");
	if (!probe)
		return sf_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found",
				      "the operations listener serves /healthz, /readyz and /metrics");
	if (!strcmp(url, "/readyz") && atomic_load(&a->draining))
		return sf_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down",
				      "the coordinator is draining");
	return sf_routes_answer(&a->routes, c, url, method, con_cls);
}

static int server_start_ops(struct sf_api *a, const char *address)
{
	struct sockaddr_in sa;
	if (server_parse_address(address, &sa))
		return -EINVAL;
	a->ops = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
				      MHD_USE_ERROR_LOG,
				  0, NULL, NULL, server_ops_handle, a, MHD_OPTION_SOCK_ADDR,
				  (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				  MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
	if (!a->ops)
		return -EADDRINUSE;
	a->ops_port = server_bound_port(a->ops, &sa);
	return 0;
}

static void server_free_tls(struct sf_api *a)
{
	if (a->tls_key_pem) {
		explicit_bzero(a->tls_key_pem, strlen(a->tls_key_pem));
		free(a->tls_key_pem);
	}
	free(a->tls_cert_pem);
	a->tls_key_pem = a->tls_cert_pem = NULL;
}

/* HTTPS: the certificate and key, read once (MHD wants them in memory). */
static int server_read_tls(struct sf_api *a, const struct sf_api_config *cfg)
{
	size_t len;
	if (!cfg->tls_cert)
		return 0;
	int rc = sf_read_file(cfg->tls_cert, 1u << 20, &a->tls_cert_pem, &len);
	if (!rc)
		rc = sf_read_file(cfg->tls_key, 1u << 20, &a->tls_key_pem, &len);
	if (rc) {
		sf_error("http: cannot read %s or %s: %s", cfg->tls_cert, cfg->tls_key,
			 strerror(-rc));
		server_free_tls(a);
	}
	return rc;
}

int sf_api_start(struct sf_api *a, const struct sf_api_setup *setup)
{
	const struct sf_api_config *cfg = &setup->api;
	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	a->access = setup->access;
	a->pool = setup->pool;
	a->metrics.src = setup->metrics;
	a->uploads = (struct sf_api_uploads){.cfg = setup->upload,
					     .enqueue = setup->enqueue,
					     .bulk = setup->bulk,
					     .store = setup->store,
					     .pool = setup->pool,
					     .metrics = &a->metrics};
	a->routes = (struct sf_routes){.store = setup->store,
				       .pool = setup->pool,
				       .uploads = &a->uploads,
				       .metrics = &a->metrics,
				       .worker_live_s = cfg->worker_live_s};
	a->listen_fd = -1;

	struct sockaddr_in sa;
	int rc;
	if (server_parse_address(cfg->address, &sa) || cfg->threads < 1)
		return -EINVAL;
	if ((rc = sf_guard_start(&a->guard, cfg->header_timeout_s)))
		return rc;
	a->metrics.guard = &a->guard;
	if ((rc = server_read_tls(a, cfg))) {
		sf_guard_stop(&a->guard);
		return rc;
	}
	unsigned tls = a->tls_cert_pem ? MHD_USE_TLS : 0;
	/* the HTTPS options only with TLS: MHD complains of them otherwise */
	struct MHD_OptionItem https[] = {
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, a->tls_cert_pem},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, a->tls_key_pem},
	    {MHD_OPTION_END, 0, NULL}};
	a->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | tls |
		MHD_USE_ITC, /* for MHD_quiesce_daemon */
	    0, NULL, NULL, server_handle, a, MHD_OPTION_ARRAY, tls ? https : https + 2,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_NOTIFY_COMPLETED,
	    server_completed, a, MHD_OPTION_NOTIFY_CONNECTION, sf_guard_notify, &a->guard,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->idle_timeout_s,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_per_ip, MHD_OPTION_END);
	if (!a->daemon) {
		sf_guard_stop(&a->guard);
		server_free_tls(a);
		return -EADDRINUSE;
	}
	a->port = server_bound_port(a->daemon, &sa);
	if (cfg->ops_address && cfg->ops_address[0] &&
	    (rc = server_start_ops(a, cfg->ops_address))) {
		sf_api_stop(a);
		return rc;
	}
	return 0;
}

int sf_api_quiesce(struct sf_api *a)
{
	if (!a->daemon)
		return -EINVAL;
	atomic_store(&a->draining, true);
	MHD_socket fd = MHD_quiesce_daemon(a->daemon);
	if (fd == MHD_INVALID_SOCKET)
		return -EINVAL;
	a->listen_fd = fd;
	/* MHD no longer accepts; shutting the listening socket down makes the
	 * kernel refuse new connections (and reset any in its backlog) instead
	 * of queueing them unanswered. It is closed after MHD_stop_daemon: the
	 * daemon's thread may still hold the descriptor until then. */
	if (shutdown(fd, SHUT_RDWR) != 0)
		sf_warn("http: shutdown of the listening socket: %s", strerror(errno));
	return 0;
}

unsigned sf_api_uploads(struct sf_api *a)
{
	return atomic_load(&a->uploads.in_progress);
}

void sf_api_stop(struct sf_api *a)
{
	if (a->daemon) {
		atomic_store(&a->draining, true);
		/* Closes open connections; their uploads end in server_completed,
		 * which discards them. */
		MHD_stop_daemon(a->daemon);
	}
	a->daemon = NULL;
	sf_guard_stop(&a->guard);
	if (a->ops)
		MHD_stop_daemon(a->ops);
	a->ops = NULL;
	server_free_tls(a);
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	a->listen_fd = -1;
}
