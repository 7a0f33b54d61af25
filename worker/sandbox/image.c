/* image — see image.h. */
#include "image.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "sha256.h"

#define IMAGE_SANDBOX_RECIPE "scanfarm-sandbox-5" /* = ROOTFS_RECIPE in scripts/setup.sh */

int sf_image_digest(const char *rootfs, char hex[SF_SHA256_HEX + 1])
{
	char path[PATH_MAX + 64];
	struct sf_sha256 h;
	char *status = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", rootfs);
	int rc = sf_read_file(path, 64 << 20, &status, &len);
	if (rc)
		return rc;
	if ((rc = sf_sha256_init(&h)) == 0) {
		if ((rc = sf_sha256_update(&h, IMAGE_SANDBOX_RECIPE "\n",
					   sizeof(IMAGE_SANDBOX_RECIPE))) == 0 &&
		    (rc = sf_sha256_update(&h, status, len)) == 0)
			rc = sf_sha256_final(&h, hex);
		sf_sha256_free(&h);
	}
	free(status);
	return rc;
}
