/*
 * output — a rule's output format: compiled once into literal text and
 * field references ("%proc.name", "%20fd.name", "%(evt.arg.flags)"), then
 * rendered for an event into a Falco-shaped alert (sf_rules_alert, in
 * rules.h) with output_fields; also sf_rules_field_render (rules.h).
 *
 * Owns: nothing. Calls: fields, ruleset, arena, util (sf_buf), wire
 * (struct sf_alert). Memory: compiled tokens live in the ruleset's arena;
 * alerts are malloc'd for the caller (sf_alert_free).
 */
#ifndef SF_OUTPUT_H
#define SF_OUTPUT_H

#include <stddef.h>

#include "ruleset.h"

/* Splits r->output into literal text and fields (r->otoks, r->ofields).
 * Returns 0, -ENOMEM, or -ENOENT with the reason in why when a '%' is not
 * followed by a field. */
int sf_output_compile(struct sf_ruleset *rs, struct sf_rule *r, char *why, size_t whylen);

#endif
