/* routes — see routes.h. */
#include "routes.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "bulk.h"
#include "jobs.h"
#include "log.h"
#include "query.h"
#include "reply.h"
#include "report.h"
#include "util.h"
#include "workers.h"

/* A route's handler; rest is the URL after the route's path, q its query
 * read and checked (query.h). */
typedef enum MHD_Result (*routes_fn)(struct sf_routes *r, struct MHD_Connection *c,
				     const char *rest, const struct sf_query *q, void **con_cls);

/* ------------------------------------------------------------- reports */

/* The page's cursor: NULL for the first page. */
static const char *routes_cursor(const struct sf_query *q)
{
	return q->given & (1u << SF_QP_CURSOR) ? q->cursor : NULL;
}

static enum MHD_Result routes_scan_report(struct sf_routes *r, struct MHD_Connection *c,
					  const char *id, bool package_hunter)
{
	if (!id || !sf_is_uuid(id))
		return sf_reply_error(c, 404, "not_found", "no scan with that id");
	json_t *out = NULL;
	PGconn *db = sf_db_get(r->pool);
	int rc = package_hunter ? sf_report_package_hunter(db, id, &out)
				: sf_report_v1(db, id, &out);
	sf_db_put(r->pool, db);
	if (rc == -ENOENT)
		return sf_reply_error(c, 404, "not_found", "no scan with that id");
	if (rc)
		return sf_reply_error(c, 503, "database_unavailable", "please retry");
	return sf_reply_json(c, 200, out);
}

/* GET /?id=<uuid> */
static enum MHD_Result routes_ph_report(struct sf_routes *r, struct MHD_Connection *c,
					const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)rest;
	(void)con_cls;
	return routes_scan_report(r, c, q->id[0] ? q->id : NULL, true);
}

/* GET /v1/scans/<uuid> */
static enum MHD_Result routes_report(struct sf_routes *r, struct MHD_Connection *c,
				     const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)q;
	(void)con_cls;
	return routes_scan_report(r, c, rest, false);
}

/* GET /v1/scans?status=&artifact=&limit=&cursor= */
static enum MHD_Result routes_list(struct sf_routes *r, struct MHD_Connection *c,
				   const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)rest;
	(void)con_cls;
	json_t *out = NULL;
	PGconn *db = sf_db_get(r->pool);
	int rc = sf_report_list(db, q->status[0] ? q->status : NULL,
				q->artifact[0] ? q->artifact : NULL, q->limit, routes_cursor(q), &out);
	sf_db_put(r->pool, db);
	return sf_reply_page(c, rc, out, NULL);
}

/* GET /v1/scans/<id>/alerts?limit=&cursor=&priority=&rule= */
static enum MHD_Result routes_alerts(struct sf_routes *r, struct MHD_Connection *c,
				     const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)con_cls;
	char id[SF_UUID_LEN + 1];
	sf_strlcpy(id, rest, sizeof(id));
	if (!sf_is_uuid(id))
		return sf_reply_error(c, 404, "not_found", "no scan with that id");
	json_t *out = NULL;
	PGconn *db = sf_db_get(r->pool);
	int rc = sf_report_alerts_page(db, id, q->min_rank, q->rule[0] ? q->rule : NULL, q->limit,
				       routes_cursor(q), &out);
	sf_db_put(r->pool, db);
	return sf_reply_page(c, rc, out, "no scan with that id");
}

/* POST /v1/scans/<id>/cancel */
static enum MHD_Result routes_cancel(struct sf_routes *r, struct MHD_Connection *c,
				     const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)q;
	(void)con_cls;
	char id[SF_UUID_LEN + 1];
	sf_strlcpy(id, rest, sizeof(id));
	if (!sf_is_uuid(id))
		return sf_reply_error(c, 404, "not_found", "no scan with that id");
	PGconn *db = sf_db_get(r->pool);
	int rc = sf_jobs_cancel(db, id);
	sf_db_put(r->pool, db);
	if (rc == -ENOENT)
		return sf_reply_error(c, 404, "not_found", "no scan with that id");
	if (rc == -EALREADY)
		return sf_reply_error(c, 409, "already_ended", "the scan has already ended");
	if (rc)
		return sf_reply_error(c, 503, "database_unavailable", "please retry");
	sf_info("scan %s cancelled", id);
	return sf_reply_json(c, 200, json_pack("{s:s,s:s}", "status", "cancelled", "id", id));
}

/* GET /v1/batches/<id>?limit=&cursor= */
static enum MHD_Result routes_batch(struct sf_routes *r, struct MHD_Connection *c,
				    const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)con_cls;
	if (!sf_is_uuid(rest))
		return sf_reply_error(c, 404, "not_found", "no batch with that id");
	json_t *out = NULL;
	PGconn *db = sf_db_get(r->pool);
	int rc = sf_bulk_view(db, rest, q->limit, routes_cursor(q), &out);
	sf_db_put(r->pool, db);
	return sf_reply_page(c, rc, out, "no batch with that id");
}

/* ------------------------------------------------------------- bodies */

/* POST /monitor/project/<ecosystem> */
static enum MHD_Result routes_ph_submit(struct sf_routes *r, struct MHD_Connection *c,
					const char *rest, const struct sf_query *q, void **con_cls)
{
	return sf_api_upload_scan_start(r->uploads, c, rest, q, false, con_cls);
}

/* POST /v1/scans?ecosystem= */
static enum MHD_Result routes_submit(struct sf_routes *r, struct MHD_Connection *c,
				     const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)rest;
	return sf_api_upload_scan_start(r->uploads, c, q->ecosystem, q, true, con_cls);
}

static enum MHD_Result routes_batch_submit(struct sf_routes *r, struct MHD_Connection *c,
					   const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)rest;
	return sf_api_upload_batch_start(r->uploads, c, q, con_cls);
}

static enum MHD_Result routes_artifact_upload(struct sf_routes *r, struct MHD_Connection *c,
					      const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)rest;
	(void)q;
	return sf_api_upload_artifact_start(r->uploads, c, con_cls);
}

/* ------------------------------------------------ workers, probes, bytes */

/* GET /v1/artifacts/<sha256> */
static enum MHD_Result routes_artifact(struct sf_routes *r, struct MHD_Connection *c,
				       const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)q;
	(void)con_cls;
	int fd;
	long long size;
	if (sf_store_open_artifact(r->store, rest, &fd, &size) != 0)
		return sf_reply_error(c, 404, "not_found", "no artifact with that sha256");
	struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* GET /v1/workers: the pool as the workers' heartbeats describe it. */
static enum MHD_Result routes_workers(struct sf_routes *r, struct MHD_Connection *c,
				      const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)q;
	(void)rest;
	(void)con_cls;
	json_t *list = NULL;
	PGconn *db = sf_db_get(r->pool);
	int rc = sf_workers_list(db, r->worker_live_s, &list);
	sf_db_put(r->pool, db);
	if (rc)
		return sf_reply_error(c, 503, "database_unavailable", "please retry");
	return sf_reply_json(c, 200, json_pack("{s:o}", "workers", list));
}

/* GET /readyz: ready to take submissions — the database answers and the
 * artifact store is writable. /healthz only says the process is up. */
static enum MHD_Result routes_readyz(struct sf_routes *r, struct MHD_Connection *c,
				     const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)q;
	(void)rest;
	(void)con_cls;
	PGconn *db = sf_db_get(r->pool);
	int rc = sf_db_ping(db);
	sf_db_put(r->pool, db);
	if (rc)
		return sf_reply_error(c, 503, "database_unavailable", "PostgreSQL does not answer");
	if (sf_store_writable(r->store) != 0)
		return sf_reply_error(c, 503, "store_unavailable",
				      "the artifact store is not writable");
	return sf_reply_json(c, 200, json_pack("{s:s}", "status", "ready"));
}

static enum MHD_Result routes_metrics(struct sf_routes *r, struct MHD_Connection *c,
				      const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)q;
	(void)rest;
	(void)con_cls;
	return sf_metrics_reply(r->metrics, r->pool, c);
}

static enum MHD_Result routes_healthz(struct sf_routes *r, struct MHD_Connection *c,
				      const char *rest, const struct sf_query *q, void **con_cls)
{
	(void)q;
	(void)r;
	(void)rest;
	(void)con_cls;
	return sf_reply_json(c, 200, json_pack("{s:s}", "status", "ok"));
}

/* -------------------------------------------------------------- table */

enum routes_match {
	ROUTES_EXACT,	   /* the URL is the path */
	ROUTES_COLLECTION, /* the path, with or without a trailing slash */
	ROUTES_PREFIX,	   /* the path, then anything (the handler's rest) */
	ROUTES_ID_SUFFIX,  /* the path, an id of SF_UUID_LEN characters, the suffix */
};

/* A handler and the parameters its query may hold (query.h). */
struct routes_handler {
	routes_fn fn;
	enum sf_query_route query;
};

struct routes_route {
	enum routes_match match;
	const char *path;
	const char *suffix;	    /* ROUTES_ID_SUFFIX */
	struct routes_handler get;  /* GET and HEAD */
	struct routes_handler post;
	struct routes_handler put;
	struct routes_handler any; /* every method */
	const char *use;	   /* 405 for other methods, saying what to use; NULL: 404 */
};

#define ROUTES_H(fn, query) {fn, SF_QUERY_##query}

/* In order: the first route whose URL and method match answers. */
static const struct routes_route routes_table[] = {
    {ROUTES_PREFIX, "/monitor/project/", NULL, .post = ROUTES_H(routes_ph_submit, PH_SUBMIT),
     .use = "use POST"},
    {ROUTES_EXACT, "/", NULL, .get = ROUTES_H(routes_ph_report, PH_REPORT), .use = "use GET"},
    {ROUTES_COLLECTION, "/v1/scans", NULL, .get = ROUTES_H(routes_list, SCAN_LIST),
     .post = ROUTES_H(routes_submit, SCAN_SUBMIT), .use = "use GET or POST"},
    {ROUTES_ID_SUFFIX, "/v1/scans/", "/cancel", .post = ROUTES_H(routes_cancel, NONE),
     .use = "use POST"},
    {ROUTES_ID_SUFFIX, "/v1/scans/", "/alerts", .get = ROUTES_H(routes_alerts, ALERTS),
     .use = "use GET"},
    {ROUTES_PREFIX, "/v1/scans/", NULL, .get = ROUTES_H(routes_report, NONE), .use = "use GET"},
    {ROUTES_COLLECTION, "/v1/batches", NULL, .post = ROUTES_H(routes_batch_submit, BATCH_SUBMIT),
     .use = "use POST"},
    {ROUTES_PREFIX, "/v1/batches/", NULL, .get = ROUTES_H(routes_batch, BATCH_VIEW),
     .use = "use GET"},
    {ROUTES_EXACT, "/v1/artifacts", NULL, .post = ROUTES_H(routes_artifact_upload, NONE),
     .put = ROUTES_H(routes_artifact_upload, NONE), .use = "use POST or PUT"},
    {ROUTES_PREFIX, "/v1/artifacts/", NULL, .get = ROUTES_H(routes_artifact, NONE),
     .use = "use GET"},
    {ROUTES_EXACT, "/metrics", NULL, .get = ROUTES_H(routes_metrics, IGNORED)},
    {ROUTES_EXACT, "/v1/workers", NULL, .get = ROUTES_H(routes_workers, NONE)},
    {ROUTES_EXACT, "/readyz", NULL, .get = ROUTES_H(routes_readyz, IGNORED)},
    {ROUTES_EXACT, "/healthz", NULL, .any = ROUTES_H(routes_healthz, IGNORED)},
};

static bool routes_match_url(const struct routes_route *rt, const char *url)
{
	size_t plen = strlen(rt->path);
	switch (rt->match) {
	case ROUTES_EXACT:
		return strcmp(url, rt->path) == 0;
	case ROUTES_COLLECTION:
		return strncmp(url, rt->path, plen) == 0 &&
		       (url[plen] == '\0' || strcmp(url + plen, "/") == 0);
	case ROUTES_PREFIX:
		return strncmp(url, rt->path, plen) == 0;
	case ROUTES_ID_SUFFIX:
		return strncmp(url, rt->path, plen) == 0 &&
		       strlen(url) == plen + SF_UUID_LEN + strlen(rt->suffix) &&
		       strcmp(url + plen + SF_UUID_LEN, rt->suffix) == 0;
	}
	return false;
}

static struct routes_handler routes_handler(const struct routes_route *rt, const char *method)
{
	static const struct routes_handler none = {NULL, SF_QUERY_NONE};
	if (rt->any.fn)
		return rt->any;
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return rt->get;
	if (strcmp(method, "POST") == 0)
		return rt->post;
	if (strcmp(method, "PUT") == 0)
		return rt->put;
	return none;
}

/* The route that answers url and method: its index with *h (h->fn NULL:
 * the method is not allowed, *use says what is), or -1 for no route. */
static int routes_find(const char *url, const char *method, struct routes_handler *h,
		       const char **use)
{
	for (size_t i = 0; i < sizeof(routes_table) / sizeof(routes_table[0]); i++) {
		const struct routes_route *rt = &routes_table[i];
		if (!routes_match_url(rt, url))
			continue;
		*h = routes_handler(rt, method);
		*use = rt->use;
		if (h->fn || rt->use)
			return (int)i;
	}
	h->fn = NULL;
	*use = NULL;
	return -1;
}

int sf_routes_lookup(const char *url, const char *method, size_t *rest,
		     enum sf_query_route *query)
{
	struct routes_handler h;
	const char *use;
	int i = routes_find(url, method, &h, &use);
	if (i < 0)
		return 404;
	*rest = strlen(routes_table[i].path);
	*query = h.query;
	return h.fn ? 0 : 405;
}

enum MHD_Result sf_routes_answer(struct sf_routes *r, struct MHD_Connection *c, const char *url,
				 const char *method, void **con_cls)
{
	struct routes_handler h;
	const char *use;
	int i = routes_find(url, method, &h, &use);
	if (i < 0)
		return sf_reply_error(c, 404, "not_found", "no such route");
	if (!h.fn)
		return sf_reply_error(c, 405, "method_not_allowed", use);
	/* the query is read before anything else, so that a handler sees
	 * only checked parameters (and no body is taken for a bad query) */
	struct sf_query q;
	struct sf_query_error err;
	if (sf_query_read(c, h.query, &q, &err) != 0)
		return sf_reply_error(c, 400, err.code, err.message);
	return h.fn(r, c, url + strlen(routes_table[i].path), &q, con_cls);
}
