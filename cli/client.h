/*
 * client — the CLI's requests to a coordinator: one place that knows the
 * server's URL and token, streams uploads from a file and hands answers to
 * a sink or parses them as JSON.
 *
 * Owns: nothing after return; returned json_t are the caller's. Calls:
 * http_client, jansson, util.
 */
#ifndef SF_CLI_CLIENT_H
#define SF_CLI_CLIENT_H

#include <jansson.h>
#include <stdio.h>

#include "http_client.h"

struct sf_cli {
	const char *server; /* base URL, no trailing slash needed */
	const char *token;  /* or NULL */
	const char *cacert; /* CA certificate(s) of an https:// server, or NULL */
};

/* path on the server; the body streamed from upload (size bytes) with the
 * given header lines, or none; the answer to sink (NULL: discarded). 0
 * with *status, or -EIO (a message on stderr), or the sink's error. */
int sf_cli_request(const struct sf_cli *c, const char *path, FILE *upload, long long size,
		   const char *const *headers, sf_http_sink_fn sink, void *ctx, long *status);
/* GET path as JSON; NULL (a message on stderr) when it could not be had. */
json_t *sf_cli_get_json(const struct sf_cli *c, const char *path, long *status);

#endif
