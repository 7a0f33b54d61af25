/* secret — see secret.h. */
#include "secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

bool sf_secret_equal(const char *presented, const char *secret)
{
	if (!presented || !secret)
		return false;
	size_t a = strlen(presented), b = strlen(secret);
	unsigned char diff = a != b;
	for (size_t i = 0; i < b; i++)
		diff |= (unsigned char)(presented[i < a ? i : 0] ^ secret[i]);
	return diff == 0;
}

int sf_secret_auth_value(const char *content, char *out, size_t outlen)
{
	size_t n = strlen(content);
	while (n && (content[n - 1] == '\n' || content[n - 1] == '\r' || content[n - 1] == ' ' ||
		     content[n - 1] == '\t'))
		n--;
	while (n && (*content == ' ' || *content == '\t')) {
		content++;
		n--;
	}
	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)content[i] < 0x20 || content[i] == 0x7f)
			return -EINVAL; /* one line: a header value */
	bool scheme = (n > 7 && strncasecmp(content, "Bearer ", 7) == 0) ||
		      (n > 6 && strncasecmp(content, "Basic ", 6) == 0);
	int w = snprintf(out, outlen, "%s%.*s", scheme ? "" : "Bearer ", (int)n, content);
	return w < 0 || (size_t)w >= outlen ? -ENAMETOOLONG : 0;
}

int sf_secret_read_auth(const char *path, char *out, size_t outlen)
{
	char *content = NULL;
	size_t len = 0;
	int rc = sf_read_file(path, SF_SECRET_AUTH_MAX, &content, &len);
	if (rc)
		return rc;
	rc = strlen(content) == len ? sf_secret_auth_value(content, out, outlen) : -EINVAL;
	explicit_bzero(content, len);
	free(content);
	return rc;
}
