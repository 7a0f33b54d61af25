/*
 * disk — a job's disk: a sparse file holding an ext4 file system of its
 * own, loop-mounted, on which the job's tree (/work) and its /tmp live. So
 * everything a job writes, in every phase and on every writable path but
 * memory-backed /dev/shm, comes out of one budget: when it is spent, writes
 * fail with ENOSPC inside the sandbox and the worker's own disk is not
 * touched.
 *
 * The file system is sized for the unpacked artifact plus the limit
 * (sf_disk_create); once the tree is unpacked, a reserve file that the
 * container cannot see takes every free block beyond `limit` MiB
 * (sf_disk_reserve, fallocate: no data written), so the phases can write
 * exactly the limit. Made without a journal, with inode tables initialised
 * lazily and never zeroed afterwards: the file holds only what is written.
 *
 * Owns: the image file, the loop device (released with the last unmount)
 * and the mount. Calls: libc (loop ioctls, mount, fallocate), mkfs.ext4
 * (e2fsprogs) as a child process, util, log.
 */
#ifndef SF_DISK_H
#define SF_DISK_H

#include <stdbool.h>
#include <stddef.h>

struct sf_disk {
	char image[4200]; /* the sparse file */
	char mnt[4200];	  /* where the file system is mounted (host view) */
	bool mounted;
};

/* Makes image (capacity_mb, room for `inodes` files), mounts it at mnt
 * (created if missing). 0 or a negative errno with err filled. */
int sf_disk_create(struct sf_disk *d, const char *image, const char *mnt, long long capacity_mb,
		   long long inodes, char *err, size_t errlen);

/* Leaves limit_mb free (what the phases may write); the rest of the free
 * space goes to a reserve file in the file system's root. */
int sf_disk_reserve(struct sf_disk *d, long long limit_mb);

/* Declares the disk's contents lost before it is unmounted and removed:
 * ext4's shutdown with nothing written back, so the unmount does not flush
 * what the job wrote (for a tree like express + esbuild + core-js that
 * flush took 0.2–0.4 s, spent writing pages into an image about to be
 * deleted). Nothing can be read or written on it afterwards; the kernel
 * logs one line ("shut down requested"). A no-op on an unmounted disk;
 * when the file system does not support it, the unmount flushes as
 * before. */
void sf_disk_discard(struct sf_disk *d);

/* Unmounts (detaching lazily if something still holds it) and removes the
 * image. Safe on a disk that was never created. */
void sf_disk_destroy(struct sf_disk *d);

#endif
