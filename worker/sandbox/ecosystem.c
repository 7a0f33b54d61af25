/* ecosystem — see ecosystem.h. */
#include "ecosystem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define ECO_SANDBOX_UID 1000 /* the sandbox user (job.c) */

const struct sf_ecosystem *sf_ecosystem_find(const char *name)
{
	if (name && !strcmp(name, sf_ecosystem_pypi.name))
		return &sf_ecosystem_pypi;
	if (name && !strcmp(name, sf_ecosystem_rubygems.name))
		return &sf_ecosystem_rubygems;
	return NULL;
}

int sf_eco_job_init(struct sf_eco_job *e, const char *ecosystem, const char *kind, const char *tree,
		    char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	int rc = sf_body_detect(ecosystem, kind, tree, &e->body, err, errlen);
	if (rc)
		return rc;
	sf_body_id(&e->body, e->id, sizeof(e->id));
	e->home = "/tmp";
	return 0;
}

void sf_eco_job_place(struct sf_eco_job *e, const char *work, const char *rel)
{
	sf_strlcpy(e->work, work, sizeof(e->work));
	sf_strlcpy(e->rel, rel, sizeof(e->rel));
	snprintf(e->dir, sizeof(e->dir), "%s%s%s", work, rel[0] ? "/" : "", rel);
}

void sf_eco_job_free(struct sf_eco_job *e)
{
	for (int i = 0; i < e->nimports; i++) {
		free(e->import_dir[i]);
		free(e->import_name[i]);
	}
	e->nimports = 0;
}

int sf_eco_mkdir(const char *tree, const char *rel)
{
	char path[4600];
	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	int rc = sf_mkdirs(path, 0755);
	if (rc == 0 && chown(path, ECO_SANDBOX_UID, ECO_SANDBOX_UID) != 0)
		rc = -errno;
	return rc;
}

int sf_eco_place(const char *artifact, const char *tree, const char *rel, char *err, size_t errlen)
{
	char dst[4600];
	snprintf(dst, sizeof(dst), "%s/%s", tree, rel);
	int in = open(artifact, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = in < 0 || out < 0 ? -errno : 0;
	char buf[65536];
	ssize_t n;
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0)
		if (n < 0 || sf_write_all(out, buf, (size_t)n) != 0)
			rc = -EIO;
	if (rc == 0 && fchown(out, ECO_SANDBOX_UID, ECO_SANDBOX_UID) != 0)
		rc = -errno;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && rc == 0)
		rc = -errno;
	if (rc)
		snprintf(err, errlen, "cannot place the package at %s: %s", rel, strerror(-rc));
	return rc;
}

int sf_eco_add_package(struct sf_batch *b, const char *name, const char *version,
		       const char *path, bool install_scripts, bool direct)
{
	struct sf_package *p = realloc(b->packages, (b->npackages + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->packages = p;
	p = &b->packages[b->npackages];
	*p = (struct sf_package){.name = strdup(name),
				 .version = strdup(version),
				 .path = strdup(path),
				 .install_scripts = install_scripts,
				 .direct = direct};
	b->npackages++;
	return p->name && p->version && p->path ? 0 : -ENOMEM;
}

int sf_eco_add_import(struct sf_eco_job *e, const char *dir, const char *name)
{
	if (e->nimports >= SF_ECO_MAX_IMPORTS)
		return -E2BIG;
	char *d = strdup(dir), *n = strdup(name);
	if (!d || !n) {
		free(d);
		free(n);
		return -ENOMEM;
	}
	e->import_dir[e->nimports] = d;
	e->import_name[e->nimports] = n;
	e->nimports++;
	return 0;
}

void sf_eco_base_env(const struct sf_eco_job *e, bool fetch, struct sf_argv *env)
{
	sf_argv_add(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (fetch || e->home)
		sf_argv_add(env, "HOME=%s", fetch ? "/tmp" : e->home);
	sf_argv_add(env, "TMPDIR=%s/" SF_ECO_TMP, e->work);
	sf_argv_add(env, "LANG=C.UTF-8");
	sf_argv_add(env, "TERM=dumb");
}

int sf_eco_done(struct sf_argv *argv, struct sf_argv *env)
{
	if (!argv->oom && !env->oom)
		return 0;
	sf_argv_free(argv);
	sf_argv_free(env);
	return -ENOMEM;
}
