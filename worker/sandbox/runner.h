/*
 * runner — what a sandbox looks like from inside: a CI runner's job, not
 * an analysis box. Each scan gets one of the patterns real runners show,
 * varied within it and chosen deterministically from the scan's id (so a
 * scan's look can be reproduced from its id, and two scans look alike
 * only by chance):
 *
 *   gitlab-docker  GitLab Runner, Docker executor, a node image: host
 *                  runner-<token>-project-<id>-concurrent-<n>, user node,
 *                  HOME /home/node, the project in /builds/<group>/<project>
 *   gitlab-k8s     GitLab Runner, Kubernetes executor: the same, the pod's
 *                  name as host (…-concurrent-<n>-<suffix>), KUBERNETES_*
 *   github-arc     GitHub Actions, a self-hosted runner pod (Actions Runner
 *                  Controller): host <scale set>-<id>-runner-<id>, user
 *                  runner, HOME /home/runner, the workspace
 *                  /home/runner/_work/<repo>/<repo>, KUBERNETES_*
 *
 * with the CI variables each runner sets (CI=true, GITLAB_CI or
 * GITHUB_ACTIONS, repository, ref, sha, job and pipeline ids, runner name,
 * workspace…), the user in /etc/passwd and /etc/group, a home directory
 * with the usual dot files, /etc/hostname and /etc/hosts. No name the look
 * uses names the product, a scanner, a sandbox or an analysis.
 *
 * The container sees the look through a per-job scratch directory on the
 * host (the job's tmpfs, a file system of its own, so mount sources show
 * no host path): etc/ (passwd, group, hostname, hosts), home/, builds/,
 * bind-mounted at /etc/…, /home and /builds. The project's tree is
 * mounted at project_dir, inside one of those (its mount point is made
 * here). Secrets are not the look's: canary.h plants them.
 *
 * Every path a look can put the project in is below one of
 * SF_RUNNER_WORKSPACES, and every home is one of SF_RUNNER_HOMES: the
 * rules' lists sf_package_trees and sf_home_directories (rules/00-macros.yaml)
 * name the same (runner_test checks it).
 *
 * Owns: nothing allocated (struct sf_runner is plain data). Calls: npm
 * (struct sf_argv), util, OpenSSL (SHA-256 as the look's random source).
 */
#ifndef SF_RUNNER_H
#define SF_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npm.h"

#define SF_RUNNER_WORKSPACES "/builds", "/home/runner/_work"
#define SF_RUNNER_HOMES "/home/node", "/home/runner"

enum sf_runner_kind { SF_RUNNER_GITLAB_DOCKER, SF_RUNNER_GITLAB_K8S, SF_RUNNER_GITHUB_ARC };

struct sf_runner {
	enum sf_runner_kind kind;
	char hostname[96];
	char user[32];
	char home[64];
	char project_dir[256]; /* the project's tree in the container */
	char owner[96];	       /* GitLab namespace ("acme/platform") or GitHub owner */
	char repo[64];	       /* project or repository name */
	char server[96];       /* gitlab.com, gitlab.example.io, github.com */
	char actor[40], actor_name[64];
	char branch[96];
	char sha[41], before_sha[41];
	char title[96];	     /* the commit's title */
	char job_name[32];
	char runner_name[96];
	char token8[9];	     /* GitLab's runner short token */
	char ip[20];	     /* the container's address in /etc/hosts */
	char k8s_api[20];    /* KUBERNETES_SERVICE_HOST */
	char uuid[37];	     /* GitHub's file-command suffix */
	char started[32];    /* ISO 8601, UTC */
	long long project_id, job_id, pipeline_id, pipeline_iid, user_id, runner_id;
	int concurrent;
	unsigned char seed[32];	/* what canary values may also be drawn from */
};

/* The look of the scan with this id (any string; the scan's UUID). */
void sf_runner_choose(struct sf_runner *r, const char *scan_id);

/* The look's name ("gitlab-docker", …) for logs and tests. */
const char *sf_runner_kind_name(const struct sf_runner *r);

/* Adds the look's environment: HOME, HOSTNAME, CI=true and the runner's
 * variables. Secrets are added by canary.h. */
void sf_runner_env(const struct sf_runner *r, struct sf_argv *env);

/* Fills the scratch directory (a host directory, fresh) with what the
 * container sees of the look: etc/passwd and etc/group (the rootfs's and
 * the user uid:gid), etc/hostname, etc/hosts, the home directory (from
 * the rootfs's /etc/skel, owned by uid:gid), the workspace's directories
 * and the project's mount point. 0 or -errno with err filled. */
int sf_runner_prepare(const struct sf_runner *r, const char *rootfs, const char *scratch,
		      unsigned uid, unsigned gid, char *err, size_t errlen);

/* The bind mounts of the look, in the order they must be made (the
 * project's own is the caller's, after these): host path below scratch
 * and container path. Returns how many (at most max). */
struct sf_runner_mount {
	char source[4200];
	char dest[256];
	bool dir;
};
int sf_runner_mounts(const struct sf_runner *r, const char *scratch, struct sf_runner_mount *m,
		     int max);

/* The host directory of the look's home below scratch. */
void sf_runner_home_host(const struct sf_runner *r, const char *scratch, char *out, size_t len);

#endif
