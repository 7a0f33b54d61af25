/*
 * decode — turns one raw sensor record (record.h) into the struct
 * sf_event the rule engine reads (event.h), the way Falco renders it:
 * the Falco event name of the syscall (syscalls.h), absolute paths built
 * from walked slots, the directory fd's path or the process's cwd, O_*
 * flags and modes as text, socket endpoints, the DNS question of a
 * datagram to port 53. It keeps the job's process table current (exec,
 * fork, chdir, exit) and hands what the report keeps of a record (facts:
 * addresses, DNS names, exec'd binaries, processes, files written) to a
 * sink, so it needs to know nothing of the batch.
 *
 * Records of the container runtime's own setup (before the container's
 * first exec) are decoded but not returned: they are crun's doing, not
 * the package's; neither are their facts kept. Nor are our init's (the
 * container's pid 1 when has_init is set). Calls the seccomp filter
 * denies arrive as their syscall's event with the filter's errno.
 *
 * Owns: nothing. The event points into the caller's struct
 * sf_decode_scratch and the process table, valid until the next record.
 * Every process carries its package (packages: at exec from its cwd, at
 * fork from its parent) and every file event the package holding the
 * file when that is another package's (scanfarm.fd.package).
 *
 * Calls: proctable, packages, syscalls, sensor (clock), record, event.
 */
#ifndef SF_DECODE_H
#define SF_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "packages.h"
#include "proctable.h"
#include "record.h"

#define SF_DECODE_PATH 1024

struct sf_sensor;

/* Where the facts a record shows go (the job's collector). */
struct sf_decode_sink {
	/* a fact about what process p did (p carries its package) */
	void (*fact)(void *arg, const struct sf_proc *p, const char *kind, const char *value,
		     const char *detail);
	/* p just exec'd p->exepath, the file with inode number ino on device
	 * dev (the kernel's encoding, major << 20 | minor; ino 0: unknown):
	 * hash it while it can still be read */
	void (*exec)(void *arg, const struct sf_proc *p, uint64_t ino, uint32_t dev);
	void *arg;
};

/* One job's decoding state. */
struct sf_decoder {
	const struct sf_sensor *sensor; /* converts the records' clock */
	const char *container_id;	/* container.id and container.name */
	const char *image;		/* container.image.repository */
	const char *cgroups;		/* thread.cgroups of every event (not copied) */
	struct sf_proctable *procs;
	/* Attributes processes and files to packages; NULL: none. */
	struct sf_packages *packages;
	const char *phase; /* scanfarm.phase of every event (not copied) */
	/* The project tree's and the user's home's paths in the container
	 * (NULL: "/work" and none): files written outside the tree are
	 * facts, executables below either were written by the install. */
	const char *work_dir, *home_dir;
	/* user.name of uid user_id (NULL: numbers) */
	const char *user_name;
	uint32_t user_id;
	struct sf_decode_sink sink;
	bool started; /* the container's first exec was seen */
	uint64_t events; /* evt.num of the last event decoded */
	const struct sf_proc *cur; /* the process of the record being decoded */
	/* The sandbox's user namespace (0, 0: none): host ids in
	 * [uid_base, uid_base + uid_count) are reported as the ids inside. */
	uint32_t uid_base, uid_count;
	/* The container's pid 1 is our init (init.c): its records are not the
	 * package's, the phase's command is its first child, and whatever acts
	 * after that child ended was left running (scanfarm.left_running, a
	 * left_running fact when it exits). Reset for every phase. */
	bool has_init;
	int32_t command_pid;	 /* host pid of the phase's command, 0 = not yet */
	bool command_ended;
};

/* Everything an event may point at lives here, on the sensor thread's
 * stack, for the duration of one record. */
struct sf_decode_scratch {
	char s[4][SF_DECODE_PATH];
	char path[SF_DECODE_PATH], path2[SF_DECODE_PATH];
	char args[SF_BPF_ARGS + 1];
	char flags[256], mode[256], num[4][32], fdname[160], dns[256], addr[64];
};

/* Decodes record r (len bytes as the kernel sent it) into *ev. Returns
 * true when ev is an event of the package's to evaluate, false when the
 * record only updated the process table (or was unusable). */
bool sf_decode_record(struct sf_decoder *d, const struct sf_bpf_event *r, size_t len,
		      struct sf_decode_scratch *sc, struct sf_event *ev);

/* Decodes a DNS question: writes the lower-case name of the first
 * question into name. Returns 0 or -EPROTO. */
int sf_decode_dns_name(const unsigned char *msg, size_t len, char *name, size_t namelen);

#endif
