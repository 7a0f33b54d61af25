/*
 * webhook — alert fan-out: POSTs every stored alert as one Falco JSON
 * document (the shape of Falco's http_output), so Falcosidekick or anything
 * that reads Falco's http_output can forward it (Slack, SIEM, …).
 *
 * Delivery is asynchronous and bounded: ingestion only queues; one thread
 * posts with a timeout and a few retries. When the queue is full or the
 * endpoint keeps failing, alerts are dropped and counted — the alerts are
 * in PostgreSQL either way, the webhook is a notification.
 *
 * Owns: the queue, its thread, the queued bodies. Calls: http_client
 * (the POSTs), jansson, wire (alert type), log.
 */
#ifndef SF_WEBHOOK_H
#define SF_WEBHOOK_H

#include <stdatomic.h>
#include <stdint.h>

#include "wire.h"

struct sf_webhook_stats {
	atomic_ullong sent;
	atomic_ullong failed;  /* gave up after the retries */
	atomic_ullong dropped; /* queue full */
};

struct sf_webhook;

int sf_webhook_start(struct sf_webhook **out, const char *url, unsigned max_queue);
/* Stops the thread; alerts still queued get one quick attempt each. */
void sf_webhook_stop(struct sf_webhook *w);
/* Queues alerts of scan_id (never blocks on the network). */
void sf_webhook_post(struct sf_webhook *w, const char *scan_id, const struct sf_alert *alerts,
		     uint32_t n);
struct sf_webhook_stats *sf_webhook_stats(struct sf_webhook *w);

/* One alert as Falco JSON (malloc'd), with scanfarm.scan_id in output_fields. */
char *sf_webhook_falco_json(const char *scan_id, const struct sf_alert *a);

#endif
