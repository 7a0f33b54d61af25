/* reply — see reply.h. */
#include "reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A response of the malloc'd body with its content type (and one more
 * header, if name is not NULL). */
static enum MHD_Result reply_queue(struct MHD_Connection *c, unsigned status, const char *type,
				   char *body, size_t len, const char *name, const char *value)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	if (name)
		MHD_add_response_header(r, name, value);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result sf_reply_send(struct MHD_Connection *c, unsigned status, const char *type,
			      char *body, size_t len)
{
	return reply_queue(c, status, type, body, len, NULL, NULL);
}

enum MHD_Result sf_reply_json_header(struct MHD_Connection *c, unsigned status, json_t *body,
				     const char *name, const char *value)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text)
		return MHD_NO;
	return reply_queue(c, status, "application/json", text, strlen(text), name, value);
}

enum MHD_Result sf_reply_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
	return sf_reply_json_header(c, status, body, NULL, NULL);
}

enum MHD_Result sf_reply_error(struct MHD_Connection *c, unsigned status, const char *code,
			       const char *message)
{
	return sf_reply_json(c, status,
			     json_pack("{s:s,s:s,s:{s:s,s:s}}", "status", "error", "reason",
				       message, "error", "code", code, "message", message));
}

enum MHD_Result sf_reply_store_error(struct MHD_Connection *c, int rc)
{
	if (rc == -ENOSPC || rc == -EDQUOT)
		return sf_reply_error(c, 507, "insufficient_storage",
				      "the artifact store is full; nothing was stored");
	if (rc == -EFBIG)
		return sf_reply_error(c, 413, "too_large", "the upload exceeds the configured limit");
	return sf_reply_error(c, 500, "store_failed", strerror(-rc));
}

enum MHD_Result sf_reply_page(struct MHD_Connection *c, int rc, json_t *out,
			      const char *not_found)
{
	if (rc == -ENOENT && not_found)
		return sf_reply_error(c, 404, "not_found", not_found);
	if (rc == -EINVAL)
		return sf_reply_error(c, 400, "bad_request", "malformed cursor");
	if (rc)
		return sf_reply_error(c, 503, "database_unavailable", "please retry");
	return sf_reply_json(c, 200, out);
}

enum MHD_Result sf_reply_shutting_down(struct MHD_Connection *c)
{
	json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s}}", "status", "error", "reason",
				 "the coordinator is shutting down; retry", "error", "code",
				 "shutting_down", "message", "the coordinator is shutting down; retry");
	return sf_reply_json_header(c, MHD_HTTP_SERVICE_UNAVAILABLE, body,
				    MHD_HTTP_HEADER_CONNECTION, "close");
}
