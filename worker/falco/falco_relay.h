/*
 * falco_relay — several worker processes on one machine sharing one Falco
 * (a worker VM runs one worker per slot). Falco's gRPC outputs hand each
 * alert to one subscriber, and its http_output posts to one URL, so only
 * one worker at a time — the reader — takes Falco's alerts; it passes
 * every alert of another worker's sandbox (the container cgroup names the
 * worker: "sf-<pid>-…") and every pulse of another worker's (its token
 * starts with "p<pid>-") to that worker.
 *
 * In the relay directory (root's, mode 0700: whoever can write there can
 * forge alerts) each worker binds a unix datagram socket "w-<pid>.sock"
 * whose datagrams are alerts in Falco's JSON; the reader is the worker
 * that holds the lock on "reader.lock" (flock: the kernel releases it when
 * its holder dies, and the next worker to try takes over). Relaying never
 * waits: a full socket drops the datagram, counted, like a full queue.
 *
 * Owns: the worker's socket and its receiver thread, the lock fd, the
 * sending socket. Calls: falco_feed (deliver), jansson, util, log.
 */
#ifndef SF_FALCO_RELAY_H
#define SF_FALCO_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "wire.h"

#define SF_FALCO_RELAY_MAX (256u << 10) /* bytes of one relayed alert */

struct sf_falco;
struct sf_falco_relay;

/* Checks (or creates) the directory, binds this worker's socket and
 * starts its receiver. 0, or a negative errno with err filled. */
int sf_falco_relay_open(struct sf_falco_relay **out, struct sf_falco *feed, const char *dir,
			char *err, size_t errlen);

/* Takes the reader's lock if it is free: true when this worker is (now)
 * the reader. */
bool sf_falco_relay_lead(struct sf_falco_relay *r);

/* Passes a to worker pid. 0; -ENOENT (no such worker here), -EAGAIN (its
 * socket is full), -EMSGSIZE, -ENOMEM. */
int sf_falco_relay_send(struct sf_falco_relay *r, pid_t pid, const struct sf_alert *a);

/* Stops the receiver, removes the socket, releases the lock; NULL is fine. */
void sf_falco_relay_close(struct sf_falco_relay *r);

/* The worker pid s carries after prefix: a job cgroup name
 * ("sf-<pid>-<job>-<attempt>-<phase>", prefix "sf-") or a pulse token
 * ("p<pid>-<hex>", prefix "p"); 0 when s is not of that form. */
pid_t sf_falco_relay_pid(const char *s, const char *prefix);

#endif
