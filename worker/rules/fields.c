/* fields — see fields.h. */
#include "fields.h"
#include "fields_absent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Grouped by class, in this order: evt.*, then proc.*, user.* and group.*,
 * then fd.*, then the rest; sf_field_get dispatches on these ranges. */
enum fields_id {
	FLD_EVT_TYPE,
	FLD_EVT_DIR,
	FLD_EVT_RES,
	FLD_EVT_RAWRES,
	FLD_EVT_FAILED,
	FLD_EVT_TIME,
	FLD_EVT_TIME_S,
	FLD_EVT_TIME_ISO8601,
	FLD_EVT_DATETIME,
	FLD_EVT_RAWTIME,
	FLD_EVT_RAWTIME_S,
	FLD_EVT_RAWTIME_NS,
	FLD_EVT_IS_OPEN_READ,
	FLD_EVT_IS_OPEN_WRITE,
	FLD_EVT_IS_OPEN_EXEC,
	FLD_EVT_IS_OPEN_CREATE,
	FLD_EVT_ARG,
	FLD_EVT_ARGS,
	FLD_EVT_BUFFER,
	FLD_EVT_BUFLEN,
	FLD_EVT_SOURCE,
	FLD_PROC_NAME,
	FLD_PROC_EXE,
	FLD_PROC_EXEPATH,
	FLD_PROC_CMDLINE,
	FLD_PROC_ARGS,
	FLD_PROC_PID,
	FLD_PROC_PPID,
	FLD_PROC_VPID,
	FLD_PROC_PNAME,
	FLD_PROC_PEXE,
	FLD_PROC_PEXEPATH,
	FLD_PROC_PCMDLINE,
	FLD_PROC_ANAME,
	FLD_PROC_APID,
	FLD_PROC_AEXE,
	FLD_PROC_AEXEPATH,
	FLD_PROC_CWD,
	FLD_PROC_IS_EXE_UPPER_LAYER,
	FLD_PROC_IS_EXE_WRITABLE,
	FLD_USER_UID,
	FLD_USER_NAME,
	FLD_USER_LOGINUID,
	FLD_GROUP_GID,
	FLD_GROUP_NAME,
	FLD_FD_NAME,
	FLD_FD_DIRECTORY,
	FLD_FD_FILENAME,
	FLD_FD_TYPECHAR,
	FLD_FD_TYPE,
	FLD_FD_SIP,
	FLD_FD_CIP,
	FLD_FD_RIP,
	FLD_FD_LIP,
	FLD_FD_IP,
	FLD_FD_SPORT,
	FLD_FD_CPORT,
	FLD_FD_RPORT,
	FLD_FD_LPORT,
	FLD_FD_PORT,
	FLD_FD_L4PROTO,
	FLD_FD_IS_SERVER,
	FLD_FD_SOCKFAMILY,
	FLD_FD_NET,
	FLD_FD_CNET,
	FLD_FD_SNET,
	FLD_FD_RNET,
	FLD_FD_LNET,
	FLD_FD_SIP_NAME,
	FLD_CONTAINER_ID,
	FLD_CONTAINER_NAME,
	FLD_CONTAINER_IMAGE,
	FLD_CONTAINER_IMAGE_REPOSITORY,
	FLD_EVT_NUM,
	FLD_FD_NUM,
	FLD_FD_CONNECTED,
	FLD_FD_NAMERAW,
	FLD_PROC_IS_EXE_FROM_MEMFD,
	FLD_THREAD_CGROUPS,
	FLD_THREAD_TID,
	FLD_THREAD_ISMAIN,
	FLD_SF_DNS_NAME,
	FLD_SF_PACKAGE,
	FLD_SF_PACKAGE_PATH,
	FLD_SF_PHASE,
	FLD_SF_FD_PACKAGE,
	FLD_SF_NET_KIND,
	FLD_SF_NET_BLOCKED,
	FLD_SF_DNS_TYPE,
	FLD_SF_HTTP_METHOD,
	FLD_SF_HTTP_URI,
	FLD_SF_HTTP_HOST,
	FLD_SF_HTTP_REQUEST_LINE,
	FLD_SF_TLS_SNI,
	FLD_SF_LEFT_RUNNING,
	FLD_COUNT
};

#define FX_INDEX  1u /* takes an optional [N] */
#define FX_ARG    2u /* evt.arg: needs .NAME, [N] or [NAME] */
#define FX_ANC    4u /* without [N]: one value per ancestor */
#define FX_EITHER 8u /* client end and server end */

struct fields_info {
	const char *name;
	uint8_t type;
	uint8_t flags;
};

static const struct fields_info fields_table[FLD_COUNT] = {
    [FLD_EVT_TYPE] = {"evt.type", SF_FT_STR, 0},
    [FLD_EVT_DIR] = {"evt.dir", SF_FT_STR, 0},
    [FLD_EVT_RES] = {"evt.res", SF_FT_STR, 0},
    [FLD_EVT_RAWRES] = {"evt.rawres", SF_FT_NUM, 0},
    [FLD_EVT_FAILED] = {"evt.failed", SF_FT_BOOL, 0},
    [FLD_EVT_TIME] = {"evt.time", SF_FT_NUM, 0},
    [FLD_EVT_TIME_S] = {"evt.time.s", SF_FT_STR, 0},
    [FLD_EVT_TIME_ISO8601] = {"evt.time.iso8601", SF_FT_STR, 0},
    [FLD_EVT_DATETIME] = {"evt.datetime", SF_FT_STR, 0},
    [FLD_EVT_RAWTIME] = {"evt.rawtime", SF_FT_NUM, 0},
    [FLD_EVT_RAWTIME_S] = {"evt.rawtime.s", SF_FT_NUM, 0},
    [FLD_EVT_RAWTIME_NS] = {"evt.rawtime.ns", SF_FT_NUM, 0},
    [FLD_EVT_IS_OPEN_READ] = {"evt.is_open_read", SF_FT_BOOL, 0},
    [FLD_EVT_IS_OPEN_WRITE] = {"evt.is_open_write", SF_FT_BOOL, 0},
    [FLD_EVT_IS_OPEN_EXEC] = {"evt.is_open_exec", SF_FT_BOOL, 0},
    [FLD_EVT_IS_OPEN_CREATE] = {"evt.is_open_create", SF_FT_BOOL, 0},
    [FLD_EVT_ARG] = {"evt.arg", SF_FT_STR, FX_ARG},
    [FLD_EVT_ARGS] = {"evt.args", SF_FT_STR, 0},
    [FLD_EVT_BUFFER] = {"evt.buffer", SF_FT_STR, 0},
    [FLD_EVT_BUFLEN] = {"evt.buflen", SF_FT_NUM, 0},
    [FLD_EVT_SOURCE] = {"evt.source", SF_FT_STR, 0},
    [FLD_PROC_NAME] = {"proc.name", SF_FT_STR, 0},
    [FLD_PROC_EXE] = {"proc.exe", SF_FT_STR, 0},
    [FLD_PROC_EXEPATH] = {"proc.exepath", SF_FT_STR, 0},
    [FLD_PROC_CMDLINE] = {"proc.cmdline", SF_FT_STR, 0},
    [FLD_PROC_ARGS] = {"proc.args", SF_FT_STR, 0},
    [FLD_PROC_PID] = {"proc.pid", SF_FT_NUM, 0},
    [FLD_PROC_PPID] = {"proc.ppid", SF_FT_NUM, 0},
    [FLD_PROC_VPID] = {"proc.vpid", SF_FT_NUM, 0},
    [FLD_PROC_PNAME] = {"proc.pname", SF_FT_STR, 0},
    [FLD_PROC_PEXE] = {"proc.pexe", SF_FT_STR, 0},
    [FLD_PROC_PEXEPATH] = {"proc.pexepath", SF_FT_STR, 0},
    [FLD_PROC_PCMDLINE] = {"proc.pcmdline", SF_FT_STR, 0},
    [FLD_PROC_ANAME] = {"proc.aname", SF_FT_STR, FX_INDEX | FX_ANC},
    [FLD_PROC_APID] = {"proc.apid", SF_FT_NUM, FX_INDEX | FX_ANC},
    [FLD_PROC_AEXE] = {"proc.aexe", SF_FT_STR, FX_INDEX | FX_ANC},
    [FLD_PROC_AEXEPATH] = {"proc.aexepath", SF_FT_STR, FX_INDEX | FX_ANC},
    [FLD_PROC_CWD] = {"proc.cwd", SF_FT_STR, 0},
    [FLD_PROC_IS_EXE_UPPER_LAYER] = {"proc.is_exe_upper_layer", SF_FT_BOOL, 0},
    [FLD_PROC_IS_EXE_WRITABLE] = {"proc.is_exe_writable", SF_FT_BOOL, 0},
    [FLD_USER_UID] = {"user.uid", SF_FT_NUM, 0},
    [FLD_USER_NAME] = {"user.name", SF_FT_STR, 0},
    [FLD_USER_LOGINUID] = {"user.loginuid", SF_FT_NUM, 0},
    [FLD_GROUP_GID] = {"group.gid", SF_FT_NUM, 0},
    [FLD_GROUP_NAME] = {"group.name", SF_FT_STR, 0},
    [FLD_FD_NAME] = {"fd.name", SF_FT_STR, 0},
    [FLD_FD_DIRECTORY] = {"fd.directory", SF_FT_STR, 0},
    [FLD_FD_FILENAME] = {"fd.filename", SF_FT_STR, 0},
    [FLD_FD_TYPECHAR] = {"fd.typechar", SF_FT_STR, 0},
    [FLD_FD_TYPE] = {"fd.type", SF_FT_STR, 0},
    [FLD_FD_SIP] = {"fd.sip", SF_FT_IP, 0},
    [FLD_FD_CIP] = {"fd.cip", SF_FT_IP, 0},
    [FLD_FD_RIP] = {"fd.rip", SF_FT_IP, 0},
    [FLD_FD_LIP] = {"fd.lip", SF_FT_IP, 0},
    [FLD_FD_IP] = {"fd.ip", SF_FT_IP, FX_EITHER},
    [FLD_FD_SPORT] = {"fd.sport", SF_FT_NUM, 0},
    [FLD_FD_CPORT] = {"fd.cport", SF_FT_NUM, 0},
    [FLD_FD_RPORT] = {"fd.rport", SF_FT_NUM, 0},
    [FLD_FD_LPORT] = {"fd.lport", SF_FT_NUM, 0},
    [FLD_FD_PORT] = {"fd.port", SF_FT_NUM, FX_EITHER},
    [FLD_FD_L4PROTO] = {"fd.l4proto", SF_FT_STR, 0},
    [FLD_FD_IS_SERVER] = {"fd.is_server", SF_FT_BOOL, 0},
    [FLD_FD_SOCKFAMILY] = {"fd.sockfamily", SF_FT_STR, 0},
    [FLD_FD_NET] = {"fd.net", SF_FT_NET, FX_EITHER},
    [FLD_FD_CNET] = {"fd.cnet", SF_FT_NET, 0},
    [FLD_FD_SNET] = {"fd.snet", SF_FT_NET, 0},
    [FLD_FD_RNET] = {"fd.rnet", SF_FT_NET, 0},
    [FLD_FD_LNET] = {"fd.lnet", SF_FT_NET, 0},
    [FLD_FD_SIP_NAME] = {"fd.sip.name", SF_FT_STR, 0},
    [FLD_CONTAINER_ID] = {"container.id", SF_FT_STR, 0},
    [FLD_CONTAINER_NAME] = {"container.name", SF_FT_STR, 0},
    [FLD_CONTAINER_IMAGE] = {"container.image", SF_FT_STR, 0},
    [FLD_CONTAINER_IMAGE_REPOSITORY] = {"container.image.repository", SF_FT_STR, 0},
    [FLD_EVT_NUM] = {"evt.num", SF_FT_NUM, 0},
    [FLD_FD_NUM] = {"fd.num", SF_FT_NUM, 0},
    [FLD_FD_CONNECTED] = {"fd.connected", SF_FT_BOOL, 0},
    [FLD_FD_NAMERAW] = {"fd.nameraw", SF_FT_STR, 0},
    [FLD_PROC_IS_EXE_FROM_MEMFD] = {"proc.is_exe_from_memfd", SF_FT_BOOL, 0},
    [FLD_THREAD_CGROUPS] = {"thread.cgroups", SF_FT_STR, 0},
    [FLD_THREAD_TID] = {"thread.tid", SF_FT_NUM, 0},
    [FLD_THREAD_ISMAIN] = {"thread.ismain", SF_FT_BOOL, 0},
    [FLD_SF_DNS_NAME] = {"sf.dns.name", SF_FT_STR, 0},
    [FLD_SF_PACKAGE] = {"scanfarm.package", SF_FT_STR, 0},
    [FLD_SF_PACKAGE_PATH] = {"scanfarm.package.path", SF_FT_STR, 0},
    [FLD_SF_PHASE] = {"scanfarm.phase", SF_FT_STR, 0},
    [FLD_SF_FD_PACKAGE] = {"scanfarm.fd.package", SF_FT_STR, 0},
    [FLD_SF_NET_KIND] = {"scanfarm.net.kind", SF_FT_STR, 0},
    [FLD_SF_NET_BLOCKED] = {"scanfarm.net.blocked", SF_FT_BOOL, 0},
    [FLD_SF_DNS_TYPE] = {"scanfarm.dns.type", SF_FT_STR, 0},
    [FLD_SF_HTTP_METHOD] = {"scanfarm.http.method", SF_FT_STR, 0},
    [FLD_SF_HTTP_URI] = {"scanfarm.http.uri", SF_FT_STR, 0},
    [FLD_SF_HTTP_HOST] = {"scanfarm.http.host", SF_FT_STR, 0},
    [FLD_SF_HTTP_REQUEST_LINE] = {"scanfarm.http.request_line", SF_FT_STR, 0},
    [FLD_SF_TLS_SNI] = {"scanfarm.tls.sni", SF_FT_STR, 0},
    [FLD_SF_LEFT_RUNNING] = {"scanfarm.left_running", SF_FT_BOOL, 0},
};

/* ---- field names ------------------------------------------------------ */

static int fields_lookup(const char *name, size_t len)
{
	for (int i = 0; i < FLD_COUNT; i++)
		if (strlen(fields_table[i].name) == len &&
		    memcmp(fields_table[i].name, name, len) == 0)
			return i;
	return -1;
}

/* Parses a decimal index of at most 4 digits; -1 when s is not one. */
static int fields_index(const char *s, size_t len)
{
	if (len == 0 || len > 4)
		return -1;
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int sf_field_parse(const char *text, size_t len, struct sf_field *f)
{
	memset(f, 0, sizeof(*f));
	f->index = -1;
	size_t base = len;
	const char *arg = NULL;
	size_t arglen = 0;
	const char *br = memchr(text, '[', len);
	if (br) {
		base = (size_t)(br - text);
		if (len < base + 2 || text[len - 1] != ']')
			return -EINVAL;
		arg = br + 1;
		arglen = len - base - 2;
		/* Falco also takes a quoted argument: proc.aname["1"]. */
		if (arglen >= 2 && (arg[0] == '"' || arg[0] == '\'') && arg[arglen - 1] == arg[0]) {
			arg++;
			arglen -= 2;
		}
		if (arglen == 0 || memchr(arg, ']', arglen) || memchr(arg, '[', arglen))
			return -EINVAL;
	}
	int id = fields_lookup(text, base);
	static const char evtarg[] = "evt.arg.";
	if (id < 0 && !br && base > sizeof(evtarg) - 1 &&
	    memcmp(text, evtarg, sizeof(evtarg) - 1) == 0) {
		id = FLD_EVT_ARG;
		arg = text + sizeof(evtarg) - 1;
		arglen = base - (sizeof(evtarg) - 1);
	}
	if (id < 0) {
		/* a Falco field the sensor cannot know: always missing */
		int ax = sf_fields_absent_lookup(text, base);
		if (ax < 0)
			return -ENOENT;
		if (arg && !sf_fields_absent_at(ax)->takes_arg)
			return -EINVAL;
		f->id = (uint16_t)(SF_FIELD_ABSENT + ax);
		f->arg = arg;
		f->arglen = (uint16_t)(arglen > UINT16_MAX ? UINT16_MAX : arglen);
		return 0;
	}
	f->id = (uint16_t)id;
	unsigned fl = fields_table[id].flags;
	if (fl & FX_ARG) {
		if (!arg || arglen > UINT16_MAX)
			return -EINVAL;
		int ix = br ? fields_index(arg, arglen) : -1;
		if (ix >= 0) {
			f->index = (int16_t)ix;
		} else {
			f->arg = arg;
			f->arglen = (uint16_t)arglen;
		}
		return 0;
	}
	if (arg) {
		int ix = fields_index(arg, arglen);
		if (!(fl & FX_INDEX) || ix < 0)
			return -EINVAL;
		f->index = (int16_t)ix;
	}
	return 0;
}

enum sf_ftype sf_field_type(const struct sf_field *f)
{
	if (f->id >= SF_FIELD_ABSENT)
		return (enum sf_ftype)sf_fields_absent_at(f->id - SF_FIELD_ABSENT)->type;
	return (enum sf_ftype)fields_table[f->id].type;
}

enum sf_fmulti sf_field_multi(const struct sf_field *f)
{
	if (f->id >= SF_FIELD_ABSENT)
		return SF_FM_ONE;
	unsigned fl = fields_table[f->id].flags;
	if ((fl & FX_ANC) && f->index < 0)
		return SF_FM_ANCESTORS;
	if (fl & FX_EITHER)
		return SF_FM_EITHER;
	return SF_FM_ONE;
}

const char *sf_field_name(const struct sf_field *f)
{
	if (f->id >= SF_FIELD_ABSENT)
		return sf_fields_absent_at(f->id - SF_FIELD_ABSENT)->name;
	return fields_table[f->id].name;
}

bool sf_field_is_evt_type(const struct sf_field *f)
{
	return f->id == FLD_EVT_TYPE;
}

/* ---- addresses -------------------------------------------------------- */

static const uint8_t fields_v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Copies an endpoint's address; false when the endpoint is unknown. */
static bool fields_endpoint_ip(const struct sf_endpoint *e, struct sf_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (e->family == AF_INET) {
		ip->family = 4;
		ip->bits = 32;
		memcpy(ip->addr, e->addr, 4);
		return true;
	}
	if (e->family == AF_INET6) {
		if (memcmp(e->addr, fields_v4mapped, 12) == 0) {
			ip->family = 4;
			ip->bits = 32;
			memcpy(ip->addr, e->addr + 12, 4);
		} else {
			ip->family = 6;
			ip->bits = 128;
			memcpy(ip->addr, e->addr, 16);
		}
		return true;
	}
	return false;
}

int sf_ip_parse(const char *s, size_t len, bool net, struct sf_ip *out)
{
	char tmp[64];
	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	int bits = -1;
	char *slash = strchr(tmp, '/');
	if (slash) {
		if (!net)
			return -EINVAL;
		*slash = '\0';
		const char *b = slash + 1;
		size_t blen = strlen(b);
		if (blen == 0 || blen > 3)
			return -EINVAL;
		bits = 0;
		for (size_t i = 0; i < blen; i++) {
			if (b[i] < '0' || b[i] > '9')
				return -EINVAL;
			bits = bits * 10 + (b[i] - '0');
		}
	}
	unsigned char buf[16];
	if (inet_pton(AF_INET, tmp, buf) == 1) {
		if (bits > 32)
			return -EINVAL;
		out->family = 4;
		out->bits = (uint8_t)(bits < 0 ? 32 : bits);
		memcpy(out->addr, buf, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, buf) == 1) {
		if (bits > 128)
			return -EINVAL;
		if (memcmp(buf, fields_v4mapped, 12) == 0 && (bits < 0 || bits >= 96)) {
			out->family = 4;
			out->bits = (uint8_t)(bits < 0 ? 32 : bits - 96);
			memcpy(out->addr, buf + 12, 4);
			return 0;
		}
		out->family = 6;
		out->bits = (uint8_t)(bits < 0 ? 128 : bits);
		memcpy(out->addr, buf, 16);
		return 0;
	}
	return -EINVAL;
}

bool sf_ip_in_net(const struct sf_ip *addr, const struct sf_ip *net)
{
	if (addr->family != net->family)
		return false;
	unsigned full = net->bits / 8u, rest = net->bits % 8u;
	if (memcmp(addr->addr, net->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8u - rest));
	return (addr->addr[full] & mask) == (net->addr[full] & mask);
}

bool sf_ip_equal(const struct sf_ip *a, const struct sf_ip *b)
{
	if (a->family != b->family)
		return false;
	return memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}

/* ---- values ----------------------------------------------------------- */

static bool fields_str(struct sf_fval *v, const char *s)
{
	if (!s)
		return false;
	v->s = s;
	v->len = strlen(s);
	return true;
}

static bool fields_num(struct sf_fval *v, int64_t n)
{
	v->n = n;
	return true;
}

/* Formats into scratch and points v at it. */
__attribute__((format(printf, 4, 5))) static bool fields_fmt(struct sf_fval *v, char *scratch,
							     size_t slen, const char *fmt, ...)
{
	if (!scratch || slen == 0) {
		v->s = "";
		v->len = 0;
		return true;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(scratch, slen, fmt, ap);
	va_end(ap);
	if (n < 0) {
		scratch[0] = '\0';
		n = 0;
	}
	v->s = scratch;
	v->len = (size_t)n < slen ? (size_t)n : slen - 1;
	return true;
}

/* The k-th ancestor of p (0 = p itself), or NULL. */
static const struct sf_proc *fields_ancestor(const struct sf_proc *p, unsigned k)
{
	if (k > SF_FIELD_MAX_ANCESTORS)
		return NULL;
	while (p && k > 0) {
		p = p->parent;
		k--;
	}
	return p;
}

enum fields_procval { FPV_NAME, FPV_PID, FPV_EXE, FPV_EXEPATH, FPV_CMDLINE };

static bool fields_proc(const struct sf_proc *p, enum fields_procval what, struct sf_fval *v,
			char *scratch, size_t slen)
{
	if (!p)
		return false;
	switch (what) {
	case FPV_NAME:
		v->s = p->name;
		v->len = strnlen(p->name, sizeof(p->name));
		if (v->len == sizeof(p->name)) /* not terminated: copy */
			return fields_fmt(v, scratch, slen, "%.*s", (int)sizeof(p->name), p->name);
		return true;
	case FPV_PID:
		return fields_num(v, p->pid);
	case FPV_EXE:
		return fields_str(v, p->exe);
	case FPV_EXEPATH:
		return fields_str(v, p->exepath);
	case FPV_CMDLINE: {
		/* Falco: proc.name, then each argument after a space. */
		int nl = (int)strnlen(p->name, sizeof(p->name));
		if (p->args && p->args[0])
			return fields_fmt(v, scratch, slen, "%.*s %s", nl, p->name, p->args);
		return fields_fmt(v, scratch, slen, "%.*s", nl, p->name);
	}
	}
	return false;
}

static const char *fields_user(const struct sf_event *ev, uint32_t id, char *scratch, size_t slen)
{
	if (id == 0)
		return "root";
	if (ev->user_name && id == ev->user_id)
		return ev->user_name;
	snprintf(scratch, slen, "%u", id);
	return scratch;
}

static bool fields_time(struct sf_fval *v, int64_t ns, int form, char *scratch, size_t slen)
{
	int64_t sec = ns / 1000000000;
	int64_t frac = ns % 1000000000;
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return false;
	switch (form) {
	case 0: /* evt.time */
		return fields_fmt(v, scratch, slen, "%02d:%02d:%02d.%09lld", tm.tm_hour, tm.tm_min,
				  tm.tm_sec, (long long)frac);
	case 1: /* evt.time.s */
		return fields_fmt(v, scratch, slen, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min,
				  tm.tm_sec);
	case 2: /* evt.time.iso8601 */
		return fields_fmt(v, scratch, slen, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
				  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				  tm.tm_min, tm.tm_sec, (long long)frac);
	default: /* evt.datetime */
		return fields_fmt(v, scratch, slen, "%04d-%02d-%02d %02d:%02d:%02d.%09lld",
				  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				  tm.tm_min, tm.tm_sec, (long long)frac);
	}
}

static bool fields_res(const struct sf_event *ev, struct sf_fval *v, char *scratch, size_t slen)
{
	if (ev->res >= 0)
		return fields_str(v, "SUCCESS");
	if (ev->res >= -4095) {
		const char *name = strerrorname_np((int)-ev->res);
		if (name)
			return fields_str(v, name);
	}
	return fields_fmt(v, scratch, slen, "%lld", (long long)ev->res);
}

static bool fields_args(const struct sf_event *ev, struct sf_fval *v, char *scratch, size_t slen)
{
	if (!scratch || slen == 0)
		return fields_str(v, "");
	size_t off = 0;
	scratch[0] = '\0';
	uint32_t n = ev->nargs < SF_EVENT_MAX_ARGS ? ev->nargs : SF_EVENT_MAX_ARGS;
	for (uint32_t i = 0; i < n && off < slen - 1; i++) {
		const struct sf_event_arg *a = &ev->args[i];
		int w = snprintf(scratch + off, slen - off, "%s%s=%s", off ? " " : "",
				 a->name ? a->name : "", a->value ? a->value : "");
		if (w < 0)
			break;
		off += (size_t)w;
	}
	v->s = scratch;
	v->len = off < slen ? off : slen - 1;
	return true;
}

static bool fields_arg(const struct sf_field *f, const struct sf_event *ev, struct sf_fval *v)
{
	uint32_t n = ev->nargs < SF_EVENT_MAX_ARGS ? ev->nargs : SF_EVENT_MAX_ARGS;
	if (f->index >= 0)
		return (uint32_t)f->index < n && fields_str(v, ev->args[f->index].value);
	for (uint32_t i = 0; i < n; i++) {
		const char *name = ev->args[i].name;
		if (name && strncmp(name, f->arg, f->arglen) == 0 && name[f->arglen] == '\0')
			return fields_str(v, ev->args[i].value);
	}
	return false;
}

static bool fields_is_socket(const struct sf_event *ev)
{
	return ev->fd_type == SF_FD_IPV4 || ev->fd_type == SF_FD_IPV6 || ev->fd_type == SF_FD_UNIX;
}

static bool fields_directory(const struct sf_event *ev, struct sf_fval *v, char *scratch,
			     size_t slen)
{
	const char *name = ev->fd_name;
	if (!name)
		return false;
	if (ev->fd_type == SF_FD_DIRECTORY)
		return fields_str(v, name);
	if (ev->fd_type != SF_FD_FILE && ev->fd_type != SF_FD_NONE)
		return false;
	const char *slash = strrchr(name, '/');
	if (!slash || slash == name)
		return fields_str(v, "/");
	if (slash[1] == '\0') /* "/a/b/": Falco keeps it as it is */
		return fields_str(v, name);
	return fields_fmt(v, scratch, slen, "%.*s", (int)(slash - name), name);
}

static bool fields_filename(const struct sf_event *ev, struct sf_fval *v)
{
	if (!ev->fd_name || ev->fd_type != SF_FD_FILE)
		return false;
	const char *slash = strrchr(ev->fd_name, '/');
	if (slash && slash[1] != '\0')
		return fields_str(v, slash + 1);
	return fields_str(v, ev->fd_name);
}

/* Value i of an either-endpoint field: the existing ends, client first. */
static const struct sf_endpoint *fields_either(const struct sf_event *ev, unsigned i)
{
	const struct sf_endpoint *ends[2];
	unsigned n = 0;
	if (ev->client.family)
		ends[n++] = &ev->client;
	if (ev->server.family)
		ends[n++] = &ev->server;
	return i < n ? ends[i] : NULL;
}

static const struct sf_endpoint *fields_local(const struct sf_event *ev)
{
	return ev->is_server ? &ev->server : &ev->client;
}

static const struct sf_endpoint *fields_remote(const struct sf_event *ev)
{
	return ev->is_server ? &ev->client : &ev->server;
}

static bool fields_port(const struct sf_endpoint *e, struct sf_fval *v)
{
	if (!e || !e->family)
		return false;
	return fields_num(v, e->port);
}

static bool fields_ip(const struct sf_endpoint *e, struct sf_fval *v)
{
	return e && fields_endpoint_ip(e, &v->ip);
}

/* The evt.* fields. */
static bool fields_get_evt(const struct sf_field *f, const struct sf_event *ev, struct sf_fval *v,
			   char *scratch, size_t slen)
{
	switch ((enum fields_id)f->id) {
	case FLD_EVT_TYPE:
		return fields_str(v, ev->type);
	case FLD_EVT_DIR:
		return fields_str(v, "<");
	case FLD_EVT_RES:
		return fields_res(ev, v, scratch, slen);
	case FLD_EVT_RAWRES:
		return fields_num(v, ev->res);
	case FLD_EVT_FAILED:
		return fields_num(v, ev->res < 0);
	case FLD_EVT_TIME:
	case FLD_EVT_RAWTIME:
		return fields_num(v, ev->time_ns);
	case FLD_EVT_TIME_S:
		return fields_time(v, ev->time_ns, 1, scratch, slen);
	case FLD_EVT_TIME_ISO8601:
		return fields_time(v, ev->time_ns, 2, scratch, slen);
	case FLD_EVT_DATETIME:
		return fields_time(v, ev->time_ns, 3, scratch, slen);
	case FLD_EVT_RAWTIME_S:
		return fields_num(v, ev->time_ns / 1000000000);
	case FLD_EVT_RAWTIME_NS:
		return fields_num(v, ev->time_ns % 1000000000);
	case FLD_EVT_IS_OPEN_READ:
		return fields_num(v, ev->is_open_read);
	case FLD_EVT_IS_OPEN_WRITE:
		return fields_num(v, ev->is_open_write);
	case FLD_EVT_IS_OPEN_EXEC:
		return fields_num(v, ev->is_open_exec);
	case FLD_EVT_IS_OPEN_CREATE:
		return fields_num(v, (ev->open_flags & O_CREAT) != 0);
	case FLD_EVT_ARG:
		return fields_arg(f, ev, v);
	case FLD_EVT_ARGS:
		return fields_args(ev, v, scratch, slen);
	case FLD_EVT_BUFFER:
		return fields_str(v, ev->buffer);
	case FLD_EVT_BUFLEN:
		return ev->buffer && fields_num(v, ev->buflen);
	case FLD_EVT_SOURCE:
		return fields_str(v, "syscall");
	default:
		break;
	}
	return false;
}

/* The proc.*, user.* and group.* fields; i numbers the ancestors. */
static bool fields_get_proc(const struct sf_field *f, const struct sf_event *ev, unsigned i,
			    struct sf_fval *v, char *scratch, size_t slen)
{
	const struct sf_proc *p = ev->proc;
	switch ((enum fields_id)f->id) {
	case FLD_PROC_NAME:
		return fields_proc(p, FPV_NAME, v, scratch, slen);
	case FLD_PROC_EXE:
		return fields_proc(p, FPV_EXE, v, scratch, slen);
	case FLD_PROC_EXEPATH:
		return fields_proc(p, FPV_EXEPATH, v, scratch, slen);
	case FLD_PROC_CMDLINE:
		return fields_proc(p, FPV_CMDLINE, v, scratch, slen);
	case FLD_PROC_ARGS:
		return p && fields_str(v, p->args ? p->args : "");
	case FLD_PROC_PID:
		return fields_proc(p, FPV_PID, v, scratch, slen);
	case FLD_PROC_PPID:
		return p && fields_num(v, p->ppid);
	case FLD_PROC_VPID:
		return p && fields_num(v, p->vpid);
	case FLD_PROC_PNAME:
		return p && fields_proc(p->parent, FPV_NAME, v, scratch, slen);
	case FLD_PROC_PEXE:
		return p && fields_proc(p->parent, FPV_EXE, v, scratch, slen);
	case FLD_PROC_PEXEPATH:
		return p && fields_proc(p->parent, FPV_EXEPATH, v, scratch, slen);
	case FLD_PROC_PCMDLINE:
		return p && fields_proc(p->parent, FPV_CMDLINE, v, scratch, slen);
	case FLD_PROC_ANAME:
	case FLD_PROC_APID:
	case FLD_PROC_AEXE:
	case FLD_PROC_AEXEPATH: {
		/* With [N], the N-th ancestor (0 = the process itself); without,
		 * value i is ancestor i + 1: every ancestor, parent first. */
		unsigned k = f->index >= 0 ? (unsigned)f->index : i + 1;
		const struct sf_proc *a = fields_ancestor(p, k);
		enum fields_procval what = f->id == FLD_PROC_ANAME  ? FPV_NAME
					   : f->id == FLD_PROC_APID ? FPV_PID
					   : f->id == FLD_PROC_AEXE ? FPV_EXE
								    : FPV_EXEPATH;
		return fields_proc(a, what, v, scratch, slen);
	}
	case FLD_PROC_CWD:
		return p && p->cwd && p->cwd[0] && fields_str(v, p->cwd);
	case FLD_PROC_IS_EXE_UPPER_LAYER:
		/* an overlayfs upper layer, as in Falco: the sandbox has none */
		return p && fields_num(v, 0);
	case FLD_PROC_IS_EXE_WRITABLE:
		return p && fields_num(v, p->exe_writable);
	case FLD_USER_UID:
		return p && fields_num(v, p->uid);
	case FLD_USER_NAME:
		return p && fields_str(v, fields_user(ev, p->uid, scratch, slen));
	case FLD_USER_LOGINUID:
		return fields_num(v, -1);
	case FLD_GROUP_GID:
		return p && fields_num(v, p->gid);
	case FLD_GROUP_NAME:
		return p && fields_str(v, fields_user(ev, p->gid, scratch, slen));
	default:
		break;
	}
	return false;
}

/* The fd.* fields; i numbers the ends of either-endpoint fields. */
static bool fields_get_fd(const struct sf_field *f, const struct sf_event *ev, unsigned i,
			  struct sf_fval *v, char *scratch, size_t slen)
{
	switch ((enum fields_id)f->id) {
	case FLD_FD_NAME:
		return fields_str(v, ev->fd_name);
	case FLD_FD_DIRECTORY:
		return fields_directory(ev, v, scratch, slen);
	case FLD_FD_FILENAME:
		return fields_filename(ev, v);
	case FLD_FD_TYPECHAR:
	case FLD_FD_TYPE: {
		static const char *const chars[] = {NULL, "f", "d", "4", "6", "u", "m"};
		static const char *const names[] = {NULL,   "file", "directory", "ipv4",
						    "ipv6", "unix", "memfd"};
		unsigned t = (unsigned)ev->fd_type;
		if (t >= sizeof(chars) / sizeof(chars[0]))
			return false;
		return fields_str(v, f->id == FLD_FD_TYPECHAR ? chars[t] : names[t]);
	}
	case FLD_FD_SIP:
	case FLD_FD_SNET:
		return fields_ip(&ev->server, v);
	case FLD_FD_CIP:
	case FLD_FD_CNET:
		return fields_ip(&ev->client, v);
	case FLD_FD_RIP:
	case FLD_FD_RNET:
		return fields_ip(fields_remote(ev), v);
	case FLD_FD_LIP:
	case FLD_FD_LNET:
		return fields_ip(fields_local(ev), v);
	case FLD_FD_IP:
	case FLD_FD_NET:
		return fields_ip(fields_either(ev, i), v);
	case FLD_FD_SPORT:
		return fields_port(&ev->server, v);
	case FLD_FD_CPORT:
		return fields_port(&ev->client, v);
	case FLD_FD_RPORT:
		return fields_port(fields_remote(ev), v);
	case FLD_FD_LPORT:
		return fields_port(fields_local(ev), v);
	case FLD_FD_PORT:
		return fields_port(fields_either(ev, i), v);
	case FLD_FD_L4PROTO:
		return fields_str(v, ev->l4proto);
	case FLD_FD_IS_SERVER:
		return fields_is_socket(ev) && fields_num(v, ev->is_server);
	case FLD_FD_SOCKFAMILY:
		if (ev->fd_type == SF_FD_IPV4 || ev->fd_type == SF_FD_IPV6)
			return fields_str(v, "ip");
		if (ev->fd_type == SF_FD_UNIX)
			return fields_str(v, "unix");
		return false;
	case FLD_FD_SIP_NAME:
		return fields_str(v, ev->sip_name);
	default:
		break;
	}
	return false;
}

/* fd.connected: a socket the event connected (connect succeeding or in
 * progress) or accepted; false for one bound or listening; missing for
 * anything else (scanfarm keeps no per-fd table across events). */
static bool fields_connected(const struct sf_event *ev, struct sf_fval *v)
{
	if (!fields_is_socket(ev))
		return false;
	if (!strcmp(ev->type, "connect"))
		return fields_num(v, ev->res == 0 || ev->res == -EINPROGRESS);
	if (!strncmp(ev->type, "accept", 6))
		return fields_num(v, ev->res >= 0);
	if (!strcmp(ev->type, "bind") || !strcmp(ev->type, "listen"))
		return fields_num(v, 0);
	return false;
}

/* The container.* fields, thread.cgroups, sf.dns.name, the scanfarm.*
 * attribution fields (never missing: "" when the event carries none) and
 * the scanfarm.* network fields (missing on events that are not about them). */
static bool fields_get_other(const struct sf_field *f, const struct sf_event *ev, struct sf_fval *v)
{
	switch ((enum fields_id)f->id) {
	case FLD_CONTAINER_ID:
		return fields_str(v, ev->container_id);
	case FLD_CONTAINER_NAME:
		return fields_str(v, ev->container_name);
	case FLD_CONTAINER_IMAGE:
	case FLD_CONTAINER_IMAGE_REPOSITORY:
		return fields_str(v, ev->container_image);
	case FLD_EVT_NUM:
		return ev->num > 0 && fields_num(v, (int64_t)ev->num);
	case FLD_FD_NUM:
		return ev->has_fd_num && ev->fd_type != SF_FD_NONE && fields_num(v, ev->fd_num);
	case FLD_FD_CONNECTED:
		return fields_connected(ev, v);
	case FLD_FD_NAMERAW:
		return fields_str(v, ev->fd_name);
	case FLD_PROC_IS_EXE_FROM_MEMFD:
		return ev->proc && ev->proc->exepath &&
		       fields_num(v, !strncmp(ev->proc->exepath, "memfd:", 6) ||
					 !strncmp(ev->proc->exepath, "/memfd:", 7));
	case FLD_THREAD_CGROUPS:
		return fields_str(v, ev->cgroups);
	case FLD_THREAD_TID:
		return ev->tid > 0 && fields_num(v, ev->tid);
	case FLD_THREAD_ISMAIN:
		/* unknown tid: the process itself */
		return fields_num(v, ev->tid <= 0 || !ev->proc || ev->tid == ev->proc->pid);
	case FLD_SF_DNS_NAME:
		return fields_str(v, ev->dns_name);
	case FLD_SF_PACKAGE:
		return fields_str(v, ev->proc && ev->proc->package ? ev->proc->package : "");
	case FLD_SF_PACKAGE_PATH:
		return fields_str(v, ev->proc && ev->proc->package_path ? ev->proc->package_path
									: "");
	case FLD_SF_PHASE:
		return fields_str(v, ev->phase ? ev->phase : "");
	case FLD_SF_FD_PACKAGE:
		return fields_str(v, ev->fd_package ? ev->fd_package : "");
	case FLD_SF_NET_KIND:
		return fields_str(v, ev->net_kind);
	case FLD_SF_NET_BLOCKED:
		return (ev->fd_type == SF_FD_IPV4 || ev->fd_type == SF_FD_IPV6) &&
		       fields_num(v, ev->dst_blocked);
	case FLD_SF_DNS_TYPE:
		return fields_str(v, ev->dns_type);
	case FLD_SF_HTTP_METHOD:
		return fields_str(v, ev->http_method);
	case FLD_SF_HTTP_URI:
		return fields_str(v, ev->http_uri);
	case FLD_SF_HTTP_HOST:
		return fields_str(v, ev->http_host);
	case FLD_SF_HTTP_REQUEST_LINE:
		return fields_str(v, ev->http_request_line);
	case FLD_SF_TLS_SNI:
		return fields_str(v, ev->tls_sni);
	case FLD_SF_LEFT_RUNNING:
		return fields_num(v, ev->left_running);
	default:
		break;
	}
	return false;
}

bool sf_field_get(const struct sf_field *f, const struct sf_event *ev, unsigned i,
		  struct sf_fval *v, char *scratch, size_t slen)
{
	if ((i > 0 && sf_field_multi(f) == SF_FM_ONE) || f->id >= SF_FIELD_ABSENT)
		return false;
	/* enum fields_id keeps each class together: dispatch on its ranges. */
	if (f->id <= FLD_EVT_SOURCE)
		return fields_get_evt(f, ev, v, scratch, slen);
	if (f->id <= FLD_GROUP_NAME)
		return fields_get_proc(f, ev, i, v, scratch, slen);
	if (f->id <= FLD_FD_SIP_NAME)
		return fields_get_fd(f, ev, i, v, scratch, slen);
	return fields_get_other(f, ev, v);
}

/* ---- rendering -------------------------------------------------------- */

/* Renders one value of f (already extracted) into out[0..len). */
static void fields_render_val(const struct sf_field *f, const struct sf_fval *v, char *out,
			      size_t len)
{
	switch (sf_field_type(f)) {
	case SF_FT_STR:
		if (v->s != out)
			snprintf(out, len, "%.*s",
				 (int)(v->len < (size_t)INT32_MAX ? v->len : INT32_MAX), v->s);
		break;
	case SF_FT_NUM:
		snprintf(out, len, "%lld", (long long)v->n);
		break;
	case SF_FT_BOOL:
		snprintf(out, len, "%s", v->n ? "true" : "false");
		break;
	case SF_FT_IP:
	case SF_FT_NET: {
		char tmp[INET6_ADDRSTRLEN];
		if (!inet_ntop(v->ip.family == 4 ? AF_INET : AF_INET6, v->ip.addr, tmp,
			       sizeof(tmp)))
			tmp[0] = '\0';
		snprintf(out, len, "%s", tmp);
		break;
	}
	}
}

int sf_field_render(const struct sf_field *f, const struct sf_event *ev, char *buf, size_t len)
{
	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	struct sf_fval v;
	if (f->id == FLD_EVT_TIME) {
		if (!fields_time(&v, ev->time_ns, 0, buf, len))
			goto na;
		return 0;
	}
	if (sf_field_multi(f) == SF_FM_ONE) {
		memset(&v, 0, sizeof(v));
		if (!sf_field_get(f, ev, 0, &v, buf, len))
			goto na;
		fields_render_val(f, &v, buf, len);
		return 0;
	}
	/* Several values: joined by spaces, like Falco's proc.aname. */
	size_t off = 0;
	unsigned i;
	for (i = 0; i <= SF_FIELD_MAX_ANCESTORS; i++) {
		char one[1024];
		memset(&v, 0, sizeof(v));
		if (!sf_field_get(f, ev, i, &v, one, sizeof(one)))
			break;
		char text[1024];
		fields_render_val(f, &v, text, sizeof(text));
		int w = snprintf(buf + off, len - off, "%s%s", i ? " " : "", text);
		if (w < 0 || (size_t)w >= len - off) {
			off = len - 1;
			i++;
			break;
		}
		off += (size_t)w;
	}
	if (i == 0)
		goto na;
	return 0;
na:
	snprintf(buf, len, "%s", SF_FIELD_NA);
	return -ENODATA;
}
