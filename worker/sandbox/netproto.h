/*
 * netproto — reads what the sandbox sends its sinkhole (sinkhole.h): a DNS
 * question, the head of an HTTP request, a TLS ClientHello's server name;
 * builds the sinkhole's DNS answers; renders bytes as a text-safe preview.
 *
 * Every function reads a bounded buffer of hostile bytes and writes into
 * buffers the caller gives: no allocation, no global state, nothing read
 * past len. tests/fuzz/netproto_fuzz.c feeds all of them fuzzed input (its
 * corpus is replayed under ctest).
 *
 * Owns: nothing. Calls: libc only.
 */
#ifndef SF_NETPROTO_H
#define SF_NETPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SF_DNS_NAME_MAX 256 /* a name's text form, NUL included */
#define SF_DNS_TYPE_A    1
#define SF_DNS_TYPE_AAAA 28
#define SF_DNS_TYPE_ANY  255

/* The first question of a DNS query. The name is rendered the way the
 * sensor renders the questions it sees (decode.c): lower case, labels
 * joined by '.', bytes outside '!'..'~' as '?'; "." for the root. */
struct sf_dns_question {
	uint16_t id;
	uint16_t type;	 /* QTYPE */
	uint16_t qclass; /* QCLASS */
	char name[SF_DNS_NAME_MAX];
	size_t end; /* offset just past the question */
};

/* Parses a query (QR clear, standard opcode, at least one question, no
 * compression in it). Returns 0 or -EPROTO. */
int sf_dns_parse_query(const unsigned char *m, size_t len, struct sf_dns_question *q);

/* The answer to query m (parsed into q): its header and question echoed,
 * QR and RA set, no authority or additional records; one answer record
 * (TTL 60) with addr when alen is 4 (A) or 16 (AAAA), none when alen is 0
 * (NOERROR without data). Returns 0 with *n bytes written, or -ENOSPC. */
int sf_dns_build_answer(const unsigned char *m, const struct sf_dns_question *q,
			const uint8_t *addr, size_t alen, unsigned char *out, size_t outlen,
			size_t *n);

/* "A", "AAAA", "TXT", … or "TYPE<n>" for types without a mnemonic. */
const char *sf_dns_type_name(uint16_t type, char *buf, size_t len);

/* The head of an HTTP/1.x request: request line and Host. Strings are
 * truncated to fit and hold only printable ASCII (others become '?'). */
struct sf_http_request {
	char method[24];
	char target[1024];
	char version[16]; /* "HTTP/1.1" */
	char host[256];	  /* the Host header's value, "" when absent */
	size_t head_len;  /* bytes up to and including the empty line */
	long long content_length; /* -1 when not given */
	bool chunked;
	bool expect_continue; /* "Expect: 100-continue": the body waits for a 100 */
};

/* Parses buf[0..len) as the start of an HTTP/1.x request. Returns 0 when
 * the head is complete (head_len set); -EAGAIN when the bytes are an
 * HTTP request so far but its head has not ended (what was parsed is
 * filled in: the request line once it is complete, Host once seen); or
 * -EPROTO when they are not one. */
int sf_http_parse_request(const char *buf, size_t len, struct sf_http_request *r);

/* Finds the server name (SNI) in the TLS ClientHello that buf starts with
 * (one handshake message, in one or more handshake records). Returns 0
 * with sni set ("" when the hello names no host), -EAGAIN when the bytes
 * are a ClientHello so far but it is not complete, or -EPROTO when they
 * are not one. The name is lower-cased; bytes outside '!'..'~' become '?'. */
int sf_tls_parse_sni(const unsigned char *buf, size_t len, char *sni, size_t snilen);

/* A text-safe rendering of data[0..len): printable ASCII as it is, '\\'
 * doubled, \n \r \t as those escapes, every other byte \xHH. Writes at most
 * outlen - 1 characters and a NUL, never a partial escape; returns how many
 * bytes of data it covered. */
size_t sf_net_preview(const unsigned char *data, size_t len, char *out, size_t outlen);

#endif
