/* syscalls — see syscalls.h. */
#include "syscalls.h"

#include <stddef.h>

const char *sf_syscall_name(uint32_t nr)
{
	switch (nr) {
#define SYSCALLS_NAME(name, number)                                                            \
	case number:                                                                           \
		return #name;
		SF_SYSCALLS(SYSCALLS_NAME)
#undef SYSCALLS_NAME
	default:
		return NULL;
	}
}
