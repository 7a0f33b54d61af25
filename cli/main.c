/*
 * scanfarm — the client CLI: submit tarballs, follow scans, scan the
 * dependencies of whole checkouts, print reports.
 *
 *   scanfarm submit FILE        prints the scan id
 *   scanfarm status ID          Package Hunter's view {id, status, result}
 *   scanfarm report ID          a scan's report
 *   scanfarm scan FILE          submit, wait, report
 *   scanfarm deps PATH…         the packages the lockfiles of PATH… (each a
 *                               checkout; --repos FILE: git URLs cloned
 *                               shallowly) use: each unique one scanned
 *                               through a streamed batch (--scan no: only
 *                               listed), reported with where it is used
 *
 * --format table|json|sarif|gitlab (report.h; `raw`, the default of scan
 * and report, prints the coordinator's /v1 report as it is), --output FILE;
 * several formats from one run: --format sarif,gitlab,table --output
 * a.sarif,gl.json,- (one output per format, in order; at most one "-").
 * Exit codes (for CI): 0 clean; 1 an alert at --fail-on priority or above
 * (default Notice), whether the scan finished or failed (a failed scan
 * keeps what it raised before it stopped); 2 a scan failed without such
 * alerts (its reason on stderr), did not end within --timeout, could not be
 * submitted, or (deps) a package could not be scanned or a lockfile was
 * skipped as malformed; 64 usage.
 * Calls: client (requests), walk and inventory (lockfiles), batch
 * (streamed submission), progress, report, http_client, jansson, config,
 * util.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "client.h"
#include "config.h"
#include "depset.h"
#include "http_client.h"
#include "inventory.h"
#include "progress.h"
#include "report.h"
#include "util.h"
#include "walk.h"

static struct sf_option opts[] = {
    {"server", "http://127.0.0.1:3000", "coordinator base URL", NULL},
    {"timeout", "900", "seconds `scan` and `deps` wait for results", NULL},
    {"fail-on", "notice", "lowest alert priority that makes the exit status 1", NULL},
    {"token", NULL, "API token (when the coordinator runs with --auth on)", NULL},
    {"cacert", NULL, "CA certificate(s) (PEM) an https:// server is verified with (default: the system's)", NULL},
    {"repos", NULL, "`deps`: a file of git URLs (one a line), each cloned shallowly", NULL},
    {"format", NULL, "table, json, sarif or gitlab (scan, report: raw, the /v1 report);"
		     " several, comma-separated, for one run", NULL},
    {"output", "-", "where the report goes (- : standard output); with several formats,"
		    " one per format, comma-separated, in the same order", NULL},
    {"scan", "yes", "`deps`: no = only list the packages, scan nothing", NULL},
    {"ecosystem", "npm", "`submit`, `scan`: what FILE is for: npm (a project or npm pack"
			 " tarball), pypi (an sdist, a wheel or a project with requirements.txt,"
			 " pyproject.toml, poetry.lock or Pipfile.lock) or rubygems (a .gem or a"
			 " Gemfile project)", NULL},
    {"progress", "auto", "`deps`: bar, lines, off or auto (a bar on a terminal)", NULL},
    {"network", NULL, "the install and import phases' network: sinkhole or offline"
		      " (default: the worker's)", NULL},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))
#define USAGE                                                                                  \
	"usage: scanfarm [--server URL] submit FILE | status ID | report ID | scan FILE |"        \
	" deps [--repos FILE] PATH…"

static struct sf_cli cli;

#define CLI_MAX_REPORTS 4

/* One report a run writes: a format (report.h, or "raw") and where to. */
struct cli_target {
	char format[16];
	char path[1024]; /* "-": standard output */
};

/* The next comma-separated field of *s into out (-ENAMETOOLONG when it
 * does not fit); *s moves past it. */
static int cli_field(const char **s, char *out, size_t len)
{
	size_t n = strcspn(*s, ",");
	int rc = n < len ? 0 : -ENAMETOOLONG;
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), *s);
	*s += n + ((*s)[n] == ',');
	return rc;
}

/* --format and --output as the reports of one run: formats (NULL: the
 * command's default) paired in order with outputs. 0, or 64 with the
 * usage error on stderr. */
static int cli_targets(const char *formats, const char *outputs, bool deps,
		       struct cli_target *t, size_t *n)
{
	const char *f = formats ? formats : deps ? "table" : "raw";
	const char *o = outputs ? outputs : "-";
	int stdouts = 0;
	*n = 0;
	while (*f) {
		if (*n == CLI_MAX_REPORTS) {
			fprintf(stderr, "--format: at most %d formats in one run\n", CLI_MAX_REPORTS);
			return 64;
		}
		struct cli_target *x = &t[(*n)++];
		bool raw = cli_field(&f, x->format, sizeof(x->format)) == 0 &&
			   !strcmp(x->format, "raw") && !deps;
		if (!raw && !sf_report_format_ok(x->format)) {
			fprintf(stderr, "--format: table, json, sarif or gitlab%s\n",
				deps ? "" : " (or raw)");
			return 64;
		}
		if (!*o || cli_field(&o, x->path, sizeof(x->path)) != 0 || !x->path[0]) {
			fprintf(stderr, "--output: one file (or -) for each --format, in the same"
					" order\n");
			return 64;
		}
		stdouts += !strcmp(x->path, "-");
	}
	if (*n == 0 || *o) {
		fprintf(stderr, "--output: one file (or -) for each --format, in the same order\n");
		return 64;
	}
	if (stdouts > 1) {
		fprintf(stderr, "--output: only one report can go to standard output\n");
		return 64;
	}
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(t[i].format, "raw") && *n > 1) {
			fprintf(stderr, "--format: raw comes alone\n");
			return 64;
		}
	return 0;
}

static struct cli_target cli_reports[CLI_MAX_REPORTS];
static size_t cli_nreports;

static int cli_submit(const char *file, char id[SF_UUID_LEN + 1])
{
	static const char *const octets[] = {"Content-Type: application/octet-stream", NULL};
	FILE *f = fopen(file, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "scanfarm: %s: %s\n", file, strerror(errno));
		if (f)
			fclose(f);
		return 2;
	}
	struct sf_http_mem_sink body = {0};
	long status = 0;
	char path[96];
	const char *net = sf_config_get(opts, NOPTS, "network");
	const char *eco = sf_config_get(opts, NOPTS, "ecosystem");
	/* npm the Package Hunter way (what every coordinator takes); the other
	 * ecosystems through /v1, which judges the body by its content */
	if (strcmp(eco, "npm") == 0)
		snprintf(path, sizeof(path), "/monitor/project/npm%s%s", net ? "?network=" : "",
			 net ? net : "");
	else
		snprintf(path, sizeof(path), "/v1/scans?ecosystem=%s%s%s", eco,
			 net ? "&network=" : "", net ? net : "");
	int rc = sf_cli_request(&cli, path, f, st.st_size, octets, sf_http_mem_sink_write, &body,
				&status);
	fclose(f);
	json_t *j = rc == 0 && body.buf.data ? json_loadb(body.buf.data, body.buf.len, 0, NULL) : NULL;
	const char *got = j ? json_string_value(json_object_get(j, "id")) : NULL;
	int ret = 2;
	if ((status == 200 || status == 201) && got && strlen(got) == SF_UUID_LEN) {
		memcpy(id, got, SF_UUID_LEN + 1);
		ret = 0;
	} else if (rc == 0) {
		fprintf(stderr, "scanfarm: submit failed (HTTP %ld): %.*s\n", status,
			(int)body.buf.len, body.buf.data ? body.buf.data : "");
	}
	json_decref(j);
	sf_http_mem_sink_free(&body);
	return ret;
}

static int cli_print(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));
	if (s)
		puts(s);
	free(s);
	return s ? 0 : 2;
}

/* Writes one report. 0, or 2 (a message on stderr). */
static int cli_write_one(json_t *model, json_t *raw, const struct cli_target *t)
{
	bool to_stdout = !strcmp(t->path, "-");
	FILE *out = to_stdout ? stdout : fopen(t->path, "w");
	if (!out) {
		fprintf(stderr, "scanfarm: %s: %s\n", t->path, strerror(errno));
		return 2;
	}
	int rc;
	if (!strcmp(t->format, "raw"))
		rc = json_dumpf(raw, out, JSON_INDENT(2)) == 0 && fputc('\n', out) != EOF ? 0 : -EIO;
	else
		rc = sf_report_write(model, t->format, out);
	if (!to_stdout && fclose(out) != 0)
		rc = -EIO;
	if (rc)
		fprintf(stderr, "scanfarm: the %s report could not be written\n", t->format);
	return rc ? 2 : 0;
}

/* Writes every report of the run (--format, --output), all from the same
 * model, so they agree. 0, or 2 when one could not be written. */
static int cli_write(json_t *model, json_t *raw)
{
	int ret = 0;
	for (size_t i = 0; i < cli_nreports; i++)
		ret |= cli_write_one(model, raw, &cli_reports[i]);
	return ret ? 2 : 0;
}

/* One scan's /v1 report as a run of one package: its name and version,
 * used in file (the tarball, or the scan). */
static int cli_scan_report(json_t *rep, const char *file, int fail_rank)
{
	const char *name = json_string_value(json_object_get(rep, "name"));
	const char *version = json_string_value(json_object_get(rep, "version"));
	const char *artifact = json_string_value(json_object_get(rep, "artifact"));
	const char *status = json_string_value(json_object_get(rep, "status"));
	const char *reason = json_string_value(json_object_get(rep, "reason"));
	const char *id = json_string_value(json_object_get(rep, "id"));
	struct sf_depset set;
	struct sf_lockfile lf;
	struct sf_dep_result res = {0};
	sf_depset_init(&set);
	const char *base = strrchr(file, '/');
	int rc = sf_lockfile_begin(&lf, &set, ".", file);
	if (rc == 0)
		rc = sf_lockfile_add(&lf, SF_ECO_NPM, name ? name : base ? base + 1 : file,
				     version ? version : artifact ? artifact : "", NULL, NULL, 1);
	if (rc == 0)
		rc = sf_lockfile_end(&lf);
	sf_strlcpy(res.status, status ? status : "queued", sizeof(res.status));
	if (id)
		sf_strlcpy(res.scan_id, id, sizeof(res.scan_id));
	res.reason = reason ? strdup(reason) : NULL;
	res.alerts = json_incref(json_object_get(rep, "alerts"));
	json_t *model = rc == 0 ? sf_report_build(&set, &res, fail_rank, NULL) : NULL;
	int ret = 2;
	if (model) {
		ret = cli_write(model, rep);
		ret = ret ? ret : sf_report_exit(model);
	}
	if (reason && status && !strcmp(status, "failed"))
		fprintf(stderr, "scanfarm: scan %s failed: %s\n", id ? id : "?", reason);
	json_decref(model);
	free(res.reason);
	json_decref(res.alerts);
	sf_depset_free(&set);
	return ret;
}

static int cli_report(const char *id, int fail_rank)
{
	char path[256];
	snprintf(path, sizeof(path), "/v1/scans/%s", id);
	long status = 0;
	json_t *j = sf_cli_get_json(&cli, path, &status);
	int ret = 2;
	if (j && status == 200)
		ret = cli_scan_report(j, id, fail_rank);
	else if (j)
		fprintf(stderr, "scanfarm: report %s: HTTP %ld\n", id, status);
	json_decref(j);
	return ret;
}

static int cli_scan(const char *file, long long timeout, int fail_rank)
{
	char id[SF_UUID_LEN + 1], path[128];
	int rc = cli_submit(file, id);
	if (rc)
		return rc;
	fprintf(stderr, "scanfarm: scan %s submitted\n", id);
	snprintf(path, sizeof(path), "/v1/scans/%s", id);
	int64_t deadline = sf_monotonic_ms() + timeout * 1000;
	while (sf_monotonic_ms() < deadline) {
		long status = 0;
		json_t *j = sf_cli_get_json(&cli, path, &status);
		const char *st = j ? json_string_value(json_object_get(j, "status")) : NULL;
		if (st && (strcmp(st, "finished") == 0 || strcmp(st, "failed") == 0)) {
			int ret = cli_scan_report(j, file, fail_rank);
			json_decref(j);
			return ret;
		}
		json_decref(j);
		usleep(500 * 1000);
	}
	fprintf(stderr, "scanfarm: scan %s did not finish within %lld s\n", id, timeout);
	return 2;
}

/* Reads the --repos list: one git URL a line, # comments. */
static int cli_deps_repos(struct sf_depset *set, const char *list)
{
	FILE *f = fopen(list, "r");
	if (!f) {
		fprintf(stderr, "scanfarm: %s: %s\n", list, strerror(errno));
		return -errno;
	}
	const char *tmp = getenv("TMPDIR");
	char line[4096];
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *url = line + strspn(line, " \t");
		if (*url && *url != '#')
			rc = sf_walk_git(set, url, tmp && *tmp ? tmp : "/tmp");
	}
	fclose(f);
	return rc;
}

/* scanfarm deps PATH…: every lockfile's packages, unique, scanned once. */
static int cli_deps(char **paths, int npaths, long long timeout, int fail_rank)
{
	struct sf_depset set;
	sf_depset_init(&set);
	const char *repos = sf_config_get(opts, NOPTS, "repos");
	int rc = repos ? cli_deps_repos(&set, repos) : 0;
	for (int i = 0; rc == 0 && i < npaths; i++)
		rc = sf_walk_path(&set, paths[i], NULL);
	for (size_t i = 0; rc == 0 && i < set.ndiags; i++) {
		const struct sf_dep_diag *g = &set.diags[i];
		fprintf(stderr, "scanfarm: %s: %s:%d: %s%s\n", g->repo, g->file, g->line, g->reason,
			g->skipped_file ? " (lockfile skipped)" : "");
	}
	int ret = 2;
	if (rc == 0 && !strcmp(sf_config_get(opts, NOPTS, "scan"), "no")) {
		json_t *inv = sf_inventory_json(&set);
		ret = inv ? cli_print(inv) : 2;
		json_decref(inv);
		sf_depset_free(&set);
		return ret;
	}
	struct sf_dep_result *res = calloc(set.ndeps ? set.ndeps : 1, sizeof(*res));
	struct sf_progress prog;
	char batch[SF_UUID_LEN + 1] = "";
	if (rc == 0 && res &&
	    sf_progress_init(&prog, stderr, sf_config_get(opts, NOPTS, "progress")) == 0) {
		fprintf(stderr, "scanfarm: %zu unique packages in %zu lockfiles\n", set.ndeps,
			set.lockfiles);
		rc = sf_batch_run(&cli, &set, res, timeout, &prog, batch);
		json_t *model = rc == 0 ? sf_report_build(&set, res, fail_rank, batch) : NULL;
		if (model) {
			ret = cli_write(model, NULL);
			ret = ret ? ret : sf_report_exit(model);
		}
		json_decref(model);
	}
	sf_batch_results_free(res, set.ndeps);
	sf_depset_free(&set);
	return ret;
}

int main(int argc, char **argv)
{
	char **rest;
	int nrest;
	int rc = sf_config_load(opts, NOPTS, argc, argv, USAGE, &rest, &nrest);
	if (rc)
		return rc > 0 ? 0 : 64;
	long long timeout;
	if (sf_config_int(opts, NOPTS, "timeout", 1, 86400 * 7, &timeout))
		return 64;
	cli.server = sf_config_get(opts, NOPTS, "server");
	cli.token = sf_config_get(opts, NOPTS, "token");
	cli.cacert = sf_config_get(opts, NOPTS, "cacert");
	int fail_rank = sf_report_priority_rank(sf_config_get(opts, NOPTS, "fail-on"));
	const char *format = sf_config_get(opts, NOPTS, "format");
	const char *cmd = nrest >= 1 ? rest[0] : "";
	bool deps = !strcmp(cmd, "deps");
	if (fail_rank < 0) {
		fprintf(stderr, "--fail-on: expected a Falco priority (emergency … debug)\n");
		return 64;
	}
	const char *net = sf_config_get(opts, NOPTS, "network");
	if (net && strcmp(net, "sinkhole") != 0 && strcmp(net, "offline") != 0) {
		fprintf(stderr, "--network: expected sinkhole or offline\n");
		return 64;
	}
	const char *eco = sf_config_get(opts, NOPTS, "ecosystem");
	if (strcmp(eco, "npm") != 0 && strcmp(eco, "pypi") != 0 && strcmp(eco, "rubygems") != 0) {
		fprintf(stderr, "--ecosystem: npm, pypi or rubygems\n");
		return 64;
	}
	if (cli_targets(format, sf_config_get(opts, NOPTS, "output"), deps, cli_reports,
			&cli_nreports))
		return 64;
	if (deps ? nrest < 2 && !sf_config_get(opts, NOPTS, "repos") : nrest != 2) {
		fprintf(stderr, USAGE "\n");
		return 64;
	}
	sf_http_global_init();
	const char *arg = rest[1];
	int ret = 64;
	if (deps) {
		ret = cli_deps(rest + 1, nrest - 1, timeout, fail_rank);
	} else if (strcmp(cmd, "submit") == 0) {
		char id[SF_UUID_LEN + 1];
		ret = cli_submit(arg, id);
		if (ret == 0)
			puts(id);
	} else if (strcmp(cmd, "status") == 0) {
		long status = 0;
		char path[256];
		snprintf(path, sizeof(path), "/?id=%s", arg);
		json_t *j = sf_cli_get_json(&cli, path, &status);
		ret = j ? cli_print(j) : 2;
		ret = ret ? ret : status == 200 ? 0 : 2;
		json_decref(j);
	} else if (strcmp(cmd, "report") == 0) {
		ret = cli_report(arg, fail_rank);
	} else if (strcmp(cmd, "scan") == 0) {
		ret = cli_scan(arg, timeout, fail_rank);
	} else {
		fprintf(stderr, "scanfarm: unknown command '%s'\n", cmd);
	}
	sf_http_global_cleanup();
	sf_config_free(opts, NOPTS);
	return ret;
}
