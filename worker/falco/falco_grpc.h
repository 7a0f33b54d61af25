/*
 * falco_grpc — the worker as a client of Falco's gRPC outputs service
 * (`--sensor falco-grpc`; Falco 0.24 to 0.43, whose last release line
 * still has it), written against grpc's C core API: one channel, one
 * completion queue, one bidirectional `falco.outputs.service/sub` call at
 * a time, on a thread of its own.
 *
 * Falco's `sub` answers each request with every alert it has queued and
 * then waits for the next request, so the client asks again every
 * SF_FALCO_GRPC_POLL_MS while a receive is always pending: Falco's queue
 * (unbounded, in its memory) is drained as fast as Falco fills it and a
 * slow job never makes Falco wait. Each message goes to the feed
 * (falco_feed), which decodes and queues it or drops and counts it.
 *
 * Address: "unix:///run/falco/falco.sock" (no authentication: the socket's
 * permissions are the protection) or "host:port" with mutual TLS (the
 * CA, certificate and key files are then required). A call that ends
 * (Falco stopped, restarted, the stream broke, a message over grpc's limit
 * of SF_FALCO_GRPC_MAX_MSG) is made again after a back-off of 100 ms
 * doubling to 5 s, reset once a call delivers; the feed is told, since
 * what Falco had queued for the broken stream is lost.
 *
 * Owns: the grpc library's initialisation (grpc_init/grpc_shutdown), the
 * channel, the call and the thread. Calls: grpc, protobuf-c (the
 * generated request), falco_feed, util, log.
 */
#ifndef SF_FALCO_GRPC_H
#define SF_FALCO_GRPC_H

#include <stddef.h>

#define SF_FALCO_GRPC_POLL_MS 100
#define SF_FALCO_GRPC_MAX_MSG (8 << 20) /* grpc's own limit: beyond, the call fails */
#define SF_FALCO_GRPC_METHOD "/falco.outputs.service/sub"

struct sf_falco;
struct sf_falco_grpc;

/* Starts the client thread (it connects, and reconnects, by itself).
 * 0, or a negative errno with err filled (bad address, unreadable
 * certificates). */
int sf_falco_grpc_start(struct sf_falco_grpc **out, struct sf_falco *feed, const char *address,
			const char *ca_file, const char *cert_file, const char *key_file, char *err,
			size_t errlen);

/* Cancels the call and joins the thread; NULL is fine. */
void sf_falco_grpc_stop(struct sf_falco_grpc *g);

#endif
