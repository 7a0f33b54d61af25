/* falco_http — see falco_http.h. */
#include "falco_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falco_alert.h"
#include "falco_feed.h"
#include "log.h"
#include "util.h"

#define HTTP_CONNECTIONS 16
#define HTTP_TIMEOUT_S 10

struct sf_falco_http {
	struct sf_falco *feed;
	struct MHD_Daemon *daemon;
};

/* One request: its body so far, or too large to keep. */
struct http_req {
	struct sf_buf body;
	bool oversized;
};

static enum MHD_Result http_answer(struct MHD_Connection *c, unsigned status)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The body's declared length, when it has one over the limit. */
static bool http_declared_too_large(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	return cl && strtoull(cl, NULL, 10) > SF_FALCO_MAX_ALERT;
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version, const char *data,
				   size_t *size, void **con_cls)
{
	(void)url;
	(void)version;
	struct sf_falco_http *h = cls;
	struct http_req *req = *con_cls;
	if (!req) {
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return http_answer(c, MHD_HTTP_METHOD_NOT_ALLOWED);
		if (http_declared_too_large(c)) {
			sf_falco_oversized(h->feed);
			return http_answer(c, MHD_HTTP_CONTENT_TOO_LARGE);
		}
		if (!(req = calloc(1, sizeof(*req))))
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*size) {
		if (!req->oversized && req->body.len + *size > SF_FALCO_MAX_ALERT) {
			req->oversized = true;
			sf_buf_free(&req->body);
		}
		if (!req->oversized && sf_buf_append(&req->body, data, *size) != 0)
			return MHD_NO;
		*size = 0;
		return MHD_YES;
	}
	if (req->oversized) {
		sf_falco_oversized(h->feed);
		return http_answer(c, MHD_HTTP_CONTENT_TOO_LARGE);
	}
	int rc = sf_falco_deliver(h->feed, SF_FALCO_JSON, req->body.data ? req->body.data : "",
				  req->body.len);
	return http_answer(c, rc == 0 ? MHD_HTTP_OK
			      : rc == -EMSGSIZE ? MHD_HTTP_CONTENT_TOO_LARGE
			      : rc == -ENOMEM	? MHD_HTTP_SERVICE_UNAVAILABLE
						: MHD_HTTP_BAD_REQUEST);
}

static void http_done(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct http_req *req = *con_cls;
	if (req) {
		sf_buf_free(&req->body);
		free(req);
		*con_cls = NULL;
	}
}

/* "127.0.0.1:7310" → a loopback IPv4 socket address. */
static int http_parse_address(const char *address, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(address, ':');
	if (!colon || (size_t)(colon - address) >= sizeof(host))
		return -EINVAL;
	memcpy(host, address, (size_t)(colon - address));
	host[colon - address] = '\0';
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (*end || port == 0 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
		return -EADDRNOTAVAIL;
	return 0;
}

int sf_falco_http_start(struct sf_falco_http **out, struct sf_falco *feed, const char *address,
			char *err, size_t errlen)
{
	struct sockaddr_in sa;
	int rc = http_parse_address(address, &sa);
	if (rc) {
		snprintf(err, errlen, "%s: %s", address,
			 rc == -EADDRNOTAVAIL ? "not a loopback address (Falco posts on this host)"
					      : "expected a loopback IPv4 address:port");
		return rc;
	}
	struct sf_falco_http *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->feed = feed;
	h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				     NULL, http_handle, h, MHD_OPTION_SOCK_ADDR, &sa,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
				     MHD_OPTION_NOTIFY_COMPLETED, http_done, NULL, MHD_OPTION_END);
	if (!h->daemon) {
		snprintf(err, errlen, "cannot listen on %s (in use?)", address);
		free(h);
		return -EADDRINUSE;
	}
	sf_info("falco-json: receiving Falco's http_output on http://%s/", address);
	*out = h;
	return 0;
}

void sf_falco_http_stop(struct sf_falco_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}
