/* disk — see disk.h. */
#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* mkfs.ext4 on the image: no journal, no root reserve, lazily initialised
 * inode tables. Its output goes nowhere; 0 or -EIO. */
static int disk_mkfs(const char *image, long long inodes)
{
	char n[32];
	snprintf(n, sizeof(n), "%lld", inodes);
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
		const char *argv[] = {"mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-m", "0",
				      "-N", n, "-E", "lazy_itable_init=1,nodiscard",
				      image, NULL};
		execvp(argv[0], (char *const *)argv);
		execv("/usr/sbin/mkfs.ext4", (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* Attaches the image to a free loop device (auto-cleared when its file
 * system is unmounted); its path in dev, its fd returned (or -errno). */
static int disk_loop(const char *image, char *dev, size_t devlen)
{
	int img = open(image, O_RDWR | O_CLOEXEC);
	if (img < 0)
		return -errno;
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int rc = ctl < 0 ? -errno : -EBUSY;
	for (int tries = 0; ctl >= 0 && tries < 16 && rc == -EBUSY; tries++) {
		int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			rc = -errno;
			break;
		}
		snprintf(dev, devlen, "/dev/loop%d", nr);
		int lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			rc = -errno;
			break;
		}
		struct loop_config cfg = {.fd = (unsigned)img,
					  .info = {.lo_flags = LO_FLAGS_AUTOCLEAR}};
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
			rc = lfd;
			break;
		}
		rc = -errno; /* EBUSY: another process took it first */
		close(lfd);
	}
	if (ctl >= 0)
		close(ctl);
	close(img);
	return rc;
}

int sf_disk_create(struct sf_disk *d, const char *image, const char *mnt, long long capacity_mb,
		   long long inodes, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->image, sizeof(d->image), "%s", image);
	snprintf(d->mnt, sizeof(d->mnt), "%s", mnt);
	int rc, fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)capacity_mb << 20) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create the job's disk %s: %s", image, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	close(fd);
	if ((rc = disk_mkfs(image, inodes))) {
		snprintf(err, errlen, "mkfs.ext4 %s failed (is e2fsprogs installed?)", image);
		return rc;
	}
	char dev[64];
	int lfd = disk_loop(image, dev, sizeof(dev));
	if (lfd < 0) {
		snprintf(err, errlen, "no loop device for the job's disk: %s", strerror(-lfd));
		return lfd;
	}
	if ((rc = sf_mkdirs(mnt, 0755)) == 0 &&
	    mount(dev, mnt, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME, "noinit_itable") != 0)
		rc = -errno;
	close(lfd); /* the mount holds the device now; unmounting clears it */
	if (rc) {
		snprintf(err, errlen, "cannot mount the job's disk at %s: %s", mnt, strerror(-rc));
		return rc;
	}
	d->mounted = true;
	return 0;
}

int sf_disk_reserve(struct sf_disk *d, long long limit_mb)
{
	struct statvfs sv;
	if (statvfs(d->mnt, &sv) != 0)
		return -errno;
	long long avail = (long long)sv.f_bavail * (long long)sv.f_frsize;
	long long extra = avail - (limit_mb << 20);
	if (extra <= 0)
		return 0;
	char path[4300];
	snprintf(path, sizeof(path), "%s/reserve", d->mnt);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = fallocate(fd, 0, 0, extra) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

/* ext4's shutdown ioctl (EXT4_IOC_SHUTDOWN, the same number as XFS's
 * GOINGDOWN; a stable kernel interface since Linux 4.10) and its flag that
 * writes nothing back. Neither glibc's nor Debian 12's kernel headers name
 * them. */
#define DISK_IOC_SHUTDOWN	 _IOR('X', 125, uint32_t)
#define DISK_SHUTDOWN_NOLOGFLUSH 0x2

void sf_disk_discard(struct sf_disk *d)
{
	if (!d->mounted)
		return;
	int fd = open(d->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	uint32_t how = DISK_SHUTDOWN_NOLOGFLUSH;
	/* without it (another file system, an old kernel) the unmount
	 * flushes, which is slower but as correct */
	if (ioctl(fd, DISK_IOC_SHUTDOWN, &how) != 0)
		sf_debug("job disk %s: no shutdown before the unmount (%s): it flushes", d->mnt,
			 strerror(errno));
	close(fd);
}

void sf_disk_destroy(struct sf_disk *d)
{
	if (d->mounted && umount2(d->mnt, 0) != 0 && umount2(d->mnt, MNT_DETACH) != 0)
		sf_warn("cannot unmount the job's disk %s: %s", d->mnt, strerror(errno));
	d->mounted = false;
	if (d->image[0])
		unlink(d->image);
	d->image[0] = '\0';
}
