/* db — see db.h. */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* -------------------------------------------------------------- the pool */

/* Session settings every pooled connection has; run again after a reset. */
static void db_session_setup(PGconn *c)
{
	/* Commits do not wait for the WAL flush by default: what the queue
	 * writes on its own (claims, leases, ingested batches, heartbeats) is
	 * never acknowledged to anyone, so a commit lost in a crash only means
	 * the lease expires and the job runs again. Statements that answer a
	 * client (sf_enqueue_submit, sf_jobs_cancel, …) turn it back on for
	 * themselves. */
	PGresult *r = PQexec(c, "SET client_min_messages = warning; SET synchronous_commit = off");
	PQclear(r);
}

static PGconn *db_connect(const char *dsn)
{
	PGconn *c = PQconnectdb(dsn);
	if (!c)
		return NULL;
	if (PQstatus(c) != CONNECTION_OK) {
		sf_error("postgresql: connect failed: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	db_session_setup(c);
	return c;
}

/* Whether an idle pooled connection can take a statement. libpq updates
 * PQstatus only when it next reads, so a connection whose server restarted
 * (or whose backend was terminated) still says CONNECTION_OK and would fail
 * its next statement even though the server is back. An idle connection
 * has nothing to read: a readable socket means the server sent its FATAL
 * goodbye and closed it. */
static bool db_conn_usable(PGconn *c)
{
	if (PQstatus(c) != CONNECTION_OK)
		return false;
	struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
	if (p.fd < 0)
		return false;
	return poll(&p, 1, 0) <= 0; /* 0: nothing pending; -1: let the statement tell */
}

int sf_db_pool_open(struct sf_db_pool *pool, const char *dsn, int size)
{
	memset(pool, 0, sizeof(*pool));
	pool->dsn = strdup(dsn);
	pool->conns = calloc((size_t)size, sizeof(PGconn *));
	pool->busy = calloc((size_t)size, sizeof(bool));
	pool->size = size;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	if (!pool->dsn || !pool->conns || !pool->busy) {
		sf_db_pool_close(pool);
		return -ENOMEM;
	}
	for (int i = 0; i < size; i++) {
		pool->conns[i] = db_connect(dsn);
		if (!pool->conns[i]) {
			sf_db_pool_close(pool);
			return -ECONNREFUSED;
		}
	}
	return 0;
}

void sf_db_pool_close(struct sf_db_pool *pool)
{
	for (int i = 0; pool->conns && i < pool->size; i++)
		if (pool->conns[i])
			PQfinish(pool->conns[i]);
	free(pool->conns);
	free(pool->busy);
	free(pool->dsn);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->freed);
	memset(pool, 0, sizeof(*pool));
}

PGconn *sf_db_get(struct sf_db_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	int idx = -1;
	for (;;) {
		for (int i = 0; i < pool->size; i++) {
			if (!pool->busy[i]) {
				idx = i;
				break;
			}
		}
		if (idx >= 0)
			break;
		pthread_cond_wait(&pool->freed, &pool->lock);
	}
	pool->busy[idx] = true;
	pthread_mutex_unlock(&pool->lock);

	PGconn *c = pool->conns[idx];
	if (!db_conn_usable(c)) {
		/* The server restarted or the socket broke: try once to reconnect;
		 * callers see -EIO from their statement if it is still down. */
		PQreset(c);
		if (PQstatus(c) == CONNECTION_OK) {
			db_session_setup(c);
			sf_info("postgresql: reconnected");
		}
	}
	return c;
}

void sf_db_put(struct sf_db_pool *pool, PGconn *conn)
{
	pthread_mutex_lock(&pool->lock);
	for (int i = 0; i < pool->size; i++) {
		if (pool->conns[i] == conn) {
			pool->busy[i] = false;
			break;
		}
	}
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

/* ------------------------------------------------------------ statements */

int sf_db_result_ok(PGconn *conn, PGresult *r, const char *what)
{
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	sf_error("postgresql: %s: %s", what, PQerrorMessage(conn));
	return -EIO;
}

int sf_db_exec(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	int rc = sf_db_result_ok(conn, r, sql);
	PQclear(r);
	return rc;
}

PGresult *sf_db_params(PGconn *conn, const char *sql, int n, const char *const *vals)
{
	return PQexecParams(conn, sql, n, NULL, vals, NULL, NULL, 0);
}

/*
 * Runs one of the hot statements (claims, ingestion) prepared under `name`:
 * planning these CTE statements costs more than running them. A statement
 * is prepared on a connection's first use (and again after a reset, which
 * drops it) — but only outside a transaction, where a failed attempt to run
 * an unknown statement (SQLSTATE 26000) aborts nothing; inside one, the
 * statement is simply planned as usual.
 */
PGresult *sf_db_prepared(PGconn *conn, const char *name, const char *sql, int n,
			 const char *const *vals)
{
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return sf_db_params(conn, sql, n, vals);
	PGresult *r = PQexecPrepared(conn, name, n, vals, NULL, NULL, 0);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (PQresultStatus(r) != PGRES_FATAL_ERROR || !state || strcmp(state, "26000") != 0)
		return r;
	PQclear(r);
	r = PQprepare(conn, name, sql, n, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return r;
	PQclear(r);
	return PQexecPrepared(conn, name, n, vals, NULL, NULL, 0);
}

int sf_db_run(PGconn *conn, const char *what, const char *sql, int n, const char *const *vals,
	      int *rows)
{
	PGresult *r = sf_db_params(conn, sql, n, vals);
	int rc = sf_db_result_ok(conn, r, what);
	if (rows)
		*rows = rc ? 0 : PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r)
								      : atoi(PQcmdTuples(r));
	PQclear(r);
	return rc;
}

void sf_db_rollback(PGconn *conn)
{
	PGresult *r = PQexec(conn, "ROLLBACK");
	PQclear(r);
}

int sf_db_ping(PGconn *conn)
{
	return sf_db_exec(conn, "SELECT 1");
}
