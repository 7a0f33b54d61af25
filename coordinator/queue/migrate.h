/*
 * migrate — brings a database to the schema this coordinator carries: the
 * sql/ files compiled into it (migrations.h) that schema_migrations does not
 * list yet are applied in order, each in its own transaction, under an
 * advisory lock so that coordinators starting together do not race.
 *
 * Owns: nothing. Calls: db (statement helpers), migrations, libpq, log.
 */
#ifndef SF_MIGRATE_H
#define SF_MIGRATE_H

#include <libpq-fe.h>

/* 0, or -EIO (logged) when a migration failed; it is rolled back. */
int sf_migrate(PGconn *conn);

#endif
