/*
 * util — small helpers every module needs: growable byte buffers, bounded
 * string copies, hex, random UUIDs, UTF-8 checks, time, whole-file I/O.
 *
 * Owns: nothing global. Calls: libc, getrandom(2), openat2(2).
 * Memory: sf_buf owns its data; free with sf_buf_free. Returned strings from
 * sf_read_file are malloc'd and owned by the caller.
 */
#ifndef SF_UTIL_H
#define SF_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define SF_UUID_LEN 36	 /* 8-4-4-4-12 hex digits, without the NUL */
#define SF_SHA256_HEX 64 /* without the NUL */

struct sf_buf {
	char *data;
	size_t len;
	size_t cap;
};

int sf_buf_append(struct sf_buf *b, const void *data, size_t len);
int sf_buf_appendf(struct sf_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sf_buf_free(struct sf_buf *b);

/* Copies at most dstsz-1 bytes and always NUL-terminates; returns -ENAMETOOLONG
 * (after truncating) when src did not fit. */
int sf_strlcpy(char *dst, const char *src, size_t dstsz);

/* Steps through the text [*p, end) a line at a time, for the readers of
 * line-based formats (core metadata, compact index files, gemspec stubs):
 * 1 with *line and *len the next line without its '\n' or a '\r' before
 * it, *p moved past it; 0 once *p reaches end. A last line without '\n'
 * counts. */
int sf_next_line(const char **p, const char *end, const char **line, size_t *len);

void sf_hex(const unsigned char *in, size_t len, char *out /* 2*len+1 */);
int sf_is_hex(const char *s, size_t len);

/* Random (v4) UUID, lower-case, NUL-terminated in out[SF_UUID_LEN + 1]. */
int sf_uuid4(char out[SF_UUID_LEN + 1]);
int sf_is_uuid(const char *s);

/* Length (1…4) of the well-formed UTF-8 character s[0..len) begins with,
 * or 0: a NUL, a stray or missing continuation byte, an overlong form, a
 * surrogate or a code point past U+10FFFF. */
size_t sf_utf8_char(const char *s, size_t len);
/* 1 when s[0..len) is well-formed UTF-8 without NUL bytes, else 0. */
int sf_utf8_valid(const char *s, size_t len);
/* Bytes of the longest prefix of s[0..len) made of at most max_chars
 * well-formed characters: where a schema bounds a string in characters
 * (JSON Schema's maxLength counts code points), s is cut there without
 * splitting a character. Stops early at the first ill-formed byte. */
size_t sf_utf8_prefix(const char *s, size_t len, size_t max_chars);

int64_t sf_now_ms(void);	   /* CLOCK_REALTIME, milliseconds */
int64_t sf_monotonic_ms(void); /* CLOCK_MONOTONIC, milliseconds */

/* Reads a whole file (at most max bytes) into a NUL-terminated malloc'd buffer. */
int sf_read_file(const char *path, size_t max, char **out, size_t *outlen);
/* Writes a whole buffer to a new file (mode 0644), fsync'd. */
int sf_write_file(const char *path, const void *data, size_t len);
/* Full write(2) that retries short writes and EINTR. */
int sf_write_all(int fd, const void *data, size_t len);
/* Opens rel (leading '/' ignored) below the directory root the way a
 * path inside a container's bind mount must be opened from the host:
 * openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, so neither "..",
 * an absolute symlink nor /proc magic links can lead out of root. flags
 * are open(2)'s; O_CLOEXEC is added. Returns the fd or -errno. */
int sf_open_beneath(const char *root, const char *rel, int flags);
/* mkdir -p */
int sf_mkdirs(const char *path, unsigned mode);
/* rm -rf that never follows symlinks and stays on one tree. */
int sf_rmtree(const char *path);

#endif
