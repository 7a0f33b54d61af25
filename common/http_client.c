/* http_client — see http_client.h. */
#include "http_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The sink behind curl's write callback, and what it said. */
struct http_client_writer {
	sf_http_sink_fn sink;
	void *ctx;
	int rc;
};

static size_t http_client_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_client_writer *w = userp;
	size_t n = size * nmemb;
	if (!w->sink)
		return n;
	if ((w->rc = w->sink(w->ctx, data, n)))
		return 0;
	return n;
}

static int http_client_progress(void *p, curl_off_t dltotal, curl_off_t dlnow,
				curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	const atomic_bool *stop = p;
	return stop && atomic_load(stop) ? 1 : 0;
}

int sf_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void sf_http_global_cleanup(void)
{
	curl_global_cleanup();
}

/* The request's header lines; *out stays NULL when there are none. */
static int http_client_headers(const struct sf_http_request *req, struct curl_slist **out)
{
	struct curl_slist *h = NULL, *next;
	*out = NULL;
	if (req->bearer) {
		struct sf_buf auth = {0};
		int rc = sf_buf_appendf(&auth, "Authorization: Bearer %s", req->bearer);
		next = rc ? NULL : curl_slist_append(h, auth.data);
		sf_buf_free(&auth);
		if (!next)
			return -ENOMEM;
		h = next;
	}
	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		if (!(next = curl_slist_append(h, req->headers[i]))) {
			curl_slist_free_all(h);
			return -ENOMEM;
		}
		h = next;
	}
	*out = h;
	return 0;
}

/* Sets every option of req on c (freshly reset). */
static void http_client_setup(CURL *c, const struct sf_http_request *req,
			      struct http_client_writer *w, struct curl_slist *headers)
{
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_client_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	if (req->fail_on_error)
		curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	if (req->follow_redirects) {
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	if (req->connect_timeout_s)
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req->connect_timeout_s);
	if (req->low_speed_time_s) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req->low_speed_time_s);
	}
	if (req->timeout_s)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout_s);
	if (req->user_agent)
		curl_easy_setopt(c, CURLOPT_USERAGENT, req->user_agent);
	if (req->any_encoding)
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (req->stop) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, http_client_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)req->stop);
	}
	if (req->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
	} else if (req->upload) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READDATA, req->upload);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->upload_size);
	}
	if (req->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
	if (headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
}

int sf_http_perform(CURL *c, const struct sf_http_request *req, struct sf_http_response *resp)
{
	struct http_client_writer w = {.sink = req->sink, .ctx = req->sink_ctx};
	struct curl_slist *headers = NULL;
	CURL *own = NULL;
	*resp = (struct sf_http_response){.curl = CURLE_FAILED_INIT};
	int rc = http_client_headers(req, &headers);
	if (rc)
		return rc;
	if (c) {
		curl_easy_reset(c);
	} else if (!(c = own = curl_easy_init())) {
		curl_slist_free_all(headers);
		return -ENOMEM;
	}
	http_client_setup(c, req, &w, headers);
	resp->curl = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->sink_rc = w.rc;
	/* the list must outlive the transfer, not the handle's next use */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (own)
		curl_easy_cleanup(own);
	if (req->stop && atomic_load(req->stop))
		return -ECANCELED;
	if (resp->sink_rc)
		return resp->sink_rc;
	return resp->curl == CURLE_OK ? 0 : -EIO;
}

bool sf_http_status_transient(long status)
{
	return status == 408 || status == 429 || status >= 500;
}

bool sf_http_transient(const struct sf_http_response *resp)
{
	if (resp->sink_rc)
		return false;
	switch (resp->curl) {
	case CURLE_OK:
	case CURLE_HTTP_RETURNED_ERROR:
		return sf_http_status_transient(resp->status);
	case CURLE_ABORTED_BY_CALLBACK: /* a stop */
	case CURLE_WRITE_ERROR:		/* the sink refused */
		return false;
	default:
		return true;
	}
}

const char *sf_http_strerror(const struct sf_http_response *resp)
{
	return curl_easy_strerror(resp->curl);
}

/* ----------------------------------------------------------------- sinks */

int sf_http_mem_sink_write(void *ctx, const char *data, size_t len)
{
	struct sf_http_mem_sink *s = ctx;
	if (s->max > 0 && (long long)(s->buf.len + len) > s->max)
		return -EFBIG;
	return sf_buf_append(&s->buf, data, len);
}

void sf_http_mem_sink_free(struct sf_http_mem_sink *s)
{
	sf_buf_free(&s->buf);
}

int sf_http_hash_sink_init(struct sf_http_hash_sink *s, int fd, long long expect)
{
	*s = (struct sf_http_hash_sink){.fd = fd, .expect = expect};
	return sf_sha256_init(&s->hash);
}

int sf_http_hash_sink_reset(struct sf_http_hash_sink *s)
{
	sf_sha256_free(&s->hash);
	s->got = 0;
	int rc = sf_sha256_init(&s->hash);
	if (rc)
		return rc;
	if (s->fd >= 0 && (ftruncate(s->fd, 0) != 0 || lseek(s->fd, 0, SEEK_SET) != 0))
		return -errno;
	return 0;
}

int sf_http_hash_sink_write(void *ctx, const char *data, size_t len)
{
	struct sf_http_hash_sink *s = ctx;
	int rc;
	if (s->expect >= 0 && s->got + (long long)len > s->expect)
		return -EBADMSG; /* more bytes than announced: stop now */
	if ((s->fd >= 0 && (rc = sf_write_all(s->fd, data, len))) ||
	    (rc = sf_sha256_update(&s->hash, data, len)))
		return rc;
	s->got += (long long)len;
	return 0;
}

int sf_http_hash_sink_final(struct sf_http_hash_sink *s, char hex[SF_SHA256_HEX + 1])
{
	return sf_sha256_final(&s->hash, hex);
}

void sf_http_hash_sink_free(struct sf_http_hash_sink *s)
{
	sf_sha256_free(&s->hash);
}

int sf_url_split(const char *url, struct sf_url_parts *p)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *dport = NULL, *path = NULL;
	int rc = -EINVAL;
	if (!u)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &dport, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK || !host[0] ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		goto out;
	curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: NULL */
	int n = snprintf(p->origin, sizeof(p->origin), "%s://%s%s%s", scheme, host,
			 port ? ":" : "", port ? port : "");
	rc = sf_strlcpy(p->scheme, scheme, sizeof(p->scheme)) ||
		     sf_strlcpy(p->host, host, sizeof(p->host)) ||
		     sf_strlcpy(p->port, port ? port : "", sizeof(p->port)) ||
		     sf_strlcpy(p->default_port, dport, sizeof(p->default_port)) ||
		     sf_strlcpy(p->path, path, sizeof(p->path)) || n < 0 ||
		     (size_t)n >= sizeof(p->origin)
		 ? -ENAMETOOLONG
		 : 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(dport);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}
