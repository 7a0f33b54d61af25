/* cond_eval — see cond_eval.h. */
#include "cond_eval.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "fields.h"

#define COND_LINEAR_MAX 8 /* sets up to this size are scanned, larger ones searched */

int sf_cond_strcmp(const struct sf_str *a, const struct sf_str *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static bool cond_strset_has(const struct sf_str *set, size_t n, const char *s, size_t len)
{
	struct sf_str key = {s, len};
	if (n <= COND_LINEAR_MAX) {
		for (size_t k = 0; k < n; k++)
			if (set[k].len == len && memcmp(set[k].s, s, len) == 0)
				return true;
		return false;
	}
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = sf_cond_strcmp(&set[mid], &key);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool cond_numset_has(const int64_t *set, size_t n, int64_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set[mid] == v)
			return true;
		if (set[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* pmatch: the value is one of the paths, or below one of them. */
static bool cond_pmatch(const struct sf_str *set, size_t n, const char *s, size_t len)
{
	if (cond_strset_has(set, n, s, len))
		return true;
	if (len > 1 && s[0] == '/' && cond_strset_has(set, n, s, 1))
		return true;
	for (size_t k = 1; k < len; k++)
		if (s[k] == '/' && cond_strset_has(set, n, s, k))
			return true;
	return false;
}

static bool cond_icontains(const char *h, size_t hl, const char *needle, size_t nl)
{
	if (nl == 0)
		return true;
	for (size_t i = 0; i + nl <= hl; i++) {
		size_t k = 0;
		while (k < nl && tolower((unsigned char)h[i + k]) == (unsigned char)needle[k])
			k++;
		if (k == nl)
			return true;
	}
	return false;
}

static int cond_fold(int c, bool fold)
{
	return fold ? tolower(c) : c;
}

static bool cond_class_match(const char *name, size_t len, int c)
{
	static const struct {
		const char *name;
		int (*fn)(int);
	} classes[] = {{"alpha", isalpha}, {"digit", isdigit},   {"alnum", isalnum},
		       {"upper", isupper}, {"lower", islower},   {"space", isspace},
		       {"punct", ispunct}, {"xdigit", isxdigit}, {"blank", isblank},
		       {"cntrl", iscntrl}, {"graph", isgraph},   {"print", isprint}};
	for (size_t k = 0; k < sizeof(classes) / sizeof(classes[0]); k++)
		if (strlen(classes[k].name) == len && memcmp(classes[k].name, name, len) == 0)
			return classes[k].fn(c) != 0;
	return false;
}

/*
 * Matches a bracket expression at pat[pi] ('[') against c. Returns 1 or 0
 * with *next just past the ']', or -1 when the bracket is not closed (then
 * the '[' is an ordinary character, as fnmatch does).
 */
static int cond_glob_class(const char *pat, size_t plen, size_t pi, int c, bool fold, size_t *next)
{
	size_t j = pi + 1;
	bool neg = false, match = false;
	if (j < plen && (pat[j] == '!' || pat[j] == '^')) {
		neg = true;
		j++;
	}
	bool first = true;
	int fc = cond_fold(c, fold);
	while (j < plen && (pat[j] != ']' || first)) {
		first = false;
		if (pat[j] == '[' && j + 1 < plen && pat[j + 1] == ':') {
			size_t e = j + 2;
			while (e + 1 < plen && !(pat[e] == ':' && pat[e + 1] == ']'))
				e++;
			if (e + 1 >= plen)
				return -1;
			if (cond_class_match(pat + j + 2, e - j - 2, c))
				match = true;
			j = e + 2;
			continue;
		}
		int lo = (unsigned char)pat[j];
		if (lo == '\\' && j + 1 < plen)
			lo = (unsigned char)pat[++j];
		j++;
		int hi = lo;
		if (j + 1 < plen && pat[j] == '-' && pat[j + 1] != ']') {
			j++;
			if (pat[j] == '\\' && j + 1 < plen)
				j++;
			hi = (unsigned char)pat[j];
			j++;
		}
		if ((c >= lo && c <= hi) || (fold && ((fc >= tolower(lo) && fc <= tolower(hi)) ||
						      (toupper(c) >= lo && toupper(c) <= hi))))
			match = true;
	}
	if (j >= plen)
		return -1;
	*next = j + 1;
	return match != neg;
}

/* fnmatch(3) with no flags: '*' and '?' also match '/' and leading dots. */
static bool cond_glob(const char *pat, size_t plen, const char *s, size_t slen, bool fold)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
	while (si < slen) {
		if (pi < plen) {
			int pc = (unsigned char)pat[pi];
			int sc = (unsigned char)s[si];
			if (pc == '*') {
				star = ++pi;
				mark = si;
				continue;
			}
			if (pc == '?') {
				pi++;
				si++;
				continue;
			}
			if (pc == '[') {
				size_t next;
				int m = cond_glob_class(pat, plen, pi, sc, fold, &next);
				if (m == 1) {
					pi = next;
					si++;
					continue;
				}
				if (m == 0)
					goto backtrack;
			}
			if (pc == '\\' && pi + 1 < plen) {
				pi++;
				pc = (unsigned char)pat[pi];
			}
			if (cond_fold(pc, fold) == cond_fold(sc, fold)) {
				pi++;
				si++;
				continue;
			}
		}
	backtrack:
		if (star == SIZE_MAX)
			return false;
		pi = star;
		si = ++mark;
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}

static bool cond_cmp_str(const struct sf_cnode *n, const struct sf_fval *v)
{
	const struct sf_str *r = &n->u.str;
	switch (n->op) {
	case SF_OP_EQ:
		return v->len == r->len && memcmp(v->s, r->s, r->len) == 0;
	case SF_OP_NE:
		return !(v->len == r->len && memcmp(v->s, r->s, r->len) == 0);
	case SF_OP_LT:
	case SF_OP_LE:
	case SF_OP_GT:
	case SF_OP_GE: {
		struct sf_str a = {v->s, v->len};
		int c = sf_cond_strcmp(&a, r);
		return n->op == SF_OP_LT   ? c < 0
		       : n->op == SF_OP_LE ? c <= 0
		       : n->op == SF_OP_GT ? c > 0
					   : c >= 0;
	}
	case SF_OP_CONTAINS:
	case SF_OP_BCONTAINS:
		return r->len == 0 || memmem(v->s, v->len, r->s, r->len) != NULL;
	case SF_OP_ICONTAINS:
		return cond_icontains(v->s, v->len, r->s, r->len);
	case SF_OP_STARTSWITH:
	case SF_OP_BSTARTSWITH:
		return v->len >= r->len && memcmp(v->s, r->s, r->len) == 0;
	case SF_OP_ENDSWITH:
		return v->len >= r->len && memcmp(v->s + v->len - r->len, r->s, r->len) == 0;
	case SF_OP_GLOB:
		return cond_glob(r->s, r->len, v->s, v->len, false);
	case SF_OP_IGLOB:
		return cond_glob(r->s, r->len, v->s, v->len, true);
	case SF_OP_IN:
	case SF_OP_INTERSECTS:
		return cond_strset_has(n->u.strs, n->n, v->s, v->len);
	case SF_OP_PMATCH:
		return cond_pmatch(n->u.strs, n->n, v->s, v->len);
	default:
		return false;
	}
}

static bool cond_cmp_num(const struct sf_cnode *n, const struct sf_fval *v)
{
	int64_t r = n->n ? n->u.nums[0] : 0;
	switch (n->op) {
	case SF_OP_EQ:
		return v->n == r;
	case SF_OP_NE:
		return v->n != r;
	case SF_OP_LT:
		return v->n < r;
	case SF_OP_LE:
		return v->n <= r;
	case SF_OP_GT:
		return v->n > r;
	case SF_OP_GE:
		return v->n >= r;
	case SF_OP_IN:
	case SF_OP_INTERSECTS:
		return cond_numset_has(n->u.nums, n->n, v->n);
	default:
		return false;
	}
}

static bool cond_cmp_ip(const struct sf_cnode *n, const struct sf_fval *v)
{
	bool net = n->ftype == SF_FT_NET;
	switch (n->op) {
	case SF_OP_EQ:
	case SF_OP_IN:
	case SF_OP_INTERSECTS:
		for (uint32_t k = 0; k < n->n; k++)
			if (net ? sf_ip_in_net(&v->ip, &n->u.ips[k])
				: sf_ip_equal(&v->ip, &n->u.ips[k]))
				return true;
		return false;
	case SF_OP_NE:
		return net ? !sf_ip_in_net(&v->ip, &n->u.ips[0])
			   : !sf_ip_equal(&v->ip, &n->u.ips[0]);
	default:
		return false;
	}
}

static bool cond_cmp(const struct sf_cnode *n, const struct sf_event *ev, char *scratch,
		     size_t slen)
{
	struct sf_fval v;
	if (n->op == SF_OP_EXISTS)
		return sf_field_get(&n->field, ev, 0, &v, scratch, slen);
	bool all = n->multi == SF_FM_EITHER && n->op == SF_OP_NE;
	unsigned limit = n->multi == SF_FM_ONE      ? 1
			 : n->multi == SF_FM_EITHER ? 2
						    : SF_FIELD_MAX_ANCESTORS;
	bool seen = false;
	for (unsigned i = 0; i < limit; i++) {
		if (!sf_field_get(&n->field, ev, i, &v, scratch, slen))
			break;
		seen = true;
		bool r;
		switch (n->ftype) {
		case SF_FT_STR:
			r = cond_cmp_str(n, &v);
			break;
		case SF_FT_NUM:
		case SF_FT_BOOL:
			r = cond_cmp_num(n, &v);
			break;
		default:
			r = cond_cmp_ip(n, &v);
			break;
		}
		if (all && !r)
			return false;
		if (!all && r)
			return true;
	}
	return all && seen;
}

static bool cond_eval(const struct sf_cnode *n, const struct sf_event *ev, struct sf_cond_run *run)
{
	switch (n->kind) {
	case SF_CN_AND:
		for (uint32_t k = 0; k < n->n; k++)
			if (!sf_cond_eval(n->u.kids[k], ev, run))
				return false;
		return true;
	case SF_CN_OR:
		for (uint32_t k = 0; k < n->n; k++)
			if (sf_cond_eval(n->u.kids[k], ev, run))
				return true;
		return false;
	case SF_CN_NOT:
		return !sf_cond_eval(n->u.kids[0], ev, run);
	case SF_CN_CMP:
		return cond_cmp(n, ev, run->scratch, run->slen);
	default:
		return false;
	}
}

bool sf_cond_eval(const struct sf_cnode *n, const struct sf_event *ev, struct sf_cond_run *run)
{
	uint32_t m = n->memo;
	if (!m || m >= run->nmemo)
		return cond_eval(n, ev, run);
	if (run->stamp[m] == run->gen)
		return run->val[m];
	bool r = cond_eval(n, ev, run);
	run->val[m] = r;
	run->stamp[m] = run->gen;
	return r;
}
