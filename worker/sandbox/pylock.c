/* pylock — see pylock.h. */
#include "pylock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "body.h"
#include "depset.h"
#include "lock_python.h"

int sf_pylock_poetry(const char *text, size_t len, struct sf_buf *out, char *err, size_t errlen)
{
	struct sf_depset set;
	struct sf_lockfile lf;
	sf_depset_init(&set);
	int rc = sf_lockfile_begin(&lf, &set, "body", "poetry.lock");
	if (rc == 0) {
		rc = sf_lock_poetry(&lf, text, len);
		int end = sf_lockfile_end(&lf);
		rc = rc ? rc : end;
	}
	/* a malformed file, or an entry the reader skipped (not from an index) */
	if (rc || set.ndiags) {
		snprintf(err, errlen, "poetry.lock: %s",
			 set.ndiags && set.diags[0].reason ? set.diags[0].reason : strerror(-rc));
		rc = rc ? rc : -EBADMSG;
	}
	for (size_t i = 0; rc == 0 && i < set.ndeps; i++) {
		const struct sf_dep *d = &set.deps[i];
		if (d->source || !sf_body_valid_name(d->name)) {
			snprintf(err, errlen, "poetry.lock: %.100s is not an index package", d->name);
			rc = -EBADMSG;
			break;
		}
		rc = sf_buf_appendf(out, "%s==%s", d->name, d->version);
		char hs[8192];
		snprintf(hs, sizeof(hs), "%s", d->integrity ? d->integrity : "");
		char *save = NULL;
		for (char *h = strtok_r(hs, " ", &save); h && rc == 0; h = strtok_r(NULL, " ", &save))
			if (!strncmp(h, "sha256:", 7) && strlen(h) == 71 && sf_is_hex(h + 7, 64))
				rc = sf_buf_appendf(out, " --hash=%s", h);
		if (rc == 0)
			rc = sf_buf_append(out, "\n", 1);
	}
	sf_depset_free(&set);
	return rc;
}
