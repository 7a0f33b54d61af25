/* netproto — see netproto.h. */
#include "netproto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ DNS */

int sf_dns_parse_query(const unsigned char *m, size_t len, struct sf_dns_question *q)
{
	memset(q, 0, sizeof(*q));
	if (len < 17) /* header, the root name, type, class */
		return -EPROTO;
	if ((m[2] & 0x80) || (m[2] & 0x78) || ((m[4] << 8) | m[5]) == 0)
		return -EPROTO; /* a response, another opcode, or no question */
	q->id = (uint16_t)((m[0] << 8) | m[1]);
	size_t p = 12, o = 0;
	while (p < len && m[p]) {
		size_t l = m[p++];
		/* labels only: a query has no reason to compress its question */
		if (l > 63 || p + l > len || o + l + 2 > sizeof(q->name))
			return -EPROTO;
		if (o)
			q->name[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			unsigned char c = m[p + i];
			if (c < 0x21 || c > 0x7e)
				c = '?';
			q->name[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		p += l;
	}
	if (p + 5 > len)
		return -EPROTO;
	if (o == 0)
		q->name[o++] = '.';
	q->name[o] = '\0';
	p++; /* the root label */
	q->type = (uint16_t)((m[p] << 8) | m[p + 1]);
	q->qclass = (uint16_t)((m[p + 2] << 8) | m[p + 3]);
	q->end = p + 4;
	return 0;
}

int sf_dns_build_answer(const unsigned char *m, const struct sf_dns_question *q,
			const uint8_t *addr, size_t alen, unsigned char *out, size_t outlen,
			size_t *n)
{
	bool answer = alen == 4 || alen == 16;
	size_t need = q->end + (answer ? 12 + alen : 0);
	*n = 0;
	if (q->end < 17 || need > outlen)
		return -ENOSPC;
	memcpy(out, m, q->end);
	out[2] = (unsigned char)(0x84 | (m[2] & 0x01)); /* QR, AA; RD echoed */
	out[3] = 0x80;					/* RA, NOERROR */
	out[4] = 0;
	out[5] = 1; /* the one question answered */
	out[6] = 0;
	out[7] = answer ? 1 : 0;
	memset(out + 8, 0, 4); /* no authority, no additional records */
	if (answer) {
		unsigned char *a = out + q->end;
		uint16_t type = alen == 4 ? SF_DNS_TYPE_A : SF_DNS_TYPE_AAAA;
		const unsigned char rr[10] = {0xc0, 0x0c, /* the question's name */
					      (unsigned char)(type >> 8), (unsigned char)type,
					      0, 1,	      /* IN */
					      0, 0, 0, 60}; /* TTL */
		memcpy(a, rr, sizeof(rr));
		a[10] = 0;
		a[11] = (unsigned char)alen;
		memcpy(a + 12, addr, alen);
	}
	*n = need;
	return 0;
}

const char *sf_dns_type_name(uint16_t type, char *buf, size_t len)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {{1, "A"},	    {2, "NS"},	   {5, "CNAME"}, {6, "SOA"},   {12, "PTR"},
		     {13, "HINFO"}, {15, "MX"},	   {16, "TXT"},	 {28, "AAAA"}, {33, "SRV"},
		     {35, "NAPTR"}, {43, "DS"},	   {48, "DNSKEY"}, {64, "SVCB"}, {65, "HTTPS"},
		     {99, "SPF"},   {252, "AXFR"}, {255, "ANY"}, {257, "CAA"}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(buf, len, "TYPE%u", (unsigned)type);
	return buf;
}

/* ----------------------------------------------------------------- HTTP */

/* Copies s[0..n) into out (size cap), printable ASCII only, truncated. */
static void netproto_copy(char *out, size_t cap, const char *s, size_t n)
{
	size_t k = n < cap - 1 ? n : cap - 1;
	for (size_t i = 0; i < k; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
	}
	out[k] = '\0';
}

/* The end of the line starting at p ('\n' or len); *eol is the index of
 * its '\n', or len when the line has not ended. */
static size_t http_line(const char *buf, size_t len, size_t p, size_t *eol)
{
	const char *nl = memchr(buf + p, '\n', len - p);
	*eol = nl ? (size_t)(nl - buf) : len;
	size_t end = *eol;
	if (nl && end > p && buf[end - 1] == '\r')
		end--;
	return end;
}

/* The request line: "METHOD SP target SP HTTP/d.d CRLF". Returns the
 * offset of the first header line, 0 when the bytes end before the line
 * does (still HTTP), or -1 when they are not an HTTP request. */
static long http_request_line(const char *buf, size_t len, struct sf_http_request *r)
{
	size_t i = 0;
	while (i < len && i < 20 && buf[i] >= 'A' && buf[i] <= 'Z')
		i++;
	if (i == len)
		return i > 0 ? 0 : -1;
	if (i == 0 || buf[i] != ' ')
		return -1;
	netproto_copy(r->method, sizeof(r->method), buf, i);
	size_t t = ++i;
	while (i < len && i - t < 8192 && buf[i] > 0x20 && buf[i] < 0x7f)
		i++;
	if (i == len)
		return 0;
	if (i == t || buf[i] != ' ')
		return -1;
	netproto_copy(r->target, sizeof(r->target), buf + t, i - t);
	size_t v = ++i;
	static const char proto[] = "HTTP/d.d";
	for (size_t k = 0; k < 8; k++, i++) {
		if (i == len)
			return 0;
		char want = proto[k];
		if (want == 'd' ? (buf[i] < '0' || buf[i] > '9') : buf[i] != want)
			return -1;
	}
	if (i < len && buf[i] == '\r')
		i++;
	if (i == len)
		return 0;
	if (buf[i] != '\n')
		return -1;
	netproto_copy(r->version, sizeof(r->version), buf + v, 8);
	return (long)(i + 1);
}

static bool http_name_is(const char *s, size_t n, const char *name)
{
	size_t k = strlen(name);
	if (n != k)
		return false;
	for (size_t i = 0; i < k; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
		if (c != name[i])
			return false;
	}
	return true;
}

/* One header line s[0..n): Host, Content-Length, Transfer-Encoding, Expect. */
static void http_header(const char *s, size_t n, struct sf_http_request *r)
{
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return;
	size_t nl = (size_t)(colon - s);
	const char *v = colon + 1, *end = s + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vl = (size_t)(end - v);
	if (http_name_is(s, nl, "host") && !r->host[0]) {
		netproto_copy(r->host, sizeof(r->host), v, vl);
		for (char *h = r->host; *h; h++)
			if (*h >= 'A' && *h <= 'Z')
				*h = (char)(*h + 32);
	} else if (http_name_is(s, nl, "content-length")) {
		long long cl = 0;
		size_t i = 0;
		for (; i < vl && v[i] >= '0' && v[i] <= '9' && cl < (1LL << 40); i++)
			cl = cl * 10 + (v[i] - '0');
		if (i == vl && vl > 0)
			r->content_length = cl;
	} else if (http_name_is(s, nl, "transfer-encoding")) {
		for (size_t i = 0; i + 7 <= vl; i++)
			if (http_name_is(v + i, 7, "chunked"))
				r->chunked = true;
	} else if (http_name_is(s, nl, "expect")) {
		r->expect_continue = http_name_is(v, vl, "100-continue");
	}
}

int sf_http_parse_request(const char *buf, size_t len, struct sf_http_request *r)
{
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	long start = http_request_line(buf, len, r);
	if (start < 0)
		return -EPROTO;
	if (start == 0)
		return -EAGAIN;
	size_t p = (size_t)start;
	while (p < len) {
		size_t eol, end = http_line(buf, len, p, &eol);
		if (eol == len)
			return -EAGAIN; /* the line has not ended */
		if (end == p) {
			r->head_len = eol + 1;
			return 0;
		}
		http_header(buf + p, end - p, r);
		p = eol + 1;
	}
	return -EAGAIN;
}

/* ------------------------------------------------------------------ TLS */

#define TLS_MAX_HELLO 16384

/* The handshake bytes carried by the records buf starts with, in order,
 * as far as they are there. Returns how many were copied into hs, or -1
 * when a record is not a handshake record. */
static long tls_reassemble(const unsigned char *buf, size_t len, unsigned char *hs, size_t cap)
{
	size_t p = 0, n = 0;
	while (p < len && n < cap) {
		if (buf[p] != 0x16)
			return n > 0 ? (long)n : -1;
		if (p + 1 < len && buf[p + 1] != 3)
			return -1;
		if (p + 5 > len)
			break;
		size_t rl = (size_t)((buf[p + 3] << 8) | buf[p + 4]);
		if (rl == 0 || rl > 16384 + 2048)
			return -1;
		size_t have = len - (p + 5) < rl ? len - (p + 5) : rl;
		if (have > cap - n)
			have = cap - n;
		memcpy(hs + n, buf + p + 5, have);
		n += have;
		if (have < rl)
			break;
		p += 5 + rl;
	}
	return (long)n;
}

/* A reader over the hello body: avail bytes present of total declared. */
struct tls_rd {
	const unsigned char *p;
	size_t avail, total, off;
};

/* Makes n bytes at the cursor readable: 0, -EAGAIN (declared but not here
 * yet) or -EPROTO (beyond the declared hello). */
static int tls_need(const struct tls_rd *r, size_t n)
{
	if (r->off + n > r->total)
		return -EPROTO;
	return r->off + n > r->avail ? -EAGAIN : 0;
}

static int tls_u16(struct tls_rd *r, size_t *v)
{
	int rc = tls_need(r, 2);
	if (rc == 0) {
		*v = (size_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
		r->off += 2;
	}
	return rc;
}

/* The server_name extension's body ext[0..n): the first host_name. */
static int tls_server_name(const unsigned char *ext, size_t n, char *sni, size_t snilen)
{
	if (n < 2)
		return -EPROTO;
	size_t list = (size_t)((ext[0] << 8) | ext[1]), p = 2;
	if (list + 2 > n)
		return -EPROTO;
	while (p + 3 <= 2 + list) {
		size_t nl = (size_t)((ext[p + 1] << 8) | ext[p + 2]);
		if (p + 3 + nl > 2 + list)
			return -EPROTO;
		if (ext[p] == 0) {
			size_t k = nl < snilen - 1 ? nl : snilen - 1;
			for (size_t i = 0; i < k; i++) {
				unsigned char c = ext[p + 3 + i];
				if (c < 0x21 || c > 0x7e)
					c = '?';
				sni[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			}
			sni[k] = '\0';
			return 0;
		}
		p += 3 + nl;
	}
	return 0;
}

/* The fields before the extensions: version, random, session id, cipher
 * suites, compression methods. */
static int tls_skip_prefix(struct tls_rd *r)
{
	int rc;
	size_t n;
	if ((rc = tls_need(r, 35)))
		return rc;
	r->off += 34;
	n = r->p[r->off++];
	if (n > 32)
		return -EPROTO;
	if ((rc = tls_need(r, n)))
		return rc;
	r->off += n;
	if ((rc = tls_u16(r, &n)))
		return rc;
	if (n < 2 || (n & 1))
		return -EPROTO;
	if ((rc = tls_need(r, n + 1)))
		return rc;
	r->off += n;
	n = r->p[r->off++];
	if (n < 1 || (rc = tls_need(r, n)))
		return n < 1 ? -EPROTO : rc;
	r->off += n;
	return 0;
}

int sf_tls_parse_sni(const unsigned char *buf, size_t len, char *sni, size_t snilen)
{
	unsigned char hs[TLS_MAX_HELLO];
	if (snilen < 1)
		return -EPROTO;
	sni[0] = '\0';
	long got = tls_reassemble(buf, len, hs, sizeof(hs));
	if (got < 0)
		return -EPROTO;
	if (got < 4)
		return len >= 1 && buf[0] == 0x16 ? -EAGAIN : -EPROTO;
	if (hs[0] != 1) /* client_hello */
		return -EPROTO;
	size_t hl = ((size_t)hs[1] << 16) | ((size_t)hs[2] << 8) | hs[3];
	struct tls_rd r = {.p = hs + 4, .avail = (size_t)got - 4, .total = hl};
	if (r.avail > r.total)
		r.avail = r.total;
	int rc = tls_skip_prefix(&r);
	if (rc)
		return rc;
	if (r.off == r.total)
		return 0; /* no extensions */
	size_t el;
	if ((rc = tls_u16(&r, &el)))
		return rc;
	if (r.off + el > r.total)
		return -EPROTO;
	r.total = r.off + el; /* the extensions end the hello */
	while (r.off < r.total) {
		size_t type, n;
		if ((rc = tls_u16(&r, &type)) || (rc = tls_u16(&r, &n)) || (rc = tls_need(&r, n)))
			return rc;
		if (type == 0)
			return tls_server_name(r.p + r.off, n, sni, snilen);
		r.off += n;
	}
	return 0;
}

/* -------------------------------------------------------------- preview */

size_t sf_net_preview(const unsigned char *data, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i = 0;
	if (outlen == 0)
		return 0;
	for (; i < len; i++) {
		unsigned char c = data[i];
		char esc[4];
		size_t n = 0;
		if (c == '\\') {
			esc[n++] = '\\';
			esc[n++] = '\\';
		} else if (c == '\n' || c == '\r' || c == '\t') {
			esc[n++] = '\\';
			esc[n++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c >= 0x20 && c <= 0x7e) {
			esc[n++] = (char)c;
		} else {
			esc[n++] = '\\';
			esc[n++] = 'x';
			esc[n++] = hex[c >> 4];
			esc[n++] = hex[c & 15];
		}
		if (o + n > outlen - 1)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	return i;
}
