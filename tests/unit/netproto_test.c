/*
 * netproto_test — what the sinkhole reads out of a sandbox's bytes
 * (worker/sandbox/netproto.c), on inputs whose meaning is known: DNS
 * questions and the answers built for them, HTTP request heads whole and
 * cut short, a real ClientHello (node 18's, from the fuzz corpus) and
 * hand-built ones, previews.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "netproto.h"
#include "util.h"

static size_t test_query(unsigned char *m, const char *name, uint16_t type)
{
	static const unsigned char head[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	memcpy(m, head, 12);
	size_t p = 12;
	const char *s = name;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		m[p++] = (unsigned char)l;
		memcpy(m + p, s, l);
		p += l;
		s += l + (dot ? 1 : 0);
	}
	m[p++] = 0;
	m[p++] = (unsigned char)(type >> 8);
	m[p++] = (unsigned char)type;
	m[p++] = 0;
	m[p++] = 1;
	return p;
}

static void test_dns(void)
{
	unsigned char m[512], out[512];
	size_t n = test_query(m, "Stage2.Example", SF_DNS_TYPE_A), an;
	struct sf_dns_question q;
	CHECK_EQ(sf_dns_parse_query(m, n, &q), 0);
	CHECK(strcmp(q.name, "stage2.example") == 0);
	CHECK_EQ(q.type, SF_DNS_TYPE_A);
	CHECK_EQ(q.qclass, 1);
	CHECK_EQ(q.end, n);
	const uint8_t a4[4] = {198, 18, 0, 7};
	CHECK_EQ(sf_dns_build_answer(m, &q, a4, 4, out, sizeof(out), &an), 0);
	CHECK_EQ(an, n + 16);
	CHECK_EQ(out[0], 0x12);
	CHECK(out[2] & 0x80);		/* a response */
	CHECK_EQ(out[3] & 0x0f, 0);	/* NOERROR */
	CHECK_EQ((out[6] << 8) | out[7], 1); /* one answer */
	CHECK(memcmp(out + an - 4, a4, 4) == 0);
	CHECK_EQ(sf_dns_parse_query(out, an, &q), -EPROTO); /* never read as a question */
	/* a type without an address: NOERROR, no data */
	n = test_query(m, "c2.example", 16);
	CHECK_EQ(sf_dns_parse_query(m, n, &q), 0);
	CHECK_EQ(sf_dns_build_answer(m, &q, NULL, 0, out, sizeof(out), &an), 0);
	CHECK_EQ(an, n);
	CHECK_EQ((out[6] << 8) | out[7], 0);
	char tb[16];
	CHECK(strcmp(sf_dns_type_name(16, tb, sizeof(tb)), "TXT") == 0);
	CHECK(strcmp(sf_dns_type_name(28, tb, sizeof(tb)), "AAAA") == 0);
	CHECK(strcmp(sf_dns_type_name(4242, tb, sizeof(tb)), "TYPE4242") == 0);
	/* what is not a query */
	CHECK_EQ(sf_dns_parse_query(m, 11, &q), -EPROTO);
	m[2] |= 0x80;
	CHECK_EQ(sf_dns_parse_query(m, n, &q), -EPROTO);
	n = test_query(m, "a.example", 1);
	m[12] = 0xc0; /* a compression pointer in a question */
	CHECK_EQ(sf_dns_parse_query(m, n, &q), -EPROTO);
	CHECK_EQ(sf_dns_build_answer(m, &q, a4, 4, out, 10, &an), -ENOSPC);
}

static void test_http(void)
{
	struct sf_http_request r;
	const char post[] = "POST /collect?x=1 HTTP/1.1\r\nhost: C2.Example:8080 \r\n"
			    "Content-Length: 27\r\nContent-Type: application/json\r\n\r\n"
			    "{\"token\":\"npm_FAKE0000000\"}";
	CHECK_EQ(sf_http_parse_request(post, sizeof(post) - 1, &r), 0);
	CHECK(strcmp(r.method, "POST") == 0);
	CHECK(strcmp(r.target, "/collect?x=1") == 0);
	CHECK(strcmp(r.version, "HTTP/1.1") == 0);
	CHECK(strcmp(r.host, "c2.example:8080") == 0);
	CHECK_EQ(r.content_length, 27);
	CHECK_EQ(r.head_len, strstr(post, "{") - post);
	CHECK(!r.expect_continue);
	const char cont[] = "PUT /u HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
	CHECK_EQ(sf_http_parse_request(cont, sizeof(cont) - 1, &r), 0);
	CHECK(r.expect_continue && r.content_length == 5);
	/* cut short: still HTTP, the request line known once it ended */
	CHECK_EQ(sf_http_parse_request(post, 10, &r), -EAGAIN);
	CHECK(r.version[0] == '\0');
	CHECK_EQ(sf_http_parse_request(post, 40, &r), -EAGAIN);
	CHECK(strcmp(r.method, "POST") == 0 && strcmp(r.version, "HTTP/1.1") == 0);
	const char lf[] = "GET / HTTP/1.0\nTransfer-Encoding: chunked\n\n";
	CHECK_EQ(sf_http_parse_request(lf, sizeof(lf) - 1, &r), 0);
	CHECK(r.chunked && r.host[0] == '\0' && r.content_length == -1);
	CHECK_EQ(sf_http_parse_request("SSH-2.0-OpenSSH\r\n", 17, &r), -EPROTO);
	CHECK_EQ(sf_http_parse_request("get / HTTP/1.1\r\n\r\n", 18, &r), -EPROTO);
	CHECK_EQ(sf_http_parse_request("GET / HTTQ/1.1\r\n\r\n", 18, &r), -EPROTO);
	CHECK_EQ(sf_http_parse_request("GET /\x01 HTTP/1.1\r\n\r\n", 20, &r), -EPROTO);
}

/* A ClientHello of TLS 1.2 shape naming host (NULL: no SNI extension). */
static size_t test_hello(unsigned char *b, const char *host)
{
	size_t hl = strlen(host ? host : ""), p = 9;
	b[p++] = 3;
	b[p++] = 3;
	memset(b + p, 0xab, 32);
	p += 32;
	b[p++] = 0; /* session id */
	b[p++] = 0;
	b[p++] = 2;
	b[p++] = 0x13;
	b[p++] = 0x01;
	b[p++] = 1; /* compression: null */
	b[p++] = 0;
	if (host) {
		size_t el = 4 + 5 + hl;
		b[p++] = (unsigned char)(el >> 8);
		b[p++] = (unsigned char)el;
		b[p++] = 0; /* server_name */
		b[p++] = 0;
		b[p++] = (unsigned char)((hl + 5) >> 8);
		b[p++] = (unsigned char)(hl + 5);
		b[p++] = (unsigned char)((hl + 3) >> 8);
		b[p++] = (unsigned char)(hl + 3);
		b[p++] = 0; /* host_name */
		b[p++] = (unsigned char)(hl >> 8);
		b[p++] = (unsigned char)hl;
		memcpy(b + p, host, hl);
		p += hl;
	}
	size_t body = p - 9, rec = p - 5;
	b[0] = 0x16;
	b[1] = 3;
	b[2] = 1;
	b[3] = (unsigned char)(rec >> 8);
	b[4] = (unsigned char)rec;
	b[5] = 1;
	b[6] = 0;
	b[7] = (unsigned char)(body >> 8);
	b[8] = (unsigned char)body;
	return p;
}

static void test_tls(void)
{
	char sni[256];
	char *node = NULL;
	size_t nl = 0;
	CHECK_EQ(sf_read_file(SF_CORPUS_DIR "/tls-node18-clienthello", 1 << 16, &node, &nl), 0);
	if (node) {
		CHECK_EQ(sf_tls_parse_sni((unsigned char *)node, nl, sni, sizeof(sni)), 0);
		CHECK(strcmp(sni, "stage2.example") == 0);
		CHECK_EQ(sf_tls_parse_sni((unsigned char *)node, 100, sni, sizeof(sni)), -EAGAIN);
		free(node);
	}
	unsigned char b[600];
	size_t n = test_hello(b, "Exfil.Example");
	CHECK_EQ(sf_tls_parse_sni(b, n, sni, sizeof(sni)), 0);
	CHECK(strcmp(sni, "exfil.example") == 0);
	CHECK_EQ(sf_tls_parse_sni(b, n - 3, sni, sizeof(sni)), -EAGAIN);
	CHECK_EQ(sf_tls_parse_sni(b, 3, sni, sizeof(sni)), -EAGAIN);
	/* the same hello split over two records */
	unsigned char two[700];
	size_t first = 20, rest = n - 5 - first;
	memcpy(two, b, 5 + first);
	two[3] = 0;
	two[4] = (unsigned char)first;
	two[5 + first] = 0x16;
	two[6 + first] = 3;
	two[7 + first] = 1;
	two[8 + first] = (unsigned char)(rest >> 8);
	two[9 + first] = (unsigned char)rest;
	memcpy(two + 10 + first, b + 5 + first, rest);
	CHECK_EQ(sf_tls_parse_sni(two, n + 5, sni, sizeof(sni)), 0);
	CHECK(strcmp(sni, "exfil.example") == 0);
	n = test_hello(b, NULL);
	CHECK_EQ(sf_tls_parse_sni(b, n, sni, sizeof(sni)), 0);
	CHECK(sni[0] == '\0');
	CHECK_EQ(sf_tls_parse_sni((const unsigned char *)"GET / HTTP/1.1", 14, sni, sizeof(sni)),
		 -EPROTO);
	b[5] = 2; /* a ServerHello */
	CHECK_EQ(sf_tls_parse_sni(b, n, sni, sizeof(sni)), -EPROTO);
}

static void test_preview(void)
{
	char out[64];
	const unsigned char d[] = "GET /\r\n\t\\\x01\xff";
	size_t k = sf_net_preview(d, sizeof(d) - 1, out, sizeof(out));
	CHECK_EQ(k, sizeof(d) - 1);
	CHECK(strcmp(out, "GET /\\r\\n\\t\\\\\\x01\\xff") == 0);
	/* never a partial escape */
	k = sf_net_preview(d, sizeof(d) - 1, out, 7);
	CHECK_EQ(k, 5);
	CHECK(strcmp(out, "GET /") == 0);
}

int main(void)
{
	test_dns();
	test_http();
	test_tls();
	test_preview();
	TEST_DONE();
}
