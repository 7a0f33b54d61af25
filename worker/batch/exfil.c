/* exfil — see exfil.h. */
#include "exfil.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A secret in one encoding, lower-cased: what windows of the searched
 * text are compared with. */
struct exfil_needle {
	char *s;
	size_t len;
	int secret;
	int enc;
};

/* One window of a needle in a group's hash table (needle < 0: empty). */
struct exfil_entry {
	uint64_t hash;
	int32_t needle;
	uint32_t off;
};

/* The needles whose windows have the same width, in one open-addressing
 * table of their windows' rolling hashes. */
struct exfil_group {
	size_t w;
	uint64_t pow; /* EXFIL_BASE^(w-1) */
	struct exfil_entry *tab;
	size_t mask;
	size_t used;
};

enum { EXFIL_RAW, EXFIL_HEX, EXFIL_B64, EXFIL_B64URL, EXFIL_B32, EXFIL_NENC };
static const char *const exfil_enc_names[EXFIL_NENC] = {"raw", "hex", "base64", "base64url",
							 "base32"};
/* Window width per encoding: SF_EXFIL_MIN_BYTES of the secret. */
static const size_t exfil_enc_width[EXFIL_NENC] = {
    SF_EXFIL_MIN_BYTES, 2 * SF_EXFIL_MIN_BYTES, (SF_EXFIL_MIN_BYTES * 4 + 2) / 3,
    (SF_EXFIL_MIN_BYTES * 4 + 2) / 3, (SF_EXFIL_MIN_BYTES * 8 + 4) / 5 + 1};
#define EXFIL_NGROUPS 4 /* distinct widths above */
#define EXFIL_BASE 0x100000001b3ULL
#define EXFIL_MAX_TEXT (1u << 20) /* bytes of one fact searched */

struct sf_exfil {
	int nsecrets;
	char *names[SF_EXFIL_MAX_SECRETS];
	struct exfil_needle *needles;
	int nneedles, needles_cap;
	struct exfil_group groups[EXFIL_NGROUPS];
	int ngroups;
};

static char exfil_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

static uint64_t exfil_mix(uint64_t h)
{
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* --- the encodings ---------------------------------------------------------- */

static const char exfil_hexdig[] = "0123456789abcdef";
static const char exfil_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char exfil_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char exfil_b32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Encodes in[0..n) into out (room for 2n+1), lower-cased, whole groups
 * only (what the encoding of a longer text holds whatever follows). */
static size_t exfil_encode(int enc, const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	if (enc == EXFIL_RAW) {
		for (size_t i = 0; i < n; i++)
			out[o++] = exfil_lower((char)in[i]);
	} else if (enc == EXFIL_HEX) {
		for (size_t i = 0; i < n; i++) {
			out[o++] = exfil_hexdig[in[i] >> 4];
			out[o++] = exfil_hexdig[in[i] & 15];
		}
	} else if (enc == EXFIL_B64 || enc == EXFIL_B64URL) {
		const char *a = enc == EXFIL_B64 ? exfil_b64 : exfil_b64url;
		for (size_t i = 0; i + 3 <= n; i += 3) {
			uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
			for (int k = 3; k >= 0; k--)
				out[o++] = exfil_lower(a[(v >> (6 * k)) & 63]);
		}
	} else {
		for (size_t i = 0; i + 5 <= n; i += 5) {
			uint64_t v = 0;
			for (int k = 0; k < 5; k++)
				v = v << 8 | in[i + k];
			for (int k = 7; k >= 0; k--)
				out[o++] = exfil_b32[(v >> (5 * k)) & 31];
		}
	}
	out[o] = 0;
	return o;
}

/* --- building the index ------------------------------------------------------- */

static struct exfil_group *exfil_group_for(struct sf_exfil *x, size_t w)
{
	for (int g = 0; g < x->ngroups; g++)
		if (x->groups[g].w == w)
			return &x->groups[g];
	struct exfil_group *g = &x->groups[x->ngroups++];
	g->w = w;
	g->pow = 1;
	for (size_t i = 1; i < w; i++)
		g->pow *= EXFIL_BASE;
	return g;
}

static int exfil_add_needle(struct sf_exfil *x, int secret, int enc, const unsigned char *in,
			    size_t n)
{
	if (x->nneedles == x->needles_cap) {
		int cap = x->needles_cap ? x->needles_cap * 2 : 64;
		struct exfil_needle *nn = realloc(x->needles, (size_t)cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		x->needles = nn;
		x->needles_cap = cap;
	}
	char *s = malloc(2 * n + 1);
	if (!s)
		return -ENOMEM;
	size_t len = exfil_encode(enc, in, n, s);
	if (len < exfil_enc_width[enc]) {
		free(s);
		return 0;
	}
	x->needles[x->nneedles++] = (struct exfil_needle){s, len, secret, enc};
	exfil_group_for(x, exfil_enc_width[enc])->used += len - exfil_enc_width[enc] + 1;
	return 0;
}

static uint64_t exfil_hash(const char *s, size_t w)
{
	uint64_t h = 0;
	for (size_t i = 0; i < w; i++)
		h = h * EXFIL_BASE + (unsigned char)s[i];
	return h;
}

/* Every window of every needle into its group's table. */
static int exfil_fill_tables(struct sf_exfil *x)
{
	for (int gi = 0; gi < x->ngroups; gi++) {
		struct exfil_group *g = &x->groups[gi];
		size_t size = 64;
		while (size < g->used * 2)
			size <<= 1;
		if (!(g->tab = malloc(size * sizeof(*g->tab))))
			return -ENOMEM;
		for (size_t i = 0; i < size; i++)
			g->tab[i].needle = -1;
		g->mask = size - 1;
	}
	for (int k = 0; k < x->nneedles; k++) {
		const struct exfil_needle *nd = &x->needles[k];
		struct exfil_group *g = exfil_group_for(x, exfil_enc_width[nd->enc]);
		for (size_t off = 0; off + g->w <= nd->len; off++) {
			uint64_t h = exfil_hash(nd->s + off, g->w);
			size_t i = exfil_mix(h) & g->mask;
			bool dup = false; /* a window seen already (a repetitive secret) */
			for (; g->tab[i].needle >= 0 && !dup; i = (i + 1) & g->mask) {
				const struct exfil_entry *e = &g->tab[i];
				dup = e->hash == h &&
				      !memcmp(x->needles[e->needle].s + e->off, nd->s + off, g->w);
			}
			if (!dup)
				g->tab[i] = (struct exfil_entry){h, k, (uint32_t)off};
		}
	}
	return 0;
}

/* The needles of one secret: raw, hex, and base64, base64url and base32
 * of the secret from each byte offset that can start one of their groups. */
static int exfil_add_secret(struct sf_exfil *x, int secret, const struct sf_exfil_secret *s)
{
	const unsigned char *t = (const unsigned char *)s->text;
	int rc = exfil_add_needle(x, secret, EXFIL_RAW, t, s->len);
	if (rc == 0)
		rc = exfil_add_needle(x, secret, EXFIL_HEX, t, s->len);
	for (size_t k = 0; rc == 0 && k < 3 && k < s->len; k++)
		if ((rc = exfil_add_needle(x, secret, EXFIL_B64, t + k, s->len - k)) == 0)
			rc = exfil_add_needle(x, secret, EXFIL_B64URL, t + k, s->len - k);
	for (size_t k = 0; rc == 0 && k < 5 && k < s->len; k++)
		rc = exfil_add_needle(x, secret, EXFIL_B32, t + k, s->len - k);
	return rc;
}

int sf_exfil_new(struct sf_exfil **out, const struct sf_exfil_secret *secrets, int n)
{
	*out = NULL;
	if (n < 0 || n > SF_EXFIL_MAX_SECRETS)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (!secrets[i].name || !secrets[i].text || secrets[i].len > SF_EXFIL_MAX_SECRET)
			return -EINVAL;
	struct sf_exfil *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	int rc = 0;
	for (int i = 0; rc == 0 && i < n; i++) {
		if (!(x->names[i] = strdup(secrets[i].name))) {
			rc = -ENOMEM;
			break;
		}
		x->nsecrets++;
		if (secrets[i].len >= SF_EXFIL_MIN_BYTES)
			rc = exfil_add_secret(x, i, &secrets[i]);
	}
	if (rc == 0)
		rc = exfil_fill_tables(x);
	if (rc) {
		sf_exfil_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

void sf_exfil_free(struct sf_exfil *x)
{
	if (!x)
		return;
	for (int i = 0; i < x->nsecrets; i++)
		free(x->names[i]);
	for (int k = 0; k < x->nneedles; k++)
		free(x->needles[k].s);
	free(x->needles);
	for (int g = 0; g < x->ngroups; g++)
		free(x->groups[g].tab);
	free(x);
}

/* --- searching -------------------------------------------------------------- */

/* The first window of t (lower-cased, n bytes) that is a window of a
 * needle: its needle's index, or -1. */
static int exfil_find(const struct sf_exfil *x, const char *t, size_t n)
{
	for (int gi = 0; gi < x->ngroups; gi++) {
		const struct exfil_group *g = &x->groups[gi];
		if (n < g->w || !g->used)
			continue;
		uint64_t h = exfil_hash(t, g->w);
		for (size_t pos = 0;; pos++) {
			for (size_t i = exfil_mix(h) & g->mask; g->tab[i].needle >= 0;
			     i = (i + 1) & g->mask) {
				const struct exfil_entry *e = &g->tab[i];
				if (e->hash == h &&
				    !memcmp(t + pos, x->needles[e->needle].s + e->off, g->w))
					return e->needle;
			}
			if (pos + g->w >= n)
				break;
			h = (h - (unsigned char)t[pos] * g->pow) * EXFIL_BASE +
			    (unsigned char)t[pos + g->w];
		}
	}
	return -1;
}

static int exfil_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = exfil_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The forms of a text searched: as it is, dots removed, percent-decoded
 * (each lower-cased into buf, which holds n bytes); the length of form k,
 * or 0 when that form is the same as the first. */
static size_t exfil_form(int k, const char *text, size_t n, char *buf)
{
	size_t o = 0;
	bool changed = k == 0;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (k == 1 && c == '.') {
			changed = true;
			continue;
		}
		if (k == 2 && c == '%' && i + 2 < n && exfil_hexval(text[i + 1]) >= 0 &&
		    exfil_hexval(text[i + 2]) >= 0) {
			c = (char)(exfil_hexval(text[i + 1]) << 4 | exfil_hexval(text[i + 2]));
			i += 2;
			changed = true;
		}
		buf[o++] = exfil_lower(c);
	}
	return changed ? o : 0;
}

static bool exfil_search_buf(const struct sf_exfil *x, const char *text, size_t len, char *buf,
			     struct sf_exfil_hit *hit)
{
	static const char *const forms[3] = {"", "dots removed", "percent-decoded"};
	if (len > EXFIL_MAX_TEXT)
		len = EXFIL_MAX_TEXT;
	for (int k = 0; k < 3; k++) {
		size_t n = exfil_form(k, text, len, buf);
		int nd = n ? exfil_find(x, buf, n) : -1;
		if (nd >= 0) {
			hit->secret = x->needles[nd].secret;
			hit->encoding = exfil_enc_names[x->needles[nd].enc];
			hit->form = forms[k];
			return true;
		}
	}
	return false;
}

bool sf_exfil_search(const struct sf_exfil *x, const char *text, size_t len,
		     struct sf_exfil_hit *hit)
{
	if (!x || !x->nneedles || !text || len < SF_EXFIL_MIN_BYTES)
		return false;
	char *buf = malloc(len > EXFIL_MAX_TEXT ? EXFIL_MAX_TEXT : len);
	if (!buf)
		return false;
	bool found = exfil_search_buf(x, text, len, buf, hit);
	free(buf);
	return found;
}

/* --- alerts ------------------------------------------------------------------- */

/* At most max bytes of s, printable ASCII only. */
static char *exfil_evidence(const char *s, size_t max)
{
	size_t n = strlen(s);
	bool cut = n > max;
	if (cut)
		n = max;
	char *e = malloc(n + 4);
	if (!e)
		return NULL;
	for (size_t i = 0; i < n; i++)
		e[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	memcpy(e + n, cut ? "..." : "", cut ? 4 : 1);
	return e;
}

static int exfil_alert(struct sf_alert *a, const char *name, const struct sf_fact *f,
		       const struct sf_exfil_hit *hit, const char *where, const char *hostname)
{
	static const char *const tags[] = {"scanfarm",		  "canary",
					   "credentials",	  "exfiltration",
					   "mitre_credential_access", "mitre_exfiltration",
					   "T1552.001",		  "T1048"};
	char enc[64], *evidence = exfil_evidence(where, 200);
	snprintf(enc, sizeof(enc), "%s%s%s", hit->encoding, hit->form[0] ? ", " : "", hit->form);
	const char *pkg = f->package ? f->package : "", *phase = f->phase ? f->phase : "";
	memset(a, 0, sizeof(*a));
	a->time_ns = sf_now_ms() * 1000000;
	a->priority = strdup("Critical");
	a->rule = strdup(SF_EXFIL_RULE);
	a->source = strdup("syscall");
	a->hostname = strdup(hostname ? hostname : "");
	if (evidence &&
	    asprintf(&a->output,
		     "Canary credential exfiltrated | credential=%s seen_in=%s encoding=%s "
		     "evidence=%s package=%s phase=%s",
		     name, f->kind, enc, evidence, pkg, phase) < 0)
		a->output = NULL;
	a->tags = calloc(sizeof(tags) / sizeof(tags[0]), sizeof(*a->tags));
	for (size_t i = 0; a->tags && i < sizeof(tags) / sizeof(tags[0]); i++)
		if ((a->tags[a->ntags] = strdup(tags[i])))
			a->ntags++;
	const char *const kv[6][2] = {{"sf.canary.name", name},	   {"sf.canary.seen_in", f->kind},
				      {"sf.canary.encoding", enc},	   {"sf.canary.evidence", evidence},
				      {"scanfarm.package", pkg},	   {"scanfarm.phase", phase}};
	a->fields = calloc(6, sizeof(*a->fields));
	for (int i = 0; a->fields && evidence && i < 6; i++) {
		a->fields[i].key = strdup(kv[i][0]);
		a->fields[i].value = strdup(kv[i][1]);
		a->nfields++;
		if (!a->fields[i].key || !a->fields[i].value)
			break;
	}
	free(evidence);
	bool ok = a->priority && a->rule && a->source && a->hostname && a->output && a->tags &&
		  a->ntags == sizeof(tags) / sizeof(tags[0]) && a->fields && a->nfields == 6 &&
		  a->fields[5].value;
	if (!ok)
		sf_alert_free(a);
	return ok ? 0 : -ENOMEM;
}

static bool exfil_same(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

/* Whether an alert for this secret, fact kind, package and phase is
 * among the ones this scan added (from index first). */
static bool exfil_known(const struct sf_batch *b, uint32_t first, const char *name,
			const struct sf_fact *f)
{
	for (uint32_t i = first; i < b->nalerts; i++) {
		const struct sf_alert *a = &b->alerts[i];
		if (exfil_same(a->fields[0].value, name) && exfil_same(a->fields[1].value, f->kind) &&
		    exfil_same(a->fields[4].value, f->package) &&
		    exfil_same(a->fields[5].value, f->phase))
			return true;
	}
	return false;
}

int sf_exfil_scan_batch(const struct sf_exfil *x, struct sf_batch *b, const char *hostname)
{
	if (!x || !x->nneedles)
		return 0;
	size_t cap = 256;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	uint32_t first = b->nalerts;
	int added = 0, rc = 0;
	for (uint32_t i = 0; i < b->nfacts && added < SF_EXFIL_MAX_ALERTS; i++) {
		const struct sf_fact *f = &b->facts[i];
		const char *parts[2] = {f->value, f->detail};
		for (int p = 0; p < 2 && rc == 0; p++) {
			size_t len = parts[p] ? strlen(parts[p]) : 0;
			if (len < SF_EXFIL_MIN_BYTES)
				continue;
			size_t need = len > EXFIL_MAX_TEXT ? EXFIL_MAX_TEXT : len;
			if (need > cap) {
				char *nb = realloc(buf, need);
				if (!nb) {
					rc = -ENOMEM;
					break;
				}
				buf = nb;
				cap = need;
			}
			struct sf_exfil_hit hit;
			if (!exfil_search_buf(x, parts[p], len, buf, &hit))
				continue;
			const char *name = x->names[hit.secret];
			if (exfil_known(b, first, name, f))
				break;
			struct sf_alert *na = realloc(b->alerts, (b->nalerts + 1) * sizeof(*na));
			if (!na) {
				rc = -ENOMEM;
				break;
			}
			b->alerts = na;
			if ((rc = exfil_alert(&b->alerts[b->nalerts], name, f, &hit, parts[p],
					      hostname)) == 0) {
				b->nalerts++;
				added++;
			}
			break;
		}
	}
	free(buf);
	return rc ? rc : added;
}
