/* batch — see batch.h. */
#include "batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The answer to the streamed submission, read a line at a time. */
struct batch_answer {
	struct sf_dep_result *res;
	const size_t *map; /* line index → package */
	size_t nmap;
	struct sf_buf line;
	char id[SF_UUID_LEN + 1];
	int bad; /* lines that made no sense */
};

static void batch_refuse(struct sf_dep_result *r, const char *code, const char *reason)
{
	sf_strlcpy(r->status, "rejected", sizeof(r->status));
	sf_strlcpy(r->code, code, sizeof(r->code));
	free(r->reason);
	r->reason = reason ? strdup(reason) : NULL;
}

/* One answer line: the batch's first line, or an item's. */
static void batch_answer_line(struct batch_answer *a, const char *s, size_t len)
{
	json_t *o = json_loadb(s, len, 0, NULL);
	json_t *idx = json_object_get(o, "index");
	if (!o) {
		a->bad++;
	} else if (!idx) {
		const char *id = json_string_value(json_object_get(o, "id"));
		if (id && strlen(id) == SF_UUID_LEN)
			memcpy(a->id, id, SF_UUID_LEN + 1);
	} else if (json_integer_value(idx) >= 0 && (size_t)json_integer_value(idx) < a->nmap) {
		struct sf_dep_result *r = &a->res[a->map[json_integer_value(idx)]];
		json_t *err = json_object_get(o, "error");
		const char *scan = json_string_value(json_object_get(o, "scan_id"));
		const char *st = json_string_value(json_object_get(o, "status"));
		const char *code = json_string_value(json_object_get(err, "code"));
		if (err)
			batch_refuse(r, code ? code : "rejected",
				     json_string_value(json_object_get(err, "message")));
		else if (scan && st && strlen(scan) == SF_UUID_LEN) {
			memcpy(r->scan_id, scan, SF_UUID_LEN + 1);
			sf_strlcpy(r->status, st, sizeof(r->status));
			r->cached = json_is_true(json_object_get(o, "cached"));
		}
	} else {
		a->bad++;
	}
	json_decref(o);
}

static int batch_answer_sink(void *ctx, const char *data, size_t len)
{
	struct batch_answer *a = ctx;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t k = nl ? (size_t)(nl - data) : len;
		if (a->line.len + k > (1u << 20))
			return -EFBIG; /* no answer line is that long */
		if (sf_buf_append(&a->line, data, k))
			return -ENOMEM;
		if (!nl)
			break;
		batch_answer_line(a, a->line.data, a->line.len);
		a->line.len = 0;
		data += k + 1;
		len -= k + 1;
	}
	return 0;
}

/* Writes the NDJSON body: one line per package from a registry. */
static int batch_body(const struct sf_depset *set, struct sf_dep_result *res, FILE *f,
		      size_t *map, size_t *nmap)
{
	*nmap = 0;
	for (size_t i = 0; i < set->ndeps; i++) {
		const struct sf_dep *d = &set->deps[i];
		if (d->source) {
			char why[600];
			snprintf(why, sizeof(why), "comes from %.500s, not from a registry: not scanned",
				 d->source);
			batch_refuse(&res[i], "not_from_registry", why);
			continue;
		}
		json_t *o = json_pack("{s:s,s:s,s:s}", "ecosystem", sf_eco_name(d->eco), "package",
				      d->name, "version", d->version);
		/* npm's pin goes along: the coordinator holds it against the
		 * registry's bytes, so a lockfile that pins other bytes is
		 * reported, never scanned as the registry's artifact */
		if (o && d->eco == SF_ECO_NPM && d->integrity && d->integrity[0])
			json_object_set_new(o, "integrity", json_string(d->integrity));
		if (!o || json_dumpf(o, f, JSON_COMPACT) || fputc('\n', f) == EOF) {
			json_decref(o);
			return -EIO;
		}
		json_decref(o);
		map[(*nmap)++] = i;
	}
	return fflush(f) == 0 && fseek(f, 0, SEEK_SET) == 0 ? 0 : -EIO;
}

static int batch_submit(const struct sf_cli *c, const struct sf_depset *set,
			struct sf_dep_result *res, size_t *map, size_t *nmap,
			char batch_id[SF_UUID_LEN + 1])
{
	static const char *const hdr[] = {"Content-Type: application/x-ndjson", NULL};
	FILE *f = tmpfile();
	if (!f)
		return -errno;
	int rc = batch_body(set, res, f, map, nmap);
	long size = 0;
	if (rc == 0 && (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)))
		rc = -EIO;
	struct batch_answer a = {.res = res, .map = map, .nmap = *nmap};
	long status = 0;
	if (rc == 0 && *nmap > 0)
		rc = sf_cli_request(c, "/v1/batches", f, size, hdr, batch_answer_sink, &a, &status);
	fclose(f);
	if (rc == 0 && *nmap > 0 && (status != 202 || !a.id[0])) {
		fprintf(stderr, "scanfarm: the batch was refused (HTTP %ld)%s%.*s\n", status,
			a.line.len ? ": " : "", (int)a.line.len, a.line.data ? a.line.data : "");
		rc = -EIO;
	}
	memcpy(batch_id, a.id, sizeof(a.id));
	sf_buf_free(&a.line);
	return rc;
}

static void batch_counts(json_t *view, struct sf_progress_counts *k)
{
	json_t *c = json_object_get(view, "counts");
#define BATCH_N(f) k->f = (long long)json_integer_value(json_object_get(c, #f))
	BATCH_N(items);
	BATCH_N(rejected);
	BATCH_N(cached);
	BATCH_N(resolving);
	BATCH_N(queued);
	BATCH_N(running);
	BATCH_N(finished);
	BATCH_N(failed);
#undef BATCH_N
}

/* Follows the batch until it is done or the deadline passes. */
static void batch_wait(const struct sf_cli *c, const char *id, long long timeout_s,
		       struct sf_progress *prog)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/batches/%s?limit=1", id);
	int64_t deadline = sf_monotonic_ms() + timeout_s * 1000;
	struct sf_progress_counts k = {0};
	for (;;) {
		long status = 0;
		json_t *v = sf_cli_get_json(c, path, &status);
		bool done = v && json_is_true(json_object_get(v, "done"));
		if (v && status == 200)
			batch_counts(v, &k);
		json_decref(v);
		bool over = sf_monotonic_ms() >= deadline;
		if (prog)
			sf_progress_show(prog, &k, done || over);
		if (done || over)
			return;
		usleep(500 * 1000);
	}
}

/* A scan's alerts, every page. */
static json_t *batch_alerts(const struct sf_cli *c, const char *scan)
{
	json_t *all = json_array();
	char cursor[64] = "";
	for (int page = 0; all && page < 1000; page++) {
		char path[256];
		snprintf(path, sizeof(path), "/v1/scans/%s/alerts?limit=1000%s%s", scan,
			 cursor[0] ? "&cursor=" : "", cursor);
		long status = 0;
		json_t *p = sf_cli_get_json(c, path, &status);
		if (!p || status != 200) {
			json_decref(p);
			break;
		}
		json_array_extend(all, json_object_get(p, "alerts"));
		const char *next = json_string_value(json_object_get(p, "next_cursor"));
		snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
		json_decref(p);
		if (!cursor[0])
			break;
	}
	return all;
}

/* Every item's outcome, a page of the batch at a time. */
static int batch_collect(const struct sf_cli *c, const char *id, struct sf_dep_result *res,
			 const size_t *map, size_t nmap)
{
	char cursor[32] = "";
	for (;;) {
		char path[256];
		snprintf(path, sizeof(path), "/v1/batches/%s?limit=1000%s%s", id,
			 cursor[0] ? "&cursor=" : "", cursor);
		long status = 0;
		json_t *v = sf_cli_get_json(c, path, &status);
		if (!v || status != 200) {
			json_decref(v);
			fprintf(stderr, "scanfarm: batch %s: its items could not be read\n", id);
			return -EIO;
		}
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(v, "items"), i, it) {
			json_int_t idx = json_integer_value(json_object_get(it, "index"));
			const char *st = json_string_value(json_object_get(it, "status"));
			if (idx < 0 || (size_t)idx >= nmap || !st)
				continue; /* refused items were answered already */
			struct sf_dep_result *r = &res[map[idx]];
			const char *why = json_string_value(json_object_get(it, "reason"));
			sf_strlcpy(r->status, st, sizeof(r->status));
			free(r->reason);
			r->reason = why ? strdup(why) : NULL;
			if (json_integer_value(json_object_get(it, "alerts")) > 0)
				r->alerts = batch_alerts(c, r->scan_id);
		}
		const char *next = json_string_value(json_object_get(v, "next_cursor"));
		snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
		json_decref(v);
		if (!cursor[0])
			return 0;
	}
}

int sf_batch_run(const struct sf_cli *c, const struct sf_depset *set, struct sf_dep_result *res,
		 long long timeout_s, struct sf_progress *prog, char batch_id[SF_UUID_LEN + 1])
{
	size_t *map = calloc(set->ndeps ? set->ndeps : 1, sizeof(*map)), nmap = 0;
	batch_id[0] = '\0';
	if (!map)
		return -ENOMEM;
	int rc = batch_submit(c, set, res, map, &nmap, batch_id);
	if (rc == 0 && nmap > 0) {
		batch_wait(c, batch_id, timeout_s, prog);
		rc = batch_collect(c, batch_id, res, map, nmap);
	}
	free(map);
	return rc;
}

void sf_batch_results_free(struct sf_dep_result *res, size_t n)
{
	for (size_t i = 0; res && i < n; i++) {
		free(res[i].reason);
		json_decref(res[i].alerts);
	}
	free(res);
}
