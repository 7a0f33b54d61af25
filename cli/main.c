/*
 * scanfarm — the client CLI: submit tarballs, follow scans, print reports.
 *
 *   scanfarm submit FILE        prints the scan id
 *   scanfarm status ID          Package Hunter's view {id, status, result}
 *   scanfarm report ID          the full /v1 report
 *   scanfarm scan FILE          submit, wait, print the report
 *
 * Exit codes (for CI): 0 finished without alerts at --fail-on priority or
 * above (default Notice); 1 such alerts, whether the scan finished or
 * failed (a failed scan keeps what it raised before it stopped); 2 the scan
 * failed without such alerts (its reason goes to stderr), did not end
 * within --timeout or could not be submitted; 64 usage.
 * Calls: http_client (streams the upload from disk), jansson, config, util.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "http_client.h"
#include "util.h"

static struct sf_option opts[] = {
    {"server", "http://127.0.0.1:3000", "coordinator base URL", NULL},
    {"timeout", "900", "seconds `scan` waits for a result", NULL},
    {"fail-on", "notice", "lowest alert priority that makes `scan` exit 1", NULL},
    {"token", NULL, "API token (when the coordinator runs with --auth on)", NULL},
    {"network", NULL, "the install and import phases' network: sinkhole or offline"
		      " (default: the worker's)", NULL},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* Performs a request; the body (if any) is streamed from upload. */
static int cli_request(const char *url, FILE *upload, long long upload_size, long *status,
		       struct sf_buf *body)
{
	static const char *const octets[] = {"Content-Type: application/octet-stream", NULL};
	struct sf_http_mem_sink sink = {0}; /* no bound */
	struct sf_http_request req = {.url = url,
				      .bearer = sf_config_get(opts, NOPTS, "token"),
				      .headers = upload ? octets : NULL,
				      .upload = upload,
				      .upload_size = upload_size,
				      .sink = sf_http_mem_sink_write,
				      .sink_ctx = &sink};
	struct sf_http_response resp;
	int rc = sf_http_perform(NULL, &req, &resp);
	if (resp.curl == CURLE_OK)
		*status = resp.status;
	else
		fprintf(stderr, "scanfarm: %s: %s\n", url, sf_http_strerror(&resp));
	*body = sink.buf; /* handed over */
	return rc == 0 ? 0 : -EIO;
}

static json_t *cli_get_json(const char *server, const char *path, long *status)
{
	char url[2048];
	snprintf(url, sizeof(url), "%s%s", server, path);
	struct sf_buf body = {0};
	json_t *j = NULL;
	if (cli_request(url, NULL, 0, status, &body) == 0 && body.data)
		j = json_loads(body.data, 0, NULL);
	sf_buf_free(&body);
	return j;
}

static int cli_submit(const char *server, const char *file, char id[SF_UUID_LEN + 1])
{
	FILE *f = fopen(file, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "scanfarm: %s: %s\n", file, strerror(errno));
		if (f)
			fclose(f);
		return 2;
	}
	char url[2048];
	const char *net = sf_config_get(opts, NOPTS, "network");
	snprintf(url, sizeof(url), "%s/monitor/project/npm%s%s", server, net ? "?network=" : "",
		 net ? net : "");
	struct sf_buf body = {0};
	long status = 0;
	int rc = cli_request(url, f, st.st_size, &status, &body);
	fclose(f);
	json_t *j = (rc == 0 && body.data) ? json_loads(body.data, 0, NULL) : NULL;
	const char *got = j ? json_string_value(json_object_get(j, "id")) : NULL;
	int ret = 2;
	if (status == 200 && got && strlen(got) == SF_UUID_LEN) {
		memcpy(id, got, SF_UUID_LEN + 1);
		ret = 0;
	} else if (rc == 0) {
		fprintf(stderr, "scanfarm: submit failed (HTTP %ld): %s\n", status,
			body.data ? body.data : "");
	}
	json_decref(j);
	sf_buf_free(&body);
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

static int cli_show(const char *server, const char *fmt, const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), fmt, id);
	long status = 0;
	json_t *j = cli_get_json(server, path, &status);
	if (!j)
		return 2;
	int rc = cli_print(j);
	json_decref(j);
	return status == 200 ? rc : 2;
}

/* Falco's priorities, most severe first. */
static const char *const cli_priorities[] = {"emergency", "alert",  "critical",
					      "error",	   "warning", "notice",
					      "informational", "debug"};

static int cli_priority_rank(const char *p)
{
	if (p && !strcasecmp(p, "info"))
		return 6;
	for (int i = 0; p && i < 8; i++)
		if (!strcasecmp(p, cli_priorities[i]))
			return i;
	return -1;
}

/* Whether the report holds an alert at fail_rank or more severe. */
static bool cli_has_alerts(json_t *report, int fail_rank)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(report, "alerts"), i, a)
	{
		int r = cli_priority_rank(json_string_value(json_object_get(a, "priority")));
		if (r >= 0 && r <= fail_rank)
			return true;
	}
	return false;
}

static int cli_scan(const char *server, const char *file, long long timeout, int fail_rank)
{
	char id[SF_UUID_LEN + 1], path[128];
	int rc = cli_submit(server, file, id);
	if (rc)
		return rc;
	fprintf(stderr, "scanfarm: scan %s submitted\n", id);
	snprintf(path, sizeof(path), "/v1/scans/%s", id);
	int64_t deadline = sf_monotonic_ms() + timeout * 1000;
	while (sf_monotonic_ms() < deadline) {
		long status = 0;
		json_t *j = cli_get_json(server, path, &status);
		const char *st = j ? json_string_value(json_object_get(j, "status")) : NULL;
		if (st && (strcmp(st, "finished") == 0 || strcmp(st, "failed") == 0)) {
			cli_print(j);
			bool failed = strcmp(st, "failed") == 0;
			if (failed) {
				const char *why = json_string_value(json_object_get(j, "reason"));
				fprintf(stderr, "scanfarm: scan %s failed: %s\n", id,
					why ? why : "no reason given");
			}
			/* alerts outrank the failure: what was raised is the finding */
			int ret = cli_has_alerts(j, fail_rank) ? 1 : failed ? 2 : 0;
			json_decref(j);
			return ret;
		}
		json_decref(j);
		usleep(500 * 1000);
	}
	fprintf(stderr, "scanfarm: scan %s did not finish within %lld s\n", id, timeout);
	return 2;
}

int main(int argc, char **argv)
{
	char **rest;
	int nrest;
	int rc = sf_config_load(opts, NOPTS, argc, argv,
				"usage: scanfarm [--server URL] submit FILE | status ID | report ID | scan FILE",
				&rest, &nrest);
	if (rc)
		return rc > 0 ? 0 : 64;
	long long timeout;
	if (sf_config_int(opts, NOPTS, "timeout", 1, 86400 * 7, &timeout))
		return 64;
	const char *server = sf_config_get(opts, NOPTS, "server");
	int fail_rank = cli_priority_rank(sf_config_get(opts, NOPTS, "fail-on"));
	if (fail_rank < 0) {
		fprintf(stderr, "--fail-on: expected a Falco priority (emergency … debug)\n");
		return 64;
	}
	const char *net = sf_config_get(opts, NOPTS, "network");
	if (net && strcmp(net, "sinkhole") != 0 && strcmp(net, "offline") != 0) {
		fprintf(stderr, "--network: expected sinkhole or offline\n");
		return 64;
	}
	if (nrest != 2) {
		fprintf(stderr, "usage: scanfarm [--server URL] submit FILE | status ID | report ID | scan FILE\n");
		return 64;
	}
	sf_http_global_init();
	const char *cmd = rest[0], *arg = rest[1];
	int ret = 64;
	if (strcmp(cmd, "submit") == 0) {
		char id[SF_UUID_LEN + 1];
		ret = cli_submit(server, arg, id);
		if (ret == 0)
			puts(id);
	} else if (strcmp(cmd, "status") == 0) {
		ret = cli_show(server, "/?id=%s", arg);
	} else if (strcmp(cmd, "report") == 0) {
		ret = cli_show(server, "/v1/scans/%s", arg);
	} else if (strcmp(cmd, "scan") == 0) {
		ret = cli_scan(server, arg, timeout, fail_rank);
	} else {
		fprintf(stderr, "scanfarm: unknown command '%s'\n", cmd);
	}
	sf_http_global_cleanup();
	sf_config_free(opts, NOPTS);
	return ret;
}
