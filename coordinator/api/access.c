/* access — see access.h. */
#include "access.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "auth.h"
#include "log.h"
#include "reply.h"
#include "secret.h"

/* The client's address for the audit line. */
static void access_peer(struct MHD_Connection *c, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, outlen, "?");
	if (!i || !i->client_addr)
		return;
	const struct sockaddr *sa = i->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)outlen);
}

/* What takes a use of a token's quotas: a new scan or batch. */
static bool access_is_submission(const char *url, const char *method)
{
	return strcmp(method, "POST") == 0 &&
	       (strcmp(url, "/v1/scans") == 0 || strcmp(url, "/v1/batches") == 0 ||
		strncmp(url, "/monitor/project/", 17) == 0);
}

/* The body size the client announced, or -1. */
static long long access_content_length(struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	char *end;
	long long n = v ? strtoll(v, &end, 10) : -1;
	return v && end != v && *end == '\0' && n >= 0 ? n : -1;
}

/* A submission with token t: one use of its quotas, or the 429 (411) that
 * says why not. */
static bool access_quota(const struct sf_access_config *cfg, PGconn *db,
			 const struct sf_auth_token *t, struct MHD_Connection *c,
			 const char *what, const char *peer, enum MHD_Result *reply)
{
	int spm = t->submissions_per_minute >= 0 ? t->submissions_per_minute
						 : cfg->submissions_per_minute;
	long long bpd = t->bytes_per_day >= 0 ? t->bytes_per_day : cfg->bytes_per_day;
	long long bytes = access_content_length(c);
	if (spm == 0 && bpd == 0)
		return true;
	if (bpd > 0 && bytes < 0) {
		sf_info("audit: token %lld (%s) from %s: %s refused: no Content-Length", t->id,
			t->name, peer, what);
		*reply = sf_reply_error(c, MHD_HTTP_LENGTH_REQUIRED, "length_required",
					"this token has a byte quota: send Content-Length");
		return false;
	}
	char refused[32], msg[160], retry[16];
	int retry_after = 0;
	if (sf_auth_quota_take(db, t->id, spm, bpd, bytes > 0 ? bytes : 0, refused,
			       sizeof(refused), &retry_after)) {
		*reply = sf_reply_error(c, 503, "database_unavailable",
					"cannot check the token's quota; retry");
		return false;
	}
	if (!refused[0])
		return true;
	sf_info("audit: token %lld (%s) from %s: %s refused: %s quota spent, retry in %d s", t->id,
		t->name, peer, what, refused, retry_after);
	if (strcmp(refused, "submissions") == 0)
		snprintf(msg, sizeof(msg), "quota: %d submissions a minute", spm);
	else
		snprintf(msg, sizeof(msg), "quota: %lld bytes a day", bpd);
	snprintf(retry, sizeof(retry), "%d", retry_after);
	json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s},s:i}", "status", "error", "reason", msg,
				 "error", "code", "quota_exceeded", "message", msg, "retry_after",
				 retry_after);
	*reply = sf_reply_json_header(c, MHD_HTTP_TOO_MANY_REQUESTS, body, "Retry-After", retry);
	return false;
}

bool sf_access_allowed(const struct sf_access_config *cfg, struct sf_db_pool *pool,
		       struct MHD_Connection *c, const char *url, const char *method,
		       enum MHD_Result *reply)
{
	const char *header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (strncmp(url, "/v1/artifacts/", 14) == 0) {
		/* workers only: the shared worker secret */
		if (!cfg->worker_secret ||
		    sf_secret_equal(sf_auth_bearer(header), cfg->worker_secret))
			return true;
		*reply = sf_reply_error(c, 401, "unauthorized",
					"artifact downloads need the worker secret");
		return false;
	}
	bool v1 = strncmp(url, "/v1/", 4) == 0;
	bool ph = strcmp(url, "/") == 0 || strncmp(url, "/monitor/", 9) == 0;
	if (!((v1 && cfg->auth) || (ph && cfg->auth_package_hunter)))
		return true;
	bool ok = false, allowed = true;
	struct sf_auth_token t;
	char peer[64], what[300];
	access_peer(c, peer, sizeof(peer));
	snprintf(what, sizeof(what), "%s %.280s", method, url);
	PGconn *db = sf_db_get(pool);
	int rc = sf_auth_check_bearer(db, header, &ok, &t);
	if (!rc && ok) {
		sf_info("audit: token %lld (%s) from %s: %s", t.id, t.name, peer, what);
		if (access_is_submission(url, method))
			allowed = access_quota(cfg, db, &t, c, what, peer, reply);
	}
	sf_db_put(pool, db);
	if (rc) {
		*reply = sf_reply_error(c, 503, "database_unavailable",
					"cannot check the token; retry");
		return false;
	}
	if (!ok) {
		sf_info("audit: no valid token from %s: %s refused", peer, what);
		*reply = sf_reply_error(c, 401, "unauthorized",
					"an API token is required: Authorization: Bearer <token>");
		return false;
	}
	return allowed;
}
