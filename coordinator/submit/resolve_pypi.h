/*
 * resolve_pypi — what a PEP 503 simple index says about one release: the
 * rules for PyPI names and exact versions, PEP 503's name normalization,
 * and the reader of a project page (<index>/<normalized-name>/, HTML) that
 * picks the file to scan and the digest the index announced for it.
 *
 * The file: the sdist (.tar.gz, then .zip, .tar.bz2) of the version, since
 * an sdist's setup.py is the code that runs at install time; without one, a
 * pure-Python wheel (ABI "none", platform "any", a py3 tag). A release with
 * only platform wheels is not scanned (the sandbox cannot say it installs
 * what a user's machine would). The digest: the href's #sha256= (or
 * #sha384=, #sha512=, #sha1=) fragment, given back as Subresource Integrity
 * ("sha256-<base64>") for resolve.c's check; none (md5 only, or nothing):
 * "".
 *
 * Owns: nothing after return. Calls: libxml2 (its HTML parser, no network),
 * libcurl's URL parser (relative links), OpenSSL (base64), util.
 * xmlInitParser must have run before threads call it (sf_resolve_start).
 */
#ifndef SF_RESOLVE_PYPI_H
#define SF_RESOLVE_PYPI_H

#include <stdbool.h>
#include <stddef.h>

#include "resolve.h"

#define SF_PYPI_NAME_MAX 128

/* A distribution name as PEP 508 has it: [A-Za-z0-9] at both ends, [._-]
 * inside, at most SF_PYPI_NAME_MAX bytes. An exact version: starts with a
 * digit, [0-9A-Za-z.!+_-], at most 128 bytes (no ranges, no wildcards). */
bool sf_pypi_name_valid(const char *name);
bool sf_pypi_version_valid(const char *version);
/* PEP 503: lower case, every run of [-_.] one '-'. out has outlen bytes;
 * -ENAMETOOLONG when it does not fit. */
int sf_pypi_normalize(const char *name, char *out, size_t outlen);

/* Reads a project page (body[0..len), anything at all) fetched from
 * page_url, for name's version: d->tarball (absolute http(s) URL) and
 * d->integrity. 0; -ENOENT (no file of that version), -ENOTSUP (only
 * platform wheels), -EBADMSG (not HTML, unusable link), err filled. */
int sf_pypi_parse_page(const char *body, size_t len, const char *page_url, const char *name,
		       const char *version, struct sf_resolve_dist *d, char *err, size_t errlen);

/* A hex digest named alg ("sha256" …) as Subresource Integrity in out:
 * 0, -EBADMSG (wrong length, not hex), -ENOTSUP (an algorithm not
 * checked). */
int sf_resolve_hex_to_sri(const char *alg, const char *hex, size_t hexlen, char *out,
			  size_t outlen);

#endif
