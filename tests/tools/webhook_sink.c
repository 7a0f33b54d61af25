/*
 * webhook_sink — a test tool: an HTTP server on 127.0.0.1:PORT that appends
 * the body of every POST as one line to FILE and answers 200 (or 500 for
 * the first FAIL_FIRST requests, to exercise retries). Runs until killed.
 *   webhook_sink PORT FILE [FAIL_FIRST]
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static FILE *sink_out;
static int sink_fail_first;

static enum MHD_Result sink_handle(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version, const char *data,
				   size_t *size, void **con_cls)
{
	(void)cls;
	(void)url;
	(void)version;
	struct sf_buf *body = *con_cls;
	if (!body) {
		if (!(body = calloc(1, sizeof(*body))))
			return MHD_NO;
		*con_cls = body;
		return MHD_YES;
	}
	if (*size) {
		sf_buf_append(body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	unsigned status = 200;
	if (strcmp(method, "POST") != 0)
		status = 405;
	else if (sink_fail_first > 0)
		sink_fail_first--, status = 500;
	else {
		fwrite(body->data, 1, body->len, sink_out);
		fputc('\n', sink_out);
		fflush(sink_out);
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void sink_done(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct sf_buf *body = *con_cls;
	if (body) {
		sf_buf_free(body);
		free(body);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: webhook_sink PORT FILE [FAIL_FIRST]\n");
		return 64;
	}
	sink_out = fopen(argv[2], "a");
	sink_fail_first = argc > 3 ? atoi(argv[3]) : 0;
	if (!sink_out)
		return 1;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct MHD_Daemon *d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, sink_handle, NULL, MHD_OPTION_SOCK_ADDR,
	    &addr, MHD_OPTION_NOTIFY_COMPLETED, sink_done, NULL, MHD_OPTION_END);
	if (!d)
		return 1;
	pause();
	return 0;
}
