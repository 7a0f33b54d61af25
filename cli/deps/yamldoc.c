/* yamldoc — see yamldoc.h. */
#include "yamldoc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sf_yamldoc_load(struct sf_yamldoc *d, const char *data, size_t len, int *line, char *why,
		    size_t whylen)
{
	yaml_parser_t p;
	memset(d, 0, sizeof(*d));
	*line = 0;
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	int ok = yaml_parser_load(&p, &d->doc);
	int rc = 0;
	if (!ok) {
		*line = (int)p.problem_mark.line + 1;
		snprintf(why, whylen, "not YAML: %s%s%s", p.problem ? p.problem : "unreadable",
			 p.context ? " " : "", p.context ? p.context : "");
		rc = p.error == YAML_MEMORY_ERROR ? -ENOMEM : -EPROTO;
	} else {
		d->loaded = 1;
		if (!yaml_document_get_root_node(&d->doc)) {
			snprintf(why, whylen, "empty document");
			rc = -EPROTO;
		}
	}
	yaml_parser_delete(&p);
	return rc;
}

void sf_yamldoc_free(struct sf_yamldoc *d)
{
	if (d->loaded)
		yaml_document_delete(&d->doc);
	d->loaded = 0;
}

yaml_node_t *sf_yamldoc_root(struct sf_yamldoc *d)
{
	return d->loaded ? yaml_document_get_root_node(&d->doc) : NULL;
}

yaml_node_t *sf_yamldoc_node(struct sf_yamldoc *d, int id)
{
	return yaml_document_get_node(&d->doc, id);
}

const char *sf_yamldoc_scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

yaml_node_t *sf_yamldoc_get(struct sf_yamldoc *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = sf_yamldoc_scalar(sf_yamldoc_node(d, p->key));
		if (k && strcmp(k, key) == 0)
			return sf_yamldoc_node(d, p->value);
	}
	return NULL;
}

const char *sf_yamldoc_get_str(struct sf_yamldoc *d, yaml_node_t *m, const char *key)
{
	return sf_yamldoc_scalar(sf_yamldoc_get(d, m, key));
}

int sf_yamldoc_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}
