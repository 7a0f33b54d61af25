/*
 * pylock_test — a poetry.lock turned into pinned requirements
 * (worker/sandbox/pylock.c): each package with the sha256 hashes of its
 * files (lock format 2.0's files = […], and 1.1's [metadata.files]);
 * refused: a package from git, a malformed file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "pylock.h"

#define H1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

int main(void)
{
	char err[512] = "";
	struct sf_buf out = {0};
	static const char v2[] = "[[package]]\n"
				 "name = \"Requests\"\n"
				 "version = \"2.31.0\"\n"
				 "optional = false\n"
				 "files = [\n"
				 "    {file = \"requests-2.31.0-py3-none-any.whl\", hash = \"" H1 "\"},\n"
				 "    {file = \"requests-2.31.0.tar.gz\", hash = \"" H2 "\"},\n"
				 "]\n\n"
				 "[[package]]\n"
				 "name = \"idna\"\n"
				 "version = \"3.4\"\n"
				 "files = []\n\n"
				 "[metadata]\n"
				 "lock-version = \"2.0\"\n";
	CHECK_EQ(sf_pylock_poetry(v2, strlen(v2), &out, err, sizeof(err)), 0);
	const char *want = "requests==2.31.0 --hash=" H1 " --hash=" H2 "\nidna==3.4\n";
	CHECK(out.data && !strcmp(out.data, want));
	if (out.data && strcmp(out.data, want))
		fprintf(stderr, "got:\n%s", out.data);
	sf_buf_free(&out);

	static const char git[] = "[[package]]\n"
				  "name = \"evil\"\n"
				  "version = \"1.0\"\n\n"
				  "[package.source]\n"
				  "type = \"git\"\n"
				  "url = \"https://example.invalid/evil.git\"\n"
				  "reference = \"main\"\n";
	CHECK(sf_pylock_poetry(git, strlen(git), &out, err, sizeof(err)) != 0);
	CHECK(strstr(err, "poetry.lock") != NULL);
	sf_buf_free(&out);

	static const char bad[] = "[[package]\nname = \n";
	CHECK(sf_pylock_poetry(bad, strlen(bad), &out, err, sizeof(err)) != 0);
	sf_buf_free(&out);
	TEST_DONE();
}
