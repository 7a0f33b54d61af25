/* run — see run.h. */
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "util.h"

struct run_tail {
	char buf[SF_SANDBOX_TAIL];
	size_t len;
	bool truncated;
};

static void run_tail_append(struct run_tail *t, const char *data, size_t n)
{
	size_t cap = sizeof(t->buf);
	if (n > cap) { /* only the last cap bytes can survive */
		data += n - cap;
		n = cap;
		t->truncated = true;
	}
	if (t->len + n > cap) {
		size_t drop = t->len + n - cap;
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
		t->truncated = true;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
}

/* The tail as a C string: a NUL byte the output held becomes the two
 * characters "\0", so nothing after it is lost (a string ends at the first). */
static char *run_tail_string(const struct run_tail *t)
{
	const char *mark = t->truncated ? "[…]\n" : "";
	size_t ml = strlen(mark), nuls = 0;
	for (size_t i = 0; i < t->len; i++)
		nuls += t->buf[i] == '\0';
	char *s = malloc(ml + t->len + nuls + 1);
	if (!s)
		return NULL;
	memcpy(s, mark, ml);
	size_t o = ml;
	for (size_t i = 0; i < t->len; i++) {
		if (t->buf[i] == '\0') {
			s[o++] = '\\';
			s[o++] = '0';
		} else {
			s[o++] = t->buf[i];
		}
	}
	s[o] = '\0';
	return s;
}

/* Runs `runtime --root=… verb [flag] id [signal]` and waits; used for kill
 * (`kill --all ID KILL`) and delete (`delete --force ID`). */
static int run_runtime(const struct sf_sandbox_spec *s, const char *verb, const char *flag,
			   const char *signal_name)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		char root[4200];
		snprintf(root, sizeof(root), "--root=%s", s->state_root);
		const char *argv[7];
		int n = 0;
		argv[n++] = s->runtime;
		argv[n++] = root;
		argv[n++] = verb;
		argv[n++] = flag;
		argv[n++] = s->container_id;
		argv[n++] = signal_name;
		argv[n] = NULL;
		execvp(s->runtime, (char *const *)argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/*
 * Keeps the tails of the container's stdout and stderr until both close,
 * killing the whole container (not just the runtime process) when the
 * time limit passes, and the runtime itself 10 s after that.
 */
static void run_collect(const struct sf_sandbox_spec *s, pid_t pid, int out_fd, int err_fd,
			int64_t start, struct run_tail *tails, struct sf_sandbox_result *res)
{
	struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
	int open_fds = 2;
	int64_t deadline = start + (int64_t)s->time_limit_s * 1000;
	bool killed = false;
	while (open_fds > 0) {
		int64_t now = sf_monotonic_ms();
		if (!killed && now >= deadline) {
			/* Kill the whole container, not just the runtime process. */
			res->timed_out = true;
			killed = true;
			run_runtime(s, "kill", "--all", "KILL");
			deadline = now + 10000;
		} else if (killed && now >= deadline) {
			kill(pid, SIGKILL);
			break;
		}
		int n = poll(p, 2, (int)(deadline - now));
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char chunk[8192];
			ssize_t r = read(p[i].fd, chunk, sizeof(chunk));
			if (r > 0) {
				run_tail_append(&tails[i], chunk, (size_t)r);
			} else if (r == 0 || errno != EINTR) {
				p[i].fd = -1;
				open_fds--;
			}
		}
	}
}

int sf_sandbox_run(const struct sf_sandbox_spec *s, struct sf_sandbox_result *res, char *err,
		   size_t errlen)
{
	memset(res, 0, sizeof(*res));
	int rc = sf_sandbox_write_bundle(s);
	if (rc) {
		snprintf(err, errlen, "cannot write the OCI bundle");
		return rc;
	}
	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto close_pipes;
	}
	int64_t start = sf_monotonic_ms();
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto close_pipes;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		char root[4200];
		snprintf(root, sizeof(root), "--root=%s", s->state_root);
		execlp(s->runtime, s->runtime, root, "run", "--bundle", s->bundle_dir,
		       s->container_id, (char *)NULL);
		dprintf(2, "scanfarm: cannot execute %s: %s\n", s->runtime, strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	out[1] = errp[1] = -1;

	struct run_tail *tails = calloc(2, sizeof(*tails));
	if (!tails) {
		kill(pid, SIGKILL);
		rc = -ENOMEM;
	} else {
		run_collect(s, pid, out[0], errp[0], start, tails, res);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	res->duration_ms = sf_monotonic_ms() - start;
	if (WIFEXITED(status)) {
		res->exited = true;
		res->exit_status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->exit_status = 128 + WTERMSIG(status);
	}
	if (tails) {
		res->stdout_tail = run_tail_string(&tails[0]);
		res->stderr_tail = run_tail_string(&tails[1]);
		free(tails);
	}
	/* Whatever happened, no container may survive the job. */
	run_runtime(s, "delete", "--force", NULL);
close_pipes:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return rc;
}

int sf_sandbox_sweep(const char *runtime, const char *state_root)
{
	DIR *d = opendir(state_root);
	if (!d)
		return 0;
	char names[64][256];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 64) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		sf_strlcpy(names[n++], e->d_name, sizeof(names[0]));
	}
	closedir(d);
	for (int i = 0; i < n; i++) {
		struct sf_sandbox_spec s = {.runtime = runtime, .state_root = state_root,
					    .container_id = names[i]};
		run_runtime(&s, "kill", "--all", "KILL");
		run_runtime(&s, "delete", "--force", NULL);
		sf_warn("removed container %s left by an earlier run", names[i]);
	}
	return n;
}

void sf_sandbox_result_free(struct sf_sandbox_result *res)
{
	free(res->stdout_tail);
	free(res->stderr_tail);
	memset(res, 0, sizeof(*res));
}
