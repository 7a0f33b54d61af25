/*
 * gateway_test — the private-registry gateway (worker/sandbox/gateway.c)
 * against two real HTTP servers on the loopback standing in for a
 * registry and the blob store it redirects to: the credential added to
 * what it forwards, never to another origin after a redirect; only GET and
 * HEAD under the registry's path; dot segments refused; the registry's
 * status passed on; a registry that is down is a 502. And the lockfile
 * retargeting (worker/sandbox/project.c) that sends yarn.lock and
 * pnpm-lock.yaml URLs to the gateway.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"
#include "harness.h"
#include "project.h"
#include "secret.h"
#include "util.h"

struct upstream {
	struct MHD_Daemon *d;
	unsigned port;
	char last_auth[256]; /* Authorization of the last request, "" if none */
	char last_path[256];
	char redirect_to[256]; /* answer /private/blob/… with a 302 there */
};

static enum MHD_Result upstream_handle(void *cls, struct MHD_Connection *c, const char *url,
				       const char *method, const char *version, const char *data,
				       size_t *size, void **con_cls)
{
	struct upstream *u = cls;
	(void)method, (void)version, (void)data, (void)size, (void)con_cls;
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	snprintf(u->last_auth, sizeof(u->last_auth), "%s", auth ? auth : "");
	snprintf(u->last_path, sizeof(u->last_path), "%s", url);
	unsigned status = 200;
	const char *body = "{\"name\":\"pkg\"}";
	if (strstr(url, "missing")) {
		status = 404;
		body = "{\"error\":\"not found\"}";
	}
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (u->redirect_to[0] && strncmp(url, "/private/blob/", 14) == 0) {
		status = 302;
		MHD_add_response_header(r, "Location", u->redirect_to);
	}
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* the registry sees the path exactly as it was sent */
static size_t upstream_raw(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls, (void)c;
	return strlen(s);
}

static int upstream_start(struct upstream *u)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	u->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, upstream_handle, u,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_UNESCAPE_CALLBACK, upstream_raw, NULL, MHD_OPTION_END);
	const union MHD_DaemonInfo *i = u->d ? MHD_get_daemon_info(u->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!i)
		return -1;
	u->port = i->port;
	return 0;
}

struct got {
	long status;
	char body[512];
	size_t len;
};

static size_t got_write(char *p, size_t s, size_t n, void *arg)
{
	struct got *g = arg;
	size_t k = s * n, room = sizeof(g->body) - 1 - g->len;
	memcpy(g->body + g->len, p, k < room ? k : room);
	g->len += k < room ? k : room;
	g->body[g->len] = 0;
	return k;
}

/* A request to the gateway as a package manager in the sandbox makes it. */
static struct got ask(const char *base, const char *path, const char *method)
{
	struct got g = {0};
	char url[512];
	snprintf(url, sizeof(url), "%s%s", base, path);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* dot segments sent as written */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, got_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g.status);
	curl_easy_cleanup(c);
	return g;
}

static void test_auth_header(void)
{
	char out[128];
	CHECK(sf_secret_auth_value("npm_abc\n", out, sizeof(out)) == 0 && !strcmp(out, "Bearer npm_abc"));
	CHECK(sf_secret_auth_value("  Basic dXNlcjpwYXNz \r\n", out, sizeof(out)) == 0 &&
	      !strcmp(out, "Basic dXNlcjpwYXNz"));
	CHECK(sf_secret_auth_value("bearer x", out, sizeof(out)) == 0 && !strcmp(out, "bearer x"));
	CHECK(sf_secret_auth_value("\n\n", out, sizeof(out)) == -EINVAL);
	CHECK(sf_secret_auth_value("a\nInjected: yes", out, sizeof(out)) == -EINVAL);
	CHECK(sf_secret_auth_value("tab\there", out, sizeof(out)) == -EINVAL);
	CHECK(sf_secret_auth_value("0123456789", out, 8) == -ENAMETOOLONG);
}

static void test_forwarding(const char *dir)
{
	struct upstream reg = {0}, blob = {0};
	if (upstream_start(&reg) || upstream_start(&blob)) {
		CHECK(!"upstream servers start");
		return;
	}
	snprintf(reg.redirect_to, sizeof(reg.redirect_to), "http://127.0.0.1:%u/stored/x.tgz",
		 blob.port);
	char registry[128], authfile[512], err[256] = "";
	snprintf(registry, sizeof(registry), "http://127.0.0.1:%u/private", reg.port);
	snprintf(authfile, sizeof(authfile), "%s/token", dir);
	CHECK(sf_write_file(authfile, "npm_secret123\n", 14) == 0);
	struct sf_gateway *g = NULL;
	int rc = sf_gateway_start(&g, registry, authfile, NULL, dir, err, sizeof(err));
	CHECK(rc == 0);
	if (rc) {
		fprintf(stderr, "gateway: %s\n", err);
		return;
	}
	const char *base = sf_gateway_origin(g);
	CHECK(strncmp(sf_gateway_url(g), base, strlen(base)) == 0 &&
	      !strcmp(sf_gateway_url(g) + strlen(base), "/private/"));
	char origin[64];
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%u", reg.port);
	CHECK(!strcmp(sf_gateway_registry_origin(g), origin));

	struct got r = ask(base, "/private/@scope%2fpkg", "GET");
	CHECK_EQ(r.status, 200);
	CHECK(!strcmp(r.body, "{\"name\":\"pkg\"}"));
	CHECK(!strcmp(reg.last_auth, "Bearer npm_secret123"));
	CHECK(!strcmp(reg.last_path, "/private/@scope%2fpkg")); /* passed on as written */
	r = ask(base, "/private/pkg", "HEAD");
	CHECK_EQ(r.status, 200);
	r = ask(base, "/private/missing", "GET");
	CHECK_EQ(r.status, 404); /* the registry's own answer */
	reg.last_auth[0] = 0;
	r = ask(base, "/private/blob/pkg-1.0.0.tgz", "GET");
	CHECK_EQ(r.status, 200); /* the redirect followed by the gateway */
	CHECK(!strcmp(blob.last_path, "/stored/x.tgz"));
	CHECK(!strcmp(blob.last_auth, "")); /* the credential stays with the registry */
	CHECK(!strcmp(reg.last_auth, "Bearer npm_secret123"));

	reg.last_path[0] = 0;
	CHECK_EQ(ask(base, "/other/pkg", "GET").status, 403);
	CHECK_EQ(ask(base, "/private/../-/whoami", "GET").status, 403);
	CHECK_EQ(ask(base, "/private/%2e%2e/-/whoami", "GET").status, 403);
	CHECK_EQ(ask(base, "/private/x/..", "GET").status, 403);
	CHECK_EQ(ask(base, "/private/pkg", "PUT").status, 405);
	CHECK_EQ(ask(base, "/private/pkg", "DELETE").status, 405);
	CHECK(reg.last_path[0] == 0); /* none of those reached the registry */
	CHECK(sf_gateway_requests(g) == 4);

	MHD_stop_daemon(reg.d); /* the registry goes down */
	r = ask(base, "/private/pkg", "GET");
	CHECK_EQ(r.status, 502);
	CHECK(strstr(r.body, "did not answer") != NULL);
	sf_gateway_stop(g);
	MHD_stop_daemon(blob.d);

	/* a credential file that is not one line is refused at start */
	CHECK(sf_write_file(authfile, "a\nb\n", 4) == 0);
	CHECK(sf_gateway_start(&g, registry, authfile, NULL, dir, err, sizeof(err)) == -EINVAL);
	CHECK(sf_gateway_start(&g, "ftp://x/", authfile, NULL, dir, err, sizeof(err)) == -EINVAL);
}

static void retarget(const char *dir, enum sf_lockfile lock, const char *file, const char *text,
		     const char *want, unsigned want_changed)
{
	char path[512], *got = NULL;
	size_t len = 0;
	unsigned changed = 99;
	struct sf_project p = {.lock = lock};
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	CHECK(sf_write_file(path, text, strlen(text)) == 0);
	CHECK(sf_project_retarget_lockfile(&p, dir, "https://npm.corp.example:8443",
					   "http://127.0.0.1:4873", &changed) == 0);
	CHECK_EQ(changed, want_changed);
	CHECK(sf_read_file(path, 1 << 20, &got, &len) == 0);
	if (got && strcmp(got, want) != 0)
		fprintf(stderr, "retarget %s: got\n%s\nwant\n%s\n", file, got, want);
	CHECK(got && !strcmp(got, want));
	free(got);
	unlink(path);
}

static void test_retarget(const char *dir)
{
	retarget(dir, SF_LOCK_YARN, "yarn.lock",
		 "a@1.0.0:\n  version \"1.0.0\"\n"
		 "  resolved \"https://npm.corp.example:8443/a/-/a-1.0.0.tgz#abc\"\n"
		 "  integrity sha512-x\n"
		 "b@2.0.0:\n  resolved \"https://npm.corp.example:84430/b/-/b-2.0.0.tgz\"\n"
		 "c@3.0.0:\n  resolved \"https://other.example/c/-/c-3.0.0.tgz\"\n"
		 "d@4.0.0:\n  resolved \"https://npm.corp.example:8443/d/-/d-4.0.0.tgz\"\n",
		 "a@1.0.0:\n  version \"1.0.0\"\n"
		 "  resolved \"http://127.0.0.1:4873/a/-/a-1.0.0.tgz#abc\"\n"
		 "  integrity sha512-x\n"
		 "b@2.0.0:\n  resolved \"https://npm.corp.example:84430/b/-/b-2.0.0.tgz\"\n"
		 "c@3.0.0:\n  resolved \"https://other.example/c/-/c-3.0.0.tgz\"\n"
		 "d@4.0.0:\n  resolved \"http://127.0.0.1:4873/d/-/d-4.0.0.tgz\"\n",
		 2);
	retarget(dir, SF_LOCK_PNPM, "pnpm-lock.yaml",
		 "  a@1.0.0:\n    resolution: {integrity: sha512-x, tarball: "
		 "https://npm.corp.example:8443/-/a-1.0.0.tgz}\n"
		 "  b@1.0.0:\n    resolution: {tarball: 'https://npm.corp.example:8443/-/b.tgz'}\n"
		 "  c@1.0.0:\n    resolution: {integrity: sha512-y}\n",
		 "  a@1.0.0:\n    resolution: {integrity: sha512-x, tarball: "
		 "http://127.0.0.1:4873/-/a-1.0.0.tgz}\n"
		 "  b@1.0.0:\n    resolution: {tarball: 'http://127.0.0.1:4873/-/b.tgz'}\n"
		 "  c@1.0.0:\n    resolution: {integrity: sha512-y}\n",
		 2);
	/* npm's lockfiles are left to npm (replace-registry-host) */
	retarget(dir, SF_LOCK_NPM, "package-lock.json",
		 "{\"resolved\": \"https://npm.corp.example:8443/a/-/a-1.0.0.tgz\"}",
		 "{\"resolved\": \"https://npm.corp.example:8443/a/-/a-1.0.0.tgz\"}", 0);
	unsigned changed = 9;
	struct sf_project p = {.lock = SF_LOCK_YARN};
	CHECK(sf_project_retarget_lockfile(&p, dir, "https://x", "http://y", &changed) == 0 &&
	      changed == 0); /* no yarn.lock at all */
}

int main(void)
{
	char dir[] = "/tmp/sf-gateway-test-XXXXXX";
	if (!mkdtemp(dir))
		SKIP("no temporary directory");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_auth_header();
	test_forwarding(dir);
	test_retarget(dir);
	sf_rmtree(dir);
	curl_global_cleanup();
	TEST_DONE();
}
