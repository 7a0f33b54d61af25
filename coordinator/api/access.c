/* access — see access.h. */
#include "access.h"

#include <string.h>

#include "auth.h"
#include "reply.h"
#include "secret.h"

bool sf_access_allowed(const struct sf_access_config *cfg, struct sf_db_pool *pool,
		       struct MHD_Connection *c, const char *url, enum MHD_Result *reply)
{
	const char *header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (strncmp(url, "/v1/artifacts/", 14) == 0) {
		/* workers only: the shared worker secret */
		if (!cfg->worker_secret ||
		    sf_secret_equal(sf_auth_bearer(header), cfg->worker_secret))
			return true;
		*reply = sf_reply_error(c, 401, "unauthorized",
					"artifact downloads need the worker secret");
		return false;
	}
	bool v1 = strncmp(url, "/v1/", 4) == 0;
	bool ph = strcmp(url, "/") == 0 || strncmp(url, "/monitor/", 9) == 0;
	if (!((v1 && cfg->auth) || (ph && cfg->auth_package_hunter)))
		return true;
	bool ok = false;
	PGconn *db = sf_db_get(pool);
	int rc = sf_auth_check_bearer(db, header, &ok);
	sf_db_put(pool, db);
	if (rc) {
		*reply = sf_reply_error(c, 503, "database_unavailable",
					"cannot check the token; retry");
		return false;
	}
	if (!ok) {
		*reply = sf_reply_error(c, 401, "unauthorized",
					"an API token is required: Authorization: Bearer <token>");
		return false;
	}
	return true;
}
