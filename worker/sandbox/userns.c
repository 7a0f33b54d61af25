/* userns — see userns.h. */
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * A helper child that enters (or makes) a namespace for the parent to
 * open through /proc: it writes one byte on `up` when it is there, then
 * waits for `go` to close before it exits. A single-threaded child is
 * needed because a process with threads (the worker) cannot change its
 * user namespace.
 */
struct userns_child {
	pid_t pid;
	int up, go; /* the parent's ends: read "ready", close to release */
};

/* Starts the child; it runs step(arg) and reports. 0 or -errno. */
static int userns_child_start(struct userns_child *c, int (*step)(const void *), const void *arg)
{
	int up[2], go[2];
	if (pipe2(up, O_CLOEXEC) != 0)
		return -errno;
	if (pipe2(go, O_CLOEXEC) != 0) {
		int e = -errno;
		close(up[0]);
		close(up[1]);
		return e;
	}
	c->pid = fork();
	if (c->pid < 0) {
		int e = -errno;
		close(up[0]);
		close(up[1]);
		close(go[0]);
		close(go[1]);
		return e;
	}
	if (c->pid == 0) {
		close(up[0]);
		close(go[1]);
		char ok = step(arg) == 0 ? 'y' : 'n';
		if (write(up[1], &ok, 1) != 1)
			_exit(1);
		char b;
		while (read(go[0], &b, 1) > 0)
			;
		_exit(0);
	}
	close(up[1]);
	close(go[0]);
	c->up = up[0];
	c->go = go[1];
	return 0;
}

/* Waits for the child's report: 0 when its step succeeded. */
static int userns_child_ready(struct userns_child *c)
{
	char ok = 'n';
	ssize_t n;
	while ((n = read(c->up, &ok, 1)) < 0 && errno == EINTR)
		;
	return n == 1 && ok == 'y' ? 0 : -EPERM;
}

static void userns_child_end(struct userns_child *c)
{
	close(c->go);
	close(c->up);
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int userns_step_new(const void *arg)
{
	(void)arg;
	return unshare(CLONE_NEWUSER);
}

static int userns_write(pid_t pid, const char *file, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int rc = n == (ssize_t)strlen(text) ? 0 : -errno;
	close(fd);
	return rc;
}

int sf_userns_create(struct sf_userns *u, unsigned host_base, unsigned size, char *err,
		     size_t errlen)
{
	memset(u, 0, sizeof(*u));
	u->fd = -1;
	if (host_base == 0 || size == 0 || host_base > 0xfffffffeu - size) {
		snprintf(err, errlen, "user namespace: bad host id range %u+%u", host_base, size);
		return -EINVAL;
	}
	struct userns_child c;
	int rc = userns_child_start(&c, userns_step_new, NULL);
	if (rc) {
		snprintf(err, errlen, "user namespace: fork: %s", strerror(-rc));
		return rc;
	}
	char map[64], path[64];
	snprintf(map, sizeof(map), "0 %u %u\n", host_base, size);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)c.pid);
	if ((rc = userns_child_ready(&c))) {
		snprintf(err, errlen, "user namespace: unshare(CLONE_NEWUSER) failed");
	} else if ((rc = userns_write(c.pid, "uid_map", map)) ||
		   (rc = userns_write(c.pid, "gid_map", map))) {
		snprintf(err, errlen, "user namespace: writing the id map: %s", strerror(-rc));
	} else if ((u->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "user namespace: %s: %s", path, strerror(errno));
	}
	userns_child_end(&c);
	if (rc)
		return rc;
	u->host_base = host_base;
	u->size = size;
	snprintf(u->path, sizeof(u->path), "/proc/%d/fd/%d", (int)getpid(), u->fd);
	return 0;
}

void sf_userns_close(struct sf_userns *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

const char *sf_userns_path(const struct sf_userns *u) { return u->path; }

int sf_userns_idmap(const struct sf_userns *u, const char *src, const char *dst, bool readonly)
{
	int t = (int)syscall(SYS_open_tree, AT_FDCWD, src,
			     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (t < 0)
		return -errno;
	struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					   (readonly ? MOUNT_ATTR_RDONLY : 0),
			       .userns_fd = (uint64_t)u->fd};
	int rc = 0;
	if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) != 0 ||
	    syscall(SYS_move_mount, t, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) != 0)
		rc = -errno;
	close(t);
	return rc;
}

static int userns_step_netns(const void *arg)
{
	const struct sf_userns *u = arg;
	if (setns(u->fd, CLONE_NEWUSER) != 0)
		return -errno;
	return unshare(CLONE_NEWNET);
}

int sf_userns_netns(const struct sf_userns *u, int *netns_fd)
{
	struct userns_child c;
	int rc = userns_child_start(&c, userns_step_netns, u);
	if (rc)
		return rc;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)c.pid);
	if ((rc = userns_child_ready(&c)) == 0 && (*netns_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		rc = -errno;
	userns_child_end(&c);
	return rc;
}

