/*
 * npm — how a package is installed inside the sandbox: the npm command
 * line and the environment it runs with. The sandbox has no network, so
 * npm must not wait on registry retries; lifecycle scripts run in the
 * foreground so their output is kept; HOME and npm's cache live in the
 * sandbox's /tmp.
 *
 * Owns: nothing (static, NULL-terminated arrays that live forever).
 * Calls: nothing.
 */
#ifndef SF_NPM_H
#define SF_NPM_H

/* argv of the install, NULL-terminated. */
const char *const *sf_npm_install_argv(void);

/* Its environment (KEY=VALUE), NULL-terminated. */
const char *const *sf_npm_install_env(void);

#endif
