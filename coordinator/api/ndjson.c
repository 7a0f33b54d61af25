/* ndjson — see ndjson.h. */
#include "ndjson.h"

#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reply.h"
#include "util.h"

struct sf_ndjson {
	struct sf_db_pool *pool;
	PGconn *db;
	struct sf_bulk_stream *stream;
	FILE *spool; /* the items' answers, one line each */
	char *lines; /* the chunk's lines, NUL-separated */
	size_t used, cap;
	const char *ptrs[SF_NDJSON_CHUNK];
	size_t lens[SF_NDJSON_CHUNK], offs[SF_NDJSON_CHUNK];
	size_t nlines;
	char partial[SF_NDJSON_MAX_LINE + 1]; /* a line cut by the chunk's end */
	size_t plen;
	bool overlong; /* the line being read went past the bound */
	int err;       /* the first error: answered at the end */
	long long dropped;
};

struct ndjson_reader {
	char *head; /* the first line, then the spool */
	size_t hlen, hoff;
	FILE *spool;
};

static int ndjson_answer(void *ctx, json_t *o)
{
	struct sf_ndjson *n = ctx;
	if (json_dumpf(o, n->spool, JSON_COMPACT) != 0 || fputc('\n', n->spool) == EOF)
		return -EIO;
	return 0;
}

/* Judges and writes the lines gathered so far. */
static int ndjson_flush(struct sf_ndjson *n)
{
	if (n->nlines == 0 || n->err)
		return n->err;
	for (size_t i = 0; i < n->nlines; i++)
		n->ptrs[i] = n->lines + n->offs[i];
	int rc = sf_bulk_stream_items(n->stream, n->ptrs, n->lens, n->nlines, ndjson_answer, n);
	n->nlines = 0;
	n->used = 0;
	return rc;
}

/* One whole line (without its newline). Blank lines are no items. */
static int ndjson_line(struct sf_ndjson *n, const char *s, size_t len)
{
	if (len && s[len - 1] == '\r')
		len--;
	if (strspn(s, " \t") >= len && !n->overlong)
		return 0;
	static const char too_long[] = "\"line too long\"";
	if (n->overlong) { /* an item all the same: refused as not JSON */
		s = too_long;
		len = sizeof(too_long) - 1;
		n->overlong = false;
	}
	if (n->used + len + 1 > n->cap) {
		size_t ncap = n->cap ? n->cap : 65536;
		while (ncap < n->used + len + 1)
			ncap *= 2;
		char *p = realloc(n->lines, ncap);
		if (!p)
			return -ENOMEM;
		n->lines = p;
		n->cap = ncap;
	}
	memcpy(n->lines + n->used, s, len);
	n->lines[n->used + len] = '\0';
	n->offs[n->nlines] = n->used;
	n->lens[n->nlines++] = len;
	n->used += len + 1;
	return n->nlines == SF_NDJSON_CHUNK ? ndjson_flush(n) : 0;
}

/* Appends to the partial line, or marks it too long. */
static void ndjson_keep(struct sf_ndjson *n, const char *s, size_t len)
{
	if (n->overlong || n->plen + len > SF_NDJSON_MAX_LINE) {
		n->overlong = true;
		n->plen = 0;
		return;
	}
	memcpy(n->partial + n->plen, s, len);
	n->plen += len;
}

enum MHD_Result sf_ndjson_chunk(struct sf_ndjson *n, const char *data, size_t len)
{
	if (n->err) {
		/* refused: read the rest and answer then, or cut off a body that
		 * goes on (the same rule as an oversized JSON batch) */
		n->dropped += (long long)len;
		return n->dropped > (64LL << 20) ? MHD_NO : MHD_YES;
	}
	while (len > 0 && n->err == 0) {
		const char *nl = memchr(data, '\n', len);
		size_t k = nl ? (size_t)(nl - data) : len;
		ndjson_keep(n, data, k);
		if (!nl)
			break;
		n->partial[n->plen] = '\0';
		n->err = ndjson_line(n, n->partial, n->plen);
		n->plen = 0;
		data += k + 1;
		len -= k + 1;
	}
	return MHD_YES;
}

struct sf_ndjson *sf_ndjson_begin(struct sf_db_pool *pool, const struct sf_bulk_config *cfg,
				  const struct sf_query *q, struct MHD_Connection *c,
				  enum MHD_Result *reply)
{
	char msg[256] = "";
	struct sf_ndjson *n = calloc(1, sizeof(*n));
	if (!n || !(n->spool = tmpfile())) {
		free(n);
		*reply = sf_reply_error(c, 503, "unavailable", "no room for the batch's answers");
		return NULL;
	}
	n->pool = pool;
	n->db = sf_db_get(pool);
	int rc = sf_bulk_stream_begin(n->db, cfg, q->priority, q->labels, q->rescan,
				      q->network[0] ? q->network : NULL, &n->stream, msg, sizeof(msg));
	if (rc) {
		sf_ndjson_free(n);
		*reply = rc == -EINVAL ? sf_reply_error(c, 400, "bad_request", msg)
				       : sf_reply_error(c, 503, "database_unavailable", "please retry");
		return NULL;
	}
	return n;
}

static ssize_t ndjson_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct ndjson_reader *r = cls;
	if (r->hoff < r->hlen) {
		size_t k = r->hlen - r->hoff < max ? r->hlen - r->hoff : max;
		memcpy(buf, r->head + r->hoff, k);
		r->hoff += k;
		return (ssize_t)k;
	}
	size_t k = fread(buf, 1, max, r->spool);
	if (k > 0)
		return (ssize_t)k;
	return ferror(r->spool) ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
}

static void ndjson_reader_free(void *cls)
{
	struct ndjson_reader *r = cls;
	fclose(r->spool);
	free(r->head);
	free(r);
}

/* The error met while reading the body, as its answer. */
static enum MHD_Result ndjson_refuse(struct MHD_Connection *c, int rc)
{
	if (rc == -E2BIG)
		return sf_reply_error(c, 413, "too_many_items",
				      "the stream exceeds --max-stream-items");
	if (rc == -ENODATA)
		return sf_reply_error(c, 400, "empty_body", "the stream holds no item");
	if (rc == -ENOMEM)
		return MHD_NO;
	return sf_reply_error(c, 503, "database_unavailable",
			      "the batch could not be recorded; please retry");
}

enum MHD_Result sf_ndjson_finish(struct sf_ndjson *n, struct MHD_Connection *c,
				 struct sf_metrics *metrics)
{
	int rc = n->err;
	n->partial[n->plen] = '\0';
	if (rc == 0 && (n->plen || n->overlong)) /* a last line without its newline */
		rc = ndjson_line(n, n->partial, n->plen);
	if (rc == 0)
		rc = ndjson_flush(n);
	json_t *summary = NULL;
	unsigned hits = 0;
	if (rc == 0) {
		struct sf_bulk_stream *s = n->stream;
		n->stream = NULL; /* committed or rolled back: freed either way */
		rc = sf_bulk_stream_commit(s, &summary, &hits);
	}
	if (rc == 0 && (fflush(n->spool) != 0 || fseek(n->spool, 0, SEEK_SET) != 0))
		rc = -EIO; /* committed, yet the answers are lost: the batch view has them */
	if (rc)
		return ndjson_refuse(c, rc);
	atomic_fetch_add(&metrics->verdict_cache_hits, hits);
	struct ndjson_reader *r = calloc(1, sizeof(*r));
	char *head = json_dumps(summary, JSON_COMPACT);
	char location[64];
	snprintf(location, sizeof(location), "/v1/batches/%s",
		 json_string_value(json_object_get(summary, "id")));
	json_decref(summary);
	struct sf_buf line = {0};
	if (!r || !head || sf_buf_appendf(&line, "%s\n", head)) {
		free(r);
		free(head);
		sf_buf_free(&line);
		return MHD_NO;
	}
	free(head);
	r->head = line.data;
	r->hlen = line.len;
	r->spool = n->spool;
	n->spool = NULL; /* the response owns it now */
	struct MHD_Response *resp =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, ndjson_read, r,
					      ndjson_reader_free);
	if (!resp) {
		ndjson_reader_free(r);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
	MHD_add_response_header(resp, "Location", location);
	enum MHD_Result ret = MHD_queue_response(c, 202, resp);
	MHD_destroy_response(resp);
	return ret;
}

void sf_ndjson_free(struct sf_ndjson *n)
{
	if (!n)
		return;
	if (n->stream) {
		sf_warn("streamed batch %s not completed: nothing recorded",
			sf_bulk_stream_id(n->stream));
		sf_bulk_stream_abort(n->stream);
	}
	if (n->db)
		sf_db_put(n->pool, n->db);
	if (n->spool)
		fclose(n->spool);
	free(n->lines);
	free(n);
}
