/*
 * integrity_test — coordinator/submit/integrity.c: which pinned strings
 * are usable, the strongest algorithm counting, a pin held against the
 * resolver's recorded digest (SRI and dist.shasum forms) and against bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "integrity.h"

/* base64 digests of the 3 bytes "abc" (FIPS 180 test vectors) */
#define ABC_SHA512 "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="
#define ABC_SHA256 "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
#define ABC_SHA1 "sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
#define ABC_SHA1_HEX "sha1:a9993e364706816aba3e25717850c26c9cd0d89d"
#define OTHER_SHA512 "sha512-4lrDhF+MvhKAGi36WonUxV3EeQDztu3Jqe5ZDzwrkxL2ZdADnJOCi3tY8zlQvIF6CVWpxQAKjT4oBWnwh0XKaA=="

int main(void)
{
	/* usable pins */
	CHECK(sf_integrity_valid(ABC_SHA512));
	CHECK(sf_integrity_valid(ABC_SHA1));
	CHECK(sf_integrity_valid("md5-abc " ABC_SHA256)); /* unknown algorithms skipped */
	CHECK(sf_integrity_valid(ABC_SHA512 "?foo"));	 /* SRI options ignored */
	CHECK(!sf_integrity_valid(""));
	CHECK(!sf_integrity_valid(NULL));
	CHECK(!sf_integrity_valid("md5-abc"));
	CHECK(!sf_integrity_valid("sha512-"));
	CHECK(!sf_integrity_valid("sha512-abc!def"));
	CHECK(!sf_integrity_valid("sha512-abc\n"));
	CHECK(!sf_integrity_valid("sha512"));
	CHECK(!sf_integrity_valid("sha512-\xc3\xa9"));
	{
		char big[SF_INTEGRITY_MAX + 2];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "sha1-", 5);
		CHECK(!sf_integrity_valid(big));
	}

	/* against the recorded digest */
	CHECK_EQ(sf_integrity_compare(ABC_SHA512, ABC_SHA512), SF_INTEGRITY_AGREE);
	CHECK_EQ(sf_integrity_compare(OTHER_SHA512, ABC_SHA512), SF_INTEGRITY_DISAGREE);
	CHECK_EQ(sf_integrity_compare(OTHER_SHA512 " " ABC_SHA512, ABC_SHA512), SF_INTEGRITY_AGREE);
	/* the strongest pinned algorithm counts: a right sha1 does not save a
	 * wrong sha512 */
	CHECK_EQ(sf_integrity_compare(ABC_SHA1 " " OTHER_SHA512, ABC_SHA1_HEX), SF_INTEGRITY_UNKNOWN);
	CHECK_EQ(sf_integrity_compare(ABC_SHA1 " " OTHER_SHA512, ABC_SHA512), SF_INTEGRITY_DISAGREE);
	CHECK_EQ(sf_integrity_compare(ABC_SHA1, ABC_SHA1_HEX), SF_INTEGRITY_AGREE);
	CHECK_EQ(sf_integrity_compare("sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA=", ABC_SHA1_HEX),
		 SF_INTEGRITY_DISAGREE);
	CHECK_EQ(sf_integrity_compare(ABC_SHA1, ABC_SHA512), SF_INTEGRITY_UNKNOWN);
	CHECK_EQ(sf_integrity_compare(ABC_SHA256, ABC_SHA512), SF_INTEGRITY_UNKNOWN);
	CHECK_EQ(sf_integrity_compare(ABC_SHA512, ""), SF_INTEGRITY_UNKNOWN);
	CHECK_EQ(sf_integrity_compare(ABC_SHA512, NULL), SF_INTEGRITY_UNKNOWN);
	CHECK_EQ(sf_integrity_compare(ABC_SHA1, "sha1:zz"), SF_INTEGRITY_UNKNOWN);

	/* against bytes */
	char path[] = "/tmp/sf-integrity-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, "abc", 3) == 3);
	bool agrees = true;
	char actual[128] = "";
	lseek(fd, 0, SEEK_SET);
	CHECK_EQ(sf_integrity_check_fd(ABC_SHA256, fd, &agrees, actual, sizeof(actual)), 0);
	CHECK(agrees && strcmp(actual, ABC_SHA256) == 0);
	lseek(fd, 0, SEEK_SET);
	CHECK_EQ(sf_integrity_check_fd(ABC_SHA1 " md5-x", fd, &agrees, actual, sizeof(actual)), 0);
	CHECK(agrees && strcmp(actual, ABC_SHA1) == 0);
	lseek(fd, 0, SEEK_SET);
	CHECK_EQ(sf_integrity_check_fd(OTHER_SHA512, fd, &agrees, actual, sizeof(actual)), 0);
	CHECK(!agrees && strcmp(actual, ABC_SHA512) == 0);
	CHECK_EQ(sf_integrity_check_fd("md5-x", fd, &agrees, actual, sizeof(actual)), -EINVAL);
	close(fd);
	unlink(path);
	TEST_DONE();
}
