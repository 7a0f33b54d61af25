/* client — see client.h. */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int sf_cli_request(const struct sf_cli *c, const char *path, FILE *upload, long long size,
		   const char *const *headers, sf_http_sink_fn sink, void *ctx, long *status)
{
	char url[4096];
	snprintf(url, sizeof(url), "%s%s", c->server, path);
	struct sf_http_request req = {.url = url,
				      .bearer = c->token,
				      .ca_file = c->cacert,
				      .headers = headers,
				      .upload = upload,
				      .upload_size = size,
				      .sink = sink,
				      .sink_ctx = ctx};
	struct sf_http_response resp;
	*status = 0;
	int rc = sf_http_perform(NULL, &req, &resp);
	if (resp.curl == CURLE_OK)
		*status = resp.status;
	else if (!resp.sink_rc)
		fprintf(stderr, "scanfarm: %s: %s\n", url, sf_http_strerror(&resp));
	if (rc && resp.sink_rc)
		return resp.sink_rc;
	return rc == 0 ? 0 : -EIO;
}

json_t *sf_cli_get_json(const struct sf_cli *c, const char *path, long *status)
{
	struct sf_http_mem_sink sink = {0};
	json_t *j = NULL;
	if (sf_cli_request(c, path, NULL, 0, NULL, sf_http_mem_sink_write, &sink, status) == 0 &&
	    sink.buf.data)
		j = json_loadb(sink.buf.data, sink.buf.len, 0, NULL);
	sf_http_mem_sink_free(&sink);
	return j;
}
