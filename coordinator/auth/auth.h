/*
 * auth — the API tokens clients present (stored as their SHA-256 in
 * PostgreSQL, created and revoked with the coordinator's `token` command),
 * and their quotas: submissions per minute and uploaded bytes per UTC day,
 * per token, counted in PostgreSQL (so every coordinator of a database
 * counts the same uses) by the token_quota_take function of
 * sql/008_token_quotas.sql.
 * Which route needs a token is api/access.h's decision; the shared worker
 * secret that workers present on artifact downloads and in every NNG
 * message is compared by common/secret.h.
 *
 * Owns: nothing beyond returned strings (caller frees). Calls: db (result
 * checks), libpq, sha256, util, log.
 */
#ifndef SF_AUTH_H
#define SF_AUTH_H

#include <libpq-fe.h>
#include <stdbool.h>

#define SF_TOKEN_PREFIX "sft_"
#define SF_TOKEN_LEN (4 + 64) /* prefix + 32 random bytes in hex */

/* Creates a token named name; writes it (shown once) into token. */
int sf_auth_token_create(PGconn *conn, const char *name, char token[SF_TOKEN_LEN + 1],
			 long long *id);
/* Revokes token id: 0, or -ENOENT if there is no such live token. */
int sf_auth_token_revoke(PGconn *conn, long long id);
/* Prints id, name, created, revoked for every token to stdout. */
int sf_auth_token_list(PGconn *conn);

/* A live token as the API sees it: its limits are the coordinator's
 * defaults where the token has none of its own (-1 here); 0 is no limit. */
struct sf_auth_token {
	long long id;
	char name[128];
	int submissions_per_minute; /* -1: the default */
	long long bytes_per_day;    /* -1: the default */
};

/* Whether an "Authorization: Bearer …" header value names a live token.
 * Returns 0 and sets *ok (and *t when ok, if t is not NULL); -EIO if the
 * database could not say. */
int sf_auth_check_bearer(PGconn *conn, const char *header, bool *ok, struct sf_auth_token *t);

/* Takes one submission of nbytes from token id's quotas (spm, bpd: the
 * limits that apply; 0 none). 0 with refused "" (counted), or refused
 * "submissions" / "bytes" and *retry_after_s (nothing counted); -EIO. */
int sf_auth_quota_take(PGconn *conn, long long id, int spm, long long bpd, long long nbytes,
		       char *refused, size_t refusedlen, int *retry_after_s);

/* Sets token id's own limits: a number (0: none) or "default". 0, -EINVAL
 * (not a number), -ENOENT (no live token) or -EIO. */
int sf_auth_token_limits(PGconn *conn, long long id, const char *submissions_per_minute,
			 const char *bytes_per_day);

/* The value of a "Bearer X" header, or NULL. */
const char *sf_auth_bearer(const char *header);

#endif
