/* fields_absent — see fields_absent.h. */
#include "fields_absent.h"

#include <string.h>

#include "fields.h"

static const struct sf_field_absent absent_table[] = {
    {"container.privileged", SF_FT_BOOL, false, "the container runtime's metadata (plugin)"},
    {"container.mounts", SF_FT_STR, false, "the container runtime's metadata (plugin)"},
    {"container.mount.dest", SF_FT_STR, true, "the container runtime's metadata (plugin)"},
    {"container.start_ts", SF_FT_NUM, false, "the container runtime's metadata (plugin)"},
    {"container.image.tag", SF_FT_STR, false, "the container runtime's metadata (plugin)"},
    {"k8s.ns.name", SF_FT_STR, false, "Kubernetes metadata"},
    {"k8s.pod.name", SF_FT_STR, false, "Kubernetes metadata"},
    {"evt.buffer", SF_FT_STR, false, "the data of reads and writes"},
    {"fd.cip.name", SF_FT_STR, false, "reverse DNS of addresses"},
    {"fd.sip.name", SF_FT_STR, false, "reverse DNS of addresses"},
    {"fd.lip.name", SF_FT_STR, false, "reverse DNS of addresses"},
    {"fd.rip.name", SF_FT_STR, false, "reverse DNS of addresses"},
    {"fd.name_changed", SF_FT_BOOL, false, "a per-fd table across events"},
    {"proc.duration", SF_FT_NUM, false, "process start times"},
    {"proc.env", SF_FT_STR, true, "the process environment"},
    {"proc.exe_ino.ctime", SF_FT_NUM, false, "the executable's inode times"},
    {"proc.exe_ino.mtime", SF_FT_NUM, false, "the executable's inode times"},
    {"proc.exe_ino.ctime_duration_proc_start", SF_FT_NUM, false,
     "the executable's inode times"},
    {"proc.exe_ino.ctime_duration_pidns_start", SF_FT_NUM, false,
     "the executable's inode times"},
    {"proc.is_vpgid_leader", SF_FT_BOOL, false, "process groups"},
    {"proc.sname", SF_FT_STR, false, "sessions"},
    {"proc.tty", SF_FT_NUM, false, "the controlling terminal"},
    {"user.loginname", SF_FT_STR, false, "the login uid's name"},
    {"thread.cap_effective", SF_FT_STR, false, "capability sets"},
    {"thread.cap_permitted", SF_FT_STR, false, "capability sets"},
    {"thread.cap_inheritable", SF_FT_STR, false, "capability sets"},
};

int sf_fields_absent_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(absent_table) / sizeof(absent_table[0]); i++)
		if (strlen(absent_table[i].name) == len && !memcmp(absent_table[i].name, name, len))
			return (int)i;
	return -1;
}

const struct sf_field_absent *sf_fields_absent_at(int i) { return &absent_table[i]; }

int sf_fields_absent_count(void) { return (int)(sizeof(absent_table) / sizeof(absent_table[0])); }
