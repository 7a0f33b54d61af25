/*
 * nngtls — the farm's NNG links over TLS with mutual authentication: the
 * coordinator's jobs and results listeners and the worker's dialers, for
 * tls+tcp:// URLs (NNG's TLS transport, mbedTLS underneath).
 *
 * Both sides hold a certificate and key of the farm's own CA and trust that
 * CA only. A listener requires the peer's certificate (a worker without a
 * valid one completes no handshake: it gets no job and stores no result); a
 * dialer verifies the coordinator's certificate against the CA and its name
 * (server_name, or the URL's host). A tcp:// URL with TLS files, or a
 * tls+tcp:// one without them, is a configuration error, never a silent
 * downgrade.
 *
 * Owns: nothing after return (NNG holds the TLS configuration). Calls:
 * NNG (supplemental/tls), util.
 */
#ifndef SF_NNGTLS_H
#define SF_NNGTLS_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>

struct sf_tls_files {
	const char *cert;	 /* PEM certificate (chain), or NULL */
	const char *key;	 /* PEM private key */
	const char *ca;		 /* PEM CA certificate(s) the peer's must chain to */
	const char *server_name; /* dialers: the name the coordinator's certificate holds; NULL: the URL's host */
};

/* Whether url is tls+tcp:// (or tls+tcp4/6://). */
bool sf_nng_url_is_tls(const char *url);
/* Listens on url (flags as nng_listen's); 0 or an NNG error code, err filled. */
int sf_nng_listen(nng_socket s, const char *url, const struct sf_tls_files *tls, char *err,
		  size_t errlen);
/* Dials url (flags as nng_dial's, e.g. NNG_FLAG_NONBLOCK). */
int sf_nng_dial(nng_socket s, const char *url, const struct sf_tls_files *tls, int flags,
		char *err, size_t errlen);

#endif
