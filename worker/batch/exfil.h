/*
 * exfil — finds a job's canary credentials in what left the sandbox.
 *
 * The job plants secrets that nothing legitimate reads (canary.h); seeing
 * one of them in what the sandbox sent out means a package took it. Every
 * fact of the job is searched, value and detail, whatever its kind: DNS
 * names, and whatever else the sensor or the sinkhole network records
 * (connection previews, HTTP request lines, TLS server names, command
 * lines). A secret is found raw or in a common encoding — hex, base64 and
 * base64url at each of the three byte alignments, base32 at each of the
 * five — case-insensitively (the sensor lower-cases DNS names), in the text
 * as it is, with its dots removed (a secret split across DNS labels) and
 * percent-decoded (a URL's query string). Any SF_EXFIL_MIN_BYTES bytes of a
 * secret in a row suffice, so a secret cut into pieces is still found when
 * one piece is that long; the secrets handed in must be their random part
 * only (no fixed prefix such as "npm_"), so that every window is unique.
 *
 * A find becomes a Critical "Canary credential exfiltrated" alert naming
 * the secret, where it was seen (the fact's kind) and how it was encoded,
 * attributed to the fact's package and phase.
 *
 * Owns: the index built by sf_exfil_new (sf_exfil_free), which copies the
 * secrets; alerts it appends to a batch are the batch's. Reads bytes from
 * the sandbox: fuzzed (tests/fuzz/exfil_fuzz.c). Calls: wire, util.
 */
#ifndef SF_EXFIL_H
#define SF_EXFIL_H

#include <stdbool.h>
#include <stddef.h>

#include "wire.h"

#define SF_EXFIL_MAX_SECRETS 32
#define SF_EXFIL_MAX_SECRET 4096 /* bytes of one secret */
#define SF_EXFIL_MIN_BYTES 12	 /* bytes of a secret in a row that count as a find */
#define SF_EXFIL_MAX_ALERTS 32	 /* canary alerts per job */
#define SF_EXFIL_RULE "Canary credential exfiltrated"

struct sf_exfil_secret {
	const char *name; /* "NPM_TOKEN (environment)" */
	const char *text; /* the secret's random part */
	size_t len;
};

struct sf_exfil_hit {
	int secret;	      /* index into the secrets given to sf_exfil_new */
	const char *encoding; /* "raw", "hex", "base64", "base64url", "base32" */
	const char *form;     /* "", "dots removed", "percent-decoded" */
};

struct sf_exfil;

/* Builds the index of n secrets (each at least SF_EXFIL_MIN_BYTES long;
 * shorter ones are left out). 0, -EINVAL (too many, too long), -ENOMEM. */
int sf_exfil_new(struct sf_exfil **out, const struct sf_exfil_secret *secrets, int n);
void sf_exfil_free(struct sf_exfil *x);

/* Whether text (len bytes, any bytes) holds a secret; the first found is
 * described in *hit. */
bool sf_exfil_search(const struct sf_exfil *x, const char *text, size_t len,
		     struct sf_exfil_hit *hit);

/* Searches every fact of b and appends an alert per (secret, fact kind,
 * package, phase) found, at most SF_EXFIL_MAX_ALERTS. hostname: the
 * worker's, as in every alert. Returns the number of alerts added or
 * -ENOMEM. */
int sf_exfil_scan_batch(const struct sf_exfil *x, struct sf_batch *b, const char *hostname);

#endif
