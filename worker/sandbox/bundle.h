/*
 * bundle — writes the OCI runtime bundle of a sandbox spec: config.json
 * with the read-only rootfs, the mounts (proc, dev, a tmpfs /tmp or the
 * caller's, /work bind-mounted read-write, resolv.conf), uid/gid, no
 * capabilities, no_new_privs, the namespaces, cgroup memory and pids
 * limits, and the masked and read-only paths.
 *
 * Owns: the config.json it writes into spec->bundle_dir. Calls: jansson,
 * run (the spec's type only).
 */
#ifndef SF_BUNDLE_H
#define SF_BUNDLE_H

struct sf_sandbox_spec;

/* Writes the OCI config.json for spec into spec->bundle_dir; 0, -ENOMEM
 * or -EIO. */
int sf_sandbox_write_bundle(const struct sf_sandbox_spec *spec);

#endif
