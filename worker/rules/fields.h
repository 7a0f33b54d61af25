/*
 * fields — the Falco filter fields the rule engine knows, and how each
 * one is read out of a struct sf_event (event.h).
 *
 * A field as written in a rule ("proc.aname[2]", "evt.arg.flags", "fd.sip")
 * is resolved once, at load time, into a struct sf_field; reading it for an
 * event is then a switch on its id with no allocation: values point into the
 * event or into a scratch buffer the caller passes in.
 *
 * A field has a type that decides which operators and right-hand values it
 * takes (sf_ftype). Some fields have more than one value per event:
 * fd.ip/fd.port/fd.net are "either endpoint" fields (value 0 the client end,
 * value 1 the server end, whichever exist), and proc.aname/apid/aexe/aexepath
 * without an index have one value per ancestor, parent first. Everything
 * else has at most one value. A field with no value for an event (fd.sip on
 * a file event, an evt.arg the event lacks) is "missing": sf_field_get
 * returns false and rendering gives "<NA>", as Falco prints it. Falco
 * fields the sensor cannot know at all (fields_absent.h) resolve too and
 * are always missing.
 *
 * Owns: the static field table. Calls: fields_absent, libc (inet_pton/ntop, gmtime_r,
 * strerrorname_np). Memory: values returned by sf_field_get point into the
 * event or into the caller's scratch and are valid until either changes.
 */
#ifndef SF_FIELDS_H
#define SF_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define SF_FIELD_NA            "<NA>"
#define SF_FIELD_ABSENT        0x4000 /* ids from here: fields_absent.h */
#define SF_FIELD_MAX_ANCESTORS 64 /* walks stop here, also on a parent loop */

enum sf_ftype {
	SF_FT_STR = 1, /* text; every string operator */
	SF_FT_NUM,     /* int64; = != < <= > >= in intersects */
	SF_FT_BOOL,    /* true/false; = != in intersects */
	SF_FT_IP,      /* an address; compared with addresses */
	SF_FT_NET,     /* an address; compared with networks ("10.0.0.0/8") */
};

/* How many values a field has per event. */
enum sf_fmulti {
	SF_FM_ONE = 0,   /* at most one */
	SF_FM_ANCESTORS, /* one per ancestor: a check is true if true for any */
	SF_FM_EITHER,    /* client and server end: true if true for either,
			    except != which must hold for both (like Falco) */
};

/* An IPv4 or IPv6 address, or a network when bits < 32/128. IPv4-mapped
 * IPv6 addresses are stored as IPv4. */
struct sf_ip {
	uint8_t family; /* 4 or 6; 0 = none */
	uint8_t bits;   /* prefix length */
	uint8_t addr[16];
};

/* A resolved field reference. */
struct sf_field {
	uint16_t id;
	int16_t index;   /* [N] argument, -1 when there is none */
	uint16_t arglen; /* evt.arg.NAME / evt.arg[NAME] */
	const char *arg; /* not NUL-terminated; owned by whoever parsed */
};

/* One value of a field. */
struct sf_fval {
	const char *s; /* SF_FT_STR: NUL-terminated text, len bytes */
	size_t len;
	int64_t n;       /* SF_FT_NUM and SF_FT_BOOL (0/1) */
	struct sf_ip ip; /* SF_FT_IP and SF_FT_NET */
};

/*
 * Resolves the field written as text[0..len) ("proc.aname[1]",
 * "evt.arg.flags", "evt.arg[0]", "fd.name"). Returns 0; -ENOENT when there is
 * no such field; -EINVAL when the argument is wrong (an index on a field
 * that takes none, evt.arg without a name). f->arg points into text.
 */
int sf_field_parse(const char *text, size_t len, struct sf_field *f);

enum sf_ftype sf_field_type(const struct sf_field *f);
enum sf_fmulti sf_field_multi(const struct sf_field *f);
const char *sf_field_name(const struct sf_field *f); /* without its argument */
bool sf_field_is_evt_type(const struct sf_field *f);

/*
 * Value number i (0-based, see sf_fmulti) of f for ev. Returns false when
 * there is no such value. Strings that do not exist in the event
 * (proc.cmdline, fd.directory, evt.args, numbers as text) are built in
 * scratch, truncated to slen - 1 bytes.
 */
bool sf_field_get(const struct sf_field *f, const struct sf_event *ev, unsigned i,
		  struct sf_fval *v, char *scratch, size_t slen);

/*
 * Renders f for ev as Falco prints it in outputs: numbers in decimal,
 * booleans as true/false, addresses in text form, evt.time as HH:MM:SS.ns
 * (UTC), multi-valued fields as their values joined by spaces. Returns 0, or
 * -ENODATA with "<NA>" in buf when the field has no value. Truncates to len.
 */
int sf_field_render(const struct sf_field *f, const struct sf_event *ev, char *buf, size_t len);

/* Parses "a.b.c.d", an IPv6 address, or with net, also "addr/bits".
 * Returns 0 or -EINVAL. */
int sf_ip_parse(const char *s, size_t len, bool net, struct sf_ip *out);
/* Is addr inside net (same family, first net->bits bits equal)? */
bool sf_ip_in_net(const struct sf_ip *addr, const struct sf_ip *net);
bool sf_ip_equal(const struct sf_ip *a, const struct sf_ip *b);

#endif
