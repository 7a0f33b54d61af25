/* npm — see npm.h. */
#include "npm.h"

#include <stddef.h>

const char *const *sf_npm_install_argv(void)
{
	/* The sandbox has no network: npm must not wait on registry retries.
	 * Lifecycle scripts run in the foreground so their output is kept. */
	static const char *const argv[] = {"npm", "install", "--offline", "--no-audit",
					   "--no-fund", "--foreground-scripts", "--loglevel=warn",
					   NULL};
	return argv;
}

const char *const *sf_npm_install_env(void)
{
	static const char *const envv[] = {
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	    "HOME=/tmp",
	    "npm_config_cache=/tmp/.npm",
	    "npm_config_update_notifier=false",
	    "TERM=dumb",
	    NULL};
	return envv;
}
