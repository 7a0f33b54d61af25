/*
 * falco_http — the worker's endpoint for Falco's http_output
 * (`--sensor falco-json`): a libmicrohttpd server on a loopback address
 * that takes each POSTed body as one JSON alert (json_output=true) and
 * hands it to the feed (falco_feed), which decodes and queues it or drops
 * and counts it.
 *
 * http_output rather than program_output: Falco posts from its output
 * thread and waits for the answer, so the answer is sent at once, whatever
 * the jobs are doing (the feed's queue never blocks); the worker and Falco
 * start, stop and restart independently (a program_output is Falco's
 * child, restarted only on SIGUSR1, and would need a relay to reach the
 * worker); and the body's length is known before it is read, so a body
 * over SF_FALCO_MAX_ALERT is refused (413) without being buffered.
 *
 * Answers: 200 (alert queued, or dropped because the queue was full —
 * Falco cannot do better by retrying), 400 (not an alert), 413 (too
 * large), 405 (not POST). Loopback only: the sandboxes have network
 * namespaces of their own and cannot reach it.
 *
 * Owns: the daemon and each request's body buffer. Calls: libmicrohttpd,
 * falco_feed, util, log.
 */
#ifndef SF_FALCO_HTTP_H
#define SF_FALCO_HTTP_H

#include <stddef.h>

struct sf_falco;
struct sf_falco_http;

/* Listens on address ("127.0.0.1:7310"; a loopback IPv4 address). 0, or
 * a negative errno with err filled. */
int sf_falco_http_start(struct sf_falco_http **out, struct sf_falco *feed, const char *address,
			char *err, size_t errlen);

/* Stops the daemon (requests in progress are finished); NULL is fine. */
void sf_falco_http_stop(struct sf_falco_http *h);

#endif
