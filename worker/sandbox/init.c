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
 * Owns: its child and the orphans it inherits. Calls: libc only.
 */
#include <errno.h>
#include <fcntl.h>
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
	if (cmd == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
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
