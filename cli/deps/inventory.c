/* inventory — see inventory.h. */
#include "inventory.h"

json_t *sf_inventory_uses(const struct sf_dep *d)
{
	json_t *uses = json_array();
	for (size_t k = 0; uses && k < d->nuses; k++) {
		const struct sf_dep_use *u = &d->uses[k];
		if (json_array_append_new(uses, json_pack("{s:s,s:s,s:i}", "repository", u->repo,
							  "file", u->file, "line", u->line))) {
			json_decref(uses);
			return NULL;
		}
	}
	return uses;
}

json_t *sf_inventory_json(const struct sf_depset *s)
{
	json_t *pkgs = json_array(), *probs = json_array();
	for (size_t i = 0; pkgs && i < s->ndeps; i++) {
		const struct sf_dep *d = &s->deps[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "ecosystem", sf_eco_name(d->eco),
				      "name", d->name, "version", d->version, "integrity",
				      d->integrity[0] ? json_string(d->integrity) : json_null(),
				      "source", d->source ? json_string(d->source) : json_null(),
				      "uses", sf_inventory_uses(d));
		if (!o || json_array_append_new(pkgs, o)) {
			json_decref(pkgs);
			pkgs = NULL;
		}
	}
	for (size_t i = 0; probs && i < s->ndiags; i++) {
		const struct sf_dep_diag *g = &s->diags[i];
		json_t *o = json_pack("{s:s,s:s,s:i,s:s,s:b}", "repository", g->repo, "file", g->file,
				      "line", g->line, "reason", g->reason, "skipped",
				      g->skipped_file);
		if (!o || json_array_append_new(probs, o)) {
			json_decref(probs);
			probs = NULL;
		}
	}
	if (!pkgs || !probs) {
		json_decref(pkgs);
		json_decref(probs);
		return NULL;
	}
	return json_pack("{s:I,s:o,s:o}", "lockfiles", (json_int_t)s->lockfiles, "packages", pkgs,
			 "problems", probs);
}
