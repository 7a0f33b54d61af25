/* arena — see arena.h. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sf_arena_chunk {
	struct sf_arena_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

void *sf_arena_alloc(struct sf_arena *a, size_t n)
{
	size_t need = (n + 15u) & ~(size_t)15u;
	if (need < n)
		return NULL;
	struct sf_arena_chunk *c = a->head;
	if (!c || c->cap - c->used < need) {
		size_t cap = need > SF_ARENA_CHUNK / 2 ? need : SF_ARENA_CHUNK;
		if (cap > SF_ARENA_MAX || a->total + cap > SF_ARENA_MAX)
			return NULL;
		struct sf_arena_chunk *nc = malloc(sizeof(*nc) + cap);
		if (!nc)
			return NULL;
		nc->used = 0;
		nc->cap = cap;
		a->total += cap;
		/* A big one-off allocation goes behind the current chunk so the
		 * space left in the current one is not wasted. */
		if (c && cap != SF_ARENA_CHUNK) {
			nc->next = c->next;
			c->next = nc;
		} else {
			nc->next = c;
			a->head = nc;
		}
		c = nc;
	}
	void *p = c->data + c->used;
	c->used += need;
	memset(p, 0, n);
	return p;
}

void *sf_arena_calloc(struct sf_arena *a, size_t n, size_t sz)
{
	if (sz && n > SIZE_MAX / sz)
		return NULL;
	size_t total = n * sz;
	return sf_arena_alloc(a, total ? total : 1);
}

char *sf_arena_strndup(struct sf_arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *d = sf_arena_alloc(a, n + 1);
	if (!d)
		return NULL;
	if (n)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *sf_arena_strdup(struct sf_arena *a, const char *s)
{
	return sf_arena_strndup(a, s, strlen(s));
}

void sf_arena_free(struct sf_arena *a)
{
	struct sf_arena_chunk *c = a->head;
	while (c) {
		struct sf_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}
