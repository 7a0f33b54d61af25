/*
 * falco_alert — one Falco alert, as Falco's two output formats carry it,
 * decoded into the worker's alert (struct sf_alert, wire.h):
 *
 *   protobuf   a falco.outputs.response of the gRPC outputs service
 *              (falco_outputs.proto, generated with protoc-c at build time)
 *   JSON       one alert object of json_output (http_output's body, a
 *              line of program_output or file_output)
 *
 * Both are bytes from another process that reads what the sandbox does,
 * so they are treated as hostile: a message over SF_FALCO_MAX_ALERT is
 * refused before it is parsed (-EMSGSIZE), one that is not an alert
 * (-EPROTO) is refused whole; at most SF_FALCO_MAX_FIELDS output fields
 * and SF_FALCO_MAX_TAGS tags are kept, each string cut at
 * SF_FALCO_MAX_STRING bytes, and every string is made NUL-free valid
 * UTF-8 (it goes to PostgreSQL as it is). Priorities are Falco's names
 * ("Emergency" … "Debug"); a priority Falco does not have is malformed.
 *
 * With json_output=true Falco's gRPC `output` holds the alert's JSON text
 * instead of its message: the message is then taken from that JSON.
 *
 * Also here: where an alert came from, read from the fields the worker's
 * Falco configuration appends to every alert (thread.cgroups, see
 * docs/falco.md).
 *
 * Owns: nothing; a decoded alert is the caller's (sf_alert_free).
 * Calls: protobuf-c (the generated falco_outputs.pb-c.h), jansson, wire.
 */
#ifndef SF_FALCO_ALERT_H
#define SF_FALCO_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define SF_FALCO_MAX_ALERT (1u << 20) /* bytes of one alert, either format */
#define SF_FALCO_MAX_FIELDS 256	      /* output fields kept per alert */
#define SF_FALCO_MAX_TAGS 64	      /* tags kept per alert */
#define SF_FALCO_MAX_STRING 16384     /* bytes of any one string kept */

/* Decodes a falco.outputs.response. 0, -EMSGSIZE, -EPROTO or -ENOMEM;
 * *out is untouched on failure. */
int sf_falco_alert_from_pb(const uint8_t *buf, size_t len, struct sf_alert *out);

/* Decodes one JSON alert object. 0, -EMSGSIZE, -EPROTO or -ENOMEM. */
int sf_falco_alert_from_json(const char *buf, size_t len, struct sf_alert *out);

/* The value of output field key, or NULL. */
const char *sf_falco_alert_field(const struct sf_alert *a, const char *key);

/* The job cgroup a thread.cgroups value ("cpuset=/ memory=/scanfarm/sf-1
 * …") names under /<parent>/: copies its first path component below
 * parent into name. 0, or -ENOENT when no controller's path is below
 * parent (a host process), -EPROTO for a name that is not [A-Za-z0-9._-]+
 * or does not fit. */
int sf_falco_cgroup_name(const char *cgroups, const char *parent, char *name, size_t namelen);

/* Falco's name of a priority ("warning", "WARNING", "info" → "Warning",
 * "Informational"), or NULL when Falco has no such priority. */
const char *sf_falco_priority_name(const char *s);

#endif
