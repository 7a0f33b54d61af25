/* fetch_test — the worker's artifact download against a real HTTP server on
 * loopback (python3 -m http.server): a good download, a hash mismatch, a
 * missing file (no retry), and a server that only comes up after a while
 * (retried until it answers; or given up after the retry window). */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fetch.h"
#include "harness.h"
#include "sha256.h"
#include "util.h"

static char dir[] = "/tmp/sf-fetch-test-XXXXXX";
static int port;

/* Starts the server after delay_ms; returns its pid. */
static pid_t server_start(int delay_ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		usleep((useconds_t)delay_ms * 1000);
		char p[16];
		snprintf(p, sizeof(p), "%d", port);
		freopen("/dev/null", "w", stderr);
		freopen("/dev/null", "w", stdout);
		execlp("python3", "python3", "-m", "http.server", p, "--bind", "127.0.0.1",
		       "--directory", dir, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void server_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	if (system("python3 -c 1 2>/dev/null") != 0)
		SKIP("python3 missing");
	if (!mkdtemp(dir))
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	port = 30000 + getpid() % 20000;
	const char body[] = "the artifact's bytes\n";
	char file[128], out[128], url[128], missing[128], sha[SF_SHA256_HEX + 1], err[512];
	snprintf(file, sizeof(file), "%s/a.tgz", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/a.tgz", port);
	snprintf(missing, sizeof(missing), "http://127.0.0.1:%d/nope.tgz", port);
	CHECK_EQ(sf_write_file(file, body, sizeof(body) - 1), 0);
	struct sf_sha256 h;
	CHECK_EQ(sf_sha256_init(&h), 0);
	sf_sha256_update(&h, body, sizeof(body) - 1);
	sf_sha256_final(&h, sha);
	sf_sha256_free(&h);
	long long size = (long long)sizeof(body) - 1;

	/* The server comes up 1.5 s late: the download waits for it. */
	pid_t srv = server_start(1500);
	int64_t t0 = sf_monotonic_ms();
	int rc = sf_fetch(url, sha, size, out, NULL, NULL, 20000, err, sizeof(err));
	int64_t took = sf_monotonic_ms() - t0;
	if (rc)
		fprintf(stderr, "fetch: %s\n", err);
	CHECK_EQ(rc, 0);
	CHECK(took >= 1000); /* it did have to wait */
	char *got = NULL;
	size_t len = 0;
	CHECK_EQ(sf_read_file(out, 1 << 20, &got, &len), 0);
	CHECK(len == (size_t)size && got && memcmp(got, body, len) == 0);
	free(got);

	/* Not there (404): no retry, an error at once, no file left. */
	t0 = sf_monotonic_ms();
	CHECK_EQ(sf_fetch(missing, sha, size, out, NULL, NULL, 20000, err, sizeof(err)), -EIO);
	CHECK(sf_monotonic_ms() - t0 < 2000);
	CHECK(strstr(err, "HTTP 404") != NULL);
	CHECK(access(out, F_OK) != 0);

	/* Bytes that are not the announced ones: refused. */
	char wrong[SF_SHA256_HEX + 1];
	memset(wrong, 'a', SF_SHA256_HEX);
	wrong[SF_SHA256_HEX] = '\0';
	CHECK_EQ(sf_fetch(url, wrong, size, out, NULL, NULL, 20000, err, sizeof(err)), -EBADMSG);
	CHECK(access(out, F_OK) != 0);
	server_stop(srv);

	/* Nobody ever answers: given up after the retry window. */
	t0 = sf_monotonic_ms();
	CHECK_EQ(sf_fetch(url, sha, size, out, NULL, NULL, 1500, err, sizeof(err)), -EIO);
	took = sf_monotonic_ms() - t0;
	CHECK(took >= 700 && took < 6000);
	CHECK(strstr(err, "failed") != NULL);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	curl_global_cleanup();
	TEST_DONE();
}
