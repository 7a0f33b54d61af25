/* upload — see upload.h. */
#include "upload.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "inspect.h"
#include "log.h"
#include "reply.h"

/* A request with a body begins: counted until sf_api_upload_done. */
static enum MHD_Result upload_begin(struct sf_api_uploads *u, struct sf_api_upload *req,
				    void **con_cls)
{
	*con_cls = req;
	atomic_fetch_add(&u->in_progress, 1);
	return MHD_YES;
}

/* The bytes of a scan or an artifact go to the store as they come. */
static enum MHD_Result upload_store_begin(struct sf_api_uploads *u, struct MHD_Connection *c,
					  struct sf_api_upload *req, void **con_cls)
{
	int rc = sf_upload_begin(u->store, u->cfg.max_upload, &req->up);
	if (rc) {
		free(req);
		return sf_reply_store_error(c, rc);
	}
	req->uploading = true;
	return upload_begin(u, req, con_cls);
}

static bool upload_too_large(struct MHD_Connection *c, long long max)
{
	const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	return len && max > 0 && strtoll(len, NULL, 10) > max;
}

/* The ecosystem a submission route names: /v1 takes npm, pypi and
 * rubygems; Package Hunter's /monitor/project/<ecosystem> its own two
 * names, npm and bundler (a Gemfile project: rubygems). NULL: none. */
static const char *upload_ecosystem(const char *named, bool v1)
{
	if (!named)
		return NULL;
	if (strcmp(named, "npm") == 0)
		return "npm";
	if (v1 && (strcmp(named, "pypi") == 0 || strcmp(named, "rubygems") == 0))
		return named;
	if (!v1 && strcmp(named, "bundler") == 0)
		return "rubygems";
	return NULL;
}

enum MHD_Result sf_api_upload_scan_start(struct sf_api_uploads *u, struct MHD_Connection *c,
					 const char *named, const struct sf_query *q, bool v1,
					 void **con_cls)
{
	const char *ecosystem = upload_ecosystem(named, v1);
	if (!ecosystem)
		return sf_reply_error(c, 400, "unsupported_ecosystem",
				      v1 ? "ecosystem must be npm, pypi or rubygems"
					 : "Package Hunter's routes are /monitor/project/npm and"
					   " /monitor/project/bundler");
	if (upload_too_large(c, u->cfg.max_upload))
		return sf_reply_error(c, 413, "too_large", "the upload exceeds the configured limit");
	struct sf_api_upload *req = calloc(1, sizeof(*req));
	if (!req)
		return MHD_NO;
	/* what the submission says it is, how urgent it is (/v1 only: CI
	 * before nightly bulk) and the install and import phases' network
	 * ("": the worker's default), as query.h checked them */
	sf_strlcpy(req->ecosystem, ecosystem, sizeof(req->ecosystem));
	sf_strlcpy(req->network, q->network, sizeof(req->network));
	req->v1 = v1;
	req->priority = v1 ? q->priority : 0;
	sf_strlcpy(req->name, q->name, sizeof(req->name));
	sf_strlcpy(req->version, q->version, sizeof(req->version));
	sf_strlcpy(req->labels, q->labels, sizeof(req->labels));
	req->rescan = q->rescan;
	return upload_store_begin(u, c, req, con_cls);
}

/* {"kind", "name", "version"} of an inspected body (null name and version
 * for projects). */
static json_t *upload_kind_json(const struct sf_inspection *ins)
{
	return json_pack("{s:s,s:o,s:o}", "kind", ins->kind, "name",
			 ins->name[0] ? json_string(ins->name) : json_null(), "version",
			 ins->version[0] ? json_string(ins->version) : json_null());
}

static enum MHD_Result upload_scan_finish(struct sf_api_uploads *u, struct MHD_Connection *c,
					  struct sf_api_upload *req)
{
	char sha[SF_SHA256_HEX + 1], scan_id[SF_UUID_LEN + 1];
	long long size = 0;
	req->uploading = false;
	int rc = sf_upload_commit(&req->up, sha, &size);
	if (rc)
		return sf_reply_store_error(c, rc);
	if (size == 0)
		return sf_reply_error(c, 400, "empty_body", "the request body (a tarball) is empty");
	/* bodies are judged by their content before a scan exists; a refused
	 * body's bytes stay row-less in the store, and the sweep takes them
	 * (sweep.h) */
	struct sf_inspection ins = {0};
	if (sf_inspect_ecosystem(req->ecosystem)) {
		int fd = -1;
		long long stored;
		rc = sf_store_open_artifact(u->store, sha, &fd, &stored);
		if (rc == 0) {
			rc = sf_inspect_fd(fd, req->ecosystem, &u->cfg.inspect, &ins);
			close(fd);
		}
		/* Package Hunter's npm route took any body and let the scan say
		 * what was wrong with it (GET /?id= answers "error" with the
		 * reason): it still does, so its clients see no change; the
		 * body goes to the worker without a kind, as before. */
		if (rc && rc != -ENOMEM && ins.message[0] && !req->v1 &&
		    strcmp(req->ecosystem, "npm") == 0) {
			sf_info("npm submission %s (Package Hunter's route) is not an npm package"
				" or project, left to the worker to fail: %s", sha, ins.message);
			memset(&ins, 0, sizeof(ins));
			rc = 0;
		}
		if (rc) {
			sf_info("%s submission %s refused: %s", req->ecosystem, sha,
				ins.message[0] ? ins.message : strerror(-rc));
			if (rc == -EBADMSG || rc == -EPERM)
				return sf_reply_error(c, 422, "invalid_artifact", ins.message);
			if (rc == -EFBIG)
				return sf_reply_error(c, 413, "too_large", ins.message);
			return sf_reply_store_error(c, rc);
		}
	}
	struct sf_submission sub = {.sha256 = sha,
				    .size = size,
				    .ecosystem = req->ecosystem,
				    .priority = req->priority,
				    .name = req->name[0] ? req->name : NULL,
				    .version = req->version[0] ? req->version : NULL,
				    .labels = req->labels,
				    .network = req->network[0] ? req->network : NULL,
				    .kind = ins.kind[0] ? ins.kind : NULL,
				    .detected_name = ins.name,
				    .detected_version = ins.version};
	bool cached = false;
	PGconn *db = sf_db_get(u->pool);
	rc = sf_enqueue_upload(db, &u->enqueue, &sub, req->rescan, scan_id, &cached);
	sf_db_put(u->pool, db);
	if (rc)
		return sf_reply_error(c, 503, "database_unavailable",
				      "the scan could not be recorded; please retry");
	if (cached) {
		atomic_fetch_add(&u->metrics->verdict_cache_hits, 1);
		return sf_reply_json(c, 200, json_pack("{s:s,s:s,s:b}", "status",
						       req->v1 ? "finished" : "ok", "id", scan_id,
						       "cached", 1));
	}
	if (req->v1) {
		json_t *o = json_pack("{s:s,s:s,s:b,s:s,s:s}", "status", "queued", "id", scan_id,
				      "cached", 0, "artifact", sha, "ecosystem", req->ecosystem);
		if (o && ins.kind[0])
			json_object_set_new(o, "kind", upload_kind_json(&ins));
		return sf_reply_json(c, 201, o);
	}
	return sf_reply_json(c, 200, json_pack("{s:s,s:s}", "status", "ok", "id", scan_id));
}

/* POST|PUT /v1/artifacts: the bytes go to the store exactly as a scan
 * submission's do (streamed, hashed, fsynced), but no scan is created;
 * the answer names them by sha256 for a later POST /v1/batches. */
enum MHD_Result sf_api_upload_artifact_start(struct sf_api_uploads *u,
					     struct MHD_Connection *c, void **con_cls)
{
	if (upload_too_large(c, u->cfg.max_upload))
		return sf_reply_error(c, 413, "too_large", "the upload exceeds the configured limit");
	struct sf_api_upload *req = calloc(1, sizeof(*req));
	if (!req)
		return MHD_NO;
	req->artifact = true;
	return upload_store_begin(u, c, req, con_cls);
}

static enum MHD_Result upload_artifact_finish(struct sf_api_uploads *u,
					      struct MHD_Connection *c, struct sf_api_upload *req)
{
	char sha[SF_SHA256_HEX + 1];
	long long size = 0;
	req->uploading = false;
	int rc = sf_upload_commit(&req->up, sha, &size);
	if (rc)
		return sf_reply_store_error(c, rc);
	if (size == 0)
		return sf_reply_error(c, 400, "empty_body", "the request body (a tarball) is empty");
	bool created = false;
	PGconn *db = sf_db_get(u->pool);
	rc = sf_enqueue_artifact_record(db, sha, size, &created);
	sf_db_put(u->pool, db);
	if (rc)
		return sf_reply_error(c, 503, "database_unavailable",
				      "the artifact could not be recorded; please retry");
	sf_info("artifact %s stored (%lld bytes%s)", sha, size, created ? "" : ", known");
	return sf_reply_json(c, created ? 201 : 200,
			     json_pack("{s:s,s:s,s:I,s:b}", "status", "stored", "sha256", sha,
				       "size", (json_int_t)size, "created", created));
}

/* POST /v1/batches: the body is a JSON document of bounded size, or a
 * stream (NDJSON) whose options are in the query. */
enum MHD_Result sf_api_upload_batch_start(struct sf_api_uploads *u, struct MHD_Connection *c,
					  const struct sf_query *q, void **con_cls)
{
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	if (type && strncasecmp(type, "application/x-ndjson", 20) == 0) {
		/* streamed: one item a line, no bound on the body (ndjson.h) */
		enum MHD_Result reply = MHD_NO;
		struct sf_api_upload *req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		if (!(req->ndjson = sf_ndjson_begin(u->pool, &u->bulk, q, c, &reply))) {
			free(req);
			return reply;
		}
		return upload_begin(u, req, con_cls);
	}
	/* a JSON document carries its options itself: a query beside it
	 * would be ignored, so it is refused rather than dropped */
	if (q->given)
		return sf_reply_error(c, 400, "bad_request",
				      "a JSON batch carries priority, labels, rescan and network in"
				      " its body, not in the query");
	const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	if (len && strtoll(len, NULL, 10) > u->cfg.max_batch_bytes)
		return sf_reply_error(c, 413, "too_large", "the batch exceeds --max-batch-bytes");
	struct sf_api_upload *req = calloc(1, sizeof(*req));
	if (!req)
		return MHD_NO;
	req->bulk = true;
	return upload_begin(u, req, con_cls);
}

static enum MHD_Result upload_batch_finish(struct sf_api_uploads *u, struct MHD_Connection *c,
					   struct sf_api_upload *req)
{
	if (req->overflow)
		return sf_reply_error(c, 413, "too_large", "the batch exceeds --max-batch-bytes");
	if (req->body.len == 0)
		return sf_reply_error(c, 400, "empty_body",
				      "the request body (a JSON batch) is empty");
	json_t *out = NULL;
	unsigned hits = 0;
	char msg[256] = "";
	PGconn *db = sf_db_get(u->pool);
	int rc = sf_bulk_submit(db, &u->bulk, req->body.data, req->body.len, &out, &hits, msg,
				sizeof(msg));
	sf_db_put(u->pool, db);
	sf_buf_free(&req->body);
	if (rc == -EINVAL)
		return sf_reply_error(c, 400, "bad_request", msg);
	if (rc == -E2BIG)
		return sf_reply_error(c, 413, "too_many_items", msg);
	if (rc == -ENOMEM)
		return MHD_NO;
	if (rc)
		return sf_reply_error(c, 503, "database_unavailable",
				      "the batch could not be recorded; please retry");
	atomic_fetch_add(&u->metrics->verdict_cache_hits, hits);
	char location[64];
	snprintf(location, sizeof(location), "/v1/batches/%s",
		 json_string_value(json_object_get(out, "id")));
	return sf_reply_json_header(c, 202, out, "Location", location);
}

/* A chunk of a batch's JSON: kept in memory up to the bound. */
static enum MHD_Result upload_batch_chunk(struct sf_api_uploads *u, struct sf_api_upload *req,
					  const char *data, size_t n)
{
	if (req->overflow || (long long)(req->body.len + n) > u->cfg.max_batch_bytes) {
		/* MHD queues an answer only once the request is read: drop the
		 * rest and answer 413 then, or cut off a body that goes on past
		 * twice the bound. */
		sf_buf_free(&req->body);
		req->overflow = true;
		req->dropped += (long long)n;
		return req->dropped > u->cfg.max_batch_bytes ? MHD_NO : MHD_YES;
	}
	return sf_buf_append(&req->body, data, n) == 0 ? MHD_YES : MHD_NO;
}

/* A chunk of a tarball: straight to the store. */
static enum MHD_Result upload_store_chunk(struct sf_api_uploads *u, struct MHD_Connection *c,
					  struct sf_api_upload *req, const char *data, size_t n)
{
	int rc = sf_upload_write(&req->up, data, n);
	if (rc == 0) {
		atomic_fetch_add(&u->metrics->upload_bytes, n);
		return MHD_YES;
	}
	sf_upload_abort(&req->up);
	req->uploading = false;
	req->answered = true;
	sf_warn("upload refused: %s", strerror(-rc));
	return sf_reply_store_error(c, rc);
}

enum MHD_Result sf_api_upload_body(struct sf_api_uploads *u, struct MHD_Connection *c,
				   struct sf_api_upload *req, const char *data, size_t *size)
{
	if (*size > 0) {
		size_t n = *size;
		*size = 0;
		if (req->answered)
			return MHD_YES;
		if (req->ndjson)
			return sf_ndjson_chunk(req->ndjson, data, n);
		if (req->bulk)
			return upload_batch_chunk(u, req, data, n);
		return upload_store_chunk(u, c, req, data, n);
	}
	if (req->answered)
		return MHD_YES;
	if (req->ndjson)
		return sf_ndjson_finish(req->ndjson, c, u->metrics);
	if (req->bulk)
		return upload_batch_finish(u, c, req);
	if (req->artifact)
		return upload_artifact_finish(u, c, req);
	return upload_scan_finish(u, c, req);
}

void sf_api_upload_done(struct sf_api_uploads *u, struct sf_api_upload *req, int toe)
{
	if (req->uploading) {
		/* The client went away or timed out mid-upload: keep nothing. */
		sf_warn("upload aborted (termination code %d); nothing stored", toe);
		sf_upload_abort(&req->up);
	}
	sf_ndjson_free(req->ndjson);
	sf_buf_free(&req->body);
	free(req);
	atomic_fetch_sub(&u->in_progress, 1);
}
