/* report — see report.h. */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inventory.h"
#include "report_sarif.h"

static const char *const report_priorities[] = {"emergency", "alert",	"critical",
						"error",     "warning", "notice",
						"informational", "debug"};

int sf_report_priority_rank(const char *p)
{
	if (p && (!strcasecmp(p, "info")))
		return 6;
	if (p && (!strcasecmp(p, "warn")))
		return 4;
	for (int i = 0; p && i < 8; i++)
		if (!strcasecmp(p, report_priorities[i]))
			return i;
	return -1;
}

/* The alerts in the report's short form, and whether one is at fail_rank
 * or above. */
static json_t *report_alerts(json_t *alerts, int fail_rank, bool *loud)
{
	json_t *out = json_array();
	size_t i;
	json_t *a;
	*loud = false;
	json_array_foreach(alerts, i, a) {
		const char *prio = json_string_value(json_object_get(a, "priority"));
		int r = sf_report_priority_rank(prio);
		json_t *f = json_object_get(a, "output_fields");
		*loud |= r >= 0 && r <= fail_rank;
		json_t *pkg = json_object_get(f, "scanfarm.package");
		json_t *phase = json_object_get(f, "scanfarm.phase");
		const char *rule = json_string_value(json_object_get(a, "rule"));
		const char *text = json_string_value(json_object_get(a, "output"));
		json_array_append_new(
		    out, json_pack("{s:s,s:s,s:s,s:O,s:O}", "rule", rule ? rule : "(unnamed)",
				   "priority", prio ? prio : "Debug", "output", text ? text : "",
				   "package", pkg ? pkg : json_null(), "phase",
				   phase ? phase : json_null()));
	}
	return out;
}

static const char *report_verdict(const struct sf_dep_result *r, bool loud)
{
	if (loud)
		return "alerts";
	if (!strcmp(r->status, "finished"))
		return "clean";
	/* the lockfile pins other bytes than the registry's: refused at once
	 * (a resolution remembered) or failed by the resolver, never scanned */
	if ((!strcmp(r->status, "rejected") && !strcmp(r->code, "integrity_mismatch")) ||
	    (!strcmp(r->status, "failed") && r->reason &&
	     strstr(r->reason, "lockfile integrity mismatch")))
		return "integrity_mismatch";
	if (!strcmp(r->status, "failed"))
		return "failed";
	if (!strcmp(r->status, "rejected"))
		return strcmp(r->code, "unsupported_ecosystem") == 0 ? "unsupported" : "not_scanned";
	return "incomplete"; /* queued or running when the time ran out */
}

json_t *sf_report_build(const struct sf_depset *set, const struct sf_dep_result *res,
			int fail_rank, const char *batch_id)
{
	json_t *inv = sf_inventory_json(set);
	json_t *pkgs = json_object_get(inv, "packages");
	json_int_t n[8] = {0}, cached = 0, skipped = 0;
	static const char *const kinds[] = {"clean",	   "alerts",	  "failed",
					    "incomplete",  "unsupported", "not_scanned",
					    "integrity_mismatch", NULL};
	for (size_t i = 0; inv && i < set->ndeps; i++) {
		const struct sf_dep_result *r = &res[i];
		bool loud;
		json_t *alerts = report_alerts(r->alerts, fail_rank, &loud);
		const char *v = report_verdict(r, loud);
		for (int k = 0; kinds[k]; k++)
			n[k] += strcmp(kinds[k], v) == 0;
		cached += r->cached;
		json_t *p = json_array_get(pkgs, i);
		json_object_set_new(p, "verdict", json_string(v));
		json_object_set_new(p, "scan_id", r->scan_id[0] ? json_string(r->scan_id) : json_null());
		json_object_set_new(p, "cached", json_boolean(r->cached));
		json_object_set_new(p, "reason", r->reason ? json_string(r->reason) : json_null());
		json_object_set_new(p, "alerts", alerts);
	}
	for (size_t i = 0; i < set->ndiags; i++)
		skipped += set->diags[i].skipped_file;
	if (!inv)
		return NULL;
	json_object_set_new(inv, "tool", json_pack("{s:s,s:s}", "name", "scanfarm", "version",
						   SCANFARM_VERSION));
	json_object_set_new(inv, "batch", batch_id && batch_id[0] ? json_string(batch_id) : json_null());
	json_object_set_new(
	    inv, "summary",
	    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "packages",
		      (json_int_t)set->ndeps, "clean", n[0], "alerts", n[1], "failed", n[2],
		      "incomplete", n[3], "unsupported", n[4], "not_scanned", n[5],
		      "integrity_mismatch", n[6], "cached", cached, "lockfiles",
		      (json_int_t)set->lockfiles, "lockfiles_skipped", skipped));
	return inv;
}

int sf_report_exit(json_t *model)
{
	json_t *s = json_object_get(model, "summary");
#define REPORT_N(k) json_integer_value(json_object_get(s, k))
	if (REPORT_N("alerts") > 0)
		return 1;
	if (REPORT_N("failed") + REPORT_N("incomplete") + REPORT_N("unsupported") +
		REPORT_N("not_scanned") + REPORT_N("integrity_mismatch") +
		REPORT_N("lockfiles_skipped") >
	    0)
		return 2;
#undef REPORT_N
	return 0;
}

int sf_report_format_ok(const char *f)
{
	return f && (!strcmp(f, "table") || !strcmp(f, "json") || !strcmp(f, "sarif") ||
		     !strcmp(f, "gitlab"));
}

/* Findings first: alerts, integrity mismatches, failed, incomplete,
 * unsupported, not scanned, clean. */
static int report_order(json_t *p)
{
	static const char *const order[] = {"alerts",	   "integrity_mismatch", "failed",
					    "incomplete",  "unsupported",	 "not_scanned",
					    "clean"};
	const char *v = json_string_value(json_object_get(p, "verdict"));
	for (int i = 0; v && i < 7; i++)
		if (!strcmp(v, order[i]))
			return i;
	return 7;
}

static json_t *report_sort_pkgs;
static int report_cmp(const void *a, const void *b)
{
	json_t *pa = json_array_get(report_sort_pkgs, *(const size_t *)a);
	json_t *pb = json_array_get(report_sort_pkgs, *(const size_t *)b);
	int d = report_order(pa) - report_order(pb);
	if (d)
		return d;
	return strcmp(json_string_value(json_object_get(pa, "name")),
		      json_string_value(json_object_get(pb, "name")));
}

static void report_table_package(json_t *p, FILE *out)
{
	char id[600];
	json_t *uses = json_object_get(p, "uses"), *u = json_array_get(uses, 0);
	snprintf(id, sizeof(id), "%s %s@%s", json_string_value(json_object_get(p, "ecosystem")),
		 json_string_value(json_object_get(p, "name")),
		 json_string_value(json_object_get(p, "version")));
	char where[600] = "";
	if (u)
		snprintf(where, sizeof(where), "%s: %s:%lld%s",
			 json_string_value(json_object_get(u, "repository")),
			 json_string_value(json_object_get(u, "file")),
			 (long long)json_integer_value(json_object_get(u, "line")),
			 json_array_size(uses) > 1 ? " …" : "");
	const char *v = json_string_value(json_object_get(p, "verdict"));
	fprintf(out, "%-44s %-11s%s %-6zu %s", id, v, json_is_true(json_object_get(p, "cached")) ? "*" : " ",
		json_array_size(json_object_get(p, "alerts")), where);
	if (json_array_size(uses) > 1)
		fprintf(out, " (%zu uses)", json_array_size(uses));
	fputc('\n', out);
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(p, "alerts"), i, a) {
		if (i == 5) {
			fprintf(out, "      … %zu more alerts\n", json_array_size(json_object_get(p, "alerts")) - 5);
			break;
		}
		const char *phase = json_string_value(json_object_get(a, "phase"));
		const char *by = json_string_value(json_object_get(a, "package"));
		char ctx[300] = "";
		if (phase || by)
			snprintf(ctx, sizeof(ctx), " (%s%s%s)", phase ? phase : "",
				 phase && by ? ": " : "", by ? by : "");
		fprintf(out, "      %-13s %s%s\n", json_string_value(json_object_get(a, "priority")),
			json_string_value(json_object_get(a, "rule")), ctx);
	}
	const char *why = json_string_value(json_object_get(p, "reason"));
	if (why && strcmp(v, "clean") != 0)
		fprintf(out, "      %s\n", why);
}

static int report_table(json_t *m, FILE *out)
{
	json_t *pkgs = json_object_get(m, "packages");
	size_t n = json_array_size(pkgs);
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	report_sort_pkgs = pkgs;
	qsort(idx, n, sizeof(*idx), report_cmp);
	fprintf(out, "%-44s %-12s %-6s %s\n", "PACKAGE", "VERDICT", "ALERTS", "USED BY");
	for (size_t i = 0; i < n; i++)
		report_table_package(json_array_get(pkgs, idx[i]), out);
	free(idx);
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(m, "problems"), i, g)
		fprintf(out, "%s: %s: %s:%lld: %s\n", json_is_true(json_object_get(g, "skipped")) ? "skipped" : "note",
			json_string_value(json_object_get(g, "repository")),
			json_string_value(json_object_get(g, "file")),
			(long long)json_integer_value(json_object_get(g, "line")),
			json_string_value(json_object_get(g, "reason")));
	json_t *s = json_object_get(m, "summary");
#define REPORT_N(k) (long long)json_integer_value(json_object_get(s, k))
	fprintf(out,
		"%lld packages from %lld lockfiles (%lld skipped): %lld clean, %lld with alerts, %lld failed,"
		" %lld incomplete, %lld unsupported, %lld not scanned, %lld integrity mismatches;"
		" %lld from the verdict cache (*)\n",
		REPORT_N("packages"), REPORT_N("lockfiles"), REPORT_N("lockfiles_skipped"),
		REPORT_N("clean"), REPORT_N("alerts"), REPORT_N("failed"), REPORT_N("incomplete"),
		REPORT_N("unsupported"), REPORT_N("not_scanned"), REPORT_N("integrity_mismatch"),
		REPORT_N("cached"));
#undef REPORT_N
	return ferror(out) ? -EIO : 0;
}

int sf_report_write(json_t *model, const char *format, FILE *out)
{
	if (!strcmp(format, "table"))
		return report_table(model, out);
	json_t *doc = !strcmp(format, "json")	  ? json_incref(model)
		      : !strcmp(format, "sarif") ? sf_report_sarif(model)
		      : !strcmp(format, "gitlab") ? sf_report_gitlab(model)
						  : NULL;
	if (!doc)
		return -EINVAL;
	int rc = json_dumpf(doc, out, JSON_INDENT(2)) == 0 && fputc('\n', out) != EOF ? 0 : -EIO;
	json_decref(doc);
	return rc;
}
