/*
 * strmap — an open-addressing hash map (FNV-1a, linear probing) from
 * strings to pointers: the ruleset's rule, macro and list names, and its
 * event-type index.
 *
 * Owns: its slot array (calloc'd; the owner of the map frees m->slots).
 * Calls: libc. Memory: keys and values belong to the caller; a key must
 * outlive the map.
 */
#ifndef SF_STRMAP_H
#define SF_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct sf_strmap_entry {
	const char *key; /* NULL: free slot */
	size_t len;
	uint64_t hash;
	void *val;
};

struct sf_strmap {
	struct sf_strmap_entry *slots;
	size_t cap, n; /* cap is 0 or a power of two */
};

/* FNV-1a of s[0..len). */
uint64_t sf_strmap_hash(const char *s, size_t len);
/* The slot holding key (hash h), or the free slot where it would go; NULL
 * for an empty map. */
struct sf_strmap_entry *sf_strmap_slot(const struct sf_strmap *m, const char *key, size_t len,
				       uint64_t h);
/* The value of key, or NULL. */
void *sf_strmap_get(const struct sf_strmap *m, const char *key, size_t len);
/* Sets key to val (key must outlive the map). 0 or -ENOMEM. */
int sf_strmap_put(struct sf_strmap *m, const char *key, size_t len, void *val);

#endif
