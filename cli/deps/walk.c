/* walk — see walk.h. */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lock_gem.h"
#include "lock_npm.h"
#include "lock_pnpm.h"
#include "lock_python.h"
#include "lock_yarn.h"
#include "util.h"

#define WALK_MAX_DEPTH 32

extern char **environ;

sf_lock_parser sf_walk_parser(const char *base, const char *dir)
{
	static const struct {
		const char *name;
		sf_lock_parser fn;
	} files[] = {{"package-lock.json", sf_lock_npm}, {"npm-shrinkwrap.json", sf_lock_npm},
		     {"yarn.lock", sf_lock_yarn},	   {"pnpm-lock.yaml", sf_lock_pnpm},
		     {"Pipfile.lock", sf_lock_pipfile},  {"poetry.lock", sf_lock_poetry},
		     {"Gemfile.lock", sf_lock_gemfile}};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(base, files[i].name) == 0)
			return files[i].fn;
	if (fnmatch("requirements*.txt", base, 0) == 0 ||
	    (dir && strcmp(dir, "requirements") == 0 && fnmatch("*.txt", base, 0) == 0))
		return sf_lock_requirements;
	return NULL;
}

/* base and folder names of a relative path */
static void walk_names(const char *file, const char **base, char *dir, size_t dirlen)
{
	const char *slash = strrchr(file, '/');
	*base = slash ? slash + 1 : file;
	dir[0] = '\0';
	if (slash) {
		const char *prev = slash;
		while (prev > file && prev[-1] != '/')
			prev--;
		size_t n = (size_t)(slash - prev);
		if (n < dirlen) {
			memcpy(dir, prev, n);
			dir[n] = '\0';
		}
	}
}

int sf_walk_parse(struct sf_depset *s, const char *repo, const char *file, const char *data,
		  size_t len)
{
	const char *base;
	char dir[256];
	walk_names(file, &base, dir, sizeof(dir));
	sf_lock_parser fn = sf_walk_parser(base, dir);
	if (!fn)
		return -ENOENT;
	struct sf_lockfile lf;
	int rc = sf_lockfile_begin(&lf, s, repo, file);
	if (rc == 0) {
		rc = fn(&lf, data, len);
		if (rc == -EPROTO)
			rc = 0; /* malformed: the diagnostic says so, the run goes on */
		int end = sf_lockfile_end(&lf);
		rc = rc ? rc : end;
	}
	return rc;
}

/* A lockfile that could not be read at all. */
static int walk_unreadable(struct sf_depset *s, const char *repo, const char *file, int err)
{
	struct sf_lockfile lf;
	int rc = sf_lockfile_begin(&lf, s, repo, file);
	if (rc == 0) {
		rc = sf_lockfile_fail(&lf, 0, "cannot be read: %s", strerror(-err));
		rc = rc == -EPROTO ? 0 : rc;
		int end = sf_lockfile_end(&lf);
		rc = rc ? rc : end;
	}
	return rc;
}

static int walk_file(struct sf_depset *s, const char *repo, const char *path, const char *rel)
{
	char *data = NULL;
	size_t len = 0;
	int rc = sf_read_file(path, SF_WALK_MAX_FILE, &data, &len);
	if (rc) {
		rc = walk_unreadable(s, repo, rel, rc);
	} else {
		rc = sf_walk_parse(s, repo, rel, data, len);
		rc = rc == -ENOENT ? 0 : rc;
	}
	free(data);
	return rc;
}

/* Folders holding installed or vendored copies, not the repository's own
 * lockfiles. */
static bool walk_skip_dir(const char *name, const char *rel)
{
	static const char *const skip[] = {"node_modules", ".git", ".hg", ".svn", ".venv",
					   "venv", "__pycache__", ".tox", ".yarn"};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strcmp(name, skip[i]) == 0)
			return true;
	size_t n = strlen(rel);
	return n >= 13 && strcmp(rel + n - 13, "vendor/bundle") == 0;
}

/* The entries of one folder, sorted, so runs list lockfiles in one order. */
static int walk_names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(struct sf_depset *s, const char *repo, const char *path, const char *rel,
		    int depth)
{
	if (depth > WALK_MAX_DEPTH)
		return 0;
	struct dirent **list = NULL;
	int n = scandir(path, &list, NULL, NULL);
	if (n < 0)
		return 0; /* an unreadable folder holds nothing we can read */
	char **names = calloc((size_t)n + 1, sizeof(*names));
	int rc = names ? 0 : -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (names)
			names[i] = list[i]->d_name;
	}
	if (names)
		qsort(names, (size_t)n, sizeof(*names), walk_names_cmp);
	for (int i = 0; rc == 0 && i < n; i++) {
		const char *name = names[i];
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		char child[4096], crel[4096];
		struct stat st;
		snprintf(child, sizeof(child), "%s/%s", path, name);
		snprintf(crel, sizeof(crel), "%s%s%s", rel, rel[0] ? "/" : "", name);
		if (lstat(child, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && !walk_skip_dir(name, crel)) {
			rc = walk_dir(s, repo, child, crel, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			const char *base;
			char dir[256];
			walk_names(crel, &base, dir, sizeof(dir));
			if (sf_walk_parser(base, dir))
				rc = walk_file(s, repo, child, crel);
		}
	}
	free(names);
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return rc;
}

int sf_walk_path(struct sf_depset *s, const char *path, const char *repo)
{
	char clean[4096];
	struct stat st;
	sf_strlcpy(clean, path, sizeof(clean));
	for (size_t n = strlen(clean); n > 1 && clean[n - 1] == '/'; n--)
		clean[n - 1] = '\0';
	if (stat(clean, &st) != 0) {
		int err = errno;
		fprintf(stderr, "scanfarm: %s: %s\n", path, strerror(err));
		return -err;
	}
	if (!S_ISDIR(st.st_mode)) {
		/* one lockfile: the repository is its folder */
		const char *slash = strrchr(clean, '/');
		char dir[4096];
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - clean) : 1,
			 slash ? clean : ".");
		return walk_file(s, repo ? repo : dir, clean, slash ? slash + 1 : clean);
	}
	return walk_dir(s, repo ? repo : clean, clean, "", 0);
}

/* git clone --depth 1 --quiet URL DIR, its output on our stderr. */
static int walk_clone(const char *url, const char *dir)
{
	char *argv[] = {"git", "clone", "--depth", "1", "--quiet", "--", (char *)url,
			(char *)dir, NULL};
	pid_t pid;
	setenv("GIT_TERMINAL_PROMPT", "0", 0); /* a private URL fails, never asks */
	int rc = posix_spawnp(&pid, "git", NULL, NULL, argv, environ);
	if (rc)
		return -rc;
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int sf_walk_git(struct sf_depset *s, const char *url, const char *tmpdir)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/scanfarm-clone-XXXXXX", tmpdir);
	if (!mkdtemp(dir))
		return walk_unreadable(s, url, "(clone)", -errno);
	char into[4200];
	snprintf(into, sizeof(into), "%s/repo", dir);
	int clone = walk_clone(url, into), rc;
	if (clone) {
		struct sf_lockfile lf;
		if ((rc = sf_lockfile_begin(&lf, s, url, "(git clone)")) == 0) {
			rc = sf_lockfile_fail(&lf, 0, "could not be cloned%s%s",
					      clone == -EIO ? "" : ": ",
					      clone == -EIO ? "" : strerror(-clone));
			rc = rc == -EPROTO ? 0 : rc;
			int end = sf_lockfile_end(&lf);
			rc = rc ? rc : end;
		}
	} else
		rc = sf_walk_path(s, into, url);
	sf_rmtree(dir);
	return rc;
}
