/* evttypes — see evttypes.h. */
#include "evttypes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cond_eval.h"
#include "fields.h"
#include "strmap.h"

/* ---- the event types a condition can be true for ---------------------- */

static bool cond_is_typecheck(const struct sf_cnode *n)
{
	return n->kind == SF_CN_CMP && sf_field_is_evt_type(&n->field) &&
	       (n->op == SF_OP_EQ || n->op == SF_OP_NE || n->op == SF_OP_IN ||
		n->op == SF_OP_INTERSECTS);
}

int sf_cond_evttype_names(const struct sf_cnode *n, int (*cb)(void *arg, const struct sf_str *s),
			  void *arg)
{
	if (n->kind != SF_CN_CMP) {
		for (uint32_t k = 0; k < n->n; k++) {
			int rc = sf_cond_evttype_names(n->u.kids[k], cb, arg);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (!cond_is_typecheck(n))
		return 0;
	if (n->op == SF_OP_EQ || n->op == SF_OP_NE)
		return cb(arg, &n->u.str);
	for (uint32_t k = 0; k < n->n; k++) {
		int rc = cb(arg, &n->u.strs[k]);
		if (rc)
			return rc;
	}
	return 0;
}

struct cond_tctx {
	size_t ntypes, words;
	int (*index)(void *arg, const struct sf_str *s);
	void *arg;
};

static void cond_set_all(const struct cond_tctx *t, uint64_t *s)
{
	memset(s, 0, t->words * sizeof(*s));
	for (size_t b = 0; b < t->ntypes; b++)
		s[b / 64] |= 1ull << (b % 64);
}

static void cond_set_bit(uint64_t *s, int b, bool on)
{
	if (b < 0)
		return;
	if (on)
		s[b / 64] |= 1ull << (b % 64);
	else
		s[b / 64] &= ~(1ull << (b % 64));
}

/*
 * T: the types n may be true for; F: the types n may be false for. Tracking
 * both makes `not` exact: not (evt.type = open) may be true for every type
 * but open, while not (evt.type = open and proc.name = x) may be true for
 * all of them.
 */
static int cond_types(const struct cond_tctx *t, const struct sf_cnode *n, uint64_t *T, uint64_t *F)
{
	int rc = 0;
	uint64_t *kt = NULL;
	switch (n->kind) {
	case SF_CN_CMP:
		cond_set_all(t, T);
		cond_set_all(t, F);
		if (!cond_is_typecheck(n))
			return 0;
		if (n->op == SF_OP_EQ || n->op == SF_OP_NE) {
			int b = t->index(t->arg, &n->u.str);
			/* =: true only for that type; !=: false only for it */
			memset(n->op == SF_OP_EQ ? T : F, 0, t->words * sizeof(*T));
			cond_set_bit(n->op == SF_OP_EQ ? T : F, b, true);
			cond_set_bit(n->op == SF_OP_EQ ? F : T, b, false);
			return 0;
		}
		memset(T, 0, t->words * sizeof(*T));
		for (uint32_t k = 0; k < n->n; k++) {
			int b = t->index(t->arg, &n->u.strs[k]);
			cond_set_bit(T, b, true);
			cond_set_bit(F, b, false);
		}
		return 0;
	case SF_CN_NOT:
		return cond_types(t, n->u.kids[0], F, T);
	case SF_CN_AND:
	case SF_CN_OR: {
		bool and = n->kind == SF_CN_AND;
		kt = malloc(2 * t->words * sizeof(*kt));
		if (!kt)
			return -ENOMEM;
		uint64_t *kf = kt + t->words;
		for (uint32_t k = 0; k < n->n; k++) {
			rc = cond_types(t, n->u.kids[k], kt, kf);
			if (rc)
				goto out;
			for (size_t w = 0; w < t->words; w++) {
				if (k == 0) {
					T[w] = kt[w];
					F[w] = kf[w];
				} else if (and) {
					T[w] &= kt[w];
					F[w] |= kf[w];
				} else {
					T[w] |= kt[w];
					F[w] &= kf[w];
				}
			}
		}
		break;
	}
	default:
		cond_set_all(t, T);
		cond_set_all(t, F);
		break;
	}
out:
	free(kt);
	return rc;
}

int sf_cond_evttypes(const struct sf_cnode *n, size_t ntypes,
		     int (*index)(void *arg, const struct sf_str *s), void *arg, uint64_t *out)
{
	struct cond_tctx t = {
	    .ntypes = ntypes, .words = (ntypes + 63) / 64, .index = index, .arg = arg};
	uint64_t *f = malloc(t.words * sizeof(*f));
	if (!f)
		return -ENOMEM;
	int rc = cond_types(&t, n, out, f);
	free(f);
	return rc;
}

/* ---- the index -------------------------------------------------------- */

static int rules_type_name(void *arg, const struct sf_str *s)
{
	struct sf_ruleset *rs = arg;
	if (sf_strmap_get(&rs->type_map, s->s, s->len))
		return 0;
	rs->ntypes++;
	return sf_strmap_put(&rs->type_map, s->s, s->len, (void *)(uintptr_t)rs->ntypes);
}

static int rules_type_index(void *arg, const struct sf_str *s)
{
	struct sf_ruleset *rs = arg;
	uintptr_t v = (uintptr_t)sf_strmap_get(&rs->type_map, s->s, s->len);
	return v ? (int)v - 1 : -1;
}

/* Builds the per-event-type rule lists. */
int sf_evttypes_index(struct sf_ruleset *rs)
{
	rs->ntypes = 0;
	for (uint32_t i = 0; i < rs->nours; i++)
		if (sf_cond_evttype_names(rs->ours[i]->node, rules_type_name, rs))
			return sf_ruleset_nomem(rs);
	uint32_t other = rs->ntypes++;
	size_t words = (rs->ntypes + 63) / 64;
	uint32_t *count = calloc(rs->ntypes + 1u, sizeof(*count));
	if (!count)
		return sf_ruleset_nomem(rs);
	int rc = 0;
	for (uint32_t i = 0; i < rs->nours; i++) {
		struct sf_rule *r = rs->ours[i];
		r->types = sf_arena_calloc(&rs->arena, words, sizeof(*r->types));
		if (!r->types ||
		    sf_cond_evttypes(r->node, rs->ntypes, rules_type_index, rs, r->types)) {
			rc = sf_ruleset_nomem(rs);
			goto out;
		}
		bool all = true;
		for (uint32_t t = 0; t < rs->ntypes; t++) {
			bool on = (r->types[t / 64] >> (t % 64)) & 1u;
			all = all && on;
			if (on && r->enabled)
				count[t]++;
		}
		r->all_types = all;
		if (all && r->warn_evttypes)
			sf_ruleset_warn(
			    rs, "rule '%s' has no evt.type restriction: it runs for every event",
			    r->name);
		bool none = !((r->types[other / 64] >> (other % 64)) & 1u);
		for (uint32_t t = 0; t < other && none; t++)
			none = !((r->types[t / 64] >> (t % 64)) & 1u);
		if (none)
			sf_ruleset_warn(
			    rs,
			    "rule '%s' can never match (its evt.type checks exclude every type)",
			    r->name);
	}
	rs->bucket_start = sf_arena_calloc(&rs->arena, rs->ntypes + 1u, sizeof(*rs->bucket_start));
	size_t total = 0;
	for (uint32_t t = 0; t < rs->ntypes; t++)
		total += count[t];
	rs->bucket_rules =
	    sf_arena_calloc(&rs->arena, total ? total : 1, sizeof(*rs->bucket_rules));
	if (!rs->bucket_start || !rs->bucket_rules) {
		rc = sf_ruleset_nomem(rs);
		goto out;
	}
	for (uint32_t t = 0; t < rs->ntypes; t++) {
		rs->bucket_start[t + 1] = rs->bucket_start[t] + count[t];
		count[t] = rs->bucket_start[t]; /* now the fill position */
	}
	for (uint32_t i = 0; i < rs->nours; i++) {
		struct sf_rule *r = rs->ours[i];
		if (!r->enabled)
			continue;
		for (uint32_t t = 0; t < rs->ntypes; t++)
			if ((r->types[t / 64] >> (t % 64)) & 1u)
				rs->bucket_rules[count[t]++] = r;
	}
out:
	free(count);
	return rc;
}

/* ---- public: evaluation ----------------------------------------------- */

void sf_rules_ctx_init(struct sf_rules_ctx *ctx)
{
	ctx->events = ctx->checks = ctx->matches = 0;
	ctx->gen = 0;
	memset(ctx->memo_stamp, 0, sizeof(ctx->memo_stamp));
	ctx->scratch[0] = '\0';
}

/* The type number of ev: hash and length in one pass over the name. */
static uint32_t rules_event_type(const struct sf_ruleset *rs, const char *type)
{
	uint32_t other = rs->ntypes - 1;
	if (!type || !rs->type_map.cap)
		return other;
	uint64_t h = 1469598103934665603ull;
	size_t len = 0;
	for (; type[len]; len++) {
		h ^= (unsigned char)type[len];
		h *= 1099511628211ull;
	}
	const struct sf_strmap_entry *s = sf_strmap_slot(&rs->type_map, type, len, h);
	return s && s->key ? (uint32_t)((uintptr_t)s->val - 1) : other;
}

int sf_rules_eval(const struct sf_ruleset *rs, struct sf_rules_ctx *ctx, const struct sf_event *ev,
		  sf_rules_match_fn on_match, void *arg)
{
	uint32_t t = rules_event_type(rs, ev->type);
	uint32_t from = rs->bucket_start[t], to = rs->bucket_start[t + 1];
	int matches = 0;
	ctx->events++;
	if (++ctx->gen == 0) { /* wrapped: forget every stamp */
		memset(ctx->memo_stamp, 0, sizeof(ctx->memo_stamp));
		ctx->gen = 1;
	}
	struct sf_cond_run run = {.gen = ctx->gen,
				  .nmemo = SF_RULES_MEMO,
				  .stamp = ctx->memo_stamp,
				  .val = ctx->memo_val,
				  .scratch = ctx->scratch,
				  .slen = sizeof(ctx->scratch)};
	for (uint32_t k = from; k < to; k++) {
		const struct sf_rule *r = rs->bucket_rules[k];
		ctx->checks++;
		if (!sf_cond_eval(r->node, ev, &run))
			continue;
		matches++;
		if (on_match)
			on_match(arg, r, ev);
	}
	ctx->matches += (uint64_t)matches;
	return matches;
}
