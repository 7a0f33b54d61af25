/* proxy — see proxy.h. */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "log.h"
#include "util.h"

#define PROXY_START_MS 5000 /* tinyproxy listens within milliseconds */

/* Appends s to out with the characters an ERE gives meaning escaped. */
static int proxy_ere_escape(char *out, size_t outlen, size_t *used, const char *s)
{
	for (; *s; s++) {
		bool special = strchr(".[](){}*+?|^$\\", *s) != NULL;
		if (*used + 2 >= outlen)
			return -ENAMETOOLONG;
		if (special)
			out[(*used)++] = '\\';
		out[(*used)++] = *s;
	}
	out[*used] = '\0';
	return 0;
}

int sf_proxy_filter_line(const char *registry, char *out, size_t outlen)
{
	struct sf_url_parts u;
	int rc = sf_url_split(registry, &u);
	if (rc)
		return rc == -ENOMEM ? rc : -EINVAL;
	const char *scheme = u.scheme, *host = u.host, *port = u.default_port, *path = u.path;
	size_t used = 0;
	out[0] = '\0';
	if (strcmp(scheme, "https") == 0) {
		/* a CONNECT is filtered as "host:port" */
		if ((rc = sf_strlcpy(out, "^", outlen)) == 0) {
			used = strlen(out);
			if (!(rc = proxy_ere_escape(out, outlen, &used, host)) &&
			    !(rc = proxy_ere_escape(out, outlen, &used, ":")) &&
			    !(rc = proxy_ere_escape(out, outlen, &used, port)))
				rc = used + 1 < outlen ? 0 : -ENAMETOOLONG;
			if (!rc) {
				out[used++] = '$';
				out[used] = '\0';
			}
		}
	} else if (strcmp(scheme, "http") == 0) {
		/* a plain request is filtered by its absolute URL; the default
		 * port may or may not be spelled out */
		size_t plen = strlen(path);
		bool dflt = strcmp(port, "80") == 0;
		char portpart[32];
		snprintf(portpart, sizeof(portpart), dflt ? "(:80)?" : ":%s", port);
		rc = sf_strlcpy(out, "^http://", outlen);
		used = strlen(out);
		if (!rc)
			rc = proxy_ere_escape(out, outlen, &used, host);
		if (!rc && used + strlen(portpart) < outlen) {
			memcpy(out + used, portpart, strlen(portpart) + 1);
			used += strlen(portpart);
		} else if (!rc) {
			rc = -ENAMETOOLONG;
		}
		if (!rc)
			rc = proxy_ere_escape(out, outlen, &used, path);
		if (!rc && (plen == 0 || path[plen - 1] != '/'))
			rc = proxy_ere_escape(out, outlen, &used, "/");
	}
	return rc;
}

/* An unused loopback port (tinyproxy cannot be asked for port 0). */
static int proxy_free_port(uint16_t *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int rc = 0;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) != 0)
		rc = -errno;
	close(s);
	*port = ntohs(a.sin_port);
	return rc;
}

static int proxy_write_config(struct sf_proxy *p, char *err, size_t errlen)
{
	struct sf_buf filter = {0}, conf = {0};
	int rc = 0;
	int connect_ports[SF_PROXY_MAX_REGISTRIES], nports = 0;
	for (int i = 0; i < p->nregistries && !rc; i++) {
		char line[2048];
		if ((rc = sf_proxy_filter_line(p->registries[i], line, sizeof(line)))) {
			snprintf(err, errlen, "registry %s: not an http(s) URL the proxy can allow",
				 p->registries[i]);
			goto out;
		}
		rc = sf_buf_appendf(&filter, "%s\n", line);
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/filter", p->dir);
	if (!rc)
		rc = sf_write_file(path, filter.data ? filter.data : "", filter.len);
	if (!rc)
		rc = sf_buf_appendf(
		    &conf,
		    "# written by scanfarm-worker: the fetch phase's allowlisting proxy\n"
		    "Port %u\nListen 127.0.0.1\nUser nobody\nGroup nogroup\nTimeout 120\n"
		    "MaxClients 256\nFilter \"%s\"\nFilterURLs On\nFilterType ere\n"
		    "FilterDefaultDeny Yes\nLogLevel Notice\nDisableViaHeader Yes\n",
		    (unsigned)p->port, path);
	/* CONNECT only to the ports of https registries */
	for (int i = 0; i < p->nregistries && !rc; i++) {
		struct sf_url_parts u;
		if (sf_url_split(p->registries[i], &u) == 0 && strcmp(u.scheme, "https") == 0) {
			int k = 0, n = atoi(u.default_port);
			while (k < nports && connect_ports[k] != n)
				k++;
			if (k == nports) {
				connect_ports[nports++] = n;
				rc = sf_buf_appendf(&conf, "ConnectPort %d\n", n);
			}
		}
	}
	snprintf(path, sizeof(path), "%s/tinyproxy.conf", p->dir);
	if (!rc)
		rc = sf_write_file(path, conf.data, conf.len);
	if (rc && !err[0])
		snprintf(err, errlen, "cannot write the proxy's configuration: %s", strerror(-rc));
out:
	sf_buf_free(&filter);
	sf_buf_free(&conf);
	return rc;
}

static bool proxy_listening(const struct sf_proxy *p)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return false;
	bool up = connect(s, (const struct sockaddr *)&p->addr, sizeof(p->addr)) == 0;
	close(s);
	return up;
}

static int proxy_spawn(struct sf_proxy *p, char *err, size_t errlen)
{
	char conf[4200], log[4200];
	snprintf(conf, sizeof(conf), "%s/tinyproxy.conf", p->dir);
	snprintf(log, sizeof(log), "%s/proxy.log", p->dir);
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", log, strerror(errno));
		return -errno;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(logfd);
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		/* nothing of the worker's (sockets, BPF maps, job files) goes with it */
		close_range(3, ~0U, 0);
		execlp(p->binary, p->binary, "-d", "-c", conf, (char *)NULL);
		dprintf(2, "scanfarm: cannot execute %s: %s\n", p->binary, strerror(errno));
		_exit(127);
	}
	close(logfd);
	p->pid = pid;
	int64_t deadline = sf_monotonic_ms() + PROXY_START_MS;
	while (sf_monotonic_ms() < deadline) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			p->pid = 0;
			snprintf(err, errlen, "the registry proxy (%s) exited at start; see %s",
				 p->binary, log);
			return -ECHILD;
		}
		if (proxy_listening(p))
			return 0;
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	sf_proxy_stop(p);
	snprintf(err, errlen, "the registry proxy did not listen within %d ms", PROXY_START_MS);
	return -ETIMEDOUT;
}

int sf_proxy_start(struct sf_proxy *p, const char *binary, const char *dir,
		   const char *const *registries, int nregistries, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	err[0] = '\0';
	if (nregistries < 1 || nregistries > SF_PROXY_MAX_REGISTRIES) {
		snprintf(err, errlen, "between 1 and %d registries", SF_PROXY_MAX_REGISTRIES);
		return -EINVAL;
	}
	sf_strlcpy(p->binary, binary, sizeof(p->binary));
	if (sf_strlcpy(p->dir, dir, sizeof(p->dir)))
		return -ENAMETOOLONG;
	for (int i = 0; i < nregistries; i++)
		p->registries[i] = registries[i];
	p->nregistries = nregistries;
	int rc = sf_mkdirs(dir, 0755);
	if (rc) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
		return rc;
	}
	if ((rc = proxy_free_port(&p->port)))
		return rc;
	p->addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(p->port),
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if ((rc = proxy_write_config(p, err, errlen)))
		return rc;
	return proxy_spawn(p, err, errlen);
}

int sf_proxy_ensure(struct sf_proxy *p, char *err, size_t errlen)
{
	int status;
	if (p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == 0 && proxy_listening(p))
		return 0;
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &status, 0);
	}
	p->pid = 0;
	sf_warn("registry proxy was not running: restarting it");
	return proxy_spawn(p, err, errlen);
}

long long sf_proxy_log_offset(const struct sf_proxy *p)
{
	char log[4200];
	struct stat st;
	snprintf(log, sizeof(log), "%s/proxy.log", p->dir);
	return stat(log, &st) == 0 ? (long long)st.st_size : 0;
}

int sf_proxy_refusals(const struct sf_proxy *p, long long from,
		      void (*fn)(void *arg, const char *url), void *arg)
{
	char log[4200];
	snprintf(log, sizeof(log), "%s/proxy.log", p->dir);
	FILE *f = fopen(log, "re");
	if (!f)
		return -errno;
	if (fseeko(f, (off_t)from, SEEK_SET) != 0) {
		fclose(f);
		return -errno;
	}
	char line[4096];
	static const char filtered[] = "Proxying refused on filtered url \"";
	static const char connect[] = "Refused CONNECT method on port ";
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, filtered), *end;
		if (at) {
			at += sizeof(filtered) - 1;
			if ((end = strrchr(at, '"')))
				*end = '\0';
			fn(arg, at);
		} else if ((at = strstr(line, connect))) {
			at += sizeof(connect) - 1;
			at[strcspn(at, "\r\n")] = '\0';
			char what[64];
			snprintf(what, sizeof(what), "CONNECT to port %s", at);
			fn(arg, what);
		}
	}
	fclose(f);
	return 0;
}

void sf_proxy_stop(struct sf_proxy *p)
{
	if (p->pid > 0) {
		int status;
		kill(p->pid, SIGTERM);
		int64_t deadline = sf_monotonic_ms() + 2000;
		while (waitpid(p->pid, &status, WNOHANG) == 0 && sf_monotonic_ms() < deadline) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		if (waitpid(p->pid, &status, WNOHANG) == 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
		}
	}
	p->pid = 0;
}
