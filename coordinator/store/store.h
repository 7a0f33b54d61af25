/*
 * store — the content-addressed artifact store on local disk.
 *
 * Layout: <root>/objects/<first two hex>/<sha256>, <root>/tmp for uploads in
 * flight. An upload is written to an unnamed O_TMPFILE (a named temporary on
 * file systems without it) while its SHA-256 is computed; commit fsyncs it,
 * links it under its hash (the same bytes are kept once) and fsyncs the
 * directory. An aborted upload leaves nothing behind. Memory use does not
 * depend on the size of the upload.
 *
 * An object's mtime says when an upload last stored those bytes: linking a
 * new object keeps the time of its last write, and an upload whose bytes
 * are already stored refreshes it. The orphan sweep (sweep.h) relies on
 * that; the file operations it needs are here, the policy is there.
 *
 * Owns: the store directory. Calls: sha256, util, log, libc.
 */
#ifndef SF_STORE_H
#define SF_STORE_H

#include <stddef.h>
#include <time.h>

#include "sha256.h"

struct sf_store {
	char *root;
	int objects_fd; /* <root>/objects */
	int tmp_fd;	/* <root>/tmp */
};

struct sf_upload {
	struct sf_store *store;
	int fd;
	char tmpname[64]; /* set when O_TMPFILE was not available */
	struct sf_sha256 hash;
	long long size;
	long long max_size; /* 0 = unlimited */
};

int sf_store_open(struct sf_store *store, const char *root);
void sf_store_close(struct sf_store *store);

/* 0 when the store's directories accept writes (checked with faccessat). */
int sf_store_writable(struct sf_store *store);

int sf_upload_begin(struct sf_store *store, long long max_size, struct sf_upload *up);
/* -ENOSPC when the disk is full, -EFBIG past max_size. */
int sf_upload_write(struct sf_upload *up, const void *data, size_t len);
/* Makes the bytes durable under their hash; fills sha256 and size. The
 * upload is finished either way (no abort needed afterwards). */
int sf_upload_commit(struct sf_upload *up, char sha256[SF_SHA256_HEX + 1], long long *size);
void sf_upload_abort(struct sf_upload *up);

/* Opens a stored artifact for reading; -ENOENT if absent or sha256 malformed. */
int sf_store_open_artifact(struct sf_store *store, const char *sha256, int *fd,
			   long long *size);

/* Calls fn(ctx, sha256) for each object whose mtime is before `before`
 * (seconds since the epoch). Entries that are not <xx>/<sha256> are left
 * alone. A non-zero return from fn stops the walk and is returned. */
typedef int (*sf_store_object_fn)(void *ctx, const char *sha256);
int sf_store_each_old_object(struct sf_store *store, time_t before, sf_store_object_fn fn,
			     void *ctx);

/* Deletes object sha256 if its mtime is still before `before`. The object
 * is first renamed into tmp/ and its mtime read there, so an upload of the
 * same bytes that refreshed it just before is never robbed (it is put
 * back), and one that comes just after finds no object and stores its own.
 * 0 deleted, -EBUSY refreshed meanwhile (kept), -ENOENT already gone. */
int sf_store_remove_object(struct sf_store *store, const char *sha256, time_t before);

/* Deletes the named temporary files in tmp/ older than `before` (uploads of
 * a process that crashed, on file systems without O_TMPFILE) and puts back
 * objects a crashed sweep left there. *removed counts the deletions. */
int sf_store_sweep_tmp(struct sf_store *store, time_t before, unsigned *removed);

#endif
