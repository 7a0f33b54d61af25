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
	PGresult *r = PQexec(conn, "SELECT id, name, created_at, coalesce(revoked_at::text, '-'),"
				   " coalesce(submissions_per_minute::text, 'default'),"
				   " coalesce(bytes_per_day::text, 'default')"
				   " FROM api_tokens ORDER BY id");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -EIO;
	}
	printf("%-6s %-24s %-32s %-32s %-10s %s\n", "id", "name", "created", "revoked",
	       "subs/min", "bytes/day");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-6s %-24s %-32s %-32s %-10s %s\n", PQgetvalue(r, i, 0),
		       PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		       PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
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

int sf_auth_check_bearer(PGconn *conn, const char *header, bool *ok, struct sf_auth_token *t)
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
				   "SELECT id, name, coalesce(submissions_per_minute, -1),"
				   " coalesce(bytes_per_day, -1) FROM api_tokens"
				   " WHERE token_sha256 = $1 AND revoked_at IS NULL",
				   1, NULL, p, NULL, NULL, 0);
	if (sf_db_result_ok(conn, r, "check token")) {
		PQclear(r);
		return -EIO;
	}
	*ok = PQntuples(r) == 1;
	if (*ok && t) {
		t->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		snprintf(t->name, sizeof(t->name), "%s", PQgetvalue(r, 0, 1));
		t->submissions_per_minute = (int)strtol(PQgetvalue(r, 0, 2), NULL, 10);
		t->bytes_per_day = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	}
	PQclear(r);
	return 0;
}

int sf_auth_quota_take(PGconn *conn, long long id, int spm, long long bpd, long long nbytes,
		       char *refused, size_t refusedlen, int *retry_after_s)
{
	char ids[32], spms[32], bpds[32], bytes[32];
	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(spms, sizeof(spms), "%d", spm);
	snprintf(bpds, sizeof(bpds), "%lld", bpd);
	snprintf(bytes, sizeof(bytes), "%lld", nbytes);
	const char *p[] = {ids, spms, bpds, bytes};
	PGresult *r = PQexecParams(conn,
				   "SELECT coalesce(refused, ''), coalesce(retry_after, 0)"
				   " FROM token_quota_take($1, $2, $3, $4)",
				   4, NULL, p, NULL, NULL, 0);
	if (sf_db_result_ok(conn, r, "token quota") || PQntuples(r) != 1) {
		PQclear(r);
		return -EIO;
	}
	snprintf(refused, refusedlen, "%s", PQgetvalue(r, 0, 0));
	*retry_after_s = (int)strtol(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	return 0;
}

/* "default" → NULL (the column's NULL); a number ≥ 0 as it is. */
static int auth_limit_arg(const char *s, const char **out)
{
	if (strcmp(s, "default") == 0) {
		*out = NULL;
		return 0;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -EINVAL;
	*out = s;
	return 0;
}

int sf_auth_token_limits(PGconn *conn, long long id, const char *submissions_per_minute,
			 const char *bytes_per_day)
{
	const char *spm, *bpd;
	char ids[32];
	if (auth_limit_arg(submissions_per_minute, &spm) || auth_limit_arg(bytes_per_day, &bpd) ||
	    (spm && strtoll(spm, NULL, 10) > 2147483647LL))
		return -EINVAL;
	snprintf(ids, sizeof(ids), "%lld", id);
	const char *p[] = {ids, spm, bpd};
	PGresult *r = PQexecParams(conn,
				   "UPDATE api_tokens SET submissions_per_minute = $2,"
				   " bytes_per_day = $3 WHERE id = $1 AND revoked_at IS NULL",
				   3, NULL, p, NULL, NULL, 0);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -EIO;
	if (rc == 0 && strcmp(PQcmdTuples(r), "1") != 0)
		rc = -ENOENT;
	PQclear(r);
	return rc;
}
