/*
 * resolve_index_test — what a PEP 503 project page and a compact index say
 * about one release (coordinator/submit/resolve_pypi.c, resolve_gem.c):
 * the file chosen (sdist first, else a pure-Python wheel, never a platform
 * wheel), relative links resolved against the page, #sha256= as
 * Subresource Integrity, names and versions, the checksum of a gem
 * version's line.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "resolve_gem.h"
#include "resolve_pypi.h"
#include "util.h"

static const char page[] =
    "<!DOCTYPE html><html><body><h1>Links for sf-benign</h1>\n"
    "<a href=\"../../packages/sf_benign-1.0.0-py3-none-any.whl#sha256="
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">"
    "sf_benign-1.0.0-py3-none-any.whl</a><br/>\n"
    "<a href=\"../../packages/sf-benign-1.0.0.tar.gz#sha256="
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\" "
    "data-requires-python=\"&gt;=3.7\">sf-benign-1.0.0.tar.gz</a><br/>\n"
    "<a href=\"https://files.example/sf_benign-1.0.1-cp311-cp311-manylinux_2_17_x86_64.whl\">"
    "sf_benign-1.0.1-cp311-cp311-manylinux_2_17_x86_64.whl</a>\n"
    "<a href=\"/x/sf_benign-1.1-py2.py3-none-any.whl\">sf_benign-1.1-py2.py3-none-any.whl</a>\n"
    "<a href=\"/x/sf-benign-1.2.zip#md5=00\">sf-benign-1.2.zip</a>\n"
    "</body></html>\n";

int main(void)
{
	struct sf_resolve_dist d;
	char err[512], norm[64];
	const char *url = "http://127.0.0.1:8080/simple/sf-benign/";
	CHECK_EQ(sf_pypi_parse_page(page, sizeof(page) - 1, url, "SF.Benign", "1.0.0", &d, err,
				    sizeof(err)),
		 0);
	CHECK(strcmp(d.tarball, "http://127.0.0.1:8080/packages/sf-benign-1.0.0.tar.gz") == 0);
	CHECK(strcmp(d.integrity, "sha256-ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=") == 0);
	/* no sdist: the pure wheel, its py2.py3 tag */
	CHECK_EQ(sf_pypi_parse_page(page, sizeof(page) - 1, url, "sf_benign", "1.1", &d, err,
				    sizeof(err)),
		 0);
	CHECK(strcmp(d.tarball, "http://127.0.0.1:8080/x/sf_benign-1.1-py2.py3-none-any.whl") == 0);
	CHECK(d.integrity[0] == '\0');
	/* md5 only: nothing checked, said by an empty integrity */
	CHECK_EQ(sf_pypi_parse_page(page, sizeof(page) - 1, url, "sf-benign", "1.2", &d, err,
				    sizeof(err)),
		 0);
	CHECK(d.integrity[0] == '\0');
	CHECK_EQ(sf_pypi_parse_page(page, sizeof(page) - 1, url, "sf-benign", "1.0.1", &d, err,
				    sizeof(err)),
		 -ENOTSUP);
	CHECK(strstr(err, "platform wheels") != NULL);
	CHECK_EQ(sf_pypi_parse_page(page, sizeof(page) - 1, url, "sf-benign", "9", &d, err,
				    sizeof(err)),
		 -ENOENT);
	CHECK_EQ(sf_pypi_parse_page(page, sizeof(page) - 1, url, "other", "1.0.0", &d, err,
				    sizeof(err)),
		 -ENOENT);
	/* "sf-benign-1.0.0.tar.gz" is no release of "sf" */
	CHECK_EQ(sf_pypi_parse_page(page, sizeof(page) - 1, url, "sf", "1.0.0", &d, err,
				    sizeof(err)),
		 -ENOENT);
	static const char badhash[] = "<a href=\"x-1.tar.gz#sha256=zz\">x-1.tar.gz</a>";
	CHECK_EQ(sf_pypi_parse_page(badhash, sizeof(badhash) - 1, url, "x", "1", &d, err, sizeof(err)),
		 -EBADMSG);
	static const char badurl[] = "<a href=\"file:///etc/x-1.tar.gz\">x-1.tar.gz</a>";
	CHECK_EQ(sf_pypi_parse_page(badurl, sizeof(badurl) - 1, url, "x", "1", &d, err, sizeof(err)),
		 -EBADMSG);
	CHECK_EQ(sf_pypi_parse_page("", 0, url, "x", "1", &d, err, sizeof(err)), -EBADMSG);

	CHECK_EQ(sf_pypi_normalize("Foo__Bar.baz-", norm, sizeof(norm)), 0);
	CHECK(strcmp(norm, "foo-bar-baz-") == 0);
	CHECK(sf_pypi_name_valid("Sf_benign.x") && !sf_pypi_name_valid("-x") &&
	      !sf_pypi_name_valid("x/../y") && !sf_pypi_name_valid(""));
	CHECK(sf_pypi_version_valid("1.0.0rc1") && sf_pypi_version_valid("2!1.0+local") &&
	      !sf_pypi_version_valid(">=1.0") && !sf_pypi_version_valid("1.*"));

	static const char info[] = "---\n0.4.0 |checksum:" "1111111111111111111111111111111111111111111111111111111111111111\n"
				   "0.4.1 rake:>= 0|checksum:"
				   "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789,ruby:>= 2.5\n"
				   "0.4.1-java |checksum:2222222222222222222222222222222222222222222222222222222222222222\n"
				   "0.5 |ruby:>= 2\n";
	char sha[65];
	CHECK_EQ(sf_gem_parse_info(info, sizeof(info) - 1, "sf-gem", "0.4.1", sha, err, sizeof(err)), 0);
	CHECK(strcmp(sha, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789") == 0);
	CHECK_EQ(sf_gem_parse_info(info, sizeof(info) - 1, "sf-gem", "0.5", sha, err, sizeof(err)),
		 -ENODATA);
	CHECK_EQ(sf_gem_parse_info(info, sizeof(info) - 1, "sf-gem", "0.4", sha, err, sizeof(err)),
		 -ENOENT);
	CHECK_EQ(sf_gem_parse_info("<html>", 6, "sf-gem", "0.4", sha, err, sizeof(err)), -EBADMSG);
	static const char badsum[] = "---\n1.0 |checksum:xyz\n";
	CHECK_EQ(sf_gem_parse_info(badsum, sizeof(badsum) - 1, "g", "1.0", sha, err, sizeof(err)),
		 -EBADMSG);
	/* CRLF line ends, and a last line without '\n' */
	static const char crlf[] = "---\r\n1.0 |checksum:"
				   "3333333333333333333333333333333333333333333333333333333333333333";
	CHECK_EQ(sf_gem_parse_info(crlf, sizeof(crlf) - 1, "g", "1.0", sha, err, sizeof(err)), 0);
	CHECK(sha[0] == '3' && strlen(sha) == 64);

	/* the line reader the metadata and index readers share (util.h) */
	static const char lines[] = "a\r\n\nbc\nd";
	const char *lp = lines, *lend = lines + sizeof(lines) - 1, *line;
	size_t llen;
	CHECK(sf_next_line(&lp, lend, &line, &llen) && llen == 1 && line[0] == 'a');
	CHECK(sf_next_line(&lp, lend, &line, &llen) && llen == 0);
	CHECK(sf_next_line(&lp, lend, &line, &llen) && llen == 2 && !strncmp(line, "bc", 2));
	CHECK(sf_next_line(&lp, lend, &line, &llen) && llen == 1 && line[0] == 'd');
	CHECK(!sf_next_line(&lp, lend, &line, &llen));
	lp = lines;
	CHECK(!sf_next_line(&lp, lines, &line, &llen)); /* empty text: no line */
	CHECK(sf_gem_name_valid("sf-gem_x.y") && !sf_gem_name_valid("../x") &&
	      !sf_gem_name_valid("a/b") && !sf_gem_name_valid(".x"));
	CHECK(sf_gem_version_valid("1.0.0.pre") && !sf_gem_version_valid("~> 1.0"));
	char sri[128];
	CHECK_EQ(sf_resolve_hex_to_sri("sha256", "00", 2, sri, sizeof(sri)), -EBADMSG);
	CHECK_EQ(sf_resolve_hex_to_sri("md5", "00", 2, sri, sizeof(sri)), -ENOTSUP);
	TEST_DONE();
}
