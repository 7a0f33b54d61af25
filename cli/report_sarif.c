/* report_sarif — see report_sarif.h. */
#include "report_sarif.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sha256.h"
#include "util.h"

#define SARIF_INCOMPLETE "scanfarm/scan-incomplete"
/* A finding of its own (ruleId scanfarm/lockfile-integrity-mismatch): the
 * lockfile pins other bytes than the registry publishes; not scanned. */
#define SARIF_PIN_RULE "Lockfile integrity mismatch"

void sf_report_rule_id(const char *rule, char *out, size_t outlen)
{
	size_t o = snprintf(out, outlen, "scanfarm/");
	bool dash = false;
	for (const char *p = rule; *p && o + 2 < outlen; p++) {
		if (isalnum((unsigned char)*p)) {
			if (dash && out[o - 1] != '/')
				out[o++] = '-';
			out[o++] = (char)tolower((unsigned char)*p);
			dash = false;
		} else {
			dash = true;
		}
	}
	out[o] = '\0';
}

static int sarif_rank(const char *prio)
{
	static const char *const p[] = {"emergency", "alert", "critical", "error",
					"warning",   "notice", "informational", "debug"};
	for (int i = 0; prio && i < 8; i++)
		if (!strncasecmp(prio, p[i], strlen(prio) < 4 ? 4 : strlen(prio)))
			return i;
	return 7;
}

static const char *sarif_level(const char *prio)
{
	int r = sarif_rank(prio);
	return r <= 3 ? "error" : r == 4 ? "warning" : "note";
}

static const char *gitlab_severity(const char *prio)
{
	int r = sarif_rank(prio);
	return r <= 2 ? "Critical" : r == 3 ? "High" : r == 4 ? "Medium" : r == 5 ? "Low" : "Info";
}

/* Hex SHA-256 of the parts joined by NULs. */
static void sarif_fingerprint(const char *const *parts, size_t n, char hex[SF_SHA256_HEX + 1])
{
	struct sf_sha256 h;
	sf_sha256_init(&h);
	for (size_t i = 0; i < n; i++)
		sf_sha256_update(&h, parts[i], strlen(parts[i]) + 1);
	sf_sha256_final(&h, hex);
	sf_sha256_free(&h);
}

#define S(o, k) json_string_value(json_object_get((o), (k)))

/* A package's findings: one per rule (its most severe alert and how many),
 * or one "incomplete" finding when it was not scanned to the end. */
/* snprintf into a fixed buffer may cut a long text inside a UTF-8
 * character, and jansson refuses the whole string then (the finding would
 * vanish from the report): end the text at its last whole character. */
static void text_whole_chars(char *s)
{
	s[sf_utf8_prefix(s, strlen(s), SIZE_MAX)] = '\0';
}

static json_t *sarif_findings(json_t *p)
{
	json_t *by = json_object(), *list = json_array();
	const char *v = S(p, "verdict");
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(p, "alerts"), i, a) {
		json_t *f = json_object_get(by, S(a, "rule"));
		if (!f) {
			f = json_pack("{s:s,s:s,s:s,s:i,s:O}", "rule", S(a, "rule"), "priority",
				      S(a, "priority"), "output", S(a, "output"), "count", 0, "phase",
				      json_object_get(a, "phase"));
			json_object_set_new(by, S(a, "rule"), f);
			json_array_append(list, f);
		} else if (sarif_rank(S(a, "priority")) < sarif_rank(S(f, "priority"))) {
			json_object_set_new(f, "priority", json_string(S(a, "priority")));
			json_object_set_new(f, "output", json_string(S(a, "output")));
		}
		json_object_set_new(f, "count",
				    json_integer(json_integer_value(json_object_get(f, "count")) + 1));
	}
	json_decref(by);
	if (json_array_size(list) == 0 && strcmp(v, "integrity_mismatch") == 0) {
		const char *why = S(p, "reason");
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:i,s:n}", "rule", SARIF_PIN_RULE,
						      "priority", "Error", "output",
						      why ? why : "integrity mismatch", "count", 0,
						      "phase"));
	} else if (json_array_size(list) == 0 && strcmp(v, "clean") != 0) {
		const char *why = S(p, "reason");
		char msg[700];
		snprintf(msg, sizeof(msg), "%s: %s", v, why ? why : "the scan did not end in time");
		text_whole_chars(msg);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:i,s:n}", "rule", SARIF_INCOMPLETE,
						      "priority", "Warning", "output", msg, "count",
						      0, "phase"));
	}
	return list;
}

static json_t *sarif_rule(const char *rule, const char *id)
{
	bool incomplete = !strcmp(rule, SARIF_INCOMPLETE);
	if (!strcmp(rule, SARIF_PIN_RULE))
		return json_pack(
		    "{s:s,s:s,s:{s:s},s:{s:s},s:{s:s},s:{s:[s,s]}}", "id", id, "name", rule,
		    "shortDescription", "text",
		    "The lockfile pins other bytes than the registry publishes for this version",
		    "fullDescription", "text",
		    "The integrity the lockfile records for the package differs from the registry's "
		    "for the same name and version: the lockfile was altered, or it was made against "
		    "another registry or a tampered mirror. The package was not scanned.",
		    "defaultConfiguration", "level", "error", "properties", "tags", "security",
		    "supply-chain");
	return json_pack(
	    "{s:s,s:s,s:{s:s},s:{s:s},s:{s:s},s:{s:[s]}}", "id", id, "name", incomplete ? "Scan incomplete" : rule,
	    "shortDescription", "text",
	    incomplete ? "The package was not scanned to the end: it is not known to be clean" : rule,
	    "fullDescription", "text",
	    incomplete ? "The install of the package was not observed to the end (it failed, timed "
			 "out, its ecosystem cannot be scanned yet, or it does not come from a registry)."
		       : "A Falco-format rule of scanfarm fired while the package was installed in "
			 "the sandbox: the package did this when installed.",
	    "defaultConfiguration", "level", incomplete ? "warning" : "error", "properties", "tags",
	    "security");
}

/* One run: the results of the packages used in repository repo. */
static json_t *sarif_run(json_t *model, const char *repo)
{
	json_t *rules = json_array(), *index = json_object(), *results = json_array();
	size_t i, j, k;
	json_t *p, *f, *u;
	json_array_foreach(json_object_get(model, "packages"), i, p) {
		json_t *findings = sarif_findings(p);
		json_array_foreach(findings, j, f) {
			char id[300];
			if (!strcmp(S(f, "rule"), SARIF_INCOMPLETE))
				snprintf(id, sizeof(id), "%s", SARIF_INCOMPLETE);
			else
				sf_report_rule_id(S(f, "rule"), id, sizeof(id));
			json_array_foreach(json_object_get(p, "uses"), k, u) {
				if (strcmp(S(u, "repository"), repo) != 0)
					continue;
				json_t *ri = json_object_get(index, id);
				if (!ri) {
					ri = json_integer((json_int_t)json_array_size(rules));
					json_object_set_new(index, id, ri);
					json_array_append_new(rules, sarif_rule(S(f, "rule"), id));
				}
				char fp[SF_SHA256_HEX + 1], msg[1200];
				const char *parts[] = {id, S(p, "ecosystem"), S(p, "name"), S(p, "version"),
						       S(u, "file")};
				sarif_fingerprint(parts, 5, fp);
				snprintf(msg, sizeof(msg), "%s@%s (%s): %s%s", S(p, "name"), S(p, "version"),
					 S(p, "ecosystem"), S(f, "output"),
					 json_integer_value(json_object_get(f, "count")) > 1 ? " (and more alerts of this rule)" : "");
				text_whole_chars(msg);
				json_int_t line = json_integer_value(json_object_get(u, "line"));
				json_t *region = json_pack("{s:I}", "startLine", line > 0 ? line : 1);
				json_array_append_new(
				    results,
				    json_pack("{s:s,s:O,s:s,s:{s:s},s:[{s:{s:{s:s,s:s},s:o}}],s:{s:s},"
					      "s:{s:s,s:s,s:s,s:o,s:O,s:s}}",
					      "ruleId", id, "ruleIndex", ri, "level", sarif_level(S(f, "priority")),
					      "message", "text", msg, "locations", "physicalLocation",
					      "artifactLocation", "uri", S(u, "file"), "uriBaseId", "%SRCROOT%",
					      "region", region, "partialFingerprints", "scanfarmFinding/v1", fp,
					      "properties", "package", S(p, "name"), "version", S(p, "version"),
					      "ecosystem", S(p, "ecosystem"), "scan_id",
					      json_copy(json_object_get(p, "scan_id")), "phase",
					      json_object_get(f, "phase"), "verdict", S(p, "verdict")));
			}
		}
		json_decref(findings);
	}
	json_decref(index);
	char auto_id[600];
	snprintf(auto_id, sizeof(auto_id), "scanfarm/%s/", repo);
	json_t *sum = json_object_get(model, "summary");
	bool complete = true;
	static const char *const gaps[] = {"failed", "incomplete", "unsupported", "not_scanned",
					   "lockfiles_skipped"};
	for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++)
		complete &= json_integer_value(json_object_get(sum, gaps[g])) == 0;
	return json_pack("{s:{s:{s:s,s:s,s:o}},s:{s:s},s:o,s:[{s:b}]}", "tool", "driver", "name",
			 "scanfarm", "version", S(json_object_get(model, "tool"), "version"), "rules",
			 rules, "automationDetails", "id", auto_id, "results", results, "invocations",
			 "executionSuccessful", complete);
}

json_t *sf_report_sarif(json_t *model)
{
	json_t *runs = json_array(), *seen = json_object();
	size_t i, k;
	json_t *p, *u;
	json_array_foreach(json_object_get(model, "packages"), i, p)
		json_array_foreach(json_object_get(p, "uses"), k, u) {
			const char *repo = S(u, "repository");
			if (!json_object_get(seen, repo)) {
				json_object_set_new(seen, repo, json_true());
				json_array_append_new(runs, sarif_run(model, repo));
			}
		}
	json_decref(seen);
	if (json_array_size(runs) == 0) /* nothing used: one empty run */
		json_array_append_new(runs, sarif_run(model, ""));
	return json_pack("{s:s,s:s,s:o}", "$schema", "https://json.schemastore.org/sarif-2.1.0.json",
			 "version", "2.1.0", "runs", runs);
}

/* "2026-12-01T12:00:00": GitLab's schema takes no zone. */
static void gitlab_time(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* The package manager GitLab names for a lockfile. */
static const char *gitlab_manager(const char *file)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	static const char *const m[][2] = {
	    {"package-lock.json", "npm"}, {"npm-shrinkwrap.json", "npm"}, {"yarn.lock", "yarn"},
	    {"pnpm-lock.yaml", "pnpm"},	  {"Pipfile.lock", "pipenv"},	  {"poetry.lock", "poetry"},
	    {"Gemfile.lock", "bundler"}};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (!strcmp(base, m[i][0]))
			return m[i][1];
	return "pip";
}

/* The schema bounds a vulnerability's name to GITLAB_NAME_MAX characters
 * (code points, not bytes): a longer one (a long rule or package name) is
 * cut at a character boundary and ends in an ellipsis, so GitLab takes the
 * report instead of refusing all of it. The full text stays in the
 * description and identifiers. */
#define GITLAB_NAME_MAX 255
static void gitlab_fit_name(char *name, size_t size)
{
	static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026, one character */
	size_t len = strlen(name);
	if (sf_utf8_valid(name, len) && sf_utf8_prefix(name, len, GITLAB_NAME_MAX) == len)
		return;
	size_t keep = sf_utf8_prefix(name, len, GITLAB_NAME_MAX - 1);
	if (keep + sizeof(ellipsis) > size)
		keep = size - sizeof(ellipsis);
	memcpy(name + keep, ellipsis, sizeof(ellipsis));
}

static json_t *gitlab_vulnerability(json_t *p, json_t *f, json_t *u)
{
	char id[300], fp[SF_SHA256_HEX + 1], name[1024], desc[1500];
	bool incomplete = !strcmp(S(f, "rule"), SARIF_INCOMPLETE);
	if (incomplete)
		snprintf(id, sizeof(id), "%s", SARIF_INCOMPLETE);
	else
		sf_report_rule_id(S(f, "rule"), id, sizeof(id));
	const char *parts[] = {id, S(p, "ecosystem"), S(p, "name"), S(p, "version"),
			       S(u, "repository"), S(u, "file")};
	sarif_fingerprint(parts, 6, fp);
	/* a UUID's shape from the fingerprint: the same finding keeps its id */
	char uuid[SF_UUID_LEN + 1];
	snprintf(uuid, sizeof(uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", fp, fp + 8, fp + 12, fp + 16,
		 fp + 20);
	snprintf(name, sizeof(name), "%s in %s@%s", incomplete ? "Scan incomplete" : S(f, "rule"),
		 S(p, "name"), S(p, "version"));
	gitlab_fit_name(name, sizeof(name));
	bool pin = !strcmp(S(f, "rule"), SARIF_PIN_RULE);
	snprintf(desc, sizeof(desc), "%s (line %lld of %s)", S(f, "output"),
		 (long long)json_integer_value(json_object_get(u, "line")), S(u, "file"));
	text_whole_chars(desc);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:s}],s:{s:s,s:{s:{s:s},s:s}}}", "id",
			 uuid, "name", name, "description", desc, "severity",
			 incomplete ? "Unknown" : gitlab_severity(S(f, "priority")), "solution",
			 incomplete ? "Scan the package again; until then it is not known to be clean."
			 : pin	    ? "Regenerate the lockfile against the registry you trust and compare "
				      "the change; until then the package is not known to be clean."
				    : "Remove or replace the dependency, and treat what its install could "
				      "reach (tokens, keys) as exposed.",
			 "identifiers", "type", "scanfarm_rule", "name", incomplete ? "Scan incomplete" : S(f, "rule"),
			 "value", id, "location", "file", S(u, "file"), "dependency", "package", "name",
			 S(p, "name"), "version", S(p, "version"));
}

json_t *sf_report_gitlab(json_t *model)
{
	json_t *vulns = json_array(), *files = json_object(), *order = json_array();
	size_t i, j, k;
	json_t *p, *f, *u;
	json_array_foreach(json_object_get(model, "packages"), i, p) {
		json_t *findings = sarif_findings(p);
		json_array_foreach(json_object_get(p, "uses"), k, u) {
			json_t *df = json_object_get(files, S(u, "file"));
			if (!df) {
				df = json_pack("{s:s,s:s,s:[]}", "path", S(u, "file"), "package_manager",
					       gitlab_manager(S(u, "file")), "dependencies");
				json_object_set_new(files, S(u, "file"), df);
				json_array_append(order, df);
			}
			json_array_append_new(json_object_get(df, "dependencies"),
					      json_pack("{s:{s:s},s:s}", "package", "name", S(p, "name"),
							"version", S(p, "version")));
			json_array_foreach(findings, j, f)
				json_array_append_new(vulns, gitlab_vulnerability(p, f, u));
		}
		json_decref(findings);
	}
	json_decref(files);
	char now[32];
	gitlab_time(time(NULL), now);
	json_t *tool = json_pack("{s:s,s:s,s:s,s:{s:s}}", "id", "scanfarm", "name", "scanfarm",
				 "version", S(json_object_get(model, "tool"), "version"), "vendor",
				 "name", "scanfarm");
	return json_pack("{s:s,s:{s:o,s:O,s:s,s:s,s:s,s:s},s:o,s:o}", "version", "15.0.7", "scan",
			 "analyzer", tool, "scanner", tool, "type", "dependency_scanning", "start_time",
			 now, "end_time", now, "status", "success", "vulnerabilities", vulns,
			 "dependency_files", order);
}
