/*
 * nng_send — test tool: sends raw bytes at a coordinator socket, the way a
 * broken or hostile peer would: pushed at the results (pull) socket, or as a
 * request at the jobs (rep) socket when the URL is prefixed with "req+".
 *   nng_send [req+]URL random N | zeros N | file PATH
 */
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: nng_send URL random N | zeros N | file PATH\n");
		return 64;
	}
	char *data = NULL;
	size_t len = 0;
	if (strcmp(argv[2], "file") == 0) {
		if (sf_read_file(argv[3], 64u << 20, &data, &len) != 0)
			return 1;
	} else {
		len = strtoull(argv[3], NULL, 10);
		data = calloc(1, len ? len : 1);
		if (!data)
			return 1;
		if (strcmp(argv[2], "random") == 0) {
			unsigned x = 2463534242u;
			for (size_t i = 0; i < len; i++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				data[i] = (char)x;
			}
		}
	}
	nng_socket s;
	int rc;
	bool req = strncmp(argv[1], "req+", 4) == 0;
	const char *url = req ? argv[1] + 4 : argv[1];
	if ((rc = req ? nng_req0_open(&s) : nng_push0_open(&s)) || (rc = nng_dial(s, url, NULL, 0)) ||
	    (rc = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000)) ||
	    (rc = nng_send(s, data, len, 0))) {
		fprintf(stderr, "nng_send: %s\n", nng_strerror(rc));
		free(data);
		return 1;
	}
	usleep(200 * 1000); /* let the message leave before closing */
	nng_close(s);
	free(data);
	return 0;
}
