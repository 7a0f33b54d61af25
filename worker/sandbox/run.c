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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "cgstat.h"
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

/* Starts `runtime --root=… VERB --bundle B --pid-file P [--preserve-fds 1]
 * ID` (create) or `runtime --root=… start ID` in the keeper; its pid, or
 * -1. stdio and fd 3 are the keeper's. */
static pid_t run_spawn(const struct sf_sandbox_spec *s, bool create, const char *pidfile)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char root[4200];
	snprintf(root, sizeof(root), "--root=%s", s->state_root);
	const char *argv[12];
	int n = 0;
	argv[n++] = s->runtime;
	argv[n++] = root;
	if (create) {
		argv[n++] = "create";
		argv[n++] = "--bundle";
		argv[n++] = s->bundle_dir;
		argv[n++] = "--pid-file";
		argv[n++] = pidfile;
		if (s->init_host_path)
			argv[n++] = "--preserve-fds=1";
	} else {
		argv[n++] = "start";
	}
	argv[n++] = s->container_id;
	argv[n] = NULL;
	execvp(s->runtime, (char *const *)argv);
	dprintf(2, "cannot execute %s: %s\n", s->runtime, strerror(errno));
	_exit(127);
}

/* A child's status as a shell reports it. */
static int run_status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

static int run_wait(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 125;
	return run_status_code(st);
}

/*
 * The keeper, a child of the worker: the container's subreaper, so its
 * pid 1 (whose parent, the runtime's create, exits) is reaped here and its
 * exit status is this process's. Creates and starts the container; never
 * returns. Exit 125 when the runtime failed, 127 when it is missing.
 */
static void run_keeper(const struct sf_sandbox_spec *s, int out_fd, int err_fd, int ctl_fd)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0)
		dup2(null, 0);
	dup2(out_fd, 1);
	dup2(err_fd, 2);
	if (ctl_fd >= 0) {
		if (ctl_fd == SF_INIT_FD)
			fcntl(ctl_fd, F_SETFD, 0);
		else
			dup2(ctl_fd, SF_INIT_FD);
	}
	/* The keeper is a fork that never execs, alive for the whole phase:
	 * it holds whatever the worker had open when it forked, which with
	 * several slots includes other jobs' files being written (an
	 * executable held open for writing cannot be exec'd: ETXTBSY, a
	 * sandbox whose /dev/init "Text file busy"). It keeps only its
	 * stdio and the init's socket. */
	close_range(ctl_fd >= 0 ? SF_INIT_FD + 1 : 3, ~0U, 0);
	char pidfile[4200];
	snprintf(pidfile, sizeof(pidfile), "%s/container.pid", s->bundle_dir);
	unlink(pidfile);
	pid_t c = run_spawn(s, true, pidfile);
	int rc = c < 0 ? 125 : run_wait(c);
	if (ctl_fd >= 0)
		close(SF_INIT_FD); /* the container holds it now: its end is EOF */
	if (rc)
		_exit(rc == 127 ? 127 : 125);
	char buf[32] = "";
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	pid_t cpid = n > 0 ? (pid_t)strtol(buf, NULL, 10) : 0;
	if (cpid <= 0)
		_exit(125);
	pid_t st = run_spawn(s, false, NULL);
	if (st < 0 || run_wait(st) != 0) {
		kill(cpid, SIGKILL);
		run_wait(cpid);
		_exit(125);
	}
	int code = run_wait(cpid);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		; /* anything else that was reparented here */
	_exit(code);
}

/* What the collector knows while the container runs. */
struct run_watch {
	const struct sf_sandbox_spec *s;
	struct sf_sandbox_result *res;
	pid_t keeper;
	int64_t deadline, next_check;
	bool killed;
	struct sf_cgstat cg;
	bool have_cg;
	struct sf_init_ctl ctl;
};

/* Kills the whole container (not just the keeper) for reaching limit. */
static void run_kill(struct run_watch *w, unsigned limit)
{
	w->res->limits |= limit;
	if (w->killed)
		return;
	w->killed = true;
	if (limit == SF_LIMIT_TIME)
		w->res->timed_out = true;
	run_runtime(w->s, "kill", "--all", "KILL");
	w->deadline = sf_monotonic_ms() + 10000;
}

static void run_check_disk(struct run_watch *w)
{
	struct statvfs sv;
	if (w->s->disk_path && statvfs(w->s->disk_path, &sv) == 0 &&
	    ((uint64_t)sv.f_bavail * sv.f_frsize < SF_SANDBOX_DISK_FULL_BYTES ||
	     (sv.f_files > 0 && sv.f_favail == 0)))
		w->res->limits |= SF_LIMIT_DISK;
}

/* The periodic checks: CPU time, the disk. */
static void run_check(struct run_watch *w, int64_t now)
{
	w->next_check = now + SF_SANDBOX_CHECK_MS;
	run_check_disk(w);
	if (w->s->cpu_limit_s > 0 && w->have_cg &&
	    sf_cgstat_cpu_us(&w->cg) > (uint64_t)w->s->cpu_limit_s * 1000000)
		run_kill(w, SF_LIMIT_CPU);
}

bool sf_init_ctl_feed(struct sf_init_ctl *c, const char *data, size_t n, int *status, int *left)
{
	bool got = false;
	for (size_t i = 0; i < n; i++) {
		if (data[i] != '\n') {
			if (c->len < sizeof(c->line) - 1)
				c->line[c->len++] = data[i];
			continue;
		}
		c->line[c->len] = '\0';
		c->len = 0;
		int st, l;
		char end;
		if (!got && sscanf(c->line, "E %d %d%c", &st, &l, &end) == 2) {
			*status = st;
			*left = l;
			got = true;
		}
	}
	return got;
}

/* The init's "E <status> <left>": the command has ended; what it left
 * running has the grace, and then a little, before it is killed. */
static void run_ctl(struct run_watch *w, const char *data, size_t n)
{
	int status, left;
	if (!sf_init_ctl_feed(&w->ctl, data, n, &status, &left) || w->res->command_ended)
		return;
	w->res->command_ended = true;
	w->res->left_running = left != 0;
	if (!w->killed)
		w->deadline = sf_monotonic_ms() + w->s->grace_ms + 2000;
}

/*
 * Drains the container's stdout and stderr (keeping their tails) and the
 * init's control socket until the output closes, enforcing the time, CPU
 * and output limits; the keeper is killed 10 s after the container was, if
 * it has not ended by then.
 */
static void run_collect(struct run_watch *w, int out_fd, int err_fd, int ctl_fd, int64_t start,
			struct run_tail *tails)
{
	struct pollfd p[3] = {{.fd = out_fd, .events = POLLIN},
			      {.fd = err_fd, .events = POLLIN},
			      {.fd = ctl_fd, .events = POLLIN}};
	int open_fds = 2;
	w->deadline = start + (int64_t)w->s->time_limit_s * 1000;
	w->next_check = start;
	while (open_fds > 0) {
		int64_t now = sf_monotonic_ms();
		if (now >= w->deadline) {
			if (w->killed) {
				kill(w->keeper, SIGKILL);
				break;
			}
			/* the command's time ran out, or the grace after it */
			if (w->res->command_ended)
				run_kill(w, 0);
			else
				run_kill(w, SF_LIMIT_TIME);
		}
		if (now >= w->next_check)
			run_check(w, now);
		int64_t wait = (w->deadline < w->next_check ? w->deadline : w->next_check) - now;
		int n = poll(p, 3, wait < 0 ? 0 : (int)wait);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 3; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char chunk[8192];
			ssize_t r = read(p[i].fd, chunk, sizeof(chunk));
			if (r > 0 && i == 2) {
				run_ctl(w, chunk, (size_t)r);
			} else if (r > 0) {
				run_tail_append(&tails[i], chunk, (size_t)r);
				w->res->output_bytes += r;
				if (w->s->output_limit > 0 && w->res->output_bytes > w->s->output_limit)
					run_kill(w, SF_LIMIT_OUTPUT);
			} else if (r == 0 || errno != EINTR) {
				p[i].fd = -1;
				if (i < 2)
					open_fds--;
			}
		}
	}
}

/* After the container ended: what its cgroup counted, then the cgroup
 * killed (anything still in it) and the container deleted. */
static void run_finish(struct run_watch *w)
{
	struct sf_sandbox_result *res = w->res;
	if (w->have_cg) {
		struct sf_cgstat_counts k;
		sf_cgstat_read(&w->cg, &k);
		res->cpu_ms = (int64_t)(k.cpu_us / 1000);
		res->oom_kills = k.oom_kills;
		if (k.oom_kills)
			res->limits |= SF_LIMIT_MEMORY;
		if (k.pids_refused)
			res->limits |= SF_LIMIT_PIDS;
		if (w->s->cpu_limit_s > 0 && k.cpu_us > (uint64_t)w->s->cpu_limit_s * 1000000)
			res->limits |= SF_LIMIT_CPU;
	}
	run_check_disk(w);
	/* Whatever happened, nothing of the container may survive the run. */
	run_runtime(w->s, "kill", "--all", "KILL");
	run_runtime(w->s, "delete", "--force", NULL);
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
	int out[2] = {-1, -1}, errp[2] = {-1, -1}, ctl[2] = {-1, -1};
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0 ||
	    (s->init_host_path &&
	     socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) != 0)) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto close_pipes;
	}
	if (ctl[0] >= 0) /* read by the init before the command starts */
		dprintf(ctl[0], "G %d\n", s->grace_ms);
	struct run_watch w = {.s = s, .res = res};
	char rel[300];
	snprintf(rel, sizeof(rel), "%s/%s", SF_SANDBOX_CGROUP_PARENT, s->container_id);
	w.have_cg = sf_cgstat_locate(&w.cg, rel) == 0;
	int64_t start = sf_monotonic_ms();
	w.keeper = fork();
	if (w.keeper < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto close_pipes;
	}
	if (w.keeper == 0)
		run_keeper(s, out[1], errp[1], ctl[1]);
	close(out[1]);
	close(errp[1]);
	if (ctl[1] >= 0)
		close(ctl[1]);
	out[1] = errp[1] = ctl[1] = -1;

	struct run_tail *tails = calloc(2, sizeof(*tails));
	if (!tails) {
		kill(w.keeper, SIGKILL);
		rc = -ENOMEM;
	} else {
		run_collect(&w, out[0], errp[0], ctl[0], start, tails);
	}
	int status = 0;
	while (waitpid(w.keeper, &status, 0) < 0 && errno == EINTR)
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
	run_finish(&w);
close_pipes:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (ctl[i] >= 0)
			close(ctl[i]);
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
