/* workers — see workers.h. */
#include "workers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "db.h"

int sf_workers_seen(PGconn *conn, const struct sf_hello *h)
{
	char cap[16], running[16];
	snprintf(cap, sizeof(cap), "%d", h->capacity);
	snprintf(running, sizeof(running), "%d", h->running);
	const char *p[] = {h->worker_id, h->version, cap, running, h->sensor, h->ruleset_digest,
			   h->image_digest};
	return sf_db_run(conn, "worker seen",
			 "INSERT INTO workers (id, version, capacity, running, sensor, ruleset_digest,"
			 " image_digest) VALUES ($1, $2, $3, $4, $5, $6, $7)"
			 " ON CONFLICT (id) DO UPDATE SET version = $2, capacity = $3, running = $4,"
			 " sensor = $5, ruleset_digest = $6, image_digest = $7, last_seen = now()",
			 7, p, NULL);
}

int sf_workers_list(PGconn *conn, int live_s, json_t **out)
{
	char live[16];
	snprintf(live, sizeof(live), "%d", live_s);
	const char *p[] = {live};
	PGresult *r = sf_db_params(
	    conn,
	    "SELECT id, coalesce(version, ''), capacity, running, coalesce(sensor, ''),"
	    " coalesce(ruleset_digest, ''), coalesce(image_digest, ''),"
	    " to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " last_seen > now() - make_interval(secs => $1::int)"
	    " FROM workers ORDER BY id",
	    1, p);
	json_t *list = json_array();
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && list;
	int rc = !list ? -ENOMEM : ok ? 0 : -EIO;
	for (int i = 0; ok && i < PQntuples(r); i++)
		json_array_append_new(
		    list, json_pack("{s:s,s:s,s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "id",
				    PQgetvalue(r, i, 0), "version", PQgetvalue(r, i, 1), "capacity",
				    atoi(PQgetvalue(r, i, 2)), "running", atoi(PQgetvalue(r, i, 3)),
				    "sensor", PQgetvalue(r, i, 4), "ruleset_digest",
				    PQgetvalue(r, i, 5), "image_digest", PQgetvalue(r, i, 6),
				    "first_seen", PQgetvalue(r, i, 7), "last_seen",
				    PQgetvalue(r, i, 8), "state",
				    PQgetvalue(r, i, 9)[0] == 't' ? "live" : "gone"));
	PQclear(r);
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

int sf_workers_count(PGconn *conn, int live_s, long long *live, long long *gone)
{
	char live_str[16];
	snprintf(live_str, sizeof(live_str), "%d", live_s);
	const char *p[] = {live_str};
	PGresult *r = sf_db_params(
	    conn,
	    "SELECT count(*) FILTER (WHERE last_seen >= now() - make_interval(secs => $1::int)),"
	    " count(*) FILTER (WHERE last_seen < now() - make_interval(secs => $1::int))"
	    " FROM workers",
	    1, p);
	int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? 0 : -EIO;
	if (rc == 0) {
		*live = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		*gone = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	}
	PQclear(r);
	return rc;
}
