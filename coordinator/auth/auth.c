/* auth — see auth.h. */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "db.h"
#include "log.h"
#include "sha256.h"
#include "util.h"

int sf_auth_token_create(PGconn *conn, const char *name, char token[SF_TOKEN_LEN + 1],
			 long long *id)
{
	unsigned char raw[32];
	char hash[SF_SHA256_HEX + 1];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	memcpy(token, SF_TOKEN_PREFIX, 4);
	sf_hex(raw, sizeof(raw), token + 4);
	int rc = sf_sha256_buf(token, SF_TOKEN_LEN, hash);
	if (rc)
		return rc;
	const char *p[] = {name, hash};
	PGresult *r = PQexecParams(conn,
				   "INSERT INTO api_tokens (name, token_sha256) VALUES ($1, $2)"
				   " RETURNING id",
				   2, NULL, p, NULL, NULL, 0);
	if (sf_db_result_ok(conn, r, "create token")) {
		PQclear(r);
		return -EIO;
	}
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int sf_auth_token_revoke(PGconn *conn, long long id)
{
	char ids[32];
	snprintf(ids, sizeof(ids), "%lld", id);
	const char *p[] = {ids};
	PGresult *r = PQexecParams(conn,
				   "UPDATE api_tokens SET revoked_at = now()"
				   " WHERE id = $1 AND revoked_at IS NULL",
				   1, NULL, p, NULL, NULL, 0);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -EIO;
	if (rc == 0 && strcmp(PQcmdTuples(r), "1") != 0)
		rc = -ENOENT;
	PQclear(r);
	return rc;
}

int sf_auth_token_list(PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT id, name, created_at, coalesce(revoked_at::text, '-')"
				   " FROM api_tokens ORDER BY id");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -EIO;
	}
	printf("%-6s %-24s %-32s %s\n", "id", "name", "created", "revoked");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-6s %-24s %-32s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
	PQclear(r);
	return 0;
}

const char *sf_auth_bearer(const char *header)
{
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	header += 7;
	while (*header == ' ')
		header++;
	return *header ? header : NULL;
}

int sf_auth_check_bearer(PGconn *conn, const char *header, bool *ok)
{
	*ok = false;
	const char *token = sf_auth_bearer(header);
	if (!token || strlen(token) != SF_TOKEN_LEN)
		return 0;
	char hash[SF_SHA256_HEX + 1];
	int rc = sf_sha256_buf(token, SF_TOKEN_LEN, hash);
	if (rc)
		return rc;
	const char *p[] = {hash};
	PGresult *r = PQexecParams(conn,
				   "SELECT 1 FROM api_tokens WHERE token_sha256 = $1"
				   " AND revoked_at IS NULL",
				   1, NULL, p, NULL, NULL, 0);
	if (sf_db_result_ok(conn, r, "check token")) {
		PQclear(r);
		return -EIO;
	}
	*ok = PQntuples(r) == 1;
	PQclear(r);
	return 0;
}
