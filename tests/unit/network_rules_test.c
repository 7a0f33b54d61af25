/*
 * network_rules_test — what the sinkhole's records become (worker/sensor/
 * netevent.c): the event fields (fd.sip.name, evt.buffer, evt.buflen,
 * scanfarm.net.kind, scanfarm.dns.type, scanfarm.http.*, scanfarm.tls.sni)
 * and the facts, and the shipped rules/ (loaded whole) on them and on the
 * sensor's connect events: "Data sent out during install" for a POST with a
 * body and for raw bytes but not for a download, the informational HTTP and
 * TLS rules, "Cloud metadata service contacted" and "Worker host address
 * contacted" (scanfarm.net.blocked) on connects.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "netevent.h"
#include "rules.h"

#ifndef SF_RULES_DIR
#error "SF_RULES_DIR: the rules/ directory"
#endif

static struct sf_proc p_node = {.pid = 300, .ppid = 200, .vpid = 3, .uid = 1000, .gid = 1000,
				.name = "node", .exe = "node", .exepath = "/usr/bin/node",
				.args = "stage1.js", .cwd = "/work/package/",
				.package = "dl@1.0.0", .package_path = ""};

static void ep(struct sf_endpoint *e, const char *ip, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	e->port = port;
	inet_pton(e->family, ip, e->addr);
}

/* A TCP record of kind to dst:port carrying data. */
static struct sf_net_record rec(enum sf_net_kind kind, const char *dst, uint16_t port,
				const char *data)
{
	struct sf_net_record r = {.kind = kind, .time_ns = 1700000000000000000LL,
				  .proto = IPPROTO_TCP};
	ep(&r.client, dst, 40000);
	ep(&r.server, dst, port);
	r.data = (unsigned char *)data;
	r.len = data ? strlen(data) : 0;
	r.total = r.len;
	return r;
}

struct seen {
	char rules[1024];
};

static void on_match(void *arg, const struct sf_rule *rule, const struct sf_event *ev)
{
	(void)ev;
	struct seen *s = arg;
	size_t n = strlen(s->rules);
	snprintf(s->rules + n, sizeof(s->rules) - n, "[%s]", sf_rule_name(rule));
}

/* The rules an event raises, as "[a][b]". */
static const char *fired(const struct sf_ruleset *rs, const struct sf_event *ev, struct seen *s)
{
	struct sf_rules_ctx *ctx = malloc(sizeof(*ctx));
	s->rules[0] = '\0';
	if (!ctx)
		return s->rules;
	sf_rules_ctx_init(ctx);
	sf_rules_eval(rs, ctx, ev, on_match, s);
	free(ctx);
	return s->rules;
}

static void field_is(const struct sf_event *ev, const char *field, const char *want)
{
	char buf[1024];
	int rc = sf_rules_field_render(field, ev, buf, sizeof(buf));
	CHECK(rc == 0 && strcmp(buf, want) == 0);
	if (rc || strcmp(buf, want))
		fprintf(stderr, "  %s: '%s' (rc %d), want '%s'\n", field, buf, rc, want);
}

struct facts {
	char all[4096];
};

static void on_fact(void *arg, const char *kind, const char *value, const char *detail)
{
	struct facts *f = arg;
	size_t n = strlen(f->all);
	snprintf(f->all + n, sizeof(f->all) - n, "%s|%s|%s\n", kind, value, detail);
}

static struct sf_netevent_scratch sc;

static void test_http(const struct sf_ruleset *rs)
{
	struct sf_net_record r = rec(SF_NET_HTTP, "198.18.0.1", 80,
				     "POST /report HTTP/1.1\r\nHost: c2.example\r\n\r\n{\"k\":1}");
	snprintf(r.http_method, sizeof(r.http_method), "POST");
	snprintf(r.http_target, sizeof(r.http_target), "/report");
	snprintf(r.http_version, sizeof(r.http_version), "HTTP/1.1");
	snprintf(r.http_host, sizeof(r.http_host), "c2.example");
	snprintf(r.server_name, sizeof(r.server_name), "c2.example");
	struct sf_event ev;
	sf_netevent_build(&r, &p_node, "install", "sf-job-1", "img", &sc, &ev);
	field_is(&ev, "evt.type", "sinkhole");
	field_is(&ev, "scanfarm.net.kind", "http");
	field_is(&ev, "scanfarm.http.method", "POST");
	field_is(&ev, "scanfarm.http.uri", "/report");
	field_is(&ev, "scanfarm.http.host", "c2.example");
	field_is(&ev, "scanfarm.http.request_line", "POST /report HTTP/1.1");
	field_is(&ev, "fd.sip", "198.18.0.1");
	field_is(&ev, "fd.sport", "80");
	field_is(&ev, "fd.sip.name", "c2.example");
	field_is(&ev, "fd.l4proto", "tcp");
	field_is(&ev, "fd.name", "198.18.0.1:40000->198.18.0.1:80");
	field_is(&ev, "evt.buffer", "POST /report HTTP/1.1\\r\\nHost: c2.example\\r\\n\\r\\n{\"k\":1}");
	field_is(&ev, "evt.buflen", "50");
	field_is(&ev, "scanfarm.package", "dl@1.0.0");
	field_is(&ev, "scanfarm.phase", "install");
	struct seen s;
	CHECK(strcmp(fired(rs, &ev, &s),
		     "[Data sent out during install][HTTP request answered by the sinkhole]") == 0);
	fprintf(stderr, "POST: %s\n", s.rules);
	struct facts f = {""};
	sf_netevent_facts(&r, &sc, on_fact, &f);
	CHECK(strstr(f.all, "http_request|POST /report HTTP/1.1|host=c2.example dest=198.18.0.1:80/tcp"
			    " (c2.example)\n"));
	CHECK(strstr(f.all, "tcp_data|198.18.0.1:80/tcp|name=c2.example 50 bytes: POST /report"));
	/* a download is not data sent */
	snprintf(r.http_method, sizeof(r.http_method), "GET");
	sf_netevent_build(&r, &p_node, "install", "sf-job-1", "img", &sc, &ev);
	CHECK(strcmp(fired(rs, &ev, &s), "[HTTP request answered by the sinkhole]") == 0);
}

static void test_others(const struct sf_ruleset *rs)
{
	struct seen s;
	struct sf_event ev;
	struct sf_net_record r = rec(SF_NET_TLS, "2001:db8::5", 443, "\x16\x03\x01");
	snprintf(r.sni, sizeof(r.sni), "tls.example");
	sf_netevent_build(&r, &p_node, "import", "sf-job-1", "img", &sc, &ev);
	field_is(&ev, "scanfarm.tls.sni", "tls.example");
	field_is(&ev, "fd.sip", "2001:db8::5");
	field_is(&ev, "evt.buffer", "\\x16\\x03\\x01");
	CHECK(strcmp(fired(rs, &ev, &s), "[TLS connection seen by the sinkhole]") == 0);
	CHECK(sf_rules_field_render("scanfarm.http.method", &ev, s.rules, sizeof(s.rules)) != 0);

	r = rec(SF_NET_TCP, "203.0.113.5", 4444, "$ ");
	sf_netevent_build(&r, &p_node, "install", "sf-job-1", "img", &sc, &ev);
	CHECK(strcmp(fired(rs, &ev, &s), "[Data sent out during install]") == 0);
	r = rec(SF_NET_TCP, "203.0.113.5", 4444, NULL);
	sf_netevent_build(&r, &p_node, "install", "sf-job-1", "img", &sc, &ev);
	CHECK(strcmp(fired(rs, &ev, &s), "") == 0);
	struct facts f = {""};
	sf_netevent_facts(&r, &sc, on_fact, &f);
	CHECK(strcmp(f.all, "tcp_data|203.0.113.5:4444/tcp|0 bytes\n") == 0);

	r = (struct sf_net_record){.kind = SF_NET_DNS, .proto = IPPROTO_UDP, .dns_type = 16};
	ep(&r.client, "127.0.0.1", 40001);
	ep(&r.server, "127.0.0.1", 53);
	snprintf(r.dns_name, sizeof(r.dns_name), "c2.example");
	sf_netevent_build(&r, &p_node, "install", "sf-job-1", "img", &sc, &ev);
	field_is(&ev, "scanfarm.dns.type", "TXT");
	field_is(&ev, "sf.dns.name", "c2.example");
	field_is(&ev, "fd.l4proto", "udp");
	CHECK(strcmp(fired(rs, &ev, &s), "") == 0);
	f.all[0] = '\0';
	sf_netevent_facts(&r, &sc, on_fact, &f);
	CHECK(strcmp(f.all, "dns_query|c2.example|TXT (no answer)\n") == 0);
}

/* The sensor's connect events to destinations no sandbox may reach. */
static void test_blocked(const struct sf_ruleset *rs)
{
	struct sf_event ev = {.type = "connect", .time_ns = 1, .res = -113, .proc = &p_node,
			      .fd_type = SF_FD_IPV4, .l4proto = "tcp", .fd_name = "x",
			      .container_id = "sf-job-1", .container_name = "sf-job-1",
			      /* the sandbox's processes, as the sensor and Falco show them */
			      .cgroups = "cpuset=/ memory=/scanfarm/sf-job-1-install"};
	ep(&ev.client, "0.0.0.0", 40000);
	ep(&ev.server, "169.254.169.254", 80);
	ev.dst_blocked = true;
	struct seen s;
	fired(rs, &ev, &s);
	CHECK(strstr(s.rules, "[Cloud metadata service contacted]") &&
	      !strstr(s.rules, "[Worker host address contacted]"));
	ep(&ev.server, "fd00:ec2::254", 80);
	ev.fd_type = SF_FD_IPV6;
	CHECK(strstr(fired(rs, &ev, &s), "[Cloud metadata service contacted]") != NULL);
	/* the same connects as Falco shows them: no server end (the connect
	 * failed at once), only the call's addr argument */
	struct sf_endpoint server = ev.server;
	memset(&ev.server, 0, sizeof(ev.server));
	ev.args[0].name = "addr";
	ev.args[0].value = "fd00:ec2::254:80";
	ev.nargs = 1;
	CHECK(strstr(fired(rs, &ev, &s), "[Cloud metadata service contacted]") != NULL);
	ev.fd_type = SF_FD_IPV4;
	ev.args[0].value = "169.254.169.254:80";
	CHECK(strstr(fired(rs, &ev, &s), "[Cloud metadata service contacted]") != NULL);
	ev.args[0].value = "169.25.4.1:80"; /* another network */
	CHECK(strstr(fired(rs, &ev, &s), "[Cloud metadata service contacted]") == NULL);
	ev.nargs = 0;
	ev.server = server;
	ev.fd_type = SF_FD_IPV6;
	ep(&ev.server, "192.0.2.2", 8080);
	ev.fd_type = SF_FD_IPV4;
	fired(rs, &ev, &s);
	CHECK(strstr(s.rules, "[Worker host address contacted]") &&
	      !strstr(s.rules, "[Cloud metadata service contacted]"));
	field_is(&ev, "scanfarm.net.blocked", "true");
	ev.dst_blocked = false;
	CHECK(strstr(fired(rs, &ev, &s), "[Worker host address contacted]") == NULL);
	field_is(&ev, "scanfarm.net.blocked", "false");
}

int main(void)
{
	const char *paths[] = {SF_RULES_DIR};
	char err[1024];
	struct sf_ruleset *rs;
	int rc = sf_rules_load(&rs, paths, 1, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		TEST_DONE();
	}
	test_http(rs);
	test_others(rs);
	test_blocked(rs);
	sf_rules_free(rs);
	TEST_DONE();
}
