/*
 * syscall_probe — run inside the sandbox by sandbox_test: makes the system
 * calls the seccomp filter denies (worker/sensor/syscalls.h) with harmless
 * arguments and prints "NAME=RESULT" for each (ok, or the errno's name).
 *   syscall_probe denied   every SF_SYSCALLS_DENIED call, mount, clone and
 *                          unshare with and without CLONE_NEWUSER, clone3,
 *                          io_uring_setup
 *   syscall_probe userns   only unshare(CLONE_NEWUSER) and keyctl
 *   syscall_probe i386     getpid through the 32-bit ABI (int 0x80)
 * Built static: it runs on the sandbox's root file system.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syscalls.h"

static void show(const char *name, long r)
{
	printf("%s=%s\n", name, r < 0 ? strerrorname_np(errno) : "ok");
}

/* clone(flags) in raw form: a child that succeeded exits at once. */
static long probe_clone(unsigned long flags)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *mode = argc > 1 ? argv[1] : "denied";
	if (strcmp(mode, "i386") == 0) {
		long r;
		printf("calling int 0x80\n");
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
		printf("i386_getpid=%ld\n", r);
		return 0;
	}
	if (strcmp(mode, "userns") == 0) {
		show("unshare_newuser", unshare(CLONE_NEWUSER));
		show("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
		return 0;
	}
#define PROBE(name, nr) show(#name, syscall(nr, 0, 0, 0, 0, 0, 0));
	SF_SYSCALLS_DENIED(PROBE)
#undef PROBE
	show("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, 0));
	show("unshare_newuser", unshare(CLONE_NEWUSER));
	show("unshare_newns", unshare(CLONE_NEWNS));
	show("unshare_fs", unshare(CLONE_FS));
	show("clone_newuser", probe_clone(CLONE_NEWUSER));
	show("clone_plain", probe_clone(0));
	show("clone3", syscall(SYS_clone3, 0, 0));
	show("io_uring_setup", syscall(SYS_io_uring_setup, 1, 0));
	return 0;
}
