/* util — see util.h. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Makes room for `extra` more bytes plus the NUL terminator. */
static int buf_reserve(struct sf_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return -EOVERFLOW;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int sf_buf_append(struct sf_buf *b, const void *data, size_t len)
{
	int rc = buf_reserve(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int sf_buf_appendf(struct sf_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	int rc = buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void sf_buf_free(struct sf_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int sf_strlcpy(char *dst, const char *src, size_t dstsz)
{
	if (dstsz == 0)
		return -ENAMETOOLONG;
	size_t n = strnlen(src, dstsz);
	if (n == dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

void sf_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int sf_next_line(const char **p, const char *end, const char **line, size_t *len)
{
	if (*p >= end)
		return 0;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	const char *eol = nl ? nl : end;
	*line = *p;
	*len = (size_t)(eol - *p);
	if (*len && eol[-1] == '\r')
		(*len)--;
	*p = nl ? nl + 1 : end;
	return 1;
}

int sf_is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[len] == '\0';
}

int sf_uuid4(char out[SF_UUID_LEN + 1])
{
	unsigned char r[16];
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	char hex[33];
	sf_hex(r, 16, hex);
	snprintf(out, SF_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
		 hex + 16, hex + 20);
	return 0;
}

size_t sf_utf8_char(const char *s, size_t len)
{
	unsigned char c = (unsigned char)s[0];
	size_t need;
	uint32_t min;
	if (len == 0 || c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		need = 1;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		need = 2;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		need = 3;
		min = 0x10000;
	} else {
		return 0;
	}
	if (need >= len)
		return 0;
	uint32_t cp = c & (0x3f >> need);
	for (size_t k = 1; k <= need; k++) {
		unsigned char d = (unsigned char)s[k];
		if ((d & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (d & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

int sf_utf8_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t k = sf_utf8_char(s + i, len - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

size_t sf_utf8_prefix(const char *s, size_t len, size_t max_chars)
{
	size_t i = 0;
	for (size_t n = 0; n < max_chars && i < len; n++) {
		size_t k = sf_utf8_char(s + i, len - i);
		if (k == 0)
			break;
		i += k;
	}
	return i;
}

int sf_is_uuid(const char *s)
{
	for (int i = 0; i < SF_UUID_LEN; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F'))) {
			return 0;
		}
	}
	return s[SF_UUID_LEN] == '\0';
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sf_now_ms(void) { return clock_ms(CLOCK_REALTIME); }
int64_t sf_monotonic_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

int sf_open_beneath(const char *root, const char *rel, int flags)
{
	int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	while (*rel == '/')
		rel++;
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, dfd, rel[0] ? rel : ".", &how, sizeof(how));
	int rc = fd < 0 ? -errno : (int)fd;
	close(dfd);
	return rc;
}

int sf_read_file(const char *path, size_t max, char **out, size_t *outlen)
{
	int rc = 0;
	struct sf_buf b = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			rc = -EFBIG;
			goto out;
		}
		rc = sf_buf_append(&b, chunk, (size_t)n);
		if (rc)
			goto out;
	}
	if (!b.data) {
		rc = sf_buf_append(&b, "", 0);
		if (rc)
			goto out;
	}
	*out = b.data;
	if (outlen)
		*outlen = b.len;
	b.data = NULL;
out:
	sf_buf_free(&b);
	close(fd);
	return rc;
}

int sf_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sf_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = sf_write_all(fd, data, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

int sf_mkdirs(const char *path, unsigned mode)
{
	char tmp[4096];
	if (sf_strlcpy(tmp, path, sizeof(tmp)))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int rmtree_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
	return (rc != 0 && errno != ENOENT) ? -1 : 0;
}

int sf_rmtree(const char *path)
{
	if (nftw(path, rmtree_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}
