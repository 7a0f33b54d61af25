/* rootimg — see rootimg.h. */
#include "rootimg.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

#define ROOTIMG_TRIES 8 /* another process may take a free loop device first */
#define ROOTIMG_LOOP_MAJOR 7

/* Opens /dev/loopN, making the node when /dev has none (a container's
 * static /dev lists only the first few). */
static int rootimg_open_loop(int n, char *path, size_t len)
{
	snprintf(path, len, "/dev/loop%d", n);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT &&
	    mknod(path, S_IFBLK | 0600, makedev(ROOTIMG_LOOP_MAJOR, (unsigned)n)) == 0)
		fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Backs loop device fd with img, read-only, detached on its last close. */
static int rootimg_configure(int fd, int img)
{
	struct loop_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned)img;
	cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
	if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;
	/* kernels before 5.8: the two-step way */
	if (ioctl(fd, LOOP_SET_FD, img) != 0)
		return -errno;
	struct loop_info64 info;
	memset(&info, 0, sizeof(info));
	info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
	if (ioctl(fd, LOOP_SET_STATUS64, &info) != 0) {
		int rc = -errno;
		ioctl(fd, LOOP_CLR_FD, 0);
		return rc;
	}
	return 0;
}

/* A free loop device backed by img: its fd (path filled) or -errno. */
static int rootimg_attach(int img, char *path, size_t len)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	int rc = -EBUSY;
	for (int t = 0; t < ROOTIMG_TRIES && rc == -EBUSY; t++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			rc = -errno;
			break;
		}
		int fd = rootimg_open_loop(n, path, len);
		if (fd < 0) {
			rc = fd;
			break;
		}
		rc = rootimg_configure(fd, img);
		if (rc == 0) {
			close(ctl);
			return fd;
		}
		close(fd);
	}
	close(ctl);
	return rc;
}

void sf_rootimg_unmount(const char *mountpoint)
{
	while (umount2(mountpoint, MNT_DETACH) == 0)
		; /* a stack of them, if killed workers left several */
}

int sf_rootimg_mount(const char *image, const char *mountpoint, char *err, size_t errlen)
{
	char dev[64];
	sf_rootimg_unmount(mountpoint);
	int rc = sf_mkdirs(mountpoint, 0755);
	if (rc) {
		snprintf(err, errlen, "cannot create %s: %s", mountpoint, strerror(-rc));
		return rc;
	}
	int img = open(image, O_RDONLY | O_CLOEXEC);
	if (img < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", image, strerror(-rc));
		return rc;
	}
	int fd = rootimg_attach(img, dev, sizeof(dev));
	close(img);
	if (fd < 0) {
		snprintf(err, errlen, "no loop device for %s: %s", image, strerror(-fd));
		return fd;
	}
	rc = mount(dev, mountpoint, "ext4", MS_RDONLY | MS_NODEV, "") == 0 ? 0 : -errno;
	if (rc)
		snprintf(err, errlen, "cannot mount %s (%s) at %s: %s", image, dev, mountpoint,
			 strerror(-rc));
	close(fd); /* the mount holds the device now; without it, it detaches */
	return rc;
}
