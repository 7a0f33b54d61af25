/*
 * fuzz_request — the request line at the head of a fuzz input, for the
 * targets whose input starts with "METHOD PATH" (api_fuzz, query_fuzz):
 * the bytes up to the first newline (at most cap - 1 of them) are copied
 * into line, NUL-terminated — a NUL inside ends the line, as it would for
 * libmicrohttpd — and split at the first space into the method and the URL
 * ("/" when there is no space). Returns the length of the line taken from
 * data; the body, if any, follows its newline.
 */
#ifndef SF_FUZZ_REQUEST_H
#define SF_FUZZ_REQUEST_H

#include <stdint.h>
#include <string.h>

static size_t fuzz_request_line(const uint8_t *data, size_t size, char *line, size_t cap,
				const char **method, char **url)
{
	static char root[] = "/";
	const uint8_t *nl = memchr(data, '\n', size);
	size_t llen = nl ? (size_t)(nl - data) : size;
	size_t taken = llen;
	if (llen >= cap)
		llen = cap - 1;
	memcpy(line, data, llen);
	line[llen] = '\0';
	char *sp = strchr(line, ' ');
	*method = line;
	*url = root;
	if (sp) {
		*sp = '\0';
		*url = sp + 1;
	}
	return taken;
}

#endif
