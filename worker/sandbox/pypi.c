/* pypi — see pypi.h. */
#include "pypi.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pylock.h"
#include "util.h"

/* A Pipfile.lock's default packages as a requirements file, in SF_ECO_DIST */
#define PYPI_PIPFILE_REQS ".dist/Pipfile.lock.txt"
/* A poetry.lock's packages likewise */
#define PYPI_POETRY_REQS ".dist/poetry.lock.txt"
#define PYPI_META_MAX (1u << 20)
/* The image's own wheels (Debian's python3-setuptools-whl, python3-wheel-whl,
 * python3-pip-whl): what pip's build isolation installs a setuptools build
 * from when no index has them */
#define PYPI_WHEELHOUSE "/usr/share/python-wheels"

int sf_pypi_wheel_name(const char *name, const char *version, const char *tag, char *out,
		       size_t outlen)
{
	struct sf_buf b = {0};
	int rc = 0;
	for (const char *p = name; *p && rc == 0; p++) {
		bool sep = *p == '-' || *p == '_' || *p == '.';
		if (sep && b.len && b.data[b.len - 1] == '_')
			continue;
		rc = sf_buf_append(&b, sep ? "_" : p, 1);
	}
	if (rc == 0)
		rc = sf_buf_append(&b, "-", 1);
	for (const char *p = version; *p && rc == 0; p++)
		rc = sf_buf_append(&b, *p == '-' ? "_" : p, 1);
	if (rc == 0)
		rc = sf_buf_appendf(&b, "-%s.whl", tag);
	if (rc == 0)
		rc = sf_strlcpy(out, b.data, outlen);
	sf_buf_free(&b);
	return rc;
}

/* A Pipfile.lock's "default" section as pinned requirements with their
 * hashes (pip then checks every download against them). Entries that are
 * not index packages (git, path, file URLs) are refused. */
static int pypi_pipfile(const struct sf_eco_job *e, const char *tree, char *err, size_t errlen)
{
	char path[4600], *text = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/%s%sPipfile.lock", tree, e->rel, e->rel[0] ? "/" : "");
	int fd = sf_open_beneath(tree, path + strlen(tree), O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open Pipfile.lock: %s", strerror(-fd));
		return fd;
	}
	close(fd);
	int rc = sf_read_file(path, PYPI_META_MAX, &text, &len);
	if (rc) {
		snprintf(err, errlen, "cannot read Pipfile.lock: %s", strerror(-rc));
		return rc;
	}
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	free(text);
	json_t *def = json_object_get(root, "default");
	struct sf_buf out = {0};
	const char *name;
	json_t *v;
	rc = json_is_object(def) ? 0 : -EBADMSG;
	if (rc)
		snprintf(err, errlen, "Pipfile.lock: no \"default\" object (%s)",
			 root ? "not a Pipfile.lock" : jerr.text);
	json_object_foreach(def, name, v) {
		const char *ver = json_string_value(json_object_get(v, "version"));
		const char *markers = json_string_value(json_object_get(v, "markers"));
		if (rc)
			break;
		if (!sf_body_valid_name(name) || !ver || strncmp(ver, "==", 2) ||
		    strspn(ver + 2, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+!-_") !=
			strlen(ver + 2)) {
			snprintf(err, errlen, "Pipfile.lock: %.100s is not a pinned index package", name);
			rc = -EBADMSG;
			break;
		}
		rc = sf_buf_appendf(&out, "%s%s", name, ver);
		if (!rc && markers && !strpbrk(markers, "\n\r\\#"))
			rc = sf_buf_appendf(&out, " ; %s", markers);
		size_t i;
		json_t *h;
		json_array_foreach(json_object_get(v, "hashes"), i, h) {
			const char *hs = json_string_value(h);
			if (!rc && hs && !strncmp(hs, "sha256:", 7) && strlen(hs) == 71 &&
			    sf_is_hex(hs + 7, 64))
				rc = sf_buf_appendf(&out, " --hash=%s", hs);
		}
		if (!rc)
			rc = sf_buf_append(&out, "\n", 1);
	}
	json_decref(root);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/%s", tree, PYPI_PIPFILE_REQS);
		rc = sf_write_file(path, out.data ? out.data : "", out.len);
		if (rc == 0 && chown(path, 1000, 1000) != 0)
			rc = -errno;
		if (rc)
			snprintf(err, errlen, "cannot write the Pipfile.lock's requirements: %s",
				 strerror(-rc));
	}
	sf_buf_free(&out);
	return rc;
}

/* The requirements-file options that choose where pip fetches from. */
static bool pypi_index_option(const char *k)
{
	static const char *const opts[] = {"-i",	   "--index-url", "--extra-index-url",
					   "-f",	   "--find-links", "--trusted-host",
					   "--no-index"};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		size_t n = strlen(opts[i]);
		/* "--index-url URL", "--index-url=URL", and "-iURL" for the short ones */
		if (!strncmp(k, opts[i], n) &&
		    (!k[n] || strchr(" \t=\r", k[n]) || (n == 2 && k[n] != '-')))
			return true;
	}
	return false;
}

/* Takes the index options out of a requirements file (rel below tree) and
 * of the files it includes with -r / -c (relative, inside the tree, depth
 * bounded): the worker's index must win, as npm's registry does over a
 * project's .npmrc. Each line taken out is noted. A file that is not a
 * regular one is left alone: pip is told nothing else. */
static int pypi_neutralise(struct sf_eco_job *e, const char *tree, const char *rel, int depth)
{
	char *text = NULL;
	size_t len = 0;
	int fd = sf_open_beneath(tree, rel, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	struct stat st;
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= PYPI_META_MAX;
	close(fd);
	char path[4600];
	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	if (!regular || sf_read_file(path, PYPI_META_MAX, &text, &len) != 0)
		return 0;
	struct sf_buf kept = {0};
	bool changed = false;
	int rc = 0;
	for (char *line = text, *next; line && *line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		const char *k = line + strspn(line, " \t");
		if (pypi_index_option(k)) {
			char shown[300];
			snprintf(shown, sizeof(shown), "%s: %.*s", rel, (int)strcspn(line, "\r"), line);
			if (e->note)
				e->note(e->note_arg, shown);
			changed = true;
			continue;
		}
		/* an included file: the same, once it is known to stay inside */
		bool inc = !strncmp(k, "-r", 2) || !strncmp(k, "-c", 2) ||
			   !strncmp(k, "--requirement", 13) || !strncmp(k, "--constraint", 12);
		if (inc && depth < 4) {
			const char *f = k + strcspn(k, " \t=");
			f += strspn(f, " \t=");
			if (k[1] != '-' && k[2] && k[2] != ' ' && k[2] != '\t')
				f = k + 2;
			char sub[600], dir[500];
			snprintf(dir, sizeof(dir), "%s", rel);
			char *slash = strrchr(dir, '/');
			if (slash)
				slash[1] = '\0';
			else
				dir[0] = '\0';
			snprintf(sub, sizeof(sub), "%s%.*s", dir, (int)strcspn(f, " \t\r#"), f);
			if (f[0] && f[0] != '/' && !strstr(f, "..") && !strstr(f, "://"))
				rc = pypi_neutralise(e, tree, sub, depth + 1);
		}
		if (rc == 0)
			rc = sf_buf_appendf(&kept, "%s\n", line);
	}
	if (!rc && changed) {
		rc = unlink(path) == 0 ? sf_write_file(path, kept.data ? kept.data : "", kept.len) : -errno;
		if (rc == 0 && chown(path, 1000, 1000) != 0)
			rc = -errno;
	}
	sf_buf_free(&kept);
	free(text);
	return rc;
}

/* A poetry.lock's packages as pinned requirements with their hashes
 * (pylock.h), in SF_ECO_DIST. */
static int pypi_poetry(const struct sf_eco_job *e, const char *tree, char *err, size_t errlen)
{
	char rel[300], path[4600], *text = NULL;
	size_t len = 0;
	snprintf(rel, sizeof(rel), "%s%spoetry.lock", e->rel, e->rel[0] ? "/" : "");
	int fd = sf_open_beneath(tree, rel, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
	struct stat st;
	bool regular = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	int rc = regular ? sf_read_file(path, PYPI_META_MAX * 16, &text, &len) : -EBADMSG;
	if (rc) {
		snprintf(err, errlen, "cannot read poetry.lock: %s", strerror(-rc));
		return rc;
	}
	struct sf_buf out = {0};
	rc = sf_pylock_poetry(text, len, &out, err, errlen);
	free(text);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/%s", tree, PYPI_POETRY_REQS);
		rc = sf_write_file(path, out.data ? out.data : "", out.len);
		if (rc == 0 && chown(path, 1000, 1000) != 0)
			rc = -errno;
		if (rc)
			snprintf(err, errlen, "cannot write the poetry.lock's requirements: %s",
				 strerror(-rc));
	}
	sf_buf_free(&out);
	return rc;
}

static int pypi_prepare(struct sf_eco_job *e, const char *tree, const char *artifact, char *err,
			size_t errlen)
{
	int rc;
	if (e->body.kind == SF_BODY_WHEEL) {
		/* the wheel is installed from its file, by the name pip needs;
		 * its unpacked copy is gone, so nothing else of it is in reach */
		char file[300];
		if ((rc = sf_pypi_wheel_name(e->body.name, e->body.version, e->body.tag, file,
					     sizeof(file)))) {
			snprintf(err, errlen, "the wheel's name is too long");
			return rc;
		}
		snprintf(e->file, sizeof(e->file), "%s", file);
		if ((rc = sf_rmtree(tree)) || (rc = sf_mkdirs(tree, 0755)) ||
		    (rc = chown(tree, 1000, 1000) ? -errno : 0)) {
			snprintf(err, errlen, "cannot lay out the wheel: %s", strerror(-rc));
			return rc;
		}
	}
	if ((rc = sf_eco_mkdir(tree, ".dist")) || (rc = sf_eco_mkdir(tree, ".tmp"))) {
		snprintf(err, errlen, "cannot prepare the tree: %s", strerror(-rc));
		return rc;
	}
	if (e->body.kind == SF_BODY_WHEEL) {
		char rel[400];
		snprintf(rel, sizeof(rel), ".dist/%s", e->file);
		return sf_eco_place(artifact, tree, rel, err, errlen);
	}
	if (e->body.kind == SF_BODY_PY_PROJECT && (e->body.files & SF_BODY_REQUIREMENTS)) {
		char rel[300];
		snprintf(rel, sizeof(rel), "%s%srequirements.txt", e->rel, e->rel[0] ? "/" : "");
		if ((rc = pypi_neutralise(e, tree, rel, 0)))
			snprintf(err, errlen, "cannot neutralise the requirements' index options: %s",
				 strerror(-rc));
		return rc;
	}
	if (e->body.kind == SF_BODY_PY_PROJECT && (e->body.files & SF_BODY_PIPFILE_LOCK))
		return pypi_pipfile(e, tree, err, errlen);
	if (e->body.kind == SF_BODY_PY_PROJECT && (e->body.files & SF_BODY_POETRY_LOCK))
		return pypi_poetry(e, tree, err, errlen);
	return 0;
}

/* What pip is asked for: the sdist's or project's directory, the wheel's
 * file, or a requirements file. */
static void pypi_targets(const struct sf_eco_job *e, struct sf_argv *argv)
{
	if (e->body.kind == SF_BODY_WHEEL) {
		sf_argv_add(argv, "%s/" SF_ECO_DIST "/%s", e->work, e->file);
	} else if (e->body.kind == SF_BODY_PY_PROJECT && (e->body.files & SF_BODY_REQUIREMENTS)) {
		sf_argv_add(argv, "-r");
		sf_argv_add(argv, "%s/requirements.txt", e->dir);
	} else if (e->body.kind == SF_BODY_PY_PROJECT && (e->body.files & SF_BODY_PIPFILE_LOCK)) {
		sf_argv_add(argv, "-r");
		sf_argv_add(argv, "%s/%s", e->work, PYPI_PIPFILE_REQS);
	} else if (e->body.kind == SF_BODY_PY_PROJECT && (e->body.files & SF_BODY_POETRY_LOCK)) {
		sf_argv_add(argv, "-r");
		sf_argv_add(argv, "%s/%s", e->work, PYPI_POETRY_REQS);
	} else {
		sf_argv_add(argv, "%s", e->dir);
	}
}

/* What every phase's pip and python see. */
static void pypi_env(const struct sf_eco_job *e, bool fetch, struct sf_argv *env)
{
	sf_eco_base_env(e, fetch, env);
	sf_argv_add(env, "PIP_CONFIG_FILE=/dev/null");
	sf_argv_add(env, "PIP_DISABLE_PIP_VERSION_CHECK=1");
	sf_argv_add(env, "PIP_NO_INPUT=1");
	sf_argv_add(env, "PIP_PROGRESS_BAR=off");
}

/* Runs in the sandbox, as the fetch phase: pip download of the body
 * (argv: the wheelhouse SF_ECO_DIST, the image's wheels, the body's
 * directory when pip builds it, whether an index is configured, the count
 * of pip's options, the options, the targets). pip builds every sdist with
 * a pyproject.toml in an isolated environment of its [build-system]
 * requires: fetched from the index through the proxy, or from the image's
 * own wheels (setuptools, wheel). The install runs offline, so those
 * requirements are downloaded into SF_ECO_DIST too: the body's, then each
 * downloaded sdist's (read from the archive with tomllib, in here), in
 * rounds while new sdists appear. With no index, a body whose build needs
 * more than the image's wheels fails here, saying so (pip's first "ERROR: "
 * line is the phase's reason). Requirements are read with the packaging
 * library pip vendors: the image's pip, fixed by its recipe. */
static const char pypi_fetch_driver[] =
    "import os, subprocess, sys, tarfile, tomllib, zipfile\n"
    "from pip._vendor.packaging.requirements import InvalidRequirement, Requirement\n"
    "dist, house, body, indexed = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == '1'\n"
    "n = int(sys.argv[5])\n"
    "pip = [sys.executable, '-I', '-m', 'pip', 'download'] + sys.argv[6:6 + n]\n"
    "targets = sys.argv[6 + n:]\n"
    "def requires(text):\n"
    "    # no pyproject.toml: pip 23 builds it with setup.py and the image's\n"
    "    # setuptools, no isolation; one without [build-system]: PEP 518's default\n"
    "    if text is None:\n"
    "        return []\n"
    "    try:\n"
    "        bs = tomllib.loads(text).get('build-system', {'requires': ['setuptools>=40.8.0']})\n"
    "    except (tomllib.TOMLDecodeError, AttributeError):\n"
    "        return []\n"
    "    r = bs.get('requires') if isinstance(bs, dict) else None\n"
    "    if not isinstance(r, list) or not all(isinstance(x, str) for x in r):\n"
    "        return []\n"
    "    b = bs.get('build-backend')\n"
    "    if not isinstance(b, str) or b.startswith('setuptools.build_meta'):\n"
    "        r = r + ['wheel']\n"
    "    return r[:64]\n"
    "def member(path):\n"
    "    try:\n"
    "        if path.endswith('.zip'):\n"
    "            with zipfile.ZipFile(path) as z:\n"
    "                for i in z.infolist():\n"
    "                    if i.filename.count('/') == 1 and i.filename.endswith('/pyproject.toml') and i.file_size < 1 << 20:\n"
    "                        return z.read(i).decode('utf-8', 'replace')\n"
    "        else:\n"
    "            with tarfile.open(path) as t:\n"
    "                for i in t:\n"
    "                    if i.isfile() and i.name.count('/') == 1 and i.name.endswith('/pyproject.toml') and i.size < 1 << 20:\n"
    "                        return t.extractfile(i).read().decode('utf-8', 'replace')\n"
    "    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError):\n"
    "        pass\n"
    "    return None\n"
    "def pyproject(d):\n"
    "    try:\n"
    "        with open(os.path.join(d, 'pyproject.toml'), 'rb') as f:\n"
    "            return f.read(1 << 20).decode('utf-8', 'replace')\n"
    "    except OSError:\n"
    "        return None\n"
    "def key(name):\n"
    "    return name.lower().replace('_', '-').replace('.', '-')\n"
    "if body and not indexed:\n"
    "    have = {}\n"
    "    for w in (os.listdir(house) if os.path.isdir(house) else []):\n"
    "        p = w.split('-')\n"
    "        if w.endswith('.whl') and len(p) >= 3:\n"
    "            have[key(p[0])] = p[1]\n"
    "    missing = []\n"
    "    for r in requires(pyproject(body)):\n"
    "        try:\n"
    "            q = Requirement(r)\n"
    "        except InvalidRequirement:\n"
    "            missing.append(r)\n"
    "            continue\n"
    "        v = have.get(key(q.name))\n"
    "        if (not q.marker or q.marker.evaluate()) and (v is None or not q.specifier.contains(v, prereleases=True)):\n"
    "            missing.append(r)\n"
    "    if missing:\n"
    "        print('ERROR: no index is configured, and building it needs ' + ', '.join(missing) +\n"
    "              ' (its [build-system] requires), which the image does not have (it has ' +\n"
    "              ', '.join(k + ' ' + v for k, v in sorted(have.items())) + ')', file=sys.stderr)\n"
    "        sys.exit(1)\n"
    "r = subprocess.run(pip + targets).returncode\n"
    "if r or not indexed:\n"
    "    sys.exit(r)\n"
    "done, fetched = set(), set()\n"
    "todo = [(body, requires(pyproject(body)))] if body else []\n"
    "for _ in range(8):\n"
    "    for f in sorted(os.listdir(dist)):\n"
    "        if f not in done and f.endswith(('.tar.gz', '.tgz', '.tar.bz2', '.tar.xz', '.zip')):\n"
    "            done.add(f)\n"
    "            todo.append((f, requires(member(os.path.join(dist, f)))))\n"
    "    for what, reqs in todo:\n"
    "        new = [x for x in reqs if x not in fetched]\n"
    "        if new:\n"
    "            print('scanfarm-build-requires ' + os.path.basename(what) + ': ' + ' '.join(new), flush=True)\n"
    "            fetched.update(new)\n"
    "            r = subprocess.run(pip + new).returncode\n"
    "            if r:\n"
    "                sys.exit(r)\n"
    "    if not todo:\n"
    "        break\n"
    "    todo = []\n";

/* The body's directory when pip builds it from there (an sdist, a project
 * installed as itself), else "". */
static const char *pypi_built_dir(const struct sf_eco_job *e)
{
	if (e->body.kind == SF_BODY_SDIST)
		return e->dir;
	if (e->body.kind == SF_BODY_PY_PROJECT &&
	    !(e->body.files & (SF_BODY_REQUIREMENTS | SF_BODY_PIPFILE_LOCK | SF_BODY_POETRY_LOCK)))
		return e->dir;
	return "";
}

static int pypi_fetch(const struct sf_eco_job *e, struct sf_argv *argv, struct sf_argv *env)
{
	bool indexed = e->index && e->index[0] && e->proxy_port;
	sf_argv_add(argv, "python3");
	sf_argv_add(argv, "-I");
	sf_argv_add(argv, "-c");
	sf_argv_add(argv, "%s", pypi_fetch_driver);
	sf_argv_add(argv, "%s/" SF_ECO_DIST, e->work);
	sf_argv_add(argv, PYPI_WHEELHOUSE);
	sf_argv_add(argv, "%s", pypi_built_dir(e));
	sf_argv_add(argv, indexed ? "1" : "0");
	int count_at = argv->n;
	sf_argv_add(argv, "0"); /* pip's options are counted below */
	int opts_from = argv->n;
	sf_argv_add(argv, "--dest");
	sf_argv_add(argv, "%s/" SF_ECO_DIST, e->work);
	sf_argv_add(argv, "--find-links");
	sf_argv_add(argv, "%s/" SF_ECO_DIST, e->work);
	sf_argv_add(argv, "--find-links");
	sf_argv_add(argv, PYPI_WHEELHOUSE);
	if (indexed) {
		sf_argv_add(argv, "--index-url");
		sf_argv_add(argv, "%s", e->index);
		/* transient index errors are retried, quickly */
		sf_argv_add(argv, "--retries");
		sf_argv_add(argv, "2");
		sf_argv_add(argv, "--timeout");
		sf_argv_add(argv, "15");
	} else {
		sf_argv_add(argv, "--no-index");
	}
	/* with no index too: a direct URL requirement then meets the proxy,
	 * which refuses it and says so, rather than no route at all */
	if (e->proxy_port) {
		sf_argv_add(argv, "--proxy");
		sf_argv_add(argv, "http://127.0.0.1:%u", (unsigned)e->proxy_port);
	}
	if (e->cache) {
		sf_argv_add(argv, "--cache-dir");
		sf_argv_add(argv, "%s/pip", SF_NPM_CACHE_DIR);
	} else {
		sf_argv_add(argv, "--no-cache-dir");
	}
	if (!argv->oom) {
		char count[16];
		snprintf(count, sizeof(count), "%d", argv->n - opts_from);
		char *c = strdup(count);
		if (c) {
			free(argv->v[count_at]);
			argv->v[count_at] = c;
		} else {
			argv->oom = true;
		}
	}
	pypi_targets(e, argv);
	pypi_env(e, true, env);
	/* pip's build isolation installs an sdist's build requirements with a
	 * pip of its own, which is given the index and the links but not the
	 * proxy, retries or timeout: those it reads from the environment */
	if (e->proxy_port)
		sf_argv_add(env, "PIP_PROXY=http://127.0.0.1:%u", (unsigned)e->proxy_port);
	if (indexed) {
		sf_argv_add(env, "PIP_RETRIES=2");
		sf_argv_add(env, "PIP_TIMEOUT=15");
	}
	return sf_eco_done(argv, env);
}

static int pypi_install(const struct sf_eco_job *e, struct sf_argv *argv, struct sf_argv *env)
{
	/* fixed words only; the paths and targets come in as the script's
	 * arguments: the venv, the distributions, then what to install */
	sf_argv_add(argv, "/bin/sh");
	sf_argv_add(argv, "-c");
	sf_argv_add(argv, "set -e\n"
			  "venv=$1 dist=$2\n"
			  "shift 2\n"
			  "python3 -m venv --without-pip --system-site-packages \"$venv\"\n"
			  "exec \"$venv/bin/python\" -I -m pip install --no-index"
			  " --find-links \"$dist\" --find-links " PYPI_WHEELHOUSE
			  " --no-cache-dir --no-warn-script-location \"$@\"\n");
	sf_argv_add(argv, "pip-install");
	sf_argv_add(argv, "%s/" SF_ECO_VENV, e->work);
	sf_argv_add(argv, "%s/" SF_ECO_DIST, e->work);
	pypi_targets(e, argv);
	pypi_env(e, false, env);
	return sf_eco_done(argv, env);
}

/* Runs in the sandbox: one fresh, isolated interpreter per module. */
static const char pypi_import_driver[] =
    "import subprocess, sys\n"
    "a = sys.argv[1:]\n"
    "for i in range(0, len(a) - 1, 2):\n"
    "    cwd, mod = a[i], a[i + 1]\n"
    "    try:\n"
    "        r = subprocess.run([sys.executable, '-I', '-c',"
    " 'import importlib, sys; importlib.import_module(sys.argv[1])', mod], cwd=cwd,"
    " stdin=subprocess.DEVNULL, timeout=%d)\n"
    "        how = 'ok' if r.returncode == 0 else 'failed (exit %%d)' %% r.returncode\n"
    "    except subprocess.TimeoutExpired:\n"
    "        how = 'timed out'\n"
    "    except OSError as e:\n"
    "        how = 'not run: %%s' %% e\n"
    "    print('" SF_NPM_IMPORT_MARK "' + mod + ': ' + how, flush=True)\n";

static int pypi_import(const struct sf_eco_job *e, struct sf_argv *argv, struct sf_argv *env)
{
	if (e->nimports == 0)
		return -ENOENT;
	sf_argv_add(argv, "%s/" SF_ECO_VENV "/bin/python", e->work);
	sf_argv_add(argv, "-I");
	sf_argv_add(argv, "-c");
	sf_argv_add(argv, pypi_import_driver, SF_ECO_IMPORT_TIMEOUT_S);
	for (int i = 0; i < e->nimports; i++) {
		sf_argv_add(argv, "%s", e->import_dir[i]);
		sf_argv_add(argv, "%s", e->import_name[i]);
	}
	pypi_env(e, false, env);
	return sf_eco_done(argv, env);
}

/* --- after the install ---------------------------------------------------- */

/* Reads rel below dir, bounded, no link out. */
static int pypi_read(const char *dir, const char *rel, char **out, size_t *len)
{
	int fd = sf_open_beneath(dir, rel, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return fd;
	struct stat st;
	int rc = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > PYPI_META_MAX
		     ? -EBADMSG
		     : 0;
	char *buf = rc ? NULL : malloc((size_t)st.st_size + 1);
	if (!rc && !buf)
		rc = -ENOMEM;
	size_t n = 0;
	while (!rc && n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* A Python identifier (ASCII), as a module name must be to be imported. */
static bool pypi_identifier(const char *s, size_t n)
{
	if (n == 0 || n > 100 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* Adds module m (n bytes) to the imports unless it is there already. */
static int pypi_add_module(struct sf_eco_job *e, const char *infodir, const char *m, size_t n)
{
	char mod[128];
	if (!pypi_identifier(m, n))
		return 0;
	memcpy(mod, m, n);
	mod[n] = '\0';
	for (int i = 0; i < e->nimports; i++)
		if (!strcmp(e->import_name[i], mod))
			return 0;
	int rc = sf_eco_add_import(e, infodir, mod);
	return rc == -E2BIG ? 0 : rc;
}

/* The top-level modules of one distribution: its top_level.txt, else the
 * first components of its RECORD's .py files and packages. */
static int pypi_modules(struct sf_eco_job *e, const char *site, const char *info,
			const char *infodir)
{
	char rel[600], *text = NULL;
	size_t len = 0;
	int rc = 0;
	snprintf(rel, sizeof(rel), "%s/top_level.txt", info);
	bool top = pypi_read(site, rel, &text, &len) == 0;
	if (!top) {
		snprintf(rel, sizeof(rel), "%s/RECORD", info);
		if (pypi_read(site, rel, &text, &len) != 0)
			return 0;
	}
	for (char *line = text, *nl; line && *line && rc == 0; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);
		if (top) {
			while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' '))
				ll--;
			rc = pypi_add_module(e, infodir, line, ll);
			continue;
		}
		/* RECORD: path,hash,size; a module is "x.py" or "x/__init__.py" */
		size_t pl = strcspn(line, ",\n");
		size_t slash = strcspn(line, "/,\n");
		if (slash < pl && !strncmp(line + slash, "/__init__.py,", 13))
			rc = pypi_add_module(e, infodir, line, slash);
		else if (slash == pl && pl > 3 && !strncmp(line + pl - 3, ".py", 3))
			rc = pypi_add_module(e, infodir, line, pl - 3);
	}
	free(text);
	return rc;
}

/* The venv's site-packages on the host, relative to tree. */
static int pypi_site(const char *tree, char *rel, size_t rellen)
{
	char lib[4600];
	snprintf(lib, sizeof(lib), "%s/.venv/lib", tree);
	DIR *d = opendir(lib);
	if (!d)
		return -ENOENT;
	struct dirent *de;
	int rc = -ENOENT;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "python3", 7) && de->d_type == DT_DIR) {
			snprintf(rel, rellen, ".venv/lib/%s/site-packages", de->d_name);
			rc = 0;
			break;
		}
	closedir(d);
	return rc;
}

/* Whether the fetch downloaded an sdist of the (normalised) name: its
 * install built it, running its setup.py. */
static bool pypi_built(const char *tree, const char *name)
{
	char dist[4600], want[SF_BODY_NAME_MAX + 2];
	size_t n = 0;
	for (const char *p = name; *p && n + 2 < sizeof(want); p++)
		want[n++] = strchr("-_.", *p) ? '_' : (char)tolower((unsigned char)*p);
	want[n++] = '-';
	want[n] = '\0';
	snprintf(dist, sizeof(dist), "%s/.dist", tree);
	DIR *d = opendir(dist);
	bool built = false;
	struct dirent *de;
	while (d && !built && (de = readdir(d))) {
		char norm[300];
		size_t k = 0;
		for (const char *p = de->d_name; *p && k + 1 < sizeof(norm); p++)
			norm[k++] = strchr("-_.", *p) && p[1] && !isdigit((unsigned char)p[1])
					? '_'
					: (char)tolower((unsigned char)*p);
		norm[k] = '\0';
		size_t dl = strlen(de->d_name);
		built = !strncmp(norm, want, n) &&
			((dl > 7 && !strcmp(de->d_name + dl - 7, ".tar.gz")) ||
			 (dl > 4 && !strcmp(de->d_name + dl - 4, ".zip")));
	}
	if (d)
		closedir(d);
	return built;
}

static int pypi_inventory(struct sf_eco_job *e, const char *tree, struct sf_batch *b)
{
	const struct sf_body *body = &e->body;
	int rc = sf_eco_add_package(b, body->name[0] ? body->name : e->id, body->version, "",
				    body->kind == SF_BODY_SDIST, false);
	char siterel[300], site[4600];
	if (rc || pypi_site(tree, siterel, sizeof(siterel)))
		return rc;
	snprintf(site, sizeof(site), "%s/%s", tree, siterel);
	DIR *d = opendir(site);
	if (!d)
		return 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= 10 || strcmp(de->d_name + n - 10, ".dist-info") || de->d_type != DT_DIR)
			continue;
		char rel[600], *text = NULL, name[SF_BODY_NAME_MAX], version[SF_BODY_VERSION_MAX];
		size_t len = 0;
		snprintf(rel, sizeof(rel), "%s/METADATA", de->d_name);
		if (pypi_read(site, rel, &text, &len) != 0)
			continue;
		bool ok = sf_body_header(text, len, "Name", name, sizeof(name)) &&
			  sf_body_header(text, len, "Version", version, sizeof(version));
		free(text);
		if (!ok || !sf_body_valid_name(name))
			continue;
		bool self = body->name[0] && !strcasecmp(name, body->name);
		char path[700], infodir[800];
		snprintf(path, sizeof(path), "%s/%s", siterel, de->d_name);
		snprintf(infodir, sizeof(infodir), "%s/%s", e->work, path);
		/* the body itself is listed first, as the project */
		if (!self)
			rc = sf_eco_add_package(b, name, version, path, pypi_built(tree, name),
						false);
		if (rc == 0)
			rc = pypi_modules(e, site, de->d_name, infodir);
	}
	closedir(d);
	return rc;
}

const struct sf_ecosystem sf_ecosystem_pypi = {
    .name = "pypi",
    .prepare = pypi_prepare,
    .fetch = pypi_fetch,
    .install = pypi_install,
    .import = pypi_import,
    .inventory = pypi_inventory,
};
