/*
 * seccomp — the sandbox's system-call filter, as the OCI linux.seccomp
 * object the runtime compiles (with libseccomp) and installs just before
 * the container's first exec.
 *
 * Everything is allowed except what an npm install has no use for and an
 * attacker would want (the list is SF_SYSCALLS_DENIED in syscalls.h, shared
 * with the sensor, which reports every attempt): those fail with EPERM, as
 * they would for an unprivileged user on many hosts, so the package carries
 * on and its next steps are seen. clone and unshare fail only when asked
 * for a new namespace (a user namespace would give the package every
 * capability inside it); clone3 and io_uring fail with ENOSYS, so C
 * libraries and libuv fall back to what the filter and the sensor see. The
 * filter is for x86-64 only: a 32-bit (int 0x80) or x32 system call kills
 * the process, so no call can reach the kernel under a number the sensor
 * would misread.
 *
 * Owns: the returned jansson object (the caller's). Calls: jansson,
 * syscalls (the lists).
 */
#ifndef SF_SECCOMP_H
#define SF_SECCOMP_H

#include <jansson.h>

/* The linux.seccomp object; NULL when memory ran out. */
json_t *sf_seccomp_profile(void);

#endif
