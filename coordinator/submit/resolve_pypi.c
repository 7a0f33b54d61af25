/* resolve_pypi — see resolve_pypi.h. */
#include "resolve_pypi.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define PYPI_FILENAME_MAX 512
#define PYPI_DEPTH_MAX 64 /* of the elements walked: an index page is flat */

bool sf_pypi_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > SF_PYPI_NAME_MAX || !isalnum((unsigned char)name[0]) ||
	    !isalnum((unsigned char)name[len - 1]))
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
	return true;
}

bool sf_pypi_version_valid(const char *v)
{
	size_t len = strlen(v);
	if (len == 0 || len > 128 || v[0] < '0' || v[0] > '9')
		return false;
	return strspn(v, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.!+_-") ==
	       len;
}

int sf_pypi_normalize(const char *name, char *out, size_t outlen)
{
	size_t n = 0;
	for (const char *p = name; *p; p++) {
		char c = *p == '_' || *p == '.' ? '-' : (char)tolower((unsigned char)*p);
		if (c == '-' && n > 0 && out[n - 1] == '-')
			continue;
		if (n + 1 >= outlen) {
			if (outlen)
				out[0] = '\0';
			return -ENAMETOOLONG;
		}
		out[n++] = c;
	}
	if (!outlen)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

int sf_resolve_hex_to_sri(const char *alg, const char *hex, size_t hexlen, char *out,
			  size_t outlen)
{
	static const struct {
		const char *name;
		size_t bytes;
	} algs[] = {{"sha256", 32}, {"sha384", 48}, {"sha512", 64}, {"sha1", 20}};
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		if (strcmp(alg, algs[a].name) != 0)
			continue;
		unsigned char md[64];
		if (hexlen != 2 * algs[a].bytes)
			return -EBADMSG;
		for (size_t i = 0; i < hexlen; i++)
			if (!isxdigit((unsigned char)hex[i]))
				return -EBADMSG;
		for (size_t i = 0; i < algs[a].bytes; i++) {
			char byte[3] = {hex[2 * i], hex[2 * i + 1], 0};
			md[i] = (unsigned char)strtoul(byte, NULL, 16);
		}
		size_t need = strlen(alg) + 1 + 4 * ((algs[a].bytes + 2) / 3) + 1;
		if (outlen < need)
			return -ENOSPC;
		int n = snprintf(out, outlen, "%s-", alg);
		EVP_EncodeBlock((unsigned char *)out + n, md, (int)algs[a].bytes);
		return 0;
	}
	return -ENOTSUP;
}

/* ------------------------------------------------------------ files */

/* What a file name says about the release it belongs to. */
enum pypi_file {
	PYPI_OTHER,
	PYPI_SDIST_TGZ,	 /* preferred: what pip builds, setup.py and all */
	PYPI_SDIST_ZIP,
	PYPI_SDIST_TBZ,
	PYPI_WHEEL_PURE, /* no sdist: a wheel any Python 3 installs */
	PYPI_WHEEL_PLATFORM,
};

static bool pypi_same_name(const char *a, size_t alen, const char *norm)
{
	char buf[SF_PYPI_NAME_MAX * 2 + 1], na[sizeof(buf)];
	if (alen >= sizeof(buf))
		return false;
	memcpy(buf, a, alen);
	buf[alen] = '\0';
	return sf_pypi_normalize(buf, na, sizeof(na)) == 0 && strcmp(na, norm) == 0;
}

static bool pypi_py3(const char *tag, size_t len)
{
	while (len) {
		size_t n = 0;
		while (n < len && tag[n] != '.')
			n++;
		if (n >= 3 && strncmp(tag, "py3", 3) == 0)
			return true;
		tag += n + (n < len);
		len -= n + (n < len);
	}
	return false;
}

/* The kind of fname for release norm==version. */
static enum pypi_file pypi_classify(const char *fname, const char *norm, const char *version)
{
	static const struct {
		const char *ext;
		enum pypi_file kind;
	} sdists[] = {{".tar.gz", PYPI_SDIST_TGZ}, {".zip", PYPI_SDIST_ZIP},
		      {".tar.bz2", PYPI_SDIST_TBZ}};
	size_t len = strlen(fname), vlen = strlen(version);
	for (size_t i = 0; i < sizeof(sdists) / sizeof(sdists[0]); i++) {
		size_t el = strlen(sdists[i].ext);
		if (len <= el + vlen + 1 || strcasecmp(fname + len - el, sdists[i].ext) != 0)
			continue;
		/* NAME-VERSION.ext: the version is what follows the last '-' of
		 * the right length */
		const char *v = fname + len - el - vlen;
		if (v[-1] == '-' && strncasecmp(v, version, vlen) == 0 &&
		    pypi_same_name(fname, (size_t)(v - 1 - fname), norm))
			return sdists[i].kind;
		return PYPI_OTHER;
	}
	if (len < 5 || strcasecmp(fname + len - 4, ".whl") != 0)
		return PYPI_OTHER;
	/* NAME-VERSION(-BUILD)?-PY-ABI-PLATFORM.whl */
	const char *part[7];
	size_t plen[7];
	int n = 0;
	for (const char *p = fname; p < fname + len - 4 && n < 7;) {
		const char *dash = memchr(p, '-', (size_t)(fname + len - 4 - p));
		const char *end = dash ? dash : fname + len - 4;
		part[n] = p;
		plen[n++] = (size_t)(end - p);
		p = dash ? dash + 1 : end;
	}
	if ((n != 5 && n != 6) || !pypi_same_name(part[0], plen[0], norm) || plen[1] != vlen ||
	    strncasecmp(part[1], version, vlen) != 0)
		return PYPI_OTHER;
	bool pure = plen[n - 2] == 4 && strncmp(part[n - 2], "none", 4) == 0 && plen[n - 1] == 3 &&
		    strncmp(part[n - 1], "any", 3) == 0 && pypi_py3(part[n - 3], plen[n - 3]);
	return pure ? PYPI_WHEEL_PURE : PYPI_WHEEL_PLATFORM;
}

/* The best file found so far. */
struct pypi_choice {
	const char *norm, *version;
	enum pypi_file kind; /* PYPI_OTHER: none yet */
	bool platform_only;  /* only platform wheels of the version */
	char href[SF_RESOLVE_URL_MAX];
	char fname[PYPI_FILENAME_MAX];
};

static bool pypi_better(enum pypi_file now, enum pypi_file cand)
{
	if (cand == PYPI_OTHER || cand == PYPI_WHEEL_PLATFORM)
		return false;
	return now == PYPI_OTHER || cand < now;
}

/* The file name an anchor names: its text (PEP 503), else the last path
 * component of its href. */
static void pypi_anchor_name(xmlNodePtr a, const char *href, char *out, size_t outlen)
{
	xmlChar *text = xmlNodeGetContent(a);
	const char *t = (const char *)text;
	out[0] = '\0';
	if (t) {
		while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
			t++;
		size_t n = strcspn(t, " \t\r\n");
		if (n && n < outlen) {
			memcpy(out, t, n);
			out[n] = '\0';
		}
	}
	xmlFree(text);
	if (out[0])
		return;
	size_t n = strcspn(href, "#?");
	const char *last = href;
	for (const char *p = href; p < href + n; p++)
		if (*p == '/')
			last = p + 1;
	size_t k = (size_t)(href + n - last);
	if (k && k < outlen) {
		memcpy(out, last, k);
		out[k] = '\0';
	}
}

static void pypi_walk(xmlNodePtr n, struct pypi_choice *c, int depth)
{
	for (; n && depth < PYPI_DEPTH_MAX; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcasecmp(n->name, (const xmlChar *)"a") == 0) {
			xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
			if (href && xmlStrlen(href) < SF_RESOLVE_URL_MAX) {
				char fname[PYPI_FILENAME_MAX];
				pypi_anchor_name(n, (const char *)href, fname, sizeof(fname));
				enum pypi_file k = pypi_classify(fname, c->norm, c->version);
				if (k == PYPI_WHEEL_PLATFORM && c->kind == PYPI_OTHER)
					c->platform_only = true;
				if (pypi_better(c->kind, k)) {
					c->kind = k;
					sf_strlcpy(c->href, (const char *)href, sizeof(c->href));
					sf_strlcpy(c->fname, fname, sizeof(c->fname));
				}
			}
			xmlFree(href);
			continue;
		}
		pypi_walk(n->children, c, depth + 1);
	}
}

/* href resolved against the page's URL, without its fragment, into
 * d->tarball; the fragment's digest into d->integrity. */
static int pypi_link(const char *page_url, const char *href, struct sf_resolve_dist *d,
		     char *err, size_t errlen)
{
	char link[SF_RESOLVE_URL_MAX];
	sf_strlcpy(link, href, sizeof(link));
	char *frag = strchr(link, '#');
	if (frag)
		*frag++ = '\0';
	d->integrity[0] = '\0';
	d->shasum[0] = '\0';
	if (frag) {
		char *eq = strchr(frag, '=');
		if (eq) {
			*eq = '\0';
			int rc = sf_resolve_hex_to_sri(frag, eq + 1, strcspn(eq + 1, "&"), d->integrity,
						       sizeof(d->integrity));
			if (rc == -EBADMSG) {
				snprintf(err, errlen, "the index's #%s= digest is malformed", frag);
				return rc;
			}
			if (rc)
				d->integrity[0] = '\0'; /* md5 and the like: not checked */
		}
	}
	CURLU *u = curl_url();
	char *abs = NULL;
	int rc = -EBADMSG;
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, page_url, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, link, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK &&
	    (strncmp(abs, "http://", 7) == 0 || strncmp(abs, "https://", 8) == 0) &&
	    sf_strlcpy(d->tarball, abs, sizeof(d->tarball)) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "the index links to an unusable URL");
	curl_free(abs);
	curl_url_cleanup(u);
	return rc;
}

int sf_pypi_parse_page(const char *body, size_t len, const char *page_url, const char *name,
		       const char *version, struct sf_resolve_dist *d, char *err, size_t errlen)
{
	char norm[SF_PYPI_NAME_MAX + 1];
	memset(d, 0, sizeof(*d));
	if (sf_pypi_normalize(name, norm, sizeof(norm)) || len > (size_t)INT32_MAX) {
		snprintf(err, errlen, "name too long");
		return -EBADMSG;
	}
	htmlDocPtr doc = htmlReadMemory(body, (int)len, page_url, "utf-8",
					HTML_PARSE_NONET | HTML_PARSE_NOERROR |
					    HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER);
	if (!doc) {
		snprintf(err, errlen, "%s: the index's answer is not an HTML page", name);
		return -EBADMSG;
	}
	struct pypi_choice c = {.norm = norm, .version = version};
	pypi_walk(xmlDocGetRootElement(doc), &c, 0);
	xmlFreeDoc(doc);
	if (c.kind == PYPI_OTHER) {
		if (c.platform_only) {
			snprintf(err, errlen,
				 "%s==%s: the index has only platform wheels (no sdist and no"
				 " pure-Python wheel to scan)",
				 name, version);
			return -ENOTSUP;
		}
		snprintf(err, errlen, "%s has no version %s in the index", name, version);
		return -ENOENT;
	}
	return pypi_link(page_url, c.href, d, err, errlen);
}
