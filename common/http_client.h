/*
 * http_client — the HTTP requests scanfarm makes (the coordinator's package
 * resolver and webhook, the worker's artifact download, the CLI), all set up
 * the same way over libcurl: http and https only (redirects too), no
 * signals, the bounds a request asks for, a sink for the body, and one rule
 * for which failures may pass when tried again.
 *
 *   sf_http_perform       one request, on a kept handle (its connections
 *                         are reused) or on one of its own
 *   sf_http_transient     408, 429 and 5xx answers and failures below HTTP
 *                         (refused, reset, timed out, no name …) may pass
 *   sinks                 the body into memory (bounded), or into a file
 *                         while its SHA-256 is computed (bounded by the size
 *                         announced), or discarded
 *
 * Owns: nothing after return (a handle passed in stays the caller's; sinks
 * own what sf_http_*_sink_free releases). Calls: libcurl, sha256, util.
 * sf_http_global_init must run before any thread makes a request.
 */
#ifndef SF_HTTP_CLIENT_H
#define SF_HTTP_CLIENT_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sha256.h"
#include "util.h"

/* Called with each piece of the body as it arrives; 0, or a negative errno
 * that aborts the transfer (sf_http_perform then returns it). */
typedef int (*sf_http_sink_fn)(void *ctx, const char *data, size_t len);

struct sf_http_request {
	const char *url;
	const char *bearer;	    /* sent as "Authorization: Bearer <bearer>", or NULL */
	const char *const *headers; /* more header lines, NULL-terminated, or NULL */
	const char *body;	    /* POSTed as it is (NUL-terminated), or NULL */
	FILE *upload;		    /* …or POSTed streamed from here, upload_size bytes */
	long long upload_size;
	bool fail_on_error;	   /* an answer of 400 or more fails the transfer */
	bool follow_redirects;	   /* at most 5, within http and https */
	bool any_encoding;	   /* accept every content encoding curl decodes */
	long connect_timeout_s;	   /* 0: curl's default */
	long timeout_s;		   /* the whole transfer; 0: no bound */
	long low_speed_time_s;	   /* below 1 KiB/s for this long aborts; 0: no bound */
	const char *user_agent;	   /* or NULL */
	const char *ca_file;	   /* CA certificates (PEM) instead of the system's, or NULL */
	const atomic_bool *stop;   /* the transfer is aborted once it turns true, or NULL */
	sf_http_sink_fn sink;	   /* NULL: the body is discarded */
	void *sink_ctx;
};

struct sf_http_response {
	CURLcode curl;	/* CURLE_OK, or why the transfer failed */
	long status;	/* the HTTP status, 0 when no answer came */
	int sink_rc;	/* the sink's error that aborted the transfer, or 0 */
};

/* An http(s) URL in parts, as curl's URL parser reads it. */
struct sf_url_parts {
	char scheme[8];	       /* "http" or "https" */
	char host[256];	       /* IPv6 addresses in brackets */
	char port[8];	       /* as written; "" when the URL names none */
	char default_port[8];  /* port, or the scheme's */
	char path[1024];       /* "/" at least */
	char origin[300];      /* scheme://host[:port] (the port only when written) */
};

/* Splits an http:// or https:// URL with a host. 0, -EINVAL (another scheme,
 * no host, not a URL), -ENAMETOOLONG or -ENOMEM. */
int sf_url_split(const char *url, struct sf_url_parts *p);

/* curl's global set-up (not thread-safe: call it before any thread). */
int sf_http_global_init(void);
void sf_http_global_cleanup(void);

/*
 * Performs req on c (reset first; NULL: a handle of its own, for this call
 * only) and fills resp. 0 when the transfer completed (any status, unless
 * fail_on_error); -ECANCELED when *stop turned true; the sink's error;
 * -ENOMEM when the request could not be set up; -EIO for a failed transfer
 * (resp says why: sf_http_transient, sf_http_strerror).
 */
int sf_http_perform(CURL *c, const struct sf_http_request *req, struct sf_http_response *resp);

/* Whether an answer with this status may pass later: 408, 429 and 5xx. */
bool sf_http_status_transient(long status);
/* Whether a failed request may pass when tried again: a transient status
 * (sf_http_status_transient), or a transfer that failed below HTTP. The
 * sink's refusals and a stop are not: the caller knows better. */
bool sf_http_transient(const struct sf_http_response *resp);
/* What went wrong with the transfer, in curl's words. */
const char *sf_http_strerror(const struct sf_http_response *resp);

/* The body in memory: at most max bytes (0: no bound), more is -EFBIG. */
struct sf_http_mem_sink {
	struct sf_buf buf;
	long long max;
};
int sf_http_mem_sink_write(void *ctx, const char *data, size_t len);
void sf_http_mem_sink_free(struct sf_http_mem_sink *s);

/* The body written to fd (when fd >= 0) while its SHA-256 is computed; a
 * body longer than expect bytes (when expect >= 0) is not what was
 * announced: -EBADMSG, at once. */
struct sf_http_hash_sink {
	int fd;
	long long expect;
	long long got;
	struct sf_sha256 hash;
};
int sf_http_hash_sink_init(struct sf_http_hash_sink *s, int fd, long long expect);
/* Starts over for another attempt: the file truncated, a fresh digest. */
int sf_http_hash_sink_reset(struct sf_http_hash_sink *s);
int sf_http_hash_sink_write(void *ctx, const char *data, size_t len);
/* The digest of what was written; the sink is to be freed afterwards. */
int sf_http_hash_sink_final(struct sf_http_hash_sink *s, char hex[SF_SHA256_HEX + 1]);
void sf_http_hash_sink_free(struct sf_http_hash_sink *s);

#endif
