/*
 * falco_alert_test — the Falco alert decoders (worker/falco/falco_alert.c)
 * on messages real Falco 0.43.1 sent (tests/fuzz/corpus/falco: gRPC with
 * json_output on and off, a JSON alert of file_output) and on hand-made
 * edge cases; the job matcher on thread.cgroups values; and the feed's
 * routing of alerts to job watches by container cgroup (falco_feed.c),
 * and the alerts a full queue loses counted against the job they were of.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "falco_alert.h"
#include "falco_feed.h"
#include "falco_outputs.pb-c.h"
#include "harness.h"
#include "util.h"

/* A corpus file without its format byte. */
static char *corpus(const char *name, size_t *len)
{
	char path[1024], *data = NULL;
	snprintf(path, sizeof(path), "%s/%s", SF_FALCO_CORPUS, name);
	if (sf_read_file(path, 1 << 22, &data, len) != 0 || *len < 1) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	memmove(data, data + 1, --*len);
	return data;
}

static void test_real_messages(void)
{
	size_t len;
	struct sf_alert a;
	/* gRPC, json_output=true: `output` holds the alert's JSON */
	char *pb = corpus("pb-real-falco-0.43-json-output.bin", &len);
	CHECK_EQ(sf_falco_alert_from_pb((uint8_t *)pb, len, &a), 0);
	CHECK(!strcmp(a.rule, "Read npm credentials file"));
	CHECK(!strcmp(a.priority, "Error"));
	CHECK(!strncmp(a.output, "npm credentials file read by non-npm process | file=", 52));
	CHECK(!strcmp(a.source, "syscall"));
	CHECK(a.time_ns > 1700000000LL * 1000000000);
	CHECK(sf_falco_alert_field(&a, "thread.cgroups") != NULL);
	CHECK(sf_falco_alert_field(&a, "evt.num") != NULL);
	sf_alert_free(&a);
	free(pb);
	/* gRPC, json_output=false: the message and the fields map */
	pb = corpus("pb-real-falco-0.43-pulse.bin", &len);
	CHECK_EQ(sf_falco_alert_from_pb((uint8_t *)pb, len, &a), 0);
	CHECK(!strcmp(a.rule, SF_FALCO_PULSE_RULE));
	CHECK(!strcmp(a.priority, "Informational"));
	CHECK(!strcmp(a.output, "scanfarm falco pulse (args=scanfarm-falco-pulse cap 1)"));
	CHECK(!strcmp(sf_falco_alert_field(&a, "proc.args") ?: "", "scanfarm-falco-pulse cap 1"));
	CHECK(atoll(sf_falco_alert_field(&a, "evt.num") ?: "0") > 0);
	CHECK(a.ntags == 2);
	sf_alert_free(&a);
	/* truncated: not a message */
	CHECK_EQ(sf_falco_alert_from_pb((uint8_t *)pb, len - 3, &a), -EPROTO);
	free(pb);
	/* JSON from file_output */
	char *js = corpus("json-real-falco-0.43.bin", &len);
	CHECK_EQ(sf_falco_alert_from_json(js, len, &a), 0);
	CHECK(!strcmp(a.rule, "Read npm credentials file"));
	CHECK(!strcmp(a.hostname, "vm"));
	CHECK(!strncmp(a.output, "npm credentials file read", 25));
	CHECK(atoll(sf_falco_alert_field(&a, "evt.num") ?: "0") > 0);
	sf_alert_free(&a);
	free(js);
}

static int json(const char *s, struct sf_alert *a) { return sf_falco_alert_from_json(s, strlen(s), a); }

static void test_json_edges(void)
{
	struct sf_alert a;
	CHECK_EQ(json("{\"rule\":\"r\",\"priority\":\"info\",\"output\":\"2026-12-01T08:44:22.5+0000:"
		      " Informational m\",\"time\":\"2026-12-01T08:44:22.029778058Z\",\"output_fields\":"
		      "{\"a\":null,\"b\":7,\"c\":true,\"d\":[1,2],\"e\":\"x\"},\"tags\":[\"t1\"]}",
		      &a),
		 0);
	CHECK(!strcmp(a.priority, "Informational"));
	CHECK(!strcmp(a.output, "m")); /* an ISO 8601 prefix is Falco's too */
	CHECK_EQ(a.time_ns, 1796114662029778058LL);
	CHECK(!strcmp(sf_falco_alert_field(&a, "a"), "<NA>"));
	CHECK(!strcmp(sf_falco_alert_field(&a, "b"), "7"));
	CHECK(!strcmp(sf_falco_alert_field(&a, "c"), "true"));
	CHECK(!strcmp(sf_falco_alert_field(&a, "d"), "[1,2]"));
	CHECK(a.ntags == 1 && !strcmp(a.tags[0], "t1"));
	CHECK(!strcmp(a.source, "syscall"));
	sf_alert_free(&a);
	/* a prefix that is not time + this priority stays */
	CHECK_EQ(json("{\"rule\":\"r\",\"priority\":\"Warning\",\"output\":\"12:00: Error x\"}", &a), 0);
	CHECK(!strcmp(a.output, "12:00: Error x"));
	sf_alert_free(&a);
	CHECK_EQ(json("{\"priority\":\"Warning\",\"output\":\"x\"}", &a), -EPROTO);
	CHECK_EQ(json("{\"rule\":\"\",\"priority\":\"Warning\"}", &a), -EPROTO);
	CHECK_EQ(json("{\"rule\":\"r\",\"priority\":\"Loud\"}", &a), -EPROTO);
	CHECK_EQ(json("{\"rule\":\"r\",\"rule\":\"s\",\"priority\":\"Debug\"}", &a), -EPROTO);
	CHECK_EQ(json("{\"rule\":\"r\",\"priority\":\"Debug\",\"tags\":[1]}", &a), -EPROTO);
	CHECK_EQ(json("{\"rule\":\"r\",\"priority\":\"Debug\",\"time\":\"yesterday\"}", &a), -EPROTO);
	CHECK_EQ(json("[\"rule\"]", &a), -EPROTO);
	CHECK_EQ(json("{\"rule\":\"r\",\"priority\":\"Debug\",\"output\":\"a\\u0000b\"}", &a), -EPROTO);
	/* caps: fields, and the length of a string */
	struct sf_buf b = {0};
	sf_buf_appendf(&b, "{\"rule\":\"r\",\"priority\":\"Debug\",\"output\":\"");
	for (int i = 0; i < SF_FALCO_MAX_STRING + 100; i++)
		sf_buf_append(&b, "y", 1);
	sf_buf_appendf(&b, "\",\"output_fields\":{");
	for (int i = 0; i < SF_FALCO_MAX_FIELDS + 50; i++)
		sf_buf_appendf(&b, "%s\"f%d\":\"v\"", i ? "," : "", i);
	sf_buf_appendf(&b, "}}");
	CHECK_EQ(sf_falco_alert_from_json(b.data, b.len, &a), 0);
	CHECK_EQ(a.nfields, SF_FALCO_MAX_FIELDS);
	CHECK_EQ(strlen(a.output), SF_FALCO_MAX_STRING);
	sf_alert_free(&a);
	sf_buf_free(&b);
	char *big = calloc(1, SF_FALCO_MAX_ALERT + 2);
	memset(big, ' ', SF_FALCO_MAX_ALERT + 1);
	CHECK_EQ(sf_falco_alert_from_json(big, SF_FALCO_MAX_ALERT + 1, &a), -EMSGSIZE);
	CHECK_EQ(sf_falco_alert_from_pb((uint8_t *)big, SF_FALCO_MAX_ALERT + 1, &a), -EMSGSIZE);
	free(big);
}

/* A response packed with the generated code, as a gRPC peer would send it. */
static size_t pack(int priority, const char *rule, const char *output, uint8_t *buf)
{
	Falco__Outputs__Response r = FALCO__OUTPUTS__RESPONSE__INIT;
	Falco__Outputs__Timestamp t = FALCO__OUTPUTS__TIMESTAMP__INIT;
	Falco__Outputs__Field f = FALCO__OUTPUTS__FIELD__INIT, *fs[1] = {&f};
	t.seconds = 1796114662;
	t.nanos = 5;
	r.time = &t;
	r.priority = priority;
	r.rule = (char *)rule;
	r.output = (char *)output;
	f.key = "thread.cgroups";
	f.value = "memory=/scanfarm/sf-9-1-1-fetch";
	r.n_output_fields = 1;
	r.output_fields = fs;
	return falco__outputs__response__pack(&r, buf);
}

static void test_pb_edges(void)
{
	uint8_t buf[4096];
	struct sf_alert a;
	size_t n = pack(FALCO__OUTPUTS__PRIORITY__CRITICAL, "r", "x", buf);
	CHECK_EQ(sf_falco_alert_from_pb(buf, n, &a), 0);
	CHECK(!strcmp(a.priority, "Critical"));
	CHECK_EQ(a.time_ns, 1796114662000000005LL);
	CHECK(!strcmp(a.source, "syscall"));
	sf_alert_free(&a);
	n = pack(42, "r", "x", buf);
	CHECK_EQ(sf_falco_alert_from_pb(buf, n, &a), -EPROTO);
	n = pack(FALCO__OUTPUTS__PRIORITY__DEBUG, "", "x", buf);
	CHECK_EQ(sf_falco_alert_from_pb(buf, n, &a), -EPROTO);
	/* invalid UTF-8 and an embedded NUL are made safe */
	n = pack(FALCO__OUTPUTS__PRIORITY__DEBUG, "r\xff", "x", buf);
	CHECK_EQ(sf_falco_alert_from_pb(buf, n, &a), 0);
	CHECK(!strcmp(a.rule, "r?"));
	sf_alert_free(&a);
	static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x99};
	CHECK_EQ(sf_falco_alert_from_pb(garbage, sizeof(garbage), &a), -EPROTO);
}

static void test_cgroup_name(void)
{
	char n[64];
	CHECK_EQ(sf_falco_cgroup_name("cpuset=/ cpu=/ memory=/scanfarm/sf-1-2-1-install", "scanfarm",
				      n, sizeof(n)),
		 0);
	CHECK(!strcmp(n, "sf-1-2-1-install"));
	/* a sub-cgroup of the job's is the job's */
	CHECK_EQ(sf_falco_cgroup_name("memory=/scanfarm/sf-1-2-1-fetch/sub", "scanfarm", n, sizeof(n)), 0);
	CHECK(!strcmp(n, "sf-1-2-1-fetch"));
	CHECK_EQ(sf_falco_cgroup_name("cpuset=/ memory=/user.slice", "scanfarm", n, sizeof(n)), -ENOENT);
	CHECK_EQ(sf_falco_cgroup_name("memory=/x/scanfarm/sf-1", "scanfarm", n, sizeof(n)), -ENOENT);
	CHECK_EQ(sf_falco_cgroup_name(NULL, "scanfarm", n, sizeof(n)), -ENOENT);
	CHECK_EQ(sf_falco_cgroup_name("memory=/scanfarm/", "scanfarm", n, sizeof(n)), -EPROTO);
	CHECK_EQ(sf_falco_cgroup_name("memory=/scanfarm/a$b", "scanfarm", n, sizeof(n)), -EPROTO);
	CHECK_EQ(sf_falco_cgroup_name("memory=/scanfarm/abcdefgh", "scanfarm", n, 4), -EPROTO);
	CHECK(!strcmp(sf_falco_priority_name("WARNING"), "Warning"));
	CHECK(sf_falco_priority_name("loud") == NULL);
}

/* --- the feed's routing --------------------------------------------------- */

struct seen {
	pthread_mutex_t mu;
	int n;
	char phase[32], rule[64];
};

static void on_alert(void *arg, struct sf_alert *a, const char *phase)
{
	struct seen *s = arg;
	pthread_mutex_lock(&s->mu);
	s->n++;
	snprintf(s->phase, sizeof(s->phase), "%s", phase);
	snprintf(s->rule, sizeof(s->rule), "%s", a->rule);
	pthread_mutex_unlock(&s->mu);
	sf_alert_free(a);
}

static void deliver(struct sf_falco *f, const char *rule, const char *cgroups)
{
	char js[512];
	snprintf(js, sizeof(js),
		 "{\"rule\":\"%s\",\"priority\":\"Warning\",\"output\":\"o\",\"output_fields\":"
		 "{\"thread.cgroups\":\"%s\"}}",
		 rule, cgroups);
	CHECK_EQ(sf_falco_deliver(f, SF_FALCO_JSON, js, strlen(js)), 0);
}

/* Waits until the dispatcher has handled n alerts. */
static void settle(struct sf_falco *f, uint64_t n)
{
	struct sf_falco_stats st;
	for (int i = 0; i < 500; i++) {
		sf_falco_stats(f, &st);
		if (st.matched + st.unmatched + st.unplaced + st.queue_full >= n)
			return;
		usleep(10000);
	}
}

static void test_feed_routing(void)
{
	char addr[64], err[256] = "";
	struct sf_falco_opts o = {.kind = "falco-json", .http_address = addr, .cgroup_parent = "scanfarm",
				  .pulse_exe = "/bin/true", .queue = 64, .pulse_ms = 60000};
	struct sf_falco *f;
	/* a port below the ephemeral range (where a client's source port once
	 * took it), another one when it is in use */
	int rc = -1;
	for (int i = 0; i < 16 && rc != 0; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", 20000 + (getpid() * 7 + i * 997) % 12000);
		rc = sf_falco_open(&f, &o, err, sizeof(err));
	}
	if (rc != 0) {
		fprintf(stderr, "feed: %s\n", err);
		CHECK(0);
		return;
	}
	struct seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
	CHECK_EQ(sf_falco_watch(f, "sf-1-2-1", on_alert, &s), 0);
	CHECK_EQ(sf_falco_watch(f, "sf-1-2-1", on_alert, &s), -EEXIST);
	deliver(f, "mine", "cpuset=/ memory=/scanfarm/sf-1-2-1-install");
	deliver(f, "another job's", "memory=/scanfarm/sf-1-2-10-install");
	deliver(f, "the host's", "memory=/user.slice");
	char js[] = "{\"rule\":\"no cgroups\",\"priority\":\"Warning\"}";
	sf_falco_deliver(f, SF_FALCO_JSON, js, strlen(js));
	CHECK_EQ(sf_falco_deliver(f, SF_FALCO_JSON, "{", 1), -EPROTO);
	settle(f, 4);
	struct sf_falco_stats st;
	sf_falco_stats(f, &st);
	CHECK_EQ(st.received, 5);
	CHECK_EQ(st.malformed, 1);
	CHECK_EQ(st.matched, 1);
	CHECK_EQ(st.unmatched, 2);
	CHECK_EQ(st.unplaced, 1);
	pthread_mutex_lock(&s.mu);
	CHECK_EQ(s.n, 1);
	CHECK(!strcmp(s.phase, "install") && !strcmp(s.rule, "mine"));
	pthread_mutex_unlock(&s.mu);
	sf_falco_unwatch(f, "sf-1-2-1", NULL);
	deliver(f, "after", "memory=/scanfarm/sf-1-2-1-import");
	settle(f, 5);
	pthread_mutex_lock(&s.mu);
	CHECK_EQ(s.n, 1); /* never called after unwatch */
	pthread_mutex_unlock(&s.mu);
	sf_falco_close(f);
}

/* A watch whose callback holds the dispatcher until released: the queue
 * behind it fills. */
struct blocker {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool inside, release;
};

static void on_alert_blocking(void *arg, struct sf_alert *a, const char *phase)
{
	(void)phase;
	struct blocker *b = arg;
	pthread_mutex_lock(&b->mu);
	b->inside = true;
	pthread_cond_broadcast(&b->cond);
	while (!b->release)
		pthread_cond_wait(&b->cond, &b->mu);
	pthread_mutex_unlock(&b->mu);
	sf_alert_free(a);
}

/* Three jobs at once, the dispatcher held up: what the full queue drops
 * is counted against the job the alert names (a job whose alerts all
 * fitted has none), an alert without thread.cgroups against no job in
 * particular (sf_falco_drops_unplaced: every job watched meanwhile), a
 * host process's against none. */
static void test_feed_drops_per_job(void)
{
	char addr[64], err[256] = "";
	struct sf_falco_opts o = {.kind = "falco-json", .http_address = addr, .cgroup_parent = "scanfarm",
				  .pulse_exe = "/bin/true", .queue = 4, .pulse_ms = 60000};
	struct sf_falco *f;
	int rc = -1;
	for (int i = 0; i < 16 && rc != 0; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", 20000 + (getpid() * 11 + i * 991) % 12000);
		rc = sf_falco_open(&f, &o, err, sizeof(err));
	}
	if (rc != 0) {
		fprintf(stderr, "feed: %s\n", err);
		CHECK(0);
		return;
	}
	struct blocker bl = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	struct seen a = {.mu = PTHREAD_MUTEX_INITIALIZER}, b = {.mu = PTHREAD_MUTEX_INITIALIZER};
	CHECK_EQ(sf_falco_watch(f, "sf-9-3-1", on_alert_blocking, &bl), 0);
	CHECK_EQ(sf_falco_watch(f, "sf-9-4-1", on_alert, &a), 0);
	CHECK_EQ(sf_falco_watch(f, "sf-9-5-1", on_alert, &b), 0);
	deliver(f, "holds the dispatcher", "memory=/scanfarm/sf-9-3-1-install");
	pthread_mutex_lock(&bl.mu);
	while (!bl.inside)
		pthread_cond_wait(&bl.cond, &bl.mu);
	pthread_mutex_unlock(&bl.mu);
	for (int i = 0; i < 4; i++) /* fills the queue: job 5's, all kept */
		deliver(f, "b", "memory=/scanfarm/sf-9-5-1-install");
	for (int i = 0; i < 3; i++) /* job 4's, lost */
		deliver(f, "a", "cpuset=/ memory=/scanfarm/sf-9-4-1-import");
	deliver(f, "a host process's", "memory=/user.slice");
	deliver(f, "another worker's", "memory=/scanfarm/sf-8-4-1-install");
	char js[] = "{\"rule\":\"no cgroups\",\"priority\":\"Warning\"}";
	CHECK_EQ(sf_falco_deliver(f, SF_FALCO_JSON, js, strlen(js)), 0);
	struct sf_falco_stats st;
	sf_falco_stats(f, &st);
	CHECK_EQ(st.queue_full, 6);
	CHECK_EQ(sf_falco_drops_unplaced(f), 1);
	pthread_mutex_lock(&bl.mu);
	bl.release = true;
	pthread_cond_broadcast(&bl.cond);
	pthread_mutex_unlock(&bl.mu);
	settle(f, 11);
	uint64_t drops = 99;
	sf_falco_unwatch(f, "sf-9-4-1", &drops);
	CHECK_EQ(drops, 3);
	sf_falco_unwatch(f, "sf-9-5-1", &drops);
	CHECK_EQ(drops, 0);
	sf_falco_unwatch(f, "sf-9-3-1", &drops);
	CHECK_EQ(drops, 0);
	pthread_mutex_lock(&b.mu);
	CHECK_EQ(b.n, 4);
	pthread_mutex_unlock(&b.mu);
	pthread_mutex_lock(&a.mu);
	CHECK_EQ(a.n, 0);
	pthread_mutex_unlock(&a.mu);
	/* a new watch of a reused slot starts from none */
	CHECK_EQ(sf_falco_watch(f, "sf-9-6-1", on_alert, &a), 0);
	sf_falco_unwatch(f, "sf-9-6-1", &drops);
	CHECK_EQ(drops, 0);
	sf_falco_close(f);
}

int main(void)
{
	test_real_messages();
	test_json_edges();
	test_pb_edges();
	test_cgroup_name();
	test_feed_routing();
	test_feed_drops_per_job();
	TEST_DONE();
}
