/* resolve_gem — see resolve_gem.h. */
#include "resolve_gem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

bool sf_gem_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > SF_GEM_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	       len;
}

bool sf_gem_version_valid(const char *v)
{
	size_t len = strlen(v);
	if (len == 0 || len > 128 || v[0] < '0' || v[0] > '9')
		return false;
	return strspn(v, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-") == len;
}

/* n hex digits of either case (the string goes on: not sf_is_hex). */
static bool gem_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The checksum in a line's requirements ("checksum:HEX,ruby:>= 2.5"). */
static int gem_checksum(const char *reqs, size_t len, char sha256[SF_SHA256_HEX + 1])
{
	const char *p = reqs, *end = reqs + len;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		while (p < e && *p == ' ')
			p++;
		if ((size_t)(e - p) > 9 && strncmp(p, "checksum:", 9) == 0) {
			const char *hex = p + 9;
			size_t n = (size_t)(e - hex);
			while (n && hex[n - 1] == ' ')
				n--;
			if (n != SF_SHA256_HEX || !gem_hex(hex, n))
				return -EBADMSG;
			for (size_t i = 0; i < n; i++)
				sha256[i] = (char)tolower((unsigned char)hex[i]);
			sha256[n] = '\0';
			return 0;
		}
		p = comma ? comma + 1 : end;
	}
	return -ENODATA;
}

int sf_gem_parse_info(const char *body, size_t len, const char *name, const char *version,
		      char sha256[SF_SHA256_HEX + 1], char *err, size_t errlen)
{
	const char *p = body, *end = body + len, *line;
	size_t vlen = strlen(version), n;
	bool header = false;
	sha256[0] = '\0';
	while (sf_next_line(&p, end, &line, &n)) {
		if (!header) {
			if (n == 3 && strncmp(line, "---", 3) == 0) {
				header = true;
				continue;
			}
			break;
		}
		if (n > vlen && strncmp(line, version, vlen) == 0 && line[vlen] == ' ') {
			const char *bar = memchr(line, '|', n);
			int rc = bar ? gem_checksum(bar + 1, (size_t)(line + n - bar - 1), sha256)
				     : -ENODATA;
			if (rc == -EBADMSG)
				snprintf(err, errlen, "%s-%s: the compact index's checksum is malformed",
					 name, version);
			else if (rc == -ENODATA)
				snprintf(err, errlen, "%s-%s: the compact index gives no checksum", name,
					 version);
			return rc;
		}
	}
	if (!header) {
		snprintf(err, errlen, "%s: the gem source's info file is not a compact index", name);
		return -EBADMSG;
	}
	snprintf(err, errlen, "%s has no version %s in the gem source", name, version);
	return -ENOENT;
}
