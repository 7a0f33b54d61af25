/* fetch — see fetch.h. */
#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"

struct fetch_sink {
	int fd;
	struct sf_sha256 hash;
	long long got;
	long long want;
	int rc;
};

static size_t fetch_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct fetch_sink *s = userp;
	size_t n = size * nmemb;
	if (s->got + (long long)n > s->want) {
		s->rc = -EBADMSG; /* more bytes than announced: stop now */
		return 0;
	}
	if ((s->rc = sf_write_all(s->fd, data, n)) || (s->rc = sf_sha256_update(&s->hash, data, n)))
		return 0;
	s->got += (long long)n;
	return n;
}

/* One download attempt into s (whose file and hash start empty). Sets
 * *transient when trying again later may succeed. */
static int fetch_once(const char *url, const char *secret, struct fetch_sink *s,
		      bool *transient, char *err, size_t errlen)
{
	struct curl_slist *headers = NULL;
	*transient = false;
	CURL *c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (secret) {
		char auth[600];
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", secret);
		if (!(headers = curl_slist_append(NULL, auth))) {
			curl_easy_cleanup(c);
			return -ENOMEM;
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	}
	CURLcode cc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	if (s->rc) {
		snprintf(err, errlen, "artifact download: %s",
			 s->rc == -EBADMSG ? "more bytes than the job announced" : strerror(-s->rc));
		return s->rc;
	}
	if (cc != CURLE_OK) {
		*transient = cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT ||
			     cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
			     cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE ||
			     (cc == CURLE_HTTP_RETURNED_ERROR && (status == 429 || status >= 500));
		if (cc == CURLE_HTTP_RETURNED_ERROR)
			snprintf(err, errlen, "artifact download from %s failed: HTTP %ld", url,
				 status);
		else
			snprintf(err, errlen, "artifact download from %s failed: %s", url,
				 curl_easy_strerror(cc));
		return -EIO;
	}
	return 0;
}

int sf_fetch(const char *url, const char *sha256, long long size, const char *path,
	     const char *secret, int retry_ms, char *err, size_t errlen)
{
	struct fetch_sink s = {.want = size};
	int rc = 0;
	s.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (s.fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	if ((rc = sf_sha256_init(&s.hash))) {
		close(s.fd);
		return rc;
	}
	int64_t give_up = sf_monotonic_ms() + retry_ms;
	int pause_ms = 250;
	for (;;) {
		bool transient;
		rc = fetch_once(url, secret, &s, &transient, err, errlen);
		if (rc == 0 || !transient || sf_monotonic_ms() + pause_ms > give_up)
			break;
		/* start over: an empty file, a fresh digest */
		sf_sha256_free(&s.hash);
		if ((rc = sf_sha256_init(&s.hash)))
			goto out_closed_hash;
		if (ftruncate(s.fd, 0) != 0 || lseek(s.fd, 0, SEEK_SET) != 0) {
			rc = -errno;
			goto out;
		}
		s.got = 0;
		usleep((useconds_t)pause_ms * 1000);
		pause_ms = pause_ms * 2 > 5000 ? 5000 : pause_ms * 2;
	}
	if (rc)
		goto out;
	char got[SF_SHA256_HEX + 1];
	if ((rc = sf_sha256_final(&s.hash, got)))
		goto out;
	if (s.got != size || strcmp(got, sha256) != 0) {
		rc = -EBADMSG;
		snprintf(err, errlen, "artifact mismatch: got %lld bytes sha256 %s, expected %lld bytes %s",
			 s.got, got, size, sha256);
		goto out;
	}
	if (fsync(s.fd) != 0)
		rc = -errno;
out:
	sf_sha256_free(&s.hash);
out_closed_hash:
	close(s.fd);
	if (rc)
		unlink(path);
	return rc;
}
