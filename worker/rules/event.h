/*
 * event — the one event model every sensor produces and the rule engine
 * reads (DESIGN.md, "Sensors").
 *
 * Owns: nothing; these are plain views. A sensor fills a struct sf_event
 * for each kernel event, points it at the process it came from (the
 * sensor's process table owns struct sf_proc and every string reachable
 * from it), and hands it to the rule engine, which must not keep any
 * pointer after the call returns. Calls: nothing.
 *
 * Field names follow Falco's so rules/ runs unchanged in Falco; the
 * comments say which Falco field each member backs.
 */
#ifndef SF_EVENT_H
#define SF_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#define SF_EVENT_MAX_ARGS 8
#define SF_PROC_NAME_LEN 16 /* the kernel's TASK_COMM_LEN */

/* A process of the sandbox as the sensor knows it. */
struct sf_proc {
	int32_t pid;  /* proc.pid (host pid namespace, like Falco) */
	int32_t ppid; /* proc.ppid */
	int32_t vpid; /* proc.vpid: pid inside the sandbox's namespace */
	uint32_t uid; /* user.uid */
	uint32_t gid; /* group.gid */
	char name[SF_PROC_NAME_LEN]; /* proc.name: the task's comm */
	const char *exe;     /* proc.exe: argv[0] as given */
	const char *exepath; /* proc.exepath: resolved path of the executable */
	const char *args;    /* proc.args: argv[1..] joined by single spaces */
	const char *cwd;     /* proc.cwd: "" when unknown, else ends with '/' */
	/* proc.is_exe_upper_layer / proc.is_exe_writable: the executable lives on
	 * a writable mount of the sandbox (/tmp, /work, /dev/shm, memfd), i.e.
	 * the install wrote it; the rootfs is read-only. */
	bool exe_writable;
	const struct sf_proc *parent; /* NULL above the sandbox's first process */
	/* The installed package the process acts for (scanfarm only): set at
	 * exec from the cwd (the deepest node_modules/<name> directory holding
	 * it), else inherited from the parent; the project itself otherwise.
	 * NULL when not attributed (then read as ""). */
	const char *package;	  /* scanfarm.package: "name@version" */
	const char *package_path; /* scanfarm.package.path: "node_modules/a/node_modules/b",
				     "" for the project itself */
	const char *package_dir;  /* the package's directory in the sandbox
				     ("/work/package/node_modules/a"), "" for the project */
};

enum sf_fd_type {
	SF_FD_NONE = 0, /* the event has no file descriptor */
	SF_FD_FILE,	/* fd.typechar 'f', fd.type "file" */
	SF_FD_DIRECTORY,/* 'd', "directory" */
	SF_FD_IPV4,	/* '4', "ipv4" */
	SF_FD_IPV6,	/* '6', "ipv6" */
	SF_FD_UNIX,	/* 'u', "unix" */
	SF_FD_MEMFD,	/* 'm', "memfd" */
};

/* One socket endpoint; family is AF_INET or AF_INET6 (0 when unknown),
 * addr holds 4 or 16 bytes in network order, port in host order. */
struct sf_endpoint {
	uint16_t family;
	uint16_t port;
	uint8_t addr[16];
};

struct sf_event_arg {
	const char *name;  /* evt.arg.NAME, also evt.arg[i] by position */
	const char *value; /* rendered like Falco renders it ("O_RDONLY|O_CLOEXEC") */
};

struct sf_event {
	const char *type; /* evt.type: Falco's syscall event name ("openat",
			     "execve", "connect", "procexit", …) */
	int64_t time_ns;  /* evt.time (unix time, ns) */
	int64_t res;	  /* evt.rawres: >= 0 success, -errno failure; evt.res
			     renders "SUCCESS" or the errno name ("ENOENT") */
	const struct sf_proc *proc; /* never NULL */
	int32_t tid;		    /* thread.tid (host); 0 when unknown */
	uint64_t num;		    /* evt.num: the job's event counter, 0 = unknown */

	/* File descriptor the event is about (fd.*). */
	enum sf_fd_type fd_type;
	bool has_fd_num;     /* fd.num is known: */
	int64_t fd_num;	     /* fd.num */
	const char *fd_name; /* fd.name: absolute path for files; for sockets
				Falco's "cip:cport->sip:sport" form; NULL if none */
	uint32_t open_flags; /* the O_* flags of an open, 0 otherwise */
	bool is_open_read;   /* evt.is_open_read */
	bool is_open_write;  /* evt.is_open_write (O_WRONLY/O_RDWR/O_CREAT/O_TRUNC) */
	bool is_open_exec;   /* evt.is_open_exec (O_CREAT with an x mode bit, or
				chmod that adds x) */
	/* Sockets: l4proto is "tcp", "udp", "raw" or NULL. client/server follow
	 * Falco: for connect/sendto the local end is the client and the peer the
	 * server; for accept the peer is the client; for bind/listen the local
	 * end is the server and client.family is 0. */
	const char *l4proto;
	struct sf_endpoint client; /* fd.cip, fd.cport */
	struct sf_endpoint server; /* fd.sip, fd.sport */
	bool is_server;		   /* the local end is the server (bind, listen, accept) */

	/* Event arguments (evt.arg.NAME / evt.arg[N] / evt.args). */
	struct sf_event_arg args[SF_EVENT_MAX_ARGS];
	uint32_t nargs;

	/* A DNS question the event carries (sendto/sendmsg to port 53, or
	 * a question the sinkhole answered): the scanfarm-only field
	 * sf.dns.name; NULL otherwise. */
	const char *dns_name;

	/* fd.sip.name: the name the sandbox's sinkhole resolver answered
	 * with the server address; NULL when it is none of its answers. */
	const char *sip_name;
	/* scanfarm.net.blocked (socket events): the server address is one no
	 * sandbox may reach (cloud metadata, the worker host). */
	bool dst_blocked;

	/* What the sandbox sent the sinkhole (evt.type "sinkhole"; all NULL
	 * on other events): scanfarm.net.kind ("dns", "http", "tls", "tcp",
	 * "udp"); scanfarm.dns.type of a question ("A", "TXT", …);
	 * scanfarm.http.method, .uri, .host and .request_line of an HTTP
	 * request; scanfarm.tls.sni of a ClientHello; evt.buffer, a text-safe
	 * preview of the first bytes (netproto.h), and evt.buflen, how many
	 * bytes were sent in all. */
	const char *net_kind;
	const char *dns_type;
	const char *http_method, *http_uri, *http_host, *http_request_line;
	const char *tls_sni;
	const char *buffer;
	int64_t buflen;

	/* scanfarm.fd.package: the package ("name@version") whose directory
	 * (the deepest node_modules/<name> holding fd.name) the file is in,
	 * when that is not the acting process's own package directory nor
	 * inside it; "" or NULL otherwise (not in a package, node_modules/.bin). */
	const char *fd_package;
	/* scanfarm.phase: the job's phase ("fetch", "install", "import"), ""
	 * or NULL for a job of one phase. */
	const char *phase;
	/* scanfarm.left_running: the phase's command had already ended (the
	 * process acting was left running: a detached or background process
	 * in its grace period). */
	bool left_running;

	/* thread.cgroups: the process's cgroup for each controller, as Falco
	 * lists them ("memory=/scanfarm/<container id>-<phase>"); NULL when
	 * unknown. */
	const char *cgroups;

	/* user.name and group.name of the sandbox's user: its account name
	 * when the id is user_id (the runner look's user); NULL: ids other
	 * than 0 render as numbers. */
	const char *user_name;
	uint32_t user_id;

	/* Container the event came from: constant for a job. */
	const char *container_id;    /* container.id */
	const char *container_name;  /* container.name */
	const char *container_image; /* container.image.repository */
};

#endif
