/*
 * sensor — the user half of the embedded eBPF sensor (kernel half:
 * sensor.bpf.c, record layout: record.h, syscall table: syscalls.h).
 *
 * Loads and attaches the CO-RE program once per worker, mounts tracefs if
 * it is missing, creates job cgroups under the cgroup v2 hierarchy and
 * tells the kernel which ones to watch, and runs one thread that drains
 * the ring buffer and hands each raw record to the consumer registered for
 * the record's cgroup. Decoding records into struct sf_event is the
 * consumer's business (observe.c through decode.c), because it needs the
 * job's process table.
 *
 * Owns: the BPF objects, the ring-buffer thread, the consumer table, the
 * job cgroup directories it creates. Calls: libbpf, the generated
 * skeleton (sensor.skel.h), record, log, util.
 */
#ifndef SF_SENSOR_H
#define SF_SENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct sf_sensor;

/* Called on the sensor thread for every record of a watched cgroup; len
 * is how many bytes of *rec the kernel sent (data[] is truncated to the
 * slots in use). */
typedef void (*sf_sensor_record_fn)(void *arg, const struct sf_bpf_event *rec, size_t len);

/* Loads, attaches and starts the ring-buffer thread. cgroup_parent is the
 * directory under the cgroup v2 root that holds job cgroups ("scanfarm").
 * Returns 0 or a negative errno with err filled (no BTF, not root, …). */
int sf_sensor_open(struct sf_sensor **out, const char *cgroup_parent, char *err, size_t errlen);

/* sf_sensor_open with a ring buffer of ring_bytes (a power of two, at
 * least a page; 0: SF_BPF_RING_BYTES, 16 MiB) shared by every watched
 * cgroup: a smaller one loses records sooner under a burst, and each job
 * reports the records of its own that were lost (sf_sensor_unwatch). */
int sf_sensor_open_sized(struct sf_sensor **out, const char *cgroup_parent, size_t ring_bytes,
			 char *err, size_t errlen);
void sf_sensor_close(struct sf_sensor *s);

/* Creates the job cgroup <v2 root>/<cgroup_parent>/<name> (the runtime
 * then puts the container there) and starts delivering its records to fn.
 * *cgid receives the cgroup's id. */
int sf_sensor_watch(struct sf_sensor *s, const char *name, sf_sensor_record_fn fn, void *arg,
		    uint64_t *cgid);

/* Delivers every record still in the ring buffer, stops watching the
 * cgroup and removes its directory if the runtime left it. After this
 * returns fn is never called again for it. *drops (drops may be NULL)
 * receives how many of the cgroup's records the full ring buffer lost
 * while it was watched. */
int sf_sensor_unwatch(struct sf_sensor *s, uint64_t cgid, uint64_t *drops);

/* Totals since open, summed over CPUs, of every watched cgroup: records
 * written and records lost. */
void sf_sensor_counters(struct sf_sensor *s, uint64_t *events, uint64_t *drops);

/* Converts a record's CLOCK_MONOTONIC stamp to unix nanoseconds (s NULL:
 * records made up by a test, whose stamp is taken as it is). */
int64_t sf_sensor_realtime_ns(const struct sf_sensor *s, uint64_t mono_ns);

/* The cgroup v2 path (absolute, on the host) of a job cgroup name. */
int sf_sensor_cgroup_path(const struct sf_sensor *s, const char *name, char *buf, size_t len);

#endif
