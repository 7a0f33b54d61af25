/* webhook — see webhook.h. */
#include "webhook.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "log.h"

#define WEBHOOK_TRIES 3

struct webhook_item {
	char *body;
	struct webhook_item *next;
};

struct sf_webhook {
	char *url;
	unsigned max_queue, queued;
	struct webhook_item *head, *tail;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	pthread_t thread;
	struct sf_webhook_stats stats;
};

char *sf_webhook_falco_json(const char *scan_id, const struct sf_alert *a)
{
	char when[64];
	time_t secs = (time_t)(a->time_ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%09lldZ", (long long)(a->time_ns % 1000000000LL));
	json_t *tags = json_array(), *fields = json_object();
	for (uint32_t i = 0; tags && i < a->ntags; i++)
		json_array_append_new(tags, json_string(a->tags[i]));
	for (uint32_t i = 0; fields && i < a->nfields; i++)
		json_object_set_new(fields, a->fields[i].key,
				    a->fields[i].value ? json_string(a->fields[i].value) : json_null());
	if (fields)
		json_object_set_new(fields, "scanfarm.scan_id", json_string(scan_id));
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "time", when, "priority",
			      a->priority ? a->priority : "Debug", "rule", a->rule ? a->rule : "",
			      "output", a->output ? a->output : "", "source",
			      a->source ? a->source : "syscall", "hostname",
			      a->hostname ? a->hostname : "", "tags", tags ? tags : json_array(),
			      "output_fields", fields ? fields : json_object());
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* One POST; 0 on a 2xx answer. */
static int webhook_send(const char *url, const char *body, long timeout_s)
{
	static const char *const json[] = {"Content-Type: application/json", NULL};
	struct sf_http_request req = {
	    .url = url, .headers = json, .body = body, .timeout_s = timeout_s};
	struct sf_http_response resp;
	int rc = sf_http_perform(NULL, &req, &resp);
	return rc == 0 && resp.status >= 200 && resp.status < 300 ? 0 : -EIO;
}

static void *webhook_thread(void *arg)
{
	struct sf_webhook *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		struct webhook_item *it = w->head;
		if (!it)
			break; /* stopping and drained */
		w->head = it->next;
		if (!w->head)
			w->tail = NULL;
		w->queued--;
		bool stopping = w->stop;
		pthread_mutex_unlock(&w->lock);
		int rc = -EIO;
		for (int t = 0; t < (stopping ? 1 : WEBHOOK_TRIES) && rc; t++) {
			if (t)
				sleep(1);
			rc = webhook_send(w->url, it->body, stopping ? 2 : 5);
		}
		if (rc) {
			unsigned long long n = atomic_fetch_add(&w->stats.failed, 1) + 1;
			sf_warn("webhook: cannot deliver an alert to %s [%llu failed so far]", w->url, n);
		} else {
			atomic_fetch_add(&w->stats.sent, 1);
		}
		free(it->body);
		free(it);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int sf_webhook_start(struct sf_webhook **out, const char *url, unsigned max_queue)
{
	struct sf_webhook *w = calloc(1, sizeof(*w));
	if (!w || !(w->url = strdup(url))) {
		free(w);
		return -ENOMEM;
	}
	w->max_queue = max_queue;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	int rc = pthread_create(&w->thread, NULL, webhook_thread, w);
	if (rc) {
		free(w->url);
		free(w);
		return -rc;
	}
	*out = w;
	return 0;
}

void sf_webhook_post(struct sf_webhook *w, const char *scan_id, const struct sf_alert *alerts,
		     uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct webhook_item *it = calloc(1, sizeof(*it));
		if (it)
			it->body = sf_webhook_falco_json(scan_id, &alerts[i]);
		bool queued = false;
		pthread_mutex_lock(&w->lock);
		if (it && it->body && w->queued < w->max_queue) {
			if (w->tail)
				w->tail->next = it;
			else
				w->head = it;
			w->tail = it;
			w->queued++;
			queued = true;
			pthread_cond_signal(&w->wake);
		}
		pthread_mutex_unlock(&w->lock);
		if (!queued) {
			atomic_fetch_add(&w->stats.dropped, 1);
			if (it)
				free(it->body);
			free(it);
		}
	}
}

struct sf_webhook_stats *sf_webhook_stats(struct sf_webhook *w) { return &w->stats; }

void sf_webhook_stop(struct sf_webhook *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w->url);
	free(w);
}
