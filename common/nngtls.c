/* nngtls — see nngtls.h. */
#include "nngtls.h"

#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NNGTLS_PEM_MAX (1u << 20)

bool sf_nng_url_is_tls(const char *url)
{
	return strncmp(url, "tls+tcp://", 10) == 0 || strncmp(url, "tls+tcp4://", 11) == 0 ||
	       strncmp(url, "tls+tcp6://", 11) == 0;
}

static bool nngtls_given(const struct sf_tls_files *t)
{
	return t && (t->cert || t->key || t->ca);
}

/* The host of a tls+tcp://host:port URL into out ("" for none). */
static void nngtls_url_host(const char *url, char *out, size_t outlen)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	size_t n;
	if (*h == '[') { /* [v6]:port */
		h++;
		n = strcspn(h, "]");
	} else {
		const char *colon = strrchr(h, ':');
		n = colon ? (size_t)(colon - h) : strlen(h);
	}
	snprintf(out, outlen, "%.*s", (int)n, h);
}

/* A configuration of mode with our certificate and key, trusting ca, the
 * peer's certificate required. */
static int nngtls_config(nng_tls_mode mode, const char *url, const struct sf_tls_files *t,
			 nng_tls_config **out, char *err, size_t errlen)
{
	char *cert = NULL, *key = NULL;
	size_t len;
	nng_tls_config *cfg = NULL;
	int rc;
	if (!t->cert || !t->key || !t->ca) {
		snprintf(err, errlen, "%s: TLS needs a certificate, its key and the farm's CA", url);
		return NNG_EINVAL;
	}
	if (sf_read_file(t->cert, NNGTLS_PEM_MAX, &cert, &len) ||
	    sf_read_file(t->key, NNGTLS_PEM_MAX, &key, &len)) {
		snprintf(err, errlen, "cannot read %s or %s", t->cert, t->key);
		rc = NNG_ENOENT;
		goto out;
	}
	if ((rc = nng_tls_config_alloc(&cfg, mode))) {
		snprintf(err, errlen, "TLS: %s", nng_strerror(rc));
		goto out;
	}
	if ((rc = nng_tls_config_own_cert(cfg, cert, key, NULL))) {
		snprintf(err, errlen, "%s with %s: %s", t->cert, t->key, nng_strerror(rc));
		goto out;
	}
	if ((rc = nng_tls_config_ca_file(cfg, t->ca))) {
		snprintf(err, errlen, "CA %s: %s", t->ca, nng_strerror(rc));
		goto out;
	}
	if ((rc = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) ||
	    (rc = nng_tls_config_version(cfg, NNG_TLS_1_2, NNG_TLS_1_3))) {
		snprintf(err, errlen, "TLS: %s", nng_strerror(rc));
		goto out;
	}
	if (mode == NNG_TLS_MODE_CLIENT) {
		char host[256];
		nngtls_url_host(url, host, sizeof(host));
		const char *name = t->server_name && t->server_name[0] ? t->server_name : host;
		if ((rc = nng_tls_config_server_name(cfg, name))) {
			snprintf(err, errlen, "TLS server name %s: %s", name, nng_strerror(rc));
			goto out;
		}
	}
	*out = cfg;
	cfg = NULL;
out:
	if (cfg)
		nng_tls_config_free(cfg);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(cert);
	return rc;
}

/* A tls URL with files, or a plain one without: anything else refused. */
static int nngtls_check(const char *url, const struct sf_tls_files *t, char *err, size_t errlen)
{
	bool tls = sf_nng_url_is_tls(url);
	if (tls && !nngtls_given(t)) {
		snprintf(err, errlen, "%s: tls+tcp:// needs --tls-cert, --tls-key and --tls-ca", url);
		return NNG_EINVAL;
	}
	if (!tls && nngtls_given(t)) {
		snprintf(err, errlen, "%s: TLS files given for a plain URL (use tls+tcp://)", url);
		return NNG_EINVAL;
	}
	return 0;
}

int sf_nng_listen(nng_socket s, const char *url, const struct sf_tls_files *t, char *err,
		  size_t errlen)
{
	int rc = nngtls_check(url, t, err, errlen);
	if (rc)
		return rc;
	if (!sf_nng_url_is_tls(url)) {
		if ((rc = nng_listen(s, url, NULL, 0)))
			snprintf(err, errlen, "cannot listen on %s: %s", url, nng_strerror(rc));
		return rc;
	}
	nng_listener l;
	nng_tls_config *cfg;
	if ((rc = nngtls_config(NNG_TLS_MODE_SERVER, url, t, &cfg, err, errlen)))
		return rc;
	if ((rc = nng_listener_create(&l, s, url)) == 0) {
		rc = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
		if (!rc)
			rc = nng_listener_start(l, 0);
		if (rc)
			nng_listener_close(l);
	}
	nng_tls_config_free(cfg); /* the listener holds its own reference */
	if (rc)
		snprintf(err, errlen, "cannot listen on %s: %s", url, nng_strerror(rc));
	return rc;
}

int sf_nng_dial(nng_socket s, const char *url, const struct sf_tls_files *t, int flags,
		char *err, size_t errlen)
{
	int rc = nngtls_check(url, t, err, errlen);
	if (rc)
		return rc;
	if (!sf_nng_url_is_tls(url)) {
		if ((rc = nng_dial(s, url, NULL, flags)))
			snprintf(err, errlen, "cannot dial %s: %s", url, nng_strerror(rc));
		return rc;
	}
	nng_dialer d;
	nng_tls_config *cfg;
	if ((rc = nngtls_config(NNG_TLS_MODE_CLIENT, url, t, &cfg, err, errlen)))
		return rc;
	if ((rc = nng_dialer_create(&d, s, url)) == 0) {
		rc = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
		if (!rc)
			rc = nng_dialer_start(d, flags);
		if (rc)
			nng_dialer_close(d);
	}
	nng_tls_config_free(cfg);
	if (rc)
		snprintf(err, errlen, "cannot dial %s: %s", url, nng_strerror(rc));
	return rc;
}
