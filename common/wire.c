/* wire — see wire.h. */
#include "wire.h"

#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- encode */

static int wire_write(void *data, const char *buf, size_t len)
{
	return sf_buf_append(data, buf, len) == 0 ? 0 : -1;
}

static int pack_str(msgpack_packer *pk, const char *s)
{
	if (!s)
		return msgpack_pack_nil(pk);
	size_t n = strlen(s);
	if (msgpack_pack_str(pk, n))
		return -1;
	return msgpack_pack_str_body(pk, s, n);
}

static int pack_key(msgpack_packer *pk, const char *k) { return pack_str(pk, k); }

#define KSTR(pk, k, v) (pack_key(pk, k) || pack_str(pk, v))
#define KINT(pk, k, v) (pack_key(pk, k) || msgpack_pack_int64(pk, (int64_t)(v)))
#define KUINT(pk, k, v) (pack_key(pk, k) || msgpack_pack_uint64(pk, (uint64_t)(v)))

static int pack_header(msgpack_packer *pk, size_t nfields, const char *type)
{
	return msgpack_pack_map(pk, nfields + 2) || KINT(pk, "v", SF_WIRE_VERSION) ||
	       KSTR(pk, "type", type);
}

static int pack_job(msgpack_packer *pk, const struct sf_job *j)
{
	return msgpack_pack_map(pk, 10) || KINT(pk, "job_id", j->job_id) ||
	       KINT(pk, "attempt", j->attempt) || KSTR(pk, "scan_id", j->scan_id) ||
	       KSTR(pk, "ecosystem", j->ecosystem) || pack_key(pk, "artifact") ||
	       msgpack_pack_map(pk, 4) || KSTR(pk, "sha256", j->sha256) ||
	       KINT(pk, "size", j->size) || KSTR(pk, "url", j->url) || KSTR(pk, "kind", j->kind) ||
	       KSTR(pk, "install", j->ecosystem) ||
	       KSTR(pk, "ruleset_digest", j->ruleset_digest) || pack_key(pk, "limits") ||
	       msgpack_pack_map(pk, 4) || KINT(pk, "time_s", j->time_limit_s) ||
	       KINT(pk, "memory_mb", j->memory_mb) || KINT(pk, "pids", j->pids) ||
	       KINT(pk, "disk_mb", j->disk_mb) || KSTR(pk, "network", j->network) ||
	       KINT(pk, "lease_deadline_ms", j->lease_deadline_ms);
}

int sf_wire_encode_jobs(const struct sf_job *jobs, uint32_t njobs, struct sf_buf *out)
{
	if (njobs > SF_WIRE_MAX_JOBS)
		return -EINVAL;
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, wire_write);
	if (pack_header(&pk, 1, "jobs") || pack_key(&pk, "jobs") || msgpack_pack_array(&pk, njobs))
		return -ENOMEM;
	for (uint32_t i = 0; i < njobs; i++)
		if (pack_job(&pk, &jobs[i]))
			return -ENOMEM;
	return 0;
}

int sf_wire_encode_want(const struct sf_want *w, struct sf_buf *out)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, wire_write);
	int bad = pack_header(&pk, 7, "want") || KSTR(&pk, "worker_id", w->worker_id) ||
		  KINT(&pk, "slots", w->slots) || KINT(&pk, "wait_ms", w->wait_ms) ||
		  KINT(&pk, "token", w->token) || KINT(&pk, "lost_token", w->lost_token) ||
		  pack_key(&pk, "fresh") ||
		  (w->fresh ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk)) ||
		  KSTR(&pk, "auth", w->auth);
	return bad ? -ENOMEM : 0;
}

static int pack_alert(msgpack_packer *pk, const struct sf_alert *a)
{
	if (msgpack_pack_map(pk, 8) || KINT(pk, "time_ns", a->time_ns) ||
	    KSTR(pk, "priority", a->priority) || KSTR(pk, "rule", a->rule) ||
	    KSTR(pk, "output", a->output) || KSTR(pk, "source", a->source) ||
	    KSTR(pk, "hostname", a->hostname) || pack_key(pk, "tags") ||
	    msgpack_pack_array(pk, a->ntags))
		return -1;
	for (uint32_t i = 0; i < a->ntags; i++)
		if (pack_str(pk, a->tags[i]))
			return -1;
	if (pack_key(pk, "output_fields") || msgpack_pack_map(pk, a->nfields))
		return -1;
	for (uint32_t i = 0; i < a->nfields; i++)
		if (KSTR(pk, a->fields[i].key, a->fields[i].value))
			return -1;
	return 0;
}

static int pack_bool(msgpack_packer *pk, bool v)
{
	return v ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

static int pack_phases(msgpack_packer *pk, const struct sf_batch *b)
{
	if (pack_key(pk, "phases") || msgpack_pack_array(pk, b->nphases))
		return -1;
	for (uint32_t i = 0; i < b->nphases; i++) {
		const struct sf_phase *p = &b->phases[i];
		/* a phase always has a name: the decoder requires one */
		if (msgpack_pack_map(pk, 9) || KSTR(pk, "name", p->name ? p->name : "") ||
		    pack_key(pk, "ran") ||
		    pack_bool(pk, p->ran) || pack_key(pk, "exit_status") ||
		    (p->has_exit_status ? msgpack_pack_int64(pk, p->exit_status)
					: msgpack_pack_nil(pk)) ||
		    pack_key(pk, "timed_out") || pack_bool(pk, p->timed_out) ||
		    KINT(pk, "duration_ms", p->duration_ms) ||
		    KSTR(pk, "stdout_tail", p->stdout_tail) ||
		    KSTR(pk, "stderr_tail", p->stderr_tail) || KSTR(pk, "error", p->error) ||
		    KSTR(pk, "skipped", p->skipped))
			return -1;
	}
	return 0;
}

static int pack_packages(msgpack_packer *pk, const struct sf_batch *b)
{
	if (pack_key(pk, "packages") || msgpack_pack_array(pk, b->npackages))
		return -1;
	for (uint32_t i = 0; i < b->npackages; i++) {
		const struct sf_package *p = &b->packages[i];
		if (msgpack_pack_map(pk, 5) || KSTR(pk, "name", p->name) ||
		    KSTR(pk, "version", p->version) || KSTR(pk, "path", p->path) ||
		    pack_key(pk, "install_scripts") || pack_bool(pk, p->install_scripts) ||
		    pack_key(pk, "direct") || pack_bool(pk, p->direct))
			return -1;
	}
	return 0;
}

int sf_wire_encode_batch(const struct sf_batch *b, struct sf_buf *out)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, wire_write);
	if (pack_header(&pk, 19, "batch") || KINT(&pk, "job_id", b->job_id) ||
	    KINT(&pk, "attempt", b->attempt) || KINT(&pk, "seq", b->seq) ||
	    KSTR(&pk, "worker_id", b->worker_id) || pack_key(&pk, "final") ||
	    (b->final ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk)) ||
	    pack_key(&pk, "alerts") || msgpack_pack_array(&pk, b->nalerts))
		return -ENOMEM;
	for (uint32_t i = 0; i < b->nalerts; i++)
		if (pack_alert(&pk, &b->alerts[i]))
			return -ENOMEM;
	if (pack_key(&pk, "facts") || msgpack_pack_array(&pk, b->nfacts))
		return -ENOMEM;
	for (uint32_t i = 0; i < b->nfacts; i++) {
		const struct sf_fact *f = &b->facts[i];
		if (msgpack_pack_map(&pk, 5) || KSTR(&pk, "kind", f->kind) ||
		    KSTR(&pk, "value", f->value) || KSTR(&pk, "detail", f->detail) ||
		    KSTR(&pk, "package", f->package) || KSTR(&pk, "phase", f->phase))
			return -ENOMEM;
	}
	if (pack_phases(&pk, b) || pack_packages(&pk, b))
		return -ENOMEM;
	if (pack_key(&pk, "stats") || msgpack_pack_map(&pk, 2) ||
	    KUINT(&pk, "events", b->events) || KUINT(&pk, "drops", b->drops) ||
	    pack_key(&pk, "exit_status") ||
	    (b->has_exit_status ? msgpack_pack_int64(&pk, b->exit_status)
				: msgpack_pack_nil(&pk)) ||
	    KSTR(&pk, "stdout_tail", b->stdout_tail) ||
	    KSTR(&pk, "stderr_tail", b->stderr_tail) || KSTR(&pk, "error", b->error) ||
	    KINT(&pk, "duration_ms", b->duration_ms) ||
	    KSTR(&pk, "ruleset_digest", b->ruleset_digest) ||
	    KSTR(&pk, "image_digest", b->image_digest) || KSTR(&pk, "auth", b->auth) ||
	    KSTR(&pk, "network", b->network))
		return -ENOMEM;
	return 0;
}

int sf_wire_encode_hello(const struct sf_hello *h, bool heartbeat, struct sf_buf *out)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, wire_write);
	int bad = pack_header(&pk, 8, heartbeat ? "heartbeat" : "hello") ||
		  KSTR(&pk, "worker_id", h->worker_id) || KSTR(&pk, "version", h->version) ||
		  KINT(&pk, "capacity", h->capacity) || KINT(&pk, "running", h->running) ||
		  KSTR(&pk, "sensor", h->sensor) ||
		  KSTR(&pk, "ruleset_digest", h->ruleset_digest) ||
		  KSTR(&pk, "image_digest", h->image_digest) || KSTR(&pk, "auth", h->auth);
	return bad ? -ENOMEM : 0;
}

/* -------------------------------------------------------------- precheck */

static int be_len(const unsigned char *p, size_t nbytes, size_t avail, uint64_t *out)
{
	if (avail < nbytes)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < nbytes; i++)
		v = (v << 8) | p[i];
	*out = v;
	return 0;
}

int sf_wire_precheck(const unsigned char *p, size_t len)
{
	/* Remaining child counts per open container; a scalar consumes one. */
	uint64_t stack[SF_WIRE_MAX_DEPTH + 1];
	int depth = 0;
	uint64_t objects = 0;
	size_t off = 0;
	stack[0] = 1;
	while (depth >= 0) {
		if (stack[depth] == 0) {
			depth--;
			continue;
		}
		stack[depth]--;
		if (off >= len || ++objects > len)
			return -EPROTO;
		unsigned char c = p[off++];
		size_t avail = len - off;
		uint64_t skip = 0, children = 0, n = 0;
		int container = 0;
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
			skip = 0;
		} else if (c >= 0x80 && c <= 0x8f) {
			children = 2u * (c & 0x0f);
			container = 1;
		} else if (c >= 0x90 && c <= 0x9f) {
			children = c & 0x0f;
			container = 1;
		} else if (c >= 0xa0 && c <= 0xbf) {
			skip = c & 0x1f;
		} else {
			switch (c) {
			case 0xc4: case 0xd9:
				if (be_len(p + off, 1, avail, &n)) return -EPROTO;
				skip = 1 + n; break;
			case 0xc5: case 0xda:
				if (be_len(p + off, 2, avail, &n)) return -EPROTO;
				skip = 2 + n; break;
			case 0xc6: case 0xdb:
				if (be_len(p + off, 4, avail, &n)) return -EPROTO;
				skip = 4 + n; break;
			case 0xc7:
				if (be_len(p + off, 1, avail, &n)) return -EPROTO;
				skip = 2 + n; break;
			case 0xc8:
				if (be_len(p + off, 2, avail, &n)) return -EPROTO;
				skip = 3 + n; break;
			case 0xc9:
				if (be_len(p + off, 4, avail, &n)) return -EPROTO;
				skip = 5 + n; break;
			case 0xca: skip = 4; break;
			case 0xcb: skip = 8; break;
			case 0xcc: case 0xd0: skip = 1; break;
			case 0xcd: case 0xd1: skip = 2; break;
			case 0xce: case 0xd2: skip = 4; break;
			case 0xcf: case 0xd3: skip = 8; break;
			case 0xd4: skip = 2; break;
			case 0xd5: skip = 3; break;
			case 0xd6: skip = 5; break;
			case 0xd7: skip = 9; break;
			case 0xd8: skip = 17; break;
			case 0xdc:
				if (be_len(p + off, 2, avail, &children)) return -EPROTO;
				skip = 2; container = 1; break;
			case 0xdd:
				if (be_len(p + off, 4, avail, &children)) return -EPROTO;
				skip = 4; container = 1; break;
			case 0xde:
				if (be_len(p + off, 2, avail, &n)) return -EPROTO;
				children = 2 * n; skip = 2; container = 1; break;
			case 0xdf:
				if (be_len(p + off, 4, avail, &n)) return -EPROTO;
				children = 2 * n; skip = 4; container = 1; break;
			default: /* 0xc1 is never used */
				return -EPROTO;
			}
		}
		if (skip > avail)
			return -EPROTO;
		off += (size_t)skip;
		if (container && children > 0) {
			/* Every child takes at least one byte. */
			if (children > len - off || depth + 1 > SF_WIRE_MAX_DEPTH)
				return -EPROTO;
			stack[++depth] = children;
		}
	}
	return off == len ? 0 : -EPROTO;
}

/* ---------------------------------------------------------------- decode */

void sf_utf8_sanitize(char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t k = sf_utf8_char(s + i, len - i);
		if (k == 0)
			s[i++] = '?';
		else
			i += k;
	}
}

static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	size_t klen = strlen(key);
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
		    memcmp(k->via.str.ptr, key, klen) == 0)
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

static int obj_str(const msgpack_object *o, char **out)
{
	*out = NULL;
	if (!o || o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (o->type != MSGPACK_OBJECT_STR)
		return -EPROTO;
	char *s = malloc(o->via.str.size + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = '\0';
	sf_utf8_sanitize(s, o->via.str.size);
	*out = s;
	return 0;
}

static int get_str(const msgpack_object *map, const char *key, bool required, char **out)
{
	const msgpack_object *o = map_get(map, key);
	if (required && (!o || o->type != MSGPACK_OBJECT_STR))
		return -EPROTO;
	return obj_str(o, out);
}

static int get_fixed_str(const msgpack_object *map, const char *key, char *dst, size_t dstsz)
{
	const msgpack_object *o = map_get(map, key);
	if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size + 1 != dstsz)
		return -EPROTO;
	memcpy(dst, o->via.str.ptr, o->via.str.size);
	dst[o->via.str.size] = '\0';
	return strlen(dst) == o->via.str.size ? 0 : -EPROTO;
}

static int get_int(const msgpack_object *map, const char *key, bool required, int64_t min,
		   int64_t max, int64_t *out)
{
	const msgpack_object *o = map_get(map, key);
	*out = 0;
	if (!o || o->type == MSGPACK_OBJECT_NIL)
		return required ? -EPROTO : 0;
	int64_t v;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > (uint64_t)INT64_MAX)
			return -EPROTO;
		v = (int64_t)o->via.u64;
	} else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		v = o->via.i64;
	} else {
		return -EPROTO;
	}
	if (v < min || v > max)
		return -EPROTO;
	*out = v;
	return 0;
}

static int get_uint(const msgpack_object *map, const char *key, uint64_t *out)
{
	const msgpack_object *o = map_get(map, key);
	*out = 0;
	if (!o || o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -EPROTO;
	*out = o->via.u64;
	return 0;
}

#define I32 INT32_MIN, INT32_MAX
#define I64 INT64_MIN, INT64_MAX

static int get_i32(const msgpack_object *map, const char *key, bool required, int32_t *out)
{
	int64_t v = 0;
	int rc = get_int(map, key, required, I32, &v);
	*out = (int32_t)v;
	return rc;
}

void sf_job_free(struct sf_job *j)
{
	free(j->ecosystem);
	free(j->url);
	free(j->kind);
	free(j->ruleset_digest);
	free(j->network);
	memset(j, 0, sizeof(*j));
}

static int decode_job(const msgpack_object *m, struct sf_job *j)
{
	if (m->type != MSGPACK_OBJECT_MAP)
		return -EPROTO;
	const msgpack_object *art = map_get(m, "artifact");
	const msgpack_object *lim = map_get(m, "limits");
	int rc;
	if (!art || art->type != MSGPACK_OBJECT_MAP)
		return -EPROTO;
	if ((rc = get_int(m, "job_id", true, 1, INT64_MAX, &j->job_id)) ||
	    (rc = get_i32(m, "attempt", true, &j->attempt)) ||
	    (rc = get_fixed_str(m, "scan_id", j->scan_id, sizeof(j->scan_id))) ||
	    (rc = get_str(m, "ecosystem", true, &j->ecosystem)) ||
	    (rc = get_fixed_str(art, "sha256", j->sha256, sizeof(j->sha256))) ||
	    (rc = get_int(art, "size", true, 0, INT64_MAX, &j->size)) ||
	    (rc = get_str(art, "url", true, &j->url)) ||
	    (rc = get_str(art, "kind", false, &j->kind)) ||
	    (rc = get_str(m, "ruleset_digest", false, &j->ruleset_digest)) ||
	    (rc = get_i32(lim, "time_s", false, &j->time_limit_s)) ||
	    (rc = get_i32(lim, "memory_mb", false, &j->memory_mb)) ||
	    (rc = get_i32(lim, "pids", false, &j->pids)) ||
	    (rc = get_i32(lim, "disk_mb", false, &j->disk_mb)) ||
	    (rc = get_str(m, "network", false, &j->network)) ||
	    (rc = get_int(m, "lease_deadline_ms", false, I64, &j->lease_deadline_ms)))
		goto fail;
	if (!sf_is_hex(j->sha256, SF_SHA256_HEX) || !sf_is_uuid(j->scan_id)) {
		rc = -EPROTO;
		goto fail;
	}
	return 0;
fail:
	sf_job_free(j);
	return rc;
}

void sf_jobs_free(struct sf_jobs *js)
{
	for (uint32_t i = 0; i < js->njobs; i++)
		sf_job_free(&js->jobs[i]);
	free(js->jobs);
	memset(js, 0, sizeof(*js));
}

static int decode_jobs(const msgpack_object *m, struct sf_jobs *js)
{
	const msgpack_object *arr = map_get(m, "jobs");
	if (!arr || arr->type != MSGPACK_OBJECT_ARRAY || arr->via.array.size > SF_WIRE_MAX_JOBS)
		return -EPROTO;
	if (arr->via.array.size == 0)
		return 0;
	if (!(js->jobs = calloc(arr->via.array.size, sizeof(*js->jobs))))
		return -ENOMEM;
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		int rc = decode_job(&arr->via.array.ptr[i], &js->jobs[i]);
		if (rc) {
			sf_jobs_free(js);
			return rc;
		}
		js->njobs++;
	}
	return 0;
}

void sf_want_free(struct sf_want *w)
{
	free(w->worker_id);
	free(w->auth);
	memset(w, 0, sizeof(*w));
}

static int decode_want(const msgpack_object *m, struct sf_want *w)
{
	int64_t slots, wait_ms;
	int rc;
	const msgpack_object *fresh = map_get(m, "fresh");
	if (fresh && fresh->type != MSGPACK_OBJECT_BOOLEAN && fresh->type != MSGPACK_OBJECT_NIL)
		return -EPROTO;
	w->fresh = fresh && fresh->type == MSGPACK_OBJECT_BOOLEAN && fresh->via.boolean;
	if ((rc = get_str(m, "worker_id", true, &w->worker_id)) ||
	    (rc = get_int(m, "slots", true, 1, SF_WIRE_MAX_JOBS, &slots)) ||
	    (rc = get_int(m, "wait_ms", false, 0, SF_WIRE_MAX_WAIT_MS, &wait_ms)) ||
	    (rc = get_int(m, "token", true, I64, &w->token)) ||
	    (rc = get_int(m, "lost_token", false, I64, &w->lost_token)) ||
	    (rc = get_str(m, "auth", false, &w->auth)))
		goto fail;
	if (w->token == 0) {
		rc = -EPROTO;
		goto fail;
	}
	w->slots = (int32_t)slots;
	w->wait_ms = (int32_t)wait_ms;
	return 0;
fail:
	sf_want_free(w);
	return rc;
}

void sf_fact_free(struct sf_fact *f)
{
	free(f->kind);
	free(f->value);
	free(f->detail);
	free(f->package);
	free(f->phase);
	memset(f, 0, sizeof(*f));
}

void sf_alert_free(struct sf_alert *a)
{
	free(a->priority);
	free(a->rule);
	free(a->output);
	free(a->source);
	free(a->hostname);
	for (uint32_t i = 0; i < a->ntags; i++)
		free(a->tags[i]);
	free(a->tags);
	for (uint32_t i = 0; i < a->nfields; i++) {
		free(a->fields[i].key);
		free(a->fields[i].value);
	}
	free(a->fields);
	memset(a, 0, sizeof(*a));
}

static int decode_alert(const msgpack_object *m, struct sf_alert *a)
{
	int rc;
	if (m->type != MSGPACK_OBJECT_MAP)
		return -EPROTO;
	if ((rc = get_int(m, "time_ns", true, I64, &a->time_ns)) ||
	    (rc = get_str(m, "priority", true, &a->priority)) ||
	    (rc = get_str(m, "rule", true, &a->rule)) ||
	    (rc = get_str(m, "output", true, &a->output)) ||
	    (rc = get_str(m, "source", false, &a->source)) ||
	    (rc = get_str(m, "hostname", false, &a->hostname)))
		return rc;
	const msgpack_object *tags = map_get(m, "tags");
	if (tags && tags->type == MSGPACK_OBJECT_ARRAY && tags->via.array.size > 0) {
		a->tags = calloc(tags->via.array.size, sizeof(char *));
		if (!a->tags)
			return -ENOMEM;
		for (uint32_t i = 0; i < tags->via.array.size; i++) {
			if (tags->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
				return -EPROTO;
			if ((rc = obj_str(&tags->via.array.ptr[i], &a->tags[i])))
				return rc;
			a->ntags++;
		}
	} else if (tags && tags->type != MSGPACK_OBJECT_ARRAY) {
		return -EPROTO;
	}
	const msgpack_object *f = map_get(m, "output_fields");
	if (f && f->type == MSGPACK_OBJECT_MAP && f->via.map.size > 0) {
		a->fields = calloc(f->via.map.size, sizeof(struct sf_kv));
		if (!a->fields)
			return -ENOMEM;
		for (uint32_t i = 0; i < f->via.map.size; i++) {
			const msgpack_object_kv *kv = &f->via.map.ptr[i];
			if (kv->key.type != MSGPACK_OBJECT_STR)
				return -EPROTO;
			struct sf_kv *dst = &a->fields[a->nfields];
			if ((rc = obj_str(&kv->key, &dst->key)))
				return rc;
			a->nfields++;
			if ((rc = obj_str(&kv->val, &dst->value)))
				return rc;
		}
	} else if (f && f->type != MSGPACK_OBJECT_MAP) {
		return -EPROTO;
	}
	return 0;
}

void sf_batch_free(struct sf_batch *b)
{
	free(b->worker_id);
	for (uint32_t i = 0; i < b->nalerts; i++)
		sf_alert_free(&b->alerts[i]);
	free(b->alerts);
	for (uint32_t i = 0; i < b->nfacts; i++)
		sf_fact_free(&b->facts[i]);
	free(b->facts);
	for (uint32_t i = 0; i < b->nphases; i++) {
		struct sf_phase *p = &b->phases[i];
		free(p->name);
		free(p->stdout_tail);
		free(p->stderr_tail);
		free(p->error);
		free(p->skipped);
	}
	free(b->phases);
	for (uint32_t i = 0; i < b->npackages; i++) {
		free(b->packages[i].name);
		free(b->packages[i].version);
		free(b->packages[i].path);
	}
	free(b->packages);
	free(b->stdout_tail);
	free(b->stderr_tail);
	free(b->error);
	free(b->ruleset_digest);
	free(b->image_digest);
	free(b->auth);
	free(b->network);
	memset(b, 0, sizeof(*b));
}

/* An optional array of at most max items: its size in *n (0 when absent). */
static int get_array(const msgpack_object *a, uint32_t max, uint32_t *n)
{
	*n = 0;
	if (!a || a->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size > max)
		return -EPROTO;
	*n = a->via.array.size;
	return 0;
}

static int get_bool(const msgpack_object *map, const char *key, bool *out)
{
	const msgpack_object *o = map_get(map, key);
	*out = false;
	if (!o || o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return -EPROTO;
	*out = o->via.boolean;
	return 0;
}

static int decode_facts(const msgpack_object *fa, struct sf_batch *b)
{
	uint32_t n;
	int rc = get_array(fa, SF_WIRE_MAX_ITEMS, &n);
	if (rc || n == 0)
		return rc;
	if (!(b->facts = calloc(n, sizeof(*b->facts))))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *f = &fa->via.array.ptr[i];
		struct sf_fact *dst = &b->facts[i];
		b->nfacts++;
		if (f->type != MSGPACK_OBJECT_MAP)
			return -EPROTO;
		if ((rc = get_str(f, "kind", true, &dst->kind)) ||
		    (rc = get_str(f, "value", true, &dst->value)) ||
		    (rc = get_str(f, "detail", false, &dst->detail)) ||
		    (rc = get_str(f, "package", false, &dst->package)) ||
		    (rc = get_str(f, "phase", false, &dst->phase)))
			return rc;
	}
	return 0;
}

static int decode_phases(const msgpack_object *pa, struct sf_batch *b)
{
	uint32_t n;
	int rc = get_array(pa, SF_WIRE_MAX_PHASES, &n);
	if (rc || n == 0)
		return rc;
	if (!(b->phases = calloc(n, sizeof(*b->phases))))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *p = &pa->via.array.ptr[i];
		struct sf_phase *dst = &b->phases[i];
		b->nphases++;
		if (p->type != MSGPACK_OBJECT_MAP)
			return -EPROTO;
		if ((rc = get_str(p, "name", true, &dst->name)) ||
		    (rc = get_bool(p, "ran", &dst->ran)) ||
		    (rc = get_bool(p, "timed_out", &dst->timed_out)) ||
		    (rc = get_int(p, "duration_ms", false, 0, INT64_MAX, &dst->duration_ms)) ||
		    (rc = get_str(p, "stdout_tail", false, &dst->stdout_tail)) ||
		    (rc = get_str(p, "stderr_tail", false, &dst->stderr_tail)) ||
		    (rc = get_str(p, "error", false, &dst->error)) ||
		    (rc = get_str(p, "skipped", false, &dst->skipped)))
			return rc;
		const msgpack_object *ex = map_get(p, "exit_status");
		if (ex && ex->type != MSGPACK_OBJECT_NIL) {
			if ((rc = get_i32(p, "exit_status", true, &dst->exit_status)))
				return rc;
			dst->has_exit_status = true;
		}
	}
	return 0;
}

static int decode_packages(const msgpack_object *pa, struct sf_batch *b)
{
	uint32_t n;
	int rc = get_array(pa, SF_WIRE_MAX_ITEMS, &n);
	if (rc || n == 0)
		return rc;
	if (!(b->packages = calloc(n, sizeof(*b->packages))))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *p = &pa->via.array.ptr[i];
		struct sf_package *dst = &b->packages[i];
		b->npackages++;
		if (p->type != MSGPACK_OBJECT_MAP)
			return -EPROTO;
		if ((rc = get_str(p, "name", true, &dst->name)) ||
		    (rc = get_str(p, "version", false, &dst->version)) ||
		    (rc = get_str(p, "path", false, &dst->path)) ||
		    (rc = get_bool(p, "install_scripts", &dst->install_scripts)) ||
		    (rc = get_bool(p, "direct", &dst->direct)))
			return rc;
	}
	return 0;
}

static int decode_batch(const msgpack_object *m, struct sf_batch *b)
{
	int rc;
	const msgpack_object *fin = map_get(m, "final");
	if (!fin || fin->type != MSGPACK_OBJECT_BOOLEAN)
		return -EPROTO;
	b->final = fin->via.boolean;
	if ((rc = get_int(m, "job_id", true, 1, INT64_MAX, &b->job_id)) ||
	    (rc = get_i32(m, "attempt", true, &b->attempt)) ||
	    (rc = get_i32(m, "seq", true, &b->seq)) ||
	    (rc = get_str(m, "worker_id", true, &b->worker_id)) ||
	    (rc = get_str(m, "stdout_tail", false, &b->stdout_tail)) ||
	    (rc = get_str(m, "stderr_tail", false, &b->stderr_tail)) ||
	    (rc = get_str(m, "error", false, &b->error)) ||
	    (rc = get_int(m, "duration_ms", false, 0, INT64_MAX, &b->duration_ms)) ||
	    (rc = get_str(m, "ruleset_digest", false, &b->ruleset_digest)) ||
	    (rc = get_str(m, "image_digest", false, &b->image_digest)) ||
	    (rc = get_str(m, "auth", false, &b->auth)) ||
	    (rc = get_str(m, "network", false, &b->network)))
		goto fail;
	if (b->seq < 0 || b->attempt < 1) {
		rc = -EPROTO;
		goto fail;
	}
	const msgpack_object *st = map_get(m, "stats");
	if ((rc = get_uint(st, "events", &b->events)) || (rc = get_uint(st, "drops", &b->drops)))
		goto fail;
	const msgpack_object *ex = map_get(m, "exit_status");
	if (ex && ex->type != MSGPACK_OBJECT_NIL) {
		if ((rc = get_i32(m, "exit_status", true, &b->exit_status)))
			goto fail;
		b->has_exit_status = true;
	}
	const msgpack_object *al = map_get(m, "alerts");
	if (al && al->type != MSGPACK_OBJECT_ARRAY) {
		rc = -EPROTO;
		goto fail;
	}
	if (al && al->via.array.size > 0) {
		if (al->via.array.size > SF_WIRE_MAX_ITEMS) {
			rc = -EPROTO;
			goto fail;
		}
		b->alerts = calloc(al->via.array.size, sizeof(*b->alerts));
		if (!b->alerts) {
			rc = -ENOMEM;
			goto fail;
		}
		for (uint32_t i = 0; i < al->via.array.size; i++) {
			b->nalerts++;
			if ((rc = decode_alert(&al->via.array.ptr[i], &b->alerts[i])))
				goto fail;
		}
	}
	if ((rc = decode_facts(map_get(m, "facts"), b)) ||
	    (rc = decode_phases(map_get(m, "phases"), b)) ||
	    (rc = decode_packages(map_get(m, "packages"), b)))
		goto fail;
	return 0;
fail:
	sf_batch_free(b);
	return rc;
}

static void hello_free(struct sf_hello *h)
{
	free(h->worker_id);
	free(h->version);
	free(h->sensor);
	free(h->ruleset_digest);
	free(h->image_digest);
	free(h->auth);
	memset(h, 0, sizeof(*h));
}

static int decode_hello(const msgpack_object *m, struct sf_hello *h)
{
	int rc;
	if ((rc = get_str(m, "worker_id", true, &h->worker_id)) ||
	    (rc = get_str(m, "version", false, &h->version)) ||
	    (rc = get_i32(m, "capacity", false, &h->capacity)) ||
	    (rc = get_i32(m, "running", false, &h->running)) ||
	    (rc = get_str(m, "sensor", false, &h->sensor)) ||
	    (rc = get_str(m, "ruleset_digest", false, &h->ruleset_digest)) ||
	    (rc = get_str(m, "image_digest", false, &h->image_digest)) ||
	    (rc = get_str(m, "auth", false, &h->auth)))
		hello_free(h);
	return rc;
}

int sf_wire_decode(const void *data, size_t len, struct sf_msg *out)
{
	memset(out, 0, sizeof(*out));
	if (len > SF_WIRE_MAX_MSG)
		return -EMSGSIZE;
	if (len == 0 || sf_wire_precheck(data, len))
		return -EPROTO;

	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	int rc = -EPROTO;
	if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
		goto out;
	const msgpack_object *m = &u.data;
	if (m->type != MSGPACK_OBJECT_MAP)
		goto out;
	int64_t v;
	if (get_int(m, "v", true, I64, &v))
		goto out;
	if (v != SF_WIRE_VERSION) {
		rc = -EPROTONOSUPPORT;
		goto out;
	}
	const msgpack_object *t = map_get(m, "type");
	if (!t || t->type != MSGPACK_OBJECT_STR)
		goto out;
#define IS(name) (t->via.str.size == strlen(name) && memcmp(t->via.str.ptr, name, t->via.str.size) == 0)
	if (IS("jobs")) {
		out->type = SF_MSG_JOBS;
		rc = decode_jobs(m, &out->u.jobs);
	} else if (IS("want")) {
		out->type = SF_MSG_WANT;
		rc = decode_want(m, &out->u.want);
	} else if (IS("batch")) {
		out->type = SF_MSG_BATCH;
		rc = decode_batch(m, &out->u.batch);
	} else if (IS("hello") || IS("heartbeat")) {
		out->type = IS("hello") ? SF_MSG_HELLO : SF_MSG_HEARTBEAT;
		rc = decode_hello(m, &out->u.hello);
	}
#undef IS
out:
	msgpack_unpacked_destroy(&u);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

void sf_msg_free(struct sf_msg *msg)
{
	switch (msg->type) {
	case SF_MSG_JOBS:
		sf_jobs_free(&msg->u.jobs);
		break;
	case SF_MSG_WANT:
		sf_want_free(&msg->u.want);
		break;
	case SF_MSG_BATCH:
		sf_batch_free(&msg->u.batch);
		break;
	case SF_MSG_HELLO:
	case SF_MSG_HEARTBEAT:
		hello_free(&msg->u.hello);
		break;
	}
	memset(msg, 0, sizeof(*msg));
}
