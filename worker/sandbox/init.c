/*
 * init — the sandbox container's pid 1 (a program of its own, linked
 * statically: it runs on the sandbox's root file system, whatever libc that
 * has). The worker mounts it read-only at /dev/init, where Docker's --init
 * used to put its init, and runs every phase as `/dev/init -- CMD ARGS...`.
 *
 * Why it exists: when a pid namespace's first process exits, the kernel
 * kills every other process in it. With the phase's command as pid 1, a
 * package's detached or background process would die the moment the
 * install ended, unseen. This init runs the command as its child, reaps
 * every orphan, and when the command has ended while other processes are
 * still running gives them a bounded grace period (they act while the
 * sensor watches) before it exits — which kills what is left.
 *
 * The worker talks to it on fd 3 (SF_INIT_FD, a socket pair the runtime
 * passes through): it writes "G <grace ms>\n" before the container starts;
 * the init answers "E <status> <left>\n" when the command has ended (status
 * as a shell reports it, left = 1 when other processes were still running),
 * so the worker knows the command's time is over and the grace has begun.
 * The command never sees fd 3 (close-on-exec), and the init makes itself
 * non-dumpable, so the package (same uid) can neither ptrace it nor open
 * /proc/1/fd or /proc/1/environ.
 *
 * Exit status: the command's (exit code, or 128 + signal). 127 when the
 * command cannot be executed, 126 when there is nothing to run.
 *
 * One command per item ("each"): `/dev/init -- --each MS CMD ARGS... --
 * DIR ARG [DIR ARG]...` makes the command a runner (a fork of this init,
 * no exec) that runs `CMD ARGS... ARG` once per item, each in a process of
 * its own whose cwd is DIR, as many at a time as there are CPUs (at least
 * two), each killed after MS ms; as each ends it prints a line
 * "<label>ARG: ok | failed (exit N) | failed (SIGNAME) | timed out |
 * not run: ENAME" on stdout. The label comes from SF_INIT_EACH_LABEL in
 * the environment, which no item's process inherits (and which the
 * non-dumpable init's /proc/1/environ does not show): nothing in a command
 * line the package can read names the harness. The import phase is this
 * (npm.c): a node driver doing the same cost a node start per scan.
 *
 * Owns: its child and the orphans it inherits. Calls: libc only.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

/* The grace the worker asked for ("G <ms>\n"); 0 without a worker. */
static long init_read_grace(void)
{
	char buf[64];
	size_t n = 0;
	while (n < sizeof(buf) - 1) {
		ssize_t r = read(SF_INIT_FD, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	if (buf[0] != 'G')
		return 0;
	long ms = strtol(buf + 1, NULL, 10);
	return ms < 0 ? 0 : ms > SF_INIT_GRACE_MAX_MS ? SF_INIT_GRACE_MAX_MS : ms;
}

static int init_status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

static long long init_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reaps what has exited without waiting; returns 1 while children remain,
 * 0 when there are none. Notes the command's status when it is among them. */
static int init_reap(pid_t cmd, int *cmd_status, int *cmd_done)
{
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p > 0) {
			if (p == cmd) {
				*cmd_status = init_status_code(st);
				*cmd_done = 1;
			}
			continue;
		}
		if (p == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return 0; /* ECHILD: nobody is left */
	}
}

/* Waits for a signal (SIGCHLD above all) until deadline_ms (< 0: forever);
 * forwards termination signals to the command. */
static void init_wait_signal(const sigset_t *set, pid_t cmd, long long deadline_ms)
{
	siginfo_t si;
	int sig;
	if (deadline_ms < 0) {
		sig = sigwaitinfo(set, &si);
	} else {
		long long left = deadline_ms - init_now_ms();
		if (left <= 0)
			return;
		struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
		sig = sigtimedwait(set, &si, &ts);
	}
	if (sig > 0 && sig != SIGCHLD && cmd > 0)
		kill(cmd, sig);
}

#define INIT_EACH_MAX_PARALLEL 64

struct init_each_slot {
	pid_t pid;		/* 0: free */
	const char *arg;
	long long deadline_ms;
	int timed_out;
};

/* Starts `cmd... arg` with its cwd dir; 0 with s->pid set, or the errno
 * of the chdir or exec that failed (the child reports it on a pipe that
 * its exec closes). */
static int init_each_start(char **cmd, int ncmd, const char *dir, const char *arg,
			   const sigset_t *old, struct init_each_slot *s)
{
	char *argv[ncmd + 2];
	for (int i = 0; i < ncmd; i++)
		argv[i] = cmd[i];
	argv[ncmd] = (char *)arg;
	argv[ncmd + 1] = NULL;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return e;
	}
	if (pid == 0) {
		close(fds[0]);
		sigprocmask(SIG_SETMASK, old, NULL);
		int e = 0;
		if (chdir(dir) != 0)
			e = errno;
		else
			execvp(argv[0], argv);
		if (!e)
			e = errno;
		ssize_t w = write(fds[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	close(fds[1]);
	int e = 0;
	ssize_t n;
	while ((n = read(fds[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(fds[0]);
	if (n == (ssize_t)sizeof(e) && e) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return e;
	}
	s->pid = pid;
	s->arg = arg;
	return 0;
}

/* How an item's process ended, as the line says it. */
static void init_each_say(const char *label, const struct init_each_slot *s, int st)
{
	if (s->timed_out)
		printf("%s%s: timed out\n", label, s->arg);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		printf("%s%s: ok\n", label, s->arg);
	else if (WIFEXITED(st))
		printf("%s%s: failed (exit %d)\n", label, s->arg, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s%s: failed (SIG%s)\n", label, s->arg,
		       sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
	fflush(stdout);
}

/* The runner of --each (see the top): argv is "MS CMD ARGS... -- DIR ARG
 * ...". Returns its exit status: 0 once every item has run, 126 when the
 * arguments are not that. */
static int init_each(int argc, char **argv, const sigset_t *old)
{
	const char *env_label = getenv(SF_INIT_EACH_LABEL_ENV);
	char label[128];
	snprintf(label, sizeof(label), "%s", env_label ? env_label : "");
	unsetenv(SF_INIT_EACH_LABEL_ENV);
	close(SF_INIT_FD); /* the init's, not the runner's */
	if (argc < 2)
		return 126;
	char *end;
	long ms = strtol(argv[0], &end, 10);
	int sep = 1;
	while (sep < argc && strcmp(argv[sep], "--") != 0)
		sep++;
	if (*end || ms <= 0 || sep == 1 || sep >= argc || (argc - sep - 1) % 2 != 0)
		return 126;
	char **cmd = argv + 1, **items = argv + sep + 1;
	int ncmd = sep - 1, nitems = (argc - sep - 1) / 2;
	cpu_set_t cpus;
	int parallel = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
	if (parallel < 2)
		parallel = 2;
	if (parallel > INIT_EACH_MAX_PARALLEL)
		parallel = INIT_EACH_MAX_PARALLEL;
	struct init_each_slot slots[INIT_EACH_MAX_PARALLEL];
	memset(slots, 0, sizeof(slots));
	sigset_t all;
	sigfillset(&all);
	int next = 0, running = 0, stop = 0;
	while (running > 0 || (next < nitems && !stop)) {
		for (int i = 0; i < parallel && next < nitems && !stop; i++) {
			if (slots[i].pid)
				continue;
			const char *dir = items[2 * next], *arg = items[2 * next + 1];
			next++;
			int e = init_each_start(cmd, ncmd, dir, arg, old, &slots[i]);
			if (e) {
				printf("%s%s: not run: %s\n", label, arg,
				       strerrorname_np(e) ? strerrorname_np(e) : "error");
				fflush(stdout);
				continue;
			}
			slots[i].deadline_ms = init_now_ms() + ms;
			slots[i].timed_out = 0;
			running++;
		}
		int st;
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			for (int i = 0; i < parallel; i++)
				if (slots[i].pid == p) {
					init_each_say(label, &slots[i], st);
					slots[i].pid = 0;
					running--;
				}
		if (running == 0)
			continue;
		long long now = init_now_ms(), first = -1;
		for (int i = 0; i < parallel; i++) {
			if (!slots[i].pid || slots[i].timed_out)
				continue;
			if (now >= slots[i].deadline_ms) {
				kill(slots[i].pid, SIGKILL);
				slots[i].timed_out = 1;
			} else if (first < 0 || slots[i].deadline_ms < first) {
				first = slots[i].deadline_ms;
			}
		}
		siginfo_t si;
		int sig;
		if (first < 0) {
			sig = sigwaitinfo(&all, &si);
		} else {
			long long left = first - init_now_ms();
			if (left < 1)
				left = 1;
			struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
			sig = sigtimedwait(&all, &si, &ts);
		}
		/* a termination signal ends the run: passed on, nothing new started */
		if (sig > 0 && sig != SIGCHLD) {
			stop = 1;
			for (int i = 0; i < parallel; i++)
				if (slots[i].pid)
					kill(slots[i].pid, sig);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* non-dumpable: /proc/1/{fd,environ,mem} and ptrace stay the
	 * container root's, which nothing in the container is */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	int have_ctl = fcntl(SF_INIT_FD, F_SETFD, FD_CLOEXEC) == 0;
	long grace_ms = have_ctl ? init_read_grace() : 0;
	int first = 1;
	if (argc > 1 && strcmp(argv[1], "--") == 0)
		first = 2;
	if (first >= argc)
		return 126;

	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t cmd = fork();
	if (cmd < 0)
		return 126;
	if (cmd == 0 && strcmp(argv[first], "--each") == 0)
		_exit(init_each(argc - first - 1, argv + first + 1, &old));
	if (cmd == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		unsetenv(SF_INIT_EACH_LABEL_ENV);
		execvp(argv[first], argv + first);
		dprintf(2, "%s: %s\n", argv[first], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	int status = 0, done = 0;
	while (!done) {
		if (!init_reap(cmd, &status, &done))
			break;
		if (!done)
			init_wait_signal(&all, cmd, -1);
	}
	int left = init_reap(cmd, &status, &done);
	if (have_ctl)
		dprintf(SF_INIT_FD, "E %d %d\n", status, left);
	/* the grace: what the command left behind runs on, watched, until it
	 * ends or the time is up; this process's exit kills the rest */
	long long deadline = init_now_ms() + grace_ms;
	while (left && init_now_ms() < deadline) {
		init_wait_signal(&all, -1, deadline);
		left = init_reap(cmd, &status, &done);
	}
	return status;
}
