/*
 * db — the coordinator's connections to PostgreSQL: a pool every thread
 * borrows from, and the statement helpers every module that speaks SQL
 * uses (result checks, the run-check-clear of a statement, prepared hot
 * statements, rollback).
 *
 * PostgreSQL is the source of truth (DESIGN.md): NNG only carries what the
 * queue decided there. A pooled connection whose server went away is reset
 * when it is next borrowed.
 *
 * Owns: the pool's connections. Calls: libpq, log.
 * All functions return 0 or a negative errno code; -EIO means PostgreSQL
 * said no (the message is logged). PGresult returned are the caller's to
 * PQclear.
 */
#ifndef SF_DB_H
#define SF_DB_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>

struct sf_db_pool {
	char *dsn;
	PGconn **conns;
	bool *busy;
	int size;
	pthread_mutex_t lock;
	pthread_cond_t freed;
};

int sf_db_pool_open(struct sf_db_pool *pool, const char *dsn, int size);
void sf_db_pool_close(struct sf_db_pool *pool);
/* Borrows a connection (blocking while all are busy); a broken connection is
 * reset first. Return it with sf_db_put. */
PGconn *sf_db_get(struct sf_db_pool *pool);
void sf_db_put(struct sf_db_pool *pool, PGconn *conn);

/* 0 when r is a successful result; otherwise logs "postgresql: what: …"
 * and returns -EIO. r stays the caller's to PQclear. */
int sf_db_result_ok(PGconn *conn, PGresult *r, const char *what);
/* Runs one statement without parameters; logs and returns -EIO on failure. */
int sf_db_exec(PGconn *conn, const char *sql);
/* A parameterised statement, text in and out. */
PGresult *sf_db_params(PGconn *conn, const char *sql, int n, const char *const *vals);
/* The same, prepared under `name` on the connection's first use (outside a
 * transaction): for the hot statements, whose planning costs more than
 * running them. */
PGresult *sf_db_prepared(PGconn *conn, const char *name, const char *sql, int n,
			 const char *const *vals);
/* Runs a parameterised statement whose rows are not needed, checks it
 * (errors logged as "what") and clears it; *rows (if not NULL) says how
 * many rows it returned or changed. */
int sf_db_run(PGconn *conn, const char *what, const char *sql, int n, const char *const *vals,
	      int *rows);
/* Ends the transaction in progress, if any, without its changes. */
void sf_db_rollback(PGconn *conn);
/* Whether the server answers a statement (readiness). */
int sf_db_ping(PGconn *conn);

#endif
