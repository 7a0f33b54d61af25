/*
 * userns — a sandbox slot's user namespace: container ids 0…size-1 mapped
 * to the unprivileged host range host_base…host_base+size-1 (the worker
 * gives slot k the range base + k × size). The container joins it (OCI
 * namespace path), so the package's uid 1000 is host uid host_base + 1000,
 * which owns nothing on the host; "root" in the container is host_base.
 *
 * What the container sees of the host's files goes through idmapped mounts
 * made with the same namespace (sf_userns_idmap): a file owned by id k on
 * disk is owned by k inside, and what the container writes is stored as
 * its inside ids. So the rootfs's root-owned files read as root, the job's
 * tree (owned by 1000 on disk) as the sandbox user's, and the worker works
 * with the on-disk ids as before. A network namespace the container joins
 * must belong to this user namespace too (sf_userns_netns), or the kernel
 * refuses the container its own /sys.
 *
 * The namespace lives as long as its fd; sf_userns_path names it for the
 * runtime as /proc/<worker pid>/fd/<n>.
 *
 * Owns: the namespace fd. Calls: libc (fork, unshare, setns, the new mount
 * API), util.
 */
#ifndef SF_USERNS_H
#define SF_USERNS_H

#include <stdbool.h>
#include <stddef.h>

#define SF_USERNS_SIZE 65536u

struct sf_userns {
	int fd;
	unsigned host_base, size;
	char path[64];
};

/* Makes the namespace (the worker must be root). 0 or a negative errno
 * with err filled. */
int sf_userns_create(struct sf_userns *u, unsigned host_base, unsigned size, char *err,
		     size_t errlen);
void sf_userns_close(struct sf_userns *u);

/* "/proc/<pid>/fd/<n>": what an OCI config's user namespace path names. */
const char *sf_userns_path(const struct sf_userns *u);

/* Mounts src (a directory or file tree, recursively) at dst (which must
 * exist) idmapped through u, read-only when readonly. 0 or a negative
 * errno (-EINVAL: the file system cannot be idmapped). */
int sf_userns_idmap(const struct sf_userns *u, const char *src, const char *dst, bool readonly);

/* A new network namespace owned by u (loopback down, nothing else): its
 * fd in *netns_fd. 0 or a negative errno. */
int sf_userns_netns(const struct sf_userns *u, int *netns_fd);

#endif
