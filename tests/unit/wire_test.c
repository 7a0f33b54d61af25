/* wire_test — msgpack codec: round trips, hostile and malformed input. */
#include <errno.h>
#include <msgpack.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "wire.h"

static void test_jobs_roundtrip(void)
{
	struct sf_job j[2] = {{.job_id = 42, .attempt = 2, .ecosystem = "npm", .size = 1234,
			       .url = "http://127.0.0.1:3000/v1/artifacts/x", .time_limit_s = 300,
			       .memory_mb = 512, .pids = 100, .disk_mb = 64, .network = "offline",
			       .kind = "wheel", .lease_deadline_ms = 1700000000000LL},
			      {.job_id = 43, .attempt = 1, .ecosystem = "pypi", .size = 0,
			       .url = "http://h/y"}};
	strcpy(j[0].scan_id, "0b0e4b7e-9a0c-4d43-8c6e-5f2a1f0b9d11");
	strcpy(j[1].scan_id, "1b0e4b7e-9a0c-4d43-8c6e-5f2a1f0b9d11");
	memset(j[0].sha256, 'a', 64);
	memset(j[1].sha256, 'b', 64);
	struct sf_buf buf = {0};
	CHECK_EQ(sf_wire_encode_jobs(j, 2, &buf), 0);
	struct sf_msg m;
	CHECK_EQ(sf_wire_decode(buf.data, buf.len, &m), 0);
	CHECK_EQ(m.type, SF_MSG_JOBS);
	CHECK_EQ(m.u.jobs.njobs, 2);
	struct sf_job *d = m.u.jobs.jobs;
	CHECK_EQ(d[0].job_id, 42);
	CHECK_EQ(d[0].attempt, 2);
	CHECK(strcmp(d[0].scan_id, j[0].scan_id) == 0);
	CHECK(strcmp(d[0].sha256, j[0].sha256) == 0);
	CHECK(strcmp(d[0].url, j[0].url) == 0);
	CHECK_EQ(d[0].memory_mb, 512);
	CHECK_EQ(d[0].lease_deadline_ms, 1700000000000LL);
	CHECK_EQ(d[1].job_id, 43);
	CHECK(strcmp(d[1].ecosystem, "pypi") == 0 && strcmp(d[1].sha256, j[1].sha256) == 0);
	/* the network: as asked for, or none (the worker's default) */
	CHECK(d[0].network && strcmp(d[0].network, "offline") == 0);
	CHECK(d[1].network == NULL);
	/* the coordinator's reading of the body, or none */
	CHECK(d[0].kind && strcmp(d[0].kind, "wheel") == 0);
	CHECK(d[1].kind == NULL);
	sf_msg_free(&m);

	/* Every truncation of a valid message is rejected, never crashes. */
	for (size_t n = 0; n < buf.len; n++) {
		int rc = sf_wire_decode(buf.data, n, &m);
		CHECK(rc != 0);
	}
	sf_buf_free(&buf);

	/* The empty reply (nothing became ready) is valid; too many jobs is not. */
	CHECK_EQ(sf_wire_encode_jobs(NULL, 0, &buf), 0);
	CHECK_EQ(sf_wire_decode(buf.data, buf.len, &m), 0);
	CHECK(m.type == SF_MSG_JOBS && m.u.jobs.njobs == 0);
	sf_msg_free(&m);
	sf_buf_free(&buf);
	CHECK_EQ(sf_wire_encode_jobs(j, SF_WIRE_MAX_JOBS + 1, &buf), -EINVAL);
	sf_buf_free(&buf);
}

/* A jobs message as a coordinator from before artifact.kind packed it
 * (artifact: sha256, size, url), or with `extra` keys in the artifact as a
 * newer one might (an unknown key, a kind of the wrong type). */
static void pack_old_job(msgpack_sbuffer *sb, int extra)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_int(&pk, SF_WIRE_VERSION);
	msgpack_pack_str_with_body(&pk, "type", 4);
	msgpack_pack_str_with_body(&pk, "jobs", 4);
	msgpack_pack_str_with_body(&pk, "jobs", 4);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 5);
	msgpack_pack_str_with_body(&pk, "job_id", 6);
	msgpack_pack_int64(&pk, 7);
	msgpack_pack_str_with_body(&pk, "attempt", 7);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str_with_body(&pk, "scan_id", 7);
	msgpack_pack_str_with_body(&pk, "0b0e4b7e-9a0c-4d43-8c6e-5f2a1f0b9d11", 36);
	msgpack_pack_str_with_body(&pk, "ecosystem", 9);
	msgpack_pack_str_with_body(&pk, "pypi", 4);
	msgpack_pack_str_with_body(&pk, "artifact", 8);
	msgpack_pack_map(&pk, 3 + (extra ? 1 : 0));
	char sha[64];
	memset(sha, 'c', sizeof(sha));
	msgpack_pack_str_with_body(&pk, "sha256", 6);
	msgpack_pack_str_with_body(&pk, sha, sizeof(sha));
	msgpack_pack_str_with_body(&pk, "size", 4);
	msgpack_pack_int(&pk, 10);
	msgpack_pack_str_with_body(&pk, "url", 3);
	msgpack_pack_str_with_body(&pk, "http://h/a", 10);
	if (extra == 1) {
		msgpack_pack_str_with_body(&pk, "flavour", 7);
		msgpack_pack_str_with_body(&pk, "x", 1);
	} else if (extra == 2) {
		msgpack_pack_str_with_body(&pk, "kind", 4);
		msgpack_pack_int(&pk, 3);
	}
}

static void test_job_kind_compat(void)
{
	msgpack_sbuffer sb;
	struct sf_msg m;
	msgpack_sbuffer_init(&sb);
	/* an older coordinator's job: no kind, the worker tells it itself */
	pack_old_job(&sb, 0);
	CHECK_EQ(sf_wire_decode(sb.data, sb.size, &m), 0);
	CHECK(m.u.jobs.njobs == 1 && m.u.jobs.jobs[0].kind == NULL &&
	      strcmp(m.u.jobs.jobs[0].ecosystem, "pypi") == 0);
	sf_msg_free(&m);
	/* a key this decoder does not know is ignored, as older workers
	 * ignore artifact.kind */
	msgpack_sbuffer_clear(&sb);
	pack_old_job(&sb, 1);
	CHECK_EQ(sf_wire_decode(sb.data, sb.size, &m), 0);
	CHECK(m.u.jobs.jobs[0].kind == NULL);
	sf_msg_free(&m);
	/* a kind that is not a string: malformed */
	msgpack_sbuffer_clear(&sb);
	pack_old_job(&sb, 2);
	CHECK_EQ(sf_wire_decode(sb.data, sb.size, &m), -EPROTO);
	msgpack_sbuffer_destroy(&sb);
}

/* Packs a want by hand, so the decoder sees what an encoder would refuse. */
static void pack_want(msgpack_sbuffer *sb, int64_t slots, int64_t token)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_int(&pk, SF_WIRE_VERSION);
	msgpack_pack_str_with_body(&pk, "type", 4);
	msgpack_pack_str_with_body(&pk, "want", 4);
	msgpack_pack_str_with_body(&pk, "worker_id", 9);
	msgpack_pack_str_with_body(&pk, "w", 1);
	msgpack_pack_str_with_body(&pk, "slots", 5);
	msgpack_pack_int64(&pk, slots);
	msgpack_pack_str_with_body(&pk, "token", 5);
	msgpack_pack_int64(&pk, token);
}

static void test_want_roundtrip(void)
{
	struct sf_want w = {.worker_id = "w1", .slots = 4, .wait_ms = 2000,
			    .token = -9000000000LL, .lost_token = 77, .fresh = true,
			    .auth = "s3cret"};
	struct sf_buf buf = {0};
	CHECK_EQ(sf_wire_encode_want(&w, &buf), 0);
	struct sf_msg m;
	CHECK_EQ(sf_wire_decode(buf.data, buf.len, &m), 0);
	CHECK_EQ(m.type, SF_MSG_WANT);
	CHECK(strcmp(m.u.want.worker_id, "w1") == 0 && strcmp(m.u.want.auth, "s3cret") == 0);
	CHECK_EQ(m.u.want.slots, 4);
	CHECK_EQ(m.u.want.wait_ms, 2000);
	CHECK_EQ(m.u.want.token, -9000000000LL);
	CHECK_EQ(m.u.want.lost_token, 77);
	CHECK(m.u.want.fresh);
	sf_msg_free(&m);
	for (size_t n = 0; n < buf.len; n++)
		CHECK(sf_wire_decode(buf.data, n, &m) != 0);
	sf_buf_free(&buf);

	/* slots out of range, a zero token: rejected */
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	pack_want(&sb, 2, 5);
	CHECK_EQ(sf_wire_decode(sb.data, sb.size, &m), 0);
	CHECK(!m.u.want.fresh && m.u.want.lost_token == 0 && m.u.want.wait_ms == 0);
	sf_msg_free(&m);
	msgpack_sbuffer_clear(&sb);
	pack_want(&sb, 0, 5);
	CHECK_EQ(sf_wire_decode(sb.data, sb.size, &m), -EPROTO);
	msgpack_sbuffer_clear(&sb);
	pack_want(&sb, SF_WIRE_MAX_JOBS + 1, 5);
	CHECK_EQ(sf_wire_decode(sb.data, sb.size, &m), -EPROTO);
	msgpack_sbuffer_clear(&sb);
	pack_want(&sb, 1, 0);
	CHECK_EQ(sf_wire_decode(sb.data, sb.size, &m), -EPROTO);
	msgpack_sbuffer_destroy(&sb);
}

static void test_batch_roundtrip(void)
{
	char *tags[] = {"network", "mitre_exfiltration"};
	struct sf_kv fields[] = {{"proc.cmdline", "curl http://198.51.100.7"}, {"fd.name", NULL}};
	struct sf_alert a = {.time_ns = 1700000000123456789LL, .priority = "Warning",
			     .rule = "Outbound connection", .output = "curl connected",
			     .source = "syscall", .hostname = "w1", .tags = tags, .ntags = 2,
			     .fields = fields, .nfields = 2};
	struct sf_fact f = {.kind = "connect", .value = "198.51.100.7:443", .detail = "attempted"};
	/* NUL and invalid UTF-8 in untrusted output must come out storable. */
	char out[] = {'o', 'k', '\xff', 'x', '\0'};
	struct sf_batch b = {.job_id = 7, .attempt = 1, .seq = 3, .worker_id = "w1", .final = true,
			     .alerts = &a, .nalerts = 1, .facts = &f, .nfacts = 1, .events = 99,
			     .drops = 1, .has_exit_status = true, .exit_status = 1,
			     .stdout_tail = out, .stderr_tail = "err", .error = NULL,
			     .duration_ms = 1500, .ruleset_digest = "r1", .image_digest = NULL,
			     .network = "sinkhole"};
	struct sf_buf buf = {0};
	CHECK_EQ(sf_wire_encode_batch(&b, &buf), 0);
	struct sf_msg m;
	CHECK_EQ(sf_wire_decode(buf.data, buf.len, &m), 0);
	CHECK_EQ(m.type, SF_MSG_BATCH);
	struct sf_batch *d = &m.u.batch;
	CHECK_EQ(d->job_id, 7);
	CHECK_EQ(d->seq, 3);
	CHECK(d->final);
	CHECK_EQ(d->nalerts, 1);
	CHECK_EQ(d->alerts[0].time_ns, 1700000000123456789LL);
	CHECK(strcmp(d->alerts[0].rule, "Outbound connection") == 0);
	CHECK_EQ(d->alerts[0].ntags, 2);
	CHECK(strcmp(d->alerts[0].tags[1], "mitre_exfiltration") == 0);
	CHECK_EQ(d->alerts[0].nfields, 2);
	CHECK(strcmp(d->alerts[0].fields[0].value, "curl http://198.51.100.7") == 0);
	CHECK(d->alerts[0].fields[1].value == NULL);
	CHECK_EQ(d->nfacts, 1);
	CHECK(strcmp(d->facts[0].detail, "attempted") == 0);
	CHECK_EQ(d->events, 99);
	CHECK(d->has_exit_status);
	CHECK_EQ(d->exit_status, 1);
	CHECK(strcmp(d->stdout_tail, "ok?x") == 0);
	CHECK(d->error == NULL);
	CHECK(d->ruleset_digest && strcmp(d->ruleset_digest, "r1") == 0);
	CHECK(d->image_digest == NULL);
	CHECK(d->network && strcmp(d->network, "sinkhole") == 0);
	CHECK(d->nphases == 0 && d->npackages == 0);
	sf_msg_free(&m);
	sf_buf_free(&buf);

	/* phases, packages and the facts' attribution come through */
	struct sf_fact af = {.kind = "connect", .value = "198.51.100.23:443", .detail = "",
			     .package = "sf-tree-leaf@1.0.0", .phase = "install"};
	struct sf_phase ph[3] = {
	    {.name = "fetch", .ran = true, .has_exit_status = true, .exit_status = 0,
	     .duration_ms = 800, .stdout_tail = "added 5 packages"},
	    {.name = "install", .ran = true, .has_exit_status = true, .exit_status = 1,
	     .timed_out = true, .duration_ms = 1200, .stderr_tail = "npm ERR!",
	     .error = "install failed"},
	    {.name = "import", .skipped = "nothing to import: no dependencies"}};
	struct sf_package pk[1] = {{.name = "sf-tree-leaf", .version = "1.0.0",
				    .path = "node_modules/sf-tree-leaf", .install_scripts = true}};
	struct sf_batch b2 = {.job_id = 8, .attempt = 1, .seq = 0, .worker_id = "w1", .final = true,
			      .facts = &af, .nfacts = 1, .phases = ph, .nphases = 3,
			      .packages = pk, .npackages = 1};
	CHECK_EQ(sf_wire_encode_batch(&b2, &buf), 0);
	CHECK_EQ(sf_wire_decode(buf.data, buf.len, &m), 0);
	d = &m.u.batch;
	CHECK(d->nfacts == 1 && strcmp(d->facts[0].package, "sf-tree-leaf@1.0.0") == 0 &&
	      strcmp(d->facts[0].phase, "install") == 0);
	CHECK_EQ(d->nphases, 3);
	/* a phase with nothing to do says so, and that is no error */
	CHECK(!d->phases[2].ran && d->phases[2].error == NULL && d->phases[2].skipped &&
	      strcmp(d->phases[2].skipped, "nothing to import: no dependencies") == 0 &&
	      d->phases[1].skipped == NULL);
	CHECK(strcmp(d->phases[1].name, "install") == 0 && d->phases[1].ran &&
	      d->phases[1].has_exit_status && d->phases[1].exit_status == 1 &&
	      d->phases[1].timed_out && d->phases[1].duration_ms == 1200 &&
	      strcmp(d->phases[1].error, "install failed") == 0 && !d->phases[0].timed_out &&
	      d->phases[0].error == NULL && strcmp(d->phases[0].stdout_tail, "added 5 packages") == 0);
	CHECK(d->npackages == 1 && strcmp(d->packages[0].path, "node_modules/sf-tree-leaf") == 0 &&
	      d->packages[0].install_scripts && !d->packages[0].direct);
	sf_msg_free(&m);
	sf_buf_free(&buf);

	/* hello: the digests that key the verdict cache come through */
	struct sf_hello h = {.worker_id = "w1", .version = "1", .capacity = 2, .running = 1,
			     .sensor = "ebpf", .ruleset_digest = "rd", .image_digest = "id"};
	CHECK_EQ(sf_wire_encode_hello(&h, false, &buf), 0);
	CHECK_EQ(sf_wire_decode(buf.data, buf.len, &m), 0);
	CHECK_EQ(m.type, SF_MSG_HELLO);
	CHECK(strcmp(m.u.hello.ruleset_digest, "rd") == 0 && strcmp(m.u.hello.image_digest, "id") == 0);
	CHECK_EQ(m.u.hello.running, 1);
	sf_msg_free(&m);
	sf_buf_free(&buf);
}

static void test_hostile(void)
{
	struct sf_msg m;
	/* array32 claiming 4 billion elements in 5 bytes */
	unsigned char huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
	CHECK_EQ(sf_wire_decode(huge_array, sizeof(huge_array), &m), -EPROTO);
	/* map32 claiming 2^31 pairs */
	unsigned char huge_map[] = {0xdf, 0x80, 0x00, 0x00, 0x00, 0xc0};
	CHECK_EQ(sf_wire_decode(huge_map, sizeof(huge_map), &m), -EPROTO);
	/* str32 longer than the message */
	unsigned char long_str[] = {0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'};
	CHECK_EQ(sf_wire_decode(long_str, sizeof(long_str), &m), -EPROTO);
	/* nesting deeper than allowed */
	unsigned char deep[64];
	memset(deep, 0x91, sizeof(deep));
	deep[63] = 0xc0;
	CHECK_EQ(sf_wire_decode(deep, sizeof(deep), &m), -EPROTO);
	/* never-used byte */
	unsigned char c1[] = {0xc1};
	CHECK_EQ(sf_wire_decode(c1, 1, &m), -EPROTO);
	/* not a map */
	unsigned char one[] = {0x01};
	CHECK_EQ(sf_wire_decode(one, 1, &m), -EPROTO);
	/* oversized */
	CHECK_EQ(sf_wire_decode(one, SF_WIRE_MAX_MSG + 1, &m), -EMSGSIZE);
	/* trailing garbage after a valid message */
	struct sf_hello h = {.worker_id = "w", .capacity = 1};
	struct sf_buf buf = {0};
	sf_wire_encode_hello(&h, false, &buf);
	sf_buf_append(&buf, "\x01", 1);
	CHECK_EQ(sf_wire_decode(buf.data, buf.len, &m), -EPROTO);
	sf_buf_free(&buf);

	/* unknown protocol version */
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_int(&pk, 99);
	msgpack_pack_str_with_body(&pk, "type", 4);
	msgpack_pack_str_with_body(&pk, "job", 3);
	CHECK_EQ(sf_wire_decode(sb.data, sb.size, &m), -EPROTONOSUPPORT);
	msgpack_sbuffer_clear(&sb);
	/* a batch whose alerts field is a string */
	msgpack_pack_map(&pk, 9);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_int(&pk, SF_WIRE_VERSION);
	msgpack_pack_str_with_body(&pk, "type", 4);
	msgpack_pack_str_with_body(&pk, "batch", 5);
	msgpack_pack_str_with_body(&pk, "job_id", 6);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str_with_body(&pk, "attempt", 7);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str_with_body(&pk, "seq", 3);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_str_with_body(&pk, "worker_id", 9);
	msgpack_pack_str_with_body(&pk, "w", 1);
	msgpack_pack_str_with_body(&pk, "final", 5);
	msgpack_pack_true(&pk);
	msgpack_pack_str_with_body(&pk, "alerts", 6);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_str_with_body(&pk, "facts", 5);
	msgpack_pack_array(&pk, 0);
	CHECK_EQ(sf_wire_decode(sb.data, sb.size, &m), -EPROTO);
	msgpack_sbuffer_destroy(&sb);
}

/* Random bytes and random mutations of valid messages: must never crash
 * (ASan/UBSan watch) and must never be accepted as something else. */
static void test_garbage(void)
{
	uint64_t x = 88172645463325252ULL;
	unsigned char buf[512];
	struct sf_msg m;
	for (int i = 0; i < 20000; i++) {
		size_t n = 1 + (i % sizeof(buf));
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[k] = (unsigned char)x;
		}
		if (sf_wire_decode(buf, n, &m) == 0)
			sf_msg_free(&m);
	}
	struct sf_hello h = {.worker_id = "worker-1", .version = "1", .capacity = 4, .sensor = "ebpf"};
	struct sf_buf valid = {0};
	sf_wire_encode_hello(&h, true, &valid);
	int accepted = 0;
	for (int i = 0; i < 20000; i++) {
		memcpy(buf, valid.data, valid.len);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[x % valid.len] = (unsigned char)(x >> 32);
		if (sf_wire_decode(buf, valid.len, &m) == 0) {
			accepted++;
			sf_msg_free(&m);
		}
	}
	CHECK(accepted < 20000);
	sf_buf_free(&valid);
}

static void test_utf8(void)
{
	char ok[] = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
	char copy[sizeof(ok)];
	memcpy(copy, ok, sizeof(ok));
	sf_utf8_sanitize(copy, strlen(copy));
	CHECK(strcmp(copy, ok) == 0);
	char bad[] = "a\xc3\x28z\xed\xa0\x80q\xc0\xaf";
	sf_utf8_sanitize(bad, sizeof(bad) - 1);
	CHECK(strcmp(bad, "a?(z???q??") == 0);
}

int main(void)
{
	test_jobs_roundtrip();
	test_want_roundtrip();
	test_job_kind_compat();
	test_batch_roundtrip();
	test_hostile();
	test_garbage();
	test_utf8();
	TEST_DONE();
}
