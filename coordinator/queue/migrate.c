/* migrate — see migrate.h. */
#include "migrate.h"

#include <stdbool.h>
#include <stdio.h>

#include "db.h"
#include "log.h"
#include "migrations.h"

int sf_migrate(PGconn *conn)
{
	int rc = sf_db_exec(conn, "SELECT pg_advisory_lock(7301001)");
	if (rc)
		return rc;
	rc = sf_db_exec(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			      " version integer PRIMARY KEY, name text NOT NULL,"
			      " applied_at timestamptz NOT NULL DEFAULT now())");
	for (unsigned i = 0; rc == 0 && i < sf_migrations_count; i++) {
		const struct sf_migration *m = &sf_migrations[i];
		char ver[16];
		snprintf(ver, sizeof(ver), "%d", m->version);
		const char *p[] = {ver, m->name};
		PGresult *r = sf_db_params(conn, "SELECT 1 FROM schema_migrations WHERE version = $1",
					   1, p);
		rc = sf_db_result_ok(conn, r, "migrations");
		bool applied = rc == 0 && PQntuples(r) > 0;
		PQclear(r);
		if (rc || applied)
			continue;
		sf_info("postgresql: applying migration %s", m->name);
		if ((rc = sf_db_exec(conn, "BEGIN")))
			break;
		if ((rc = sf_db_exec(conn, m->sql)) ||
		    (rc = sf_db_run(conn, "migrations: record",
				    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
				    p, NULL)) ||
		    (rc = sf_db_exec(conn, "COMMIT")))
			sf_db_rollback(conn);
	}
	sf_db_exec(conn, "SELECT pg_advisory_unlock(7301001)");
	return rc;
}
