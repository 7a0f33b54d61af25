/* seccomp — see seccomp.h. */
#include "seccomp.h"

#include <errno.h>
#include <stdint.h>

#include "syscalls.h"

/* One rule: names, action SCMP_ACT_ERRNO with errno e. */
static json_t *seccomp_rule(json_t *names, int e)
{
	return json_pack("{s:o,s:s,s:i}", "names", names, "action", "SCMP_ACT_ERRNO", "errnoRet",
			 e);
}

/* name denied (EPERM) when its first argument has every bit of flag. */
static json_t *seccomp_flag_rule(const char *name, uint64_t flag)
{
	return json_pack("{s:[s],s:s,s:i,s:[{s:i,s:I,s:I,s:s}]}", "names", name, "action",
			 "SCMP_ACT_ERRNO", "errnoRet", EPERM, "args", "index", 0, "value",
			 (json_int_t)flag, "valueTwo", (json_int_t)flag, "op", "SCMP_CMP_MASKED_EQ");
}

json_t *sf_seccomp_profile(void)
{
	json_t *eperm = json_array(), *enosys = json_array(), *rules = json_array();
#define SECCOMP_NAME(name, nr) json_array_append_new(eperm, json_string(#name));
	SF_SYSCALLS_DENIED(SECCOMP_NAME)
#undef SECCOMP_NAME
	json_array_append_new(eperm, json_string("mount"));
#define SECCOMP_NAME(name, nr) json_array_append_new(enosys, json_string(#name));
	SF_SYSCALLS_ENOSYS(SECCOMP_NAME)
#undef SECCOMP_NAME
	json_array_append_new(rules, seccomp_rule(eperm, EPERM));
	json_array_append_new(rules, seccomp_rule(enosys, ENOSYS));
	/* one rule per namespace flag: a call is denied when any is set */
	for (int bit = 0; bit < 32; bit++) {
		uint64_t f = 1ULL << bit;
		if (f & SF_CLONE_NEW_FLAGS) {
			json_array_append_new(rules, seccomp_flag_rule("clone", f));
			json_array_append_new(rules, seccomp_flag_rule("unshare", f));
		}
	}
	json_array_append_new(rules, seccomp_flag_rule("unshare", SF_CLONE_NEWTIME));
	json_t *p = json_pack("{s:s,s:[s],s:o}", "defaultAction", "SCMP_ACT_ALLOW",
			      "architectures", "SCMP_ARCH_X86_64", "syscalls", rules);
	if (!p || json_array_size(rules) < 3 || json_array_size(eperm) < 2) {
		json_decref(p);
		return NULL;
	}
	return p;
}
