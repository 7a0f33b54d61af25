/* jsonpos — see jsonpos.h. */
#include "jsonpos.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

/* Appends one key line. */
static int jsonpos_push(struct sf_jsonpos *p, size_t *cap, int line)
{
	if (p->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		int *l = realloc(p->lines, ncap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		p->lines = l;
		*cap = ncap;
	}
	p->lines[p->n++] = line;
	return 0;
}

int sf_jsonpos_scan(const char *data, size_t len, struct sf_jsonpos *p)
{
	size_t cap = 0;
	int line = 1;
	p->lines = NULL;
	p->n = p->next = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = data[i];
		if (ch == '\n') {
			line++;
			continue;
		}
		if (ch != '"')
			continue;
		int start = line;
		/* the string's end: a quote not escaped (JSON strings hold no raw
		 * newline, but count any so lines stay right on odd input) */
		for (i++; i < len && data[i] != '"'; i++) {
			if (data[i] == '\\')
				i++;
			else if (data[i] == '\n')
				line++;
		}
		size_t j = i + 1;
		while (j < len && (data[j] == ' ' || data[j] == '\t' || data[j] == '\r' ||
				   data[j] == '\n')) {
			line += data[j] == '\n';
			j++;
		}
		if (j < len && data[j] == ':') {
			if (jsonpos_push(p, &cap, start)) {
				sf_jsonpos_free(p);
				return -ENOMEM;
			}
		}
		i = j - 1; /* the loop's i++ lands on the next character */
	}
	return 0;
}

int sf_jsonpos_take(struct sf_jsonpos *p)
{
	return p->next < p->n ? p->lines[p->next++] : 0;
}

void sf_jsonpos_skip(struct sf_jsonpos *p, json_t *v)
{
	const char *key;
	json_t *e;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach(v, key, e) {
			(void)key;
			sf_jsonpos_take(p);
			sf_jsonpos_skip(p, e);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) sf_jsonpos_skip(p, e);
	}
}

void sf_jsonpos_free(struct sf_jsonpos *p)
{
	free(p->lines);
	p->lines = NULL;
	p->n = p->next = 0;
}
