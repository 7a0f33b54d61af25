/*
 * exfil_test — finding canary secrets in what left the sandbox
 * (worker/batch/exfil.c): each encoding a thief uses (raw, upper case, hex,
 * base64 and base64url at every alignment, base32 at every alignment,
 * percent-encoding, split across DNS labels), a piece of the secret as
 * short as SF_EXFIL_MIN_BYTES and no shorter, text that only looks alike,
 * and the alerts a batch's facts raise: named, attributed, deduplicated,
 * capped. The encoders here are the test's own (OpenSSL's base64), not the
 * module's.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exfil.h"
#include "harness.h"

static const char npm_secret[] = "kHHYD1n3znAFrjFvul8CnKcfzrziv51jT4X8";
static const char aws_secret[] = "aeECpkMFraWINs6Wfq+arAqXNOxFqlpanw4QKBmd";
static const char job_secret[] = "gS-owzIbO9xOTNRsfbAS";

static struct sf_exfil *make(void)
{
	struct sf_exfil_secret s[] = {
	    {"NPM_TOKEN (environment)", npm_secret, sizeof(npm_secret) - 1},
	    {"AWS_SECRET_ACCESS_KEY (environment)", aws_secret, sizeof(aws_secret) - 1},
	    {"CI_JOB_TOKEN (environment)", job_secret, sizeof(job_secret) - 1},
	    {"too short", "abcdefghij", 10},
	};
	struct sf_exfil *x = NULL;
	CHECK_EQ(sf_exfil_new(&x, s, 4), 0);
	return x;
}

static void hex(const char *in, size_t n, char *out, bool upper)
{
	const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[(unsigned char)in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = 0;
}

static void b64(const char *in, size_t n, char *out, bool url)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
	for (char *p = out; url && *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

static void b32(const char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned v = 0, bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		v = v << 8 | (unsigned char)in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = a[(v >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits)
		out[o++] = a[(v << (5 - bits)) & 31];
	out[o] = 0;
}

static bool found(const struct sf_exfil *x, const char *text, const char *want_secret,
		  const char *want_enc)
{
	struct sf_exfil_hit hit = {0};
	if (!sf_exfil_search(x, text, strlen(text), &hit))
		return false;
	static const char *const names[] = {"NPM_TOKEN (environment)",
					    "AWS_SECRET_ACCESS_KEY (environment)",
					    "CI_JOB_TOKEN (environment)"};
	/* base64 and base64url differ only where one has + or /: either may
	 * be the name of a find in text that has neither */
	bool ok = !strcmp(names[hit.secret], want_secret) &&
		  (!want_enc || !strncmp(hit.encoding, want_enc, strlen(want_enc)));
	if (!ok)
		fprintf(stderr, "  %s: found %s as %s (%s)\n", text, names[hit.secret], hit.encoding,
			hit.form);
	return ok;
}

/* Every encoding, with 0..4 bytes of something else in front (so every
 * alignment of the block encodings comes up). */
static void test_encodings(const struct sf_exfil *x)
{
	char msg[256], enc[512], text[700];
	const char *npm = "NPM_TOKEN (environment)", *aws = "AWS_SECRET_ACCESS_KEY (environment)";
	for (int pre = 0; pre < 5; pre++) {
		snprintf(msg, sizeof(msg), "%.*snpm_%s", pre, "xyzw", npm_secret);
		hex(msg, strlen(msg), enc, false);
		CHECK(found(x, enc, npm, "hex"));
		hex(msg, strlen(msg), enc, true);
		CHECK(found(x, enc, npm, "hex"));
		b64(msg, strlen(msg), enc, false);
		CHECK(found(x, enc, npm, "base64"));
		snprintf(msg, sizeof(msg), "%.*s%s", pre, "xyzw", aws_secret);
		b64(msg, strlen(msg), enc, true);
		CHECK(found(x, enc, aws, strpbrk(enc, "-_") ? "base64url" : "base64"));
		b32(msg, strlen(msg), enc);
		CHECK(found(x, enc, aws, "base32"));
		for (char *p = enc; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		CHECK(found(x, enc, aws, "base32"));
	}
	snprintf(text, sizeof(text), "GET /collect?k=%s HTTP/1.1", aws_secret);
	CHECK(found(x, text, aws, "raw"));
	/* percent-encoded, no plain run long enough */
	struct sf_exfil_hit pct = {0};
	const char *q = "POST /c?d=aeECpkMFraW%49Ns6Wfq%2BarAqX%4EOxF%71lpanw";
	CHECK(sf_exfil_search(x, q, strlen(q), &pct) && pct.secret == 1 &&
	      !strcmp(pct.form, "percent-decoded"));
	/* upper-cased by a DNS resolver (raw, case does not matter) */
	CHECK(found(x, "KHHYD1N3ZNAFRJFVUL8CNKCFZRZIV51JT4X8.EVIL.TEST", npm, "raw"));
	/* split across DNS labels, no piece long enough alone */
	hex(npm_secret, 20, enc, false);
	snprintf(text, sizeof(text), "%.10s.%.10s.%.10s.%s.exfil.test", enc, enc + 10, enc + 20, enc + 30);
	CHECK(found(x, text, npm, "hex"));
	/* a piece of SF_EXFIL_MIN_BYTES is enough, one byte less is not */
	snprintf(text, sizeof(text), "x%.*sx", SF_EXFIL_MIN_BYTES, job_secret + 3);
	CHECK(found(x, text, "CI_JOB_TOKEN (environment)", "raw"));
	snprintf(text, sizeof(text), "x%.*sx", SF_EXFIL_MIN_BYTES - 1, job_secret + 3);
	struct sf_exfil_hit hit;
	CHECK(!sf_exfil_search(x, text, strlen(text), &hit));
}

static void test_misses(const struct sf_exfil *x)
{
	struct sf_exfil_hit hit;
	const char *const misses[] = {
	    "registry.npmjs.org",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", /* a sha256 */
	    "abcdefghijabcdefghij.exfil.test", /* the short secret is left out */
	    "kHHYD1n3znA-FrjFvul8-CnKcfzrziv-51jT4X8", /* cut every 11 characters */
	    "", "npm_", "AKIA"};
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++)
		CHECK(!sf_exfil_search(x, misses[i], strlen(misses[i]), &hit));
	/* binary bytes, NULs included, hold nothing */
	char bin[4096];
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (char)(i * 131 + (i >> 7));
	CHECK(!sf_exfil_search(x, bin, sizeof(bin), &hit));
	/* ... unless the secret is in them */
	memcpy(bin + 1000, aws_secret + 10, 20);
	CHECK(sf_exfil_search(x, bin, sizeof(bin), &hit) && hit.secret == 1);
}

static void test_limits(void)
{
	struct sf_exfil *x = (struct sf_exfil *)1;
	struct sf_exfil_secret s[SF_EXFIL_MAX_SECRETS + 1];
	for (int i = 0; i <= SF_EXFIL_MAX_SECRETS; i++)
		s[i] = (struct sf_exfil_secret){"s", npm_secret, sizeof(npm_secret) - 1};
	CHECK_EQ(sf_exfil_new(&x, s, SF_EXFIL_MAX_SECRETS + 1), -EINVAL);
	CHECK(x == NULL);
	s[0].len = SF_EXFIL_MAX_SECRET + 1;
	CHECK_EQ(sf_exfil_new(&x, s, 1), -EINVAL);
	CHECK_EQ(sf_exfil_new(&x, s, 0), 0); /* nothing to find: finds nothing */
	struct sf_exfil_hit hit;
	CHECK(!sf_exfil_search(x, npm_secret, sizeof(npm_secret) - 1, &hit));
	sf_exfil_free(x);
	/* a long secret: every window of it counts */
	static char big[SF_EXFIL_MAX_SECRET];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[(i * 7919 + i / 62) % 62];
	s[0] = (struct sf_exfil_secret){"~/.ssh/id_rsa", big, sizeof(big)};
	CHECK_EQ(sf_exfil_new(&x, s, 1), 0);
	char piece[64];
	snprintf(piece, sizeof(piece), "%.20s", big + 3000);
	CHECK(sf_exfil_search(x, piece, strlen(piece), &hit) && hit.secret == 0);
	sf_exfil_free(x);
}

static void add_fact(struct sf_batch *b, const char *kind, const char *value, const char *detail,
		     const char *pkg, const char *phase)
{
	b->facts = realloc(b->facts, (b->nfacts + 1) * sizeof(*b->facts));
	b->facts[b->nfacts++] = (struct sf_fact){strdup(kind), strdup(value), strdup(detail),
						 pkg ? strdup(pkg) : NULL, strdup(phase)};
}

static const char *field(const struct sf_alert *a, const char *key)
{
	for (uint32_t i = 0; i < a->nfields; i++)
		if (!strcmp(a->fields[i].key, key))
			return a->fields[i].value;
	return NULL;
}

static void test_batch(const struct sf_exfil *x)
{
	struct sf_batch b = {0};
	char name[200], h[200];
	hex(npm_secret, 36, h, false);
	snprintf(name, sizeof(name), "%.36s.%s.t.exfil.test", h, h + 36);
	add_fact(&b, "dns", name, "127.0.0.1:53", "evil@1.0.0", "install");
	add_fact(&b, "dns", name, "127.0.0.1:53", "evil@1.0.0", "install"); /* again: one alert */
	add_fact(&b, "dns", name, "127.0.0.1:53", "evil@1.0.0", "import");  /* another phase */
	add_fact(&b, "http_request", "POST /upload HTTP/1.1", "body: {\"k\":\"aeECpkMFraWINs6Wfq+arAqXNOxFqlpanw4QKBmd\"}",
		 "thief@2.0.0", "install");
	add_fact(&b, "dns", "registry.npmjs.org", "127.0.0.1:53", NULL, "fetch");
	add_fact(&b, "exec", "/usr/bin/node",
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "x@1", "install");
	CHECK_EQ(sf_exfil_scan_batch(x, &b, "worker-1"), 3);
	CHECK_EQ(b.nalerts, 3);
	const struct sf_alert *a = &b.alerts[0];
	CHECK(!strcmp(a->rule, SF_EXFIL_RULE) && !strcmp(a->priority, "Critical"));
	CHECK(!strcmp(a->hostname, "worker-1") && !strcmp(a->source, "syscall"));
	CHECK(strstr(a->output, "credential=NPM_TOKEN (environment)") != NULL);
	CHECK(strstr(a->output, "seen_in=dns") != NULL);
	CHECK(!strcmp(field(a, "sf.canary.name"), "NPM_TOKEN (environment)"));
	CHECK(!strcmp(field(a, "sf.canary.encoding"), "hex"));
	CHECK(!strcmp(field(a, "sf.canary.evidence"), name));
	CHECK(!strcmp(field(a, "scanfarm.package"), "evil@1.0.0"));
	CHECK(!strcmp(field(a, "scanfarm.phase"), "install"));
	CHECK(!strcmp(field(&b.alerts[1], "scanfarm.phase"), "import"));
	a = &b.alerts[2];
	CHECK(!strcmp(field(a, "sf.canary.name"), "AWS_SECRET_ACCESS_KEY (environment)"));
	CHECK(!strcmp(field(a, "sf.canary.seen_in"), "http_request"));
	CHECK(!strcmp(field(a, "scanfarm.package"), "thief@2.0.0"));
	bool tagged = false;
	for (uint32_t i = 0; i < a->ntags; i++)
		tagged |= !strcmp(a->tags[i], "exfiltration");
	CHECK(tagged);
	/* many finds: capped; evidence bounded */
	char long_name[600];
	memset(long_name, 'q', sizeof(long_name));
	memcpy(long_name + 300, job_secret, 20);
	long_name[sizeof(long_name) - 1] = 0;
	for (int i = 0; i < SF_EXFIL_MAX_ALERTS + 10; i++) {
		char pkg[32];
		snprintf(pkg, sizeof(pkg), "p%d@1.0.0", i);
		add_fact(&b, "preview", long_name, "", pkg, "install");
	}
	CHECK_EQ(sf_exfil_scan_batch(x, &b, "worker-1"), SF_EXFIL_MAX_ALERTS);
	CHECK(strlen(field(&b.alerts[b.nalerts - 1], "sf.canary.evidence")) <= 203);
	sf_batch_free(&b);
}

int main(void)
{
	struct sf_exfil *x = make();
	if (!x)
		TEST_DONE();
	test_encodings(x);
	test_misses(x);
	test_limits();
	test_batch(x);
	sf_exfil_free(x);
	TEST_DONE();
}
