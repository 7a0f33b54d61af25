/*
 * arena — the bump allocator that holds everything a loaded ruleset
 * is made of: names, conditions, compiled condition trees, list items.
 *
 * A ruleset is built once and then only read, so its pieces never need to
 * be freed one by one: they are carved out of large chunks and released all
 * together. Compiled trees may share subtrees (a macro used by many rules)
 * without reference counts for the same reason.
 *
 * Owns: its chunks. Calls: libc. Memory: every pointer it returns lives
 * until sf_arena_free; allocations are zeroed and 16-byte aligned. The total
 * is capped (SF_ARENA_MAX) so hostile rules files cannot exhaust memory.
 */
#ifndef SF_ARENA_H
#define SF_ARENA_H

#include <stddef.h>

#define SF_ARENA_CHUNK (64u << 10)
#define SF_ARENA_MAX   (512u << 20)

struct sf_arena_chunk;

struct sf_arena {
	struct sf_arena_chunk *head; /* chunk being carved, newest first */
	size_t total;                /* bytes obtained from malloc so far */
};

/* n zeroed bytes, or NULL when out of memory or over SF_ARENA_MAX. */
void *sf_arena_alloc(struct sf_arena *a, size_t n);
/* n elements of size sz, overflow-checked. */
void *sf_arena_calloc(struct sf_arena *a, size_t n, size_t sz);
/* A NUL-terminated copy of s[0..n). */
char *sf_arena_strndup(struct sf_arena *a, const char *s, size_t n);
char *sf_arena_strdup(struct sf_arena *a, const char *s);
/* Releases every chunk; the arena is empty and reusable afterwards. */
void sf_arena_free(struct sf_arena *a);

#endif
