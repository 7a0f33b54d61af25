/* fetch — see fetch.h. */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http_client.h"
#include "sha256.h"

/* One download attempt into s (whose file and hash start empty). Sets
 * *transient when trying again later may succeed. */
static int fetch_once(const char *url, const char *secret, const char *ca_file,
		      struct sf_http_hash_sink *s, bool *transient, char *err, size_t errlen)
{
	struct sf_http_request req = {.url = url,
				      .bearer = secret,
				      .ca_file = ca_file,
				      .fail_on_error = true,
				      .connect_timeout_s = 10,
				      .low_speed_time_s = 30,
				      .sink = sf_http_hash_sink_write,
				      .sink_ctx = s};
	struct sf_http_response resp;
	int rc = sf_http_perform(NULL, &req, &resp);
	*transient = rc == -EIO && sf_http_transient(&resp);
	if (rc == -EIO && resp.curl == CURLE_HTTP_RETURNED_ERROR)
		snprintf(err, errlen, "artifact download from %s failed: HTTP %ld", url, resp.status);
	else if (rc == -EIO)
		snprintf(err, errlen, "artifact download from %s failed: %s", url,
			 sf_http_strerror(&resp));
	else if (rc)
		snprintf(err, errlen, "artifact download: %s",
			 rc == -EBADMSG ? "more bytes than the job announced" : strerror(-rc));
	return rc;
}

int sf_fetch(const char *url, const char *sha256, long long size, const char *path,
	     const char *secret, const char *ca_file, int retry_ms, char *err, size_t errlen)
{
	struct sf_http_hash_sink s;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	int rc = sf_http_hash_sink_init(&s, fd, size);
	if (rc) {
		close(fd);
		unlink(path);
		return rc;
	}
	int64_t give_up = sf_monotonic_ms() + retry_ms;
	int pause_ms = 250;
	for (;;) {
		bool transient;
		rc = fetch_once(url, secret, ca_file, &s, &transient, err, errlen);
		if (rc == 0 || !transient || sf_monotonic_ms() + pause_ms > give_up)
			break;
		/* start over: an empty file, a fresh digest */
		if ((rc = sf_http_hash_sink_reset(&s)))
			goto out;
		usleep((useconds_t)pause_ms * 1000);
		pause_ms = pause_ms * 2 > 5000 ? 5000 : pause_ms * 2;
	}
	if (rc)
		goto out;
	char got[SF_SHA256_HEX + 1];
	if ((rc = sf_http_hash_sink_final(&s, got)))
		goto out;
	if (s.got != size || strcmp(got, sha256) != 0) {
		rc = -EBADMSG;
		snprintf(err, errlen, "artifact mismatch: got %lld bytes sha256 %s, expected %lld bytes %s",
			 s.got, got, size, sha256);
		goto out;
	}
	if (fsync(fd) != 0)
		rc = -errno;
out:
	sf_http_hash_sink_free(&s);
	close(fd);
	if (rc)
		unlink(path);
	return rc;
}
