/*
 * auth — the API tokens clients present (stored as their SHA-256 in
 * PostgreSQL, created and revoked with the coordinator's `token` command).
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

/* Whether an "Authorization: Bearer …" header value names a live token.
 * Returns 0 and sets *ok; -EIO if the database could not say. */
int sf_auth_check_bearer(PGconn *conn, const char *header, bool *ok);

/* The value of a "Bearer X" header, or NULL. */
const char *sf_auth_bearer(const char *header);

#endif
