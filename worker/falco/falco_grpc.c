/* falco_grpc — see falco_grpc.h. */
#include "falco_grpc.h"

#include <errno.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "falco_alert.h"
#include "falco_feed.h"
#include "falco_outputs.pb-c.h"
#include "log.h"
#include "util.h"

#define GRPC_BACKOFF_MIN_MS 100
#define GRPC_BACKOFF_MAX_MS 5000
#define GRPC_PEM_MAX (1 << 20)

struct sf_falco_grpc {
	struct sf_falco *feed;
	char *address;
	grpc_channel *channel;
	grpc_completion_queue *cq;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	int last_status; /* of the previous call, to log changes only */
};

/* The state of one `sub` call. */
struct grpc_sub {
	grpc_call *call;
	grpc_metadata_array initial_md, trailing_md;
	grpc_status_code status;
	grpc_slice details;
	grpc_byte_buffer *recv, *send;
	int pending;	  /* batches started and not completed */
	bool send_busy;	  /* a request is on its way */
	bool ended;	  /* the status arrived: start nothing more */
	bool cancelled;
	int64_t last_send_ms;
	uint64_t delivered; /* messages this call received */
};

/* Completion tags: distinct addresses. */
static char grpc_tag_init, grpc_tag_status, grpc_tag_send, grpc_tag_recv;

static int grpc_batch(struct grpc_sub *s, const grpc_op *ops, size_t n, void *tag)
{
	grpc_call_error e = grpc_call_start_batch(s->call, ops, n, tag, NULL);
	if (e != GRPC_CALL_OK)
		return -EIO;
	s->pending++;
	return 0;
}

/* Sends one (empty) request: "write me what you have queued". */
static void grpc_send_request(struct grpc_sub *s)
{
	Falco__Outputs__Request req = FALCO__OUTPUTS__REQUEST__INIT;
	uint8_t buf[16];
	size_t n = falco__outputs__request__pack(&req, buf);
	grpc_slice slice = grpc_slice_from_copied_buffer((const char *)buf, n);
	s->send = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};
	op.data.send_message.send_message = s->send;
	if (grpc_batch(s, &op, 1, &grpc_tag_send) == 0) {
		s->send_busy = true;
		s->last_send_ms = sf_monotonic_ms();
	} else {
		grpc_byte_buffer_destroy(s->send);
		s->send = NULL;
	}
}

static void grpc_arm_recv(struct grpc_sub *s)
{
	grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
	op.data.recv_message.recv_message = &s->recv;
	grpc_batch(s, &op, 1, &grpc_tag_recv);
}

/* One received message to the feed (or counted as too large). */
static void grpc_consume(struct sf_falco_grpc *g, grpc_byte_buffer *bb)
{
	if (grpc_byte_buffer_length(bb) > SF_FALCO_MAX_ALERT) {
		sf_falco_oversized(g->feed);
		return;
	}
	grpc_byte_buffer_reader r;
	if (!grpc_byte_buffer_reader_init(&r, bb)) {
		sf_falco_deliver(g->feed, SF_FALCO_PROTOBUF, "", 0);
		return;
	}
	grpc_slice all = grpc_byte_buffer_reader_readall(&r);
	sf_falco_deliver(g->feed, SF_FALCO_PROTOBUF, GRPC_SLICE_START_PTR(all),
			 GRPC_SLICE_LENGTH(all));
	grpc_slice_unref(all);
	grpc_byte_buffer_reader_destroy(&r);
}

/* Starts the call: metadata, the status, the first request and receive. */
static int grpc_sub_begin(struct sf_falco_grpc *g, struct grpc_sub *s)
{
	grpc_slice method = grpc_slice_from_static_string(SF_FALCO_GRPC_METHOD);
	s->call = grpc_channel_create_call(g->channel, NULL, GRPC_PROPAGATE_DEFAULTS, g->cq, method,
					   NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (!s->call)
		return -ENOMEM;
	grpc_metadata_array_init(&s->initial_md);
	grpc_metadata_array_init(&s->trailing_md);
	grpc_op ops[2] = {{.op = GRPC_OP_SEND_INITIAL_METADATA}, {.op = GRPC_OP_RECV_INITIAL_METADATA}};
	ops[1].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
	grpc_op st = {.op = GRPC_OP_RECV_STATUS_ON_CLIENT};
	st.data.recv_status_on_client.trailing_metadata = &s->trailing_md;
	st.data.recv_status_on_client.status = &s->status;
	st.data.recv_status_on_client.status_details = &s->details;
	if (grpc_batch(s, ops, 2, &grpc_tag_init) || grpc_batch(s, &st, 1, &grpc_tag_status))
		return -EIO;
	grpc_send_request(s);
	grpc_arm_recv(s);
	return 0;
}

/* One completion of the call's batches. */
static void grpc_sub_event(struct sf_falco_grpc *g, struct grpc_sub *s, const grpc_event *ev)
{
	s->pending--;
	if (ev->tag == &grpc_tag_send) {
		grpc_byte_buffer_destroy(s->send);
		s->send = NULL;
		s->send_busy = false;
	} else if (ev->tag == &grpc_tag_recv) {
		grpc_byte_buffer *bb = s->recv;
		s->recv = NULL;
		if (ev->success && bb) {
			if (s->delivered++ == 0)
				sf_falco_stream_state(g->feed, true, false);
			grpc_consume(g, bb);
			grpc_byte_buffer_destroy(bb);
			if (!s->ended && !s->cancelled)
				grpc_arm_recv(s);
		} else if (bb) {
			grpc_byte_buffer_destroy(bb);
		}
	} else if (ev->tag == &grpc_tag_status) {
		s->ended = true;
	}
}

/* Runs one `sub` call until it ends (or the client stops). */
static void grpc_sub_run(struct sf_falco_grpc *g, struct grpc_sub *s)
{
	if (grpc_sub_begin(g, s) != 0 && s->call && !s->cancelled) {
		grpc_call_cancel(s->call, NULL);
		s->cancelled = true;
	}
	while (s->pending > 0) {
		if (atomic_load(&g->stop) && !s->cancelled) {
			grpc_call_cancel(s->call, NULL);
			s->cancelled = true;
		}
		gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
						     gpr_time_from_millis(SF_FALCO_GRPC_POLL_MS,
									  GPR_TIMESPAN));
		grpc_event ev = grpc_completion_queue_next(g->cq, deadline, NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE) {
			grpc_sub_event(g, s, &ev);
			continue;
		}
		if (!s->ended && !s->cancelled && !s->send_busy &&
		    sf_monotonic_ms() - s->last_send_ms >= SF_FALCO_GRPC_POLL_MS)
			grpc_send_request(s);
	}
}

/* Logs how a call ended (changes only: a Falco that is down would
 * otherwise say so every back-off) and frees it. */
static void grpc_sub_end(struct sf_falco_grpc *g, struct grpc_sub *s)
{
	if (s->ended && s->status == GRPC_STATUS_RESOURCE_EXHAUSTED)
		sf_falco_oversized(g->feed);
	if (s->ended && ((int)s->status != g->last_status || s->delivered)) {
		char *details = grpc_slice_to_c_string(s->details);
		sf_warn("falco-grpc: %s: subscription ended after %llu messages: status %d (%s)",
			g->address, (unsigned long long)s->delivered, (int)s->status,
			details && details[0] ? details : "no details");
		gpr_free(details);
		g->last_status = (int)s->status;
	}
	grpc_slice_unref(s->details);
	grpc_metadata_array_destroy(&s->initial_md);
	grpc_metadata_array_destroy(&s->trailing_md);
	if (s->call)
		grpc_call_unref(s->call);
}

static void *grpc_thread(void *arg)
{
	struct sf_falco_grpc *g = arg;
	int backoff = GRPC_BACKOFF_MIN_MS;
	while (!atomic_load(&g->stop)) {
		struct grpc_sub s = {.details = grpc_empty_slice()};
		grpc_sub_run(g, &s);
		uint64_t delivered = s.delivered;
		grpc_sub_end(g, &s);
		/* what Falco had queued for this stream is gone with it */
		sf_falco_stream_state(g->feed, false, true);
		if (delivered)
			backoff = GRPC_BACKOFF_MIN_MS;
		for (int waited = 0; waited < backoff && !atomic_load(&g->stop); waited += 20) {
			struct timespec ts = {0, 20 * 1000000};
			nanosleep(&ts, NULL);
		}
		backoff = backoff * 2 > GRPC_BACKOFF_MAX_MS ? GRPC_BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

/* The channel's credentials: none on a unix socket, mutual TLS on TCP. */
static grpc_channel_credentials *grpc_creds(const char *address, const char *ca_file,
					    const char *cert_file, const char *key_file, char *err,
					    size_t errlen)
{
	if (!strncmp(address, "unix:", 5))
		return grpc_insecure_credentials_create();
	if (!ca_file || !cert_file || !key_file) {
		snprintf(err, errlen, "%s: a TCP address needs mutual TLS (--falco-grpc-ca,"
				      " --falco-grpc-cert, --falco-grpc-key)", address);
		return NULL;
	}
	char *ca = NULL, *cert = NULL, *key = NULL;
	size_t n;
	grpc_channel_credentials *c = NULL;
	const char *bad = sf_read_file(ca_file, GRPC_PEM_MAX, &ca, &n)	     ? ca_file
			  : sf_read_file(cert_file, GRPC_PEM_MAX, &cert, &n) ? cert_file
			  : sf_read_file(key_file, GRPC_PEM_MAX, &key, &n)   ? key_file
									     : NULL;
	if (bad) {
		snprintf(err, errlen, "cannot read %s", bad);
	} else {
		grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
		c = grpc_ssl_credentials_create(ca, &pair, NULL, NULL);
		if (!c)
			snprintf(err, errlen, "grpc refused the TLS credentials");
	}
	free(ca);
	free(cert);
	free(key);
	return c;
}

int sf_falco_grpc_start(struct sf_falco_grpc **out, struct sf_falco *feed, const char *address,
			const char *ca_file, const char *cert_file, const char *key_file, char *err,
			size_t errlen)
{
	struct sf_falco_grpc *g = calloc(1, sizeof(*g));
	if (!g || !(g->address = strdup(address))) {
		free(g);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	g->feed = feed;
	g->last_status = -1;
	grpc_init();
	grpc_channel_credentials *creds =
	    grpc_creds(address, ca_file, cert_file, key_file, err, errlen);
	if (!creds) {
		grpc_shutdown();
		free(g->address);
		free(g);
		return -EINVAL;
	}
	grpc_arg args[] = {
	    {GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, {.integer = SF_FALCO_GRPC_MAX_MSG}},
	    {GRPC_ARG_INTEGER, GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, {.integer = GRPC_BACKOFF_MIN_MS}},
	    {GRPC_ARG_INTEGER, GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, {.integer = GRPC_BACKOFF_MIN_MS}},
	    {GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, {.integer = GRPC_BACKOFF_MAX_MS}},
	};
	grpc_channel_args chargs = {sizeof(args) / sizeof(args[0]), args};
	g->channel = grpc_channel_create(address, creds, &chargs);
	grpc_channel_credentials_release(creds);
	g->cq = grpc_completion_queue_create_for_next(NULL);
	int rc = g->channel && g->cq ? pthread_create(&g->thread, NULL, grpc_thread, g) : ENOMEM;
	if (rc) {
		snprintf(err, errlen, "cannot start the gRPC client: %s", strerror(rc));
		sf_falco_grpc_stop(g);
		return -rc;
	}
	g->started = true;
	sf_info("falco-grpc: subscribing to %s at %s", SF_FALCO_GRPC_METHOD, address);
	*out = g;
	return 0;
}

void sf_falco_grpc_stop(struct sf_falco_grpc *g)
{
	if (!g)
		return;
	atomic_store(&g->stop, true);
	if (g->started)
		pthread_join(g->thread, NULL);
	if (g->cq) {
		grpc_completion_queue_shutdown(g->cq);
		while (grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
			   .type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(g->cq);
	}
	if (g->channel)
		grpc_channel_destroy(g->channel);
	grpc_shutdown();
	free(g->address);
	free(g);
}
