/*
 * rootimg — the sandbox's root file system as an image of its own: the
 * worker attaches scripts/setup.sh's ext4 image (var/rootfs.img) to a loop
 * device read-only and mounts it for the lifetime of the process. Every
 * container's root is that mount, so its /proc/self/mountinfo shows "/"
 * and a loop device for the root, never the host path of a directory
 * named after the product (a directory bind-mounted as the root shows its
 * whole host path there).
 *
 * Owns: the mount (sf_rootimg_unmount; the loop device detaches itself
 * when it is unmounted). Calls: libc (loop-control, LOOP_CONFIGURE).
 */
#ifndef SF_ROOTIMG_H
#define SF_ROOTIMG_H

#include <stddef.h>

/* Mounts image read-only at mountpoint (created; whatever a killed worker
 * left mounted there is unmounted first). 0 or -errno with err filled. */
int sf_rootimg_mount(const char *image, const char *mountpoint, char *err, size_t errlen);

void sf_rootimg_unmount(const char *mountpoint);

#endif
