/*
 * pgtest — gives a test its own fresh database on the test cluster.
 *
 * The ctest fixture (tests/CMakeLists.txt) starts PostgreSQL with
 * scripts/pg.sh and writes its DSN to the file named by SCANFARM_TEST_DSN_FILE.
 */
#ifndef SF_PGTEST_H
#define SF_PGTEST_H

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

/* Creates database <name>_<pid>; fills dsn with a DSN for it. */
static void pgtest_create(const char *name, char *dsn, size_t dsnlen, char *dbname, size_t dblen)
{
	const char *file = getenv("SCANFARM_TEST_DSN_FILE");
	char *base = NULL;
	if (!file || sf_read_file(file, 4096, &base, NULL) != 0)
		SKIP("no test PostgreSQL (SCANFARM_TEST_DSN_FILE)");
	base[strcspn(base, "\n")] = '\0';
	PGconn *c = PQconnectdb(base);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect to %s: %s", base, PQerrorMessage(c));
		exit(1);
	}
	snprintf(dbname, dblen, "%s_%d", name, (int)getpid());
	char sql[256];
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", dbname);
	PQclear(PQexec(c, sql));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "%s", PQerrorMessage(c));
		exit(1);
	}
	PQclear(r);
	PQfinish(c);
	/* Replace dbname=… in the base DSN. */
	char *db = strstr(base, "dbname=");
	if (db) {
		char *end = strchr(db, ' ');
		snprintf(dsn, dsnlen, "%.*sdbname=%s%s", (int)(db - base), base, dbname,
			 end ? end : "");
	} else {
		snprintf(dsn, dsnlen, "%s dbname=%s", base, dbname);
	}
	free(base);
}

#endif
