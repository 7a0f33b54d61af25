/*
 * image — the sandbox image's digest: what was installed in the rootfs
 * (dpkg's status file lists every package and version) plus the version
 * of the sandbox recipe. Together with the rules' digest it says whether
 * a verdict from another run still holds (the coordinator's verdict
 * cache), so the worker reports it with hellos and results.
 *
 * Owns: nothing after return (the digest is written into the caller's
 * buffer). Calls: sha256, util.
 */
#ifndef SF_IMAGE_H
#define SF_IMAGE_H

#include "util.h"

/* Digests <rootfs>/var/lib/dpkg/status; 0 or a negative errno. */
int sf_image_digest(const char *rootfs, char hex[SF_SHA256_HEX + 1]);

#endif
