/* gateway — see gateway.h. */
#include "gateway.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_client.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#define GATEWAY_AUTH_MAX SF_SECRET_AUTH_MAX
#define GATEWAY_CONNECTIONS 64

struct sf_gateway {
	struct MHD_Daemon *daemon;
	char origin[1024]; /* scheme://host[:port] of the registry */
	char prefix[1024]; /* the registry's path, ending in '/' */
	char url[1200];	   /* what the sandbox is given */
	char local[64];	   /* http://127.0.0.1:<port> */
	char auth[GATEWAY_AUTH_MAX];
	char ca_file[4096];
	char dir[4096];
	uint64_t requests;
};

/* The registry URL split into the origin the gateway swaps in and the path
 * every forwarded request must lie under. */
static int gateway_parse(struct sf_gateway *g, const char *registry, char *err, size_t errlen)
{
	struct sf_url_parts u;
	int rc = sf_url_split(registry, &u);
	if (rc) {
		snprintf(err, errlen, "registry %s: %s", registry,
			 rc == -EINVAL ? "not an http(s) URL with a host" : "URL too long");
		return rc;
	}
	size_t plen = strlen(u.path);
	int n = snprintf(g->prefix, sizeof(g->prefix), "%s%s", u.path,
			 plen && u.path[plen - 1] == '/' ? "" : "/");
	if (n < 0 || (size_t)n >= sizeof(g->prefix) ||
	    sf_strlcpy(g->origin, u.origin, sizeof(g->origin))) {
		snprintf(err, errlen, "registry %s: URL too long", registry);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Whether the sandbox may ask for path: under the registry's path, one
 * line of printable bytes, no dot segment (encoded or not) that could climb
 * out of it on the registry's side. */
static bool gateway_path_ok(const struct sf_gateway *g, const char *path)
{
	if (strncmp(path, g->prefix, strlen(g->prefix)) != 0)
		return false;
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '\\')
			return false;
	if (strcasestr(path, "%2e") || strstr(path, "/../") || strstr(path, "/./"))
		return false;
	size_t n = strlen(path);
	return !(n >= 3 && strcmp(path + n - 3, "/..") == 0) &&
	       !(n >= 2 && strcmp(path + n - 2, "/.") == 0);
}

struct gateway_fetch {
	int fd;
	long long bytes;
	bool too_big;
};

static size_t gateway_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct gateway_fetch *f = arg;
	size_t n = size * nmemb;
	if (f->bytes + (long long)n > SF_GATEWAY_MAX_BYTES) {
		f->too_big = true;
		return 0;
	}
	if (sf_write_all(f->fd, data, n) != 0)
		return 0;
	f->bytes += (long long)n;
	return n;
}

/* An unlinked file in dir for one response. */
static int gateway_tmpfile(const struct sf_gateway *g)
{
	int fd = open(g->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd < 0 ? -errno : fd;
	char path[4200];
	snprintf(path, sizeof(path), "%s/gateway-XXXXXX", g->dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

/* Fetches origin + path with the credential into f->fd; 0 with *status and
 * ctype (the registry's Content-Type, possibly empty) set, or -EIO with
 * why filled. */
static int gateway_fetch(const struct sf_gateway *g, const char *path, bool head,
			 const char *accept, struct gateway_fetch *f, long *status, char *ctype,
			 size_t ctypelen, char *why, size_t whylen)
{
	char url[4096], authline[GATEWAY_AUTH_MAX + 32], acceptline[1024];
	if (snprintf(url, sizeof(url), "%s%s", g->origin, path) >= (int)sizeof(url)) {
		snprintf(why, whylen, "path too long");
		return -EIO;
	}
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL, *h2 = NULL;
	snprintf(authline, sizeof(authline), "Authorization: %s", g->auth);
	if (!c || !(h = curl_slist_append(NULL, authline))) {
		curl_easy_cleanup(c);
		snprintf(why, whylen, "out of memory");
		return -EIO;
	}
	explicit_bzero(authline, sizeof(authline));
	if (accept && !strpbrk(accept, "\r\n") &&
	    snprintf(acceptline, sizeof(acceptline), "Accept: %s", accept) < (int)sizeof(acceptline) &&
	    (h2 = curl_slist_append(h, acceptline)))
		h = h2;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOBODY, head ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gateway_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* a redirect to another host gets no Authorization header */
	curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* served decoded */
	curl_easy_setopt(c, CURLOPT_USERAGENT, "npm-registry-gateway");
	if (g->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, g->ca_file);
	CURLcode cc = curl_easy_perform(c);
	int rc = 0;
	if (cc != CURLE_OK) {
		snprintf(why, whylen, "%s", f->too_big ? "response over the gateway's size limit"
						       : curl_easy_strerror(cc));
		rc = -EIO;
	} else {
		char *ct = NULL;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
		sf_strlcpy(ctype, ct && !strpbrk(ct, "\r\n") ? ct : "", ctypelen);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

static enum MHD_Result gateway_reply_text(struct MHD_Connection *conn, unsigned status,
					  const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result gateway_forward(struct sf_gateway *g, struct MHD_Connection *conn,
				       const char *path, bool head)
{
	int fd = gateway_tmpfile(g);
	if (fd < 0)
		return gateway_reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
					  "gateway: no temporary file\n");
	struct gateway_fetch f = {.fd = fd};
	long status = 0;
	char ctype[256], why[512];
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
	__atomic_add_fetch(&g->requests, 1, __ATOMIC_RELAXED);
	if (gateway_fetch(g, path, head, accept, &f, &status, ctype, sizeof(ctype), why,
			  sizeof(why))) {
		close(fd);
		sf_warn("registry gateway: GET %s%s: %s", g->origin, path, why);
		char text[640];
		snprintf(text, sizeof(text), "gateway: the registry did not answer: %s\n", why);
		return gateway_reply_text(conn, MHD_HTTP_BAD_GATEWAY, text);
	}
	if (status < 100 || status > 599)
		status = MHD_HTTP_BAD_GATEWAY;
	/* MHD closes fd with the response */
	struct MHD_Response *r = MHD_create_response_from_fd_at_offset64((uint64_t)f.bytes, fd, 0);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	if (ctype[0])
		MHD_add_response_header(r, "Content-Type", ctype);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result gateway_handle(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	static int started;
	struct sf_gateway *g = cls;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) { /* headers only: wait for the (empty) body */
		*con_cls = &started;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0)
		return gateway_reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "gateway: only GET and HEAD reach the registry\n");
	if (!gateway_path_ok(g, url))
		return gateway_reply_text(conn, MHD_HTTP_FORBIDDEN,
					  "gateway: not under the registry's path\n");
	return gateway_forward(g, conn, url, head);
}

/* Paths are passed on as the package manager wrote them (%2f in a scoped
 * name included). */
static size_t gateway_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static int gateway_read_auth(struct sf_gateway *g, const char *auth_file, char *err,
			     size_t errlen)
{
	int rc = sf_secret_read_auth(auth_file, g->auth, sizeof(g->auth));
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s: not one line holding a token or an Authorization value",
			 auth_file);
	else if (rc)
		snprintf(err, errlen, "cannot read %s: %s", auth_file, strerror(-rc));
	return rc;
}

int sf_gateway_start(struct sf_gateway **out, const char *registry, const char *auth_file,
		     const char *ca_file, const char *dir, char *err, size_t errlen)
{
	struct sf_gateway *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	int rc;
	if ((rc = gateway_parse(g, registry, err, errlen)) ||
	    (rc = gateway_read_auth(g, auth_file, err, errlen)))
		goto fail;
	if (sf_strlcpy(g->dir, dir, sizeof(g->dir)) ||
	    (ca_file && sf_strlcpy(g->ca_file, ca_file, sizeof(g->ca_file)))) {
		snprintf(err, errlen, "path too long");
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if ((rc = sf_mkdirs(dir, 0700))) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
		goto fail;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	g->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, gateway_handle, g, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)GATEWAY_CONNECTIONS, MHD_OPTION_UNESCAPE_CALLBACK, gateway_unescape, NULL,
	    MHD_OPTION_END);
	const union MHD_DaemonInfo *info =
	    g->daemon ? MHD_get_daemon_info(g->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info) {
		snprintf(err, errlen, "cannot listen on the loopback");
		rc = -EADDRINUSE;
		goto fail;
	}
	snprintf(g->local, sizeof(g->local), "http://127.0.0.1:%u", (unsigned)info->port);
	snprintf(g->url, sizeof(g->url), "%s%s", g->local, g->prefix);
	*out = g;
	return 0;
fail:
	sf_gateway_stop(g);
	return rc;
}

const char *sf_gateway_url(const struct sf_gateway *g) { return g->url; }
const char *sf_gateway_origin(const struct sf_gateway *g) { return g->local; }
const char *sf_gateway_registry_origin(const struct sf_gateway *g) { return g->origin; }

uint64_t sf_gateway_requests(const struct sf_gateway *g)
{
	return __atomic_load_n(&g->requests, __ATOMIC_RELAXED);
}

void sf_gateway_stop(struct sf_gateway *g)
{
	if (!g)
		return;
	if (g->daemon)
		MHD_stop_daemon(g->daemon);
	explicit_bzero(g->auth, sizeof(g->auth));
	free(g);
}
