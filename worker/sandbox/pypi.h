/*
 * pypi — what each phase of a PyPI scan runs inside the sandbox
 * (struct sf_ecosystem sf_ecosystem_pypi, ecosystem.h):
 *
 *   fetch    pip download into SF_ECO_DIST of the body and everything it
 *            requires, from the worker's index through the proxy (or from
 *            SF_ECO_DIST alone when no index is configured), the image's own
 *            wheels (setuptools, wheel) a second source; resolving an sdist
 *            runs its setup.py or build backend to learn its requirements —
 *            package code, run here and watched, phase fetch. Then the
 *            [build-system] requires of the body and of each sdist
 *            downloaded, into SF_ECO_DIST too; with no index, a body whose
 *            build needs more than the image's wheels fails here, saying so
 *   install  a fresh virtual environment (SF_ECO_VENV, seeing the image's
 *            pip, setuptools and wheel) and pip install of the body from
 *            SF_ECO_DIST and the image's wheels only, offline: sdists are
 *            built (setup.py, a PEP 517 backend in pip's build isolation,
 *            native extensions)
 *   import   each top-level module of every installed distribution (its
 *            top_level.txt, else its RECORD) imported in a fresh, isolated
 *            interpreter (-I) whose cwd is the distribution's .dist-info
 *            directory (what attributes it), each bounded in time
 *
 * pip runs as `python3 -I -m pip`: the body's own files (a pip/ package
 * in the tree) cannot stand in for pip; PIP_CONFIG_FILE=/dev/null: no
 * configuration file but the worker's command line counts.
 *
 * Owns: nothing beyond ecosystem.h's. Calls: ecosystem, body, util.
 */
#ifndef SF_PYPI_H
#define SF_PYPI_H

#include "ecosystem.h"

/* The wheel file name of a distribution: name and version escaped as
 * the wheel spec says (runs of -_. become _), then the tag. */
int sf_pypi_wheel_name(const char *name, const char *version, const char *tag, char *out,
		       size_t outlen);

#endif
