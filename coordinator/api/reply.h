/*
 * reply — how the REST API answers (its queries are read by query.h):
 * JSON bodies, errors as JSON with a stable code and a message (Package
 * Hunter clients read `status`/`reason`, so those are present too), the
 * artifact store's errors, paged listings, and the 503 of a coordinator
 * shutting down.
 *
 * Owns: nothing after return (a body handed over is freed by MHD). Calls:
 * libmicrohttpd, jansson, util.
 */
#ifndef SF_REPLY_H
#define SF_REPLY_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* Queues a response that takes ownership of the malloc'd body. */
enum MHD_Result sf_reply_send(struct MHD_Connection *c, unsigned status, const char *type,
			      char *body, size_t len);
/* Queues body (a reference taken over; NULL: MHD_NO) as JSON. */
enum MHD_Result sf_reply_json(struct MHD_Connection *c, unsigned status, json_t *body);
/* The same with one more header (name: value). */
enum MHD_Result sf_reply_json_header(struct MHD_Connection *c, unsigned status, json_t *body,
				     const char *name, const char *value);
enum MHD_Result sf_reply_error(struct MHD_Connection *c, unsigned status, const char *code,
			       const char *message);
/* What the artifact store's rc means to the client: 507, 413 or 500. */
enum MHD_Result sf_reply_store_error(struct MHD_Connection *c, int rc);
/* A paged listing: its page, or what the lister's rc means (-ENOENT:
 * not_found, when the listing belongs to something; -EINVAL: a bad
 * cursor; anything else: the database). */
enum MHD_Result sf_reply_page(struct MHD_Connection *c, int rc, json_t *out,
			      const char *not_found);
/* A new request while the coordinator drains for shutdown: 503, and the
 * connection is closed. */
enum MHD_Result sf_reply_shutting_down(struct MHD_Connection *c);

#endif
