/* strmap — see strmap.h. */
#include "strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t sf_strmap_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

struct sf_strmap_entry *sf_strmap_slot(const struct sf_strmap *m, const char *key, size_t len,
				       uint64_t h)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct sf_strmap_entry *s = &m->slots[i];
		if (!s->key)
			return s;
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
			return s;
	}
}

void *sf_strmap_get(const struct sf_strmap *m, const char *key, size_t len)
{
	struct sf_strmap_entry *s = sf_strmap_slot(m, key, len, sf_strmap_hash(key, len));
	return s && s->key ? s->val : NULL;
}

/* key must outlive the map. */
int sf_strmap_put(struct sf_strmap *m, const char *key, size_t len, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct sf_strmap_entry *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		struct sf_strmap nm = {slots, cap, 0};
		for (size_t i = 0; i < m->cap; i++) {
			struct sf_strmap_entry *o = &m->slots[i];
			if (!o->key)
				continue;
			*sf_strmap_slot(&nm, o->key, o->len, o->hash) = *o;
			nm.n++;
		}
		free(m->slots);
		*m = nm;
	}
	uint64_t h = sf_strmap_hash(key, len);
	struct sf_strmap_entry *s = sf_strmap_slot(m, key, len, h);
	if (!s->key) {
		s->key = key;
		s->len = len;
		s->hash = h;
		m->n++;
	}
	s->val = val;
	return 0;
}
