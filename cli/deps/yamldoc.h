/*
 * yamldoc — the little of libyaml's document API the YAML lockfiles need
 * (yarn berry's yarn.lock, pnpm-lock.yaml): load a whole document (its
 * nodes keep their line), look a key up in a mapping, read a scalar.
 * Aliases are nodes libyaml shares, never copies: nothing here expands
 * them, and no walk here recurses.
 *
 * Owns: the loaded document (sf_yamldoc_free). Calls: libyaml, libc.
 */
#ifndef SF_YAMLDOC_H
#define SF_YAMLDOC_H

#include <stddef.h>
#include <yaml.h>

struct sf_yamldoc {
	yaml_document_t doc;
	int loaded;
};

/* Loads data[0..len). 0; -EPROTO with *line and why filled (libyaml's
 * problem) when it is not YAML or empty; -ENOMEM. */
int sf_yamldoc_load(struct sf_yamldoc *d, const char *data, size_t len, int *line, char *why,
		    size_t whylen);
void sf_yamldoc_free(struct sf_yamldoc *d);

yaml_node_t *sf_yamldoc_root(struct sf_yamldoc *d);
yaml_node_t *sf_yamldoc_node(struct sf_yamldoc *d, int id);
/* A scalar's text (NUL-terminated, libyaml keeps it so), or NULL. */
const char *sf_yamldoc_scalar(yaml_node_t *n);
/* The value of key in mapping m, or NULL. */
yaml_node_t *sf_yamldoc_get(struct sf_yamldoc *d, yaml_node_t *m, const char *key);
/* A mapping's value for key, as a scalar's text, or NULL. */
const char *sf_yamldoc_get_str(struct sf_yamldoc *d, yaml_node_t *m, const char *key);
/* 1-based line where n starts. */
int sf_yamldoc_line(const yaml_node_t *n);

#endif
