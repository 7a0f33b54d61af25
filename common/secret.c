/* secret — see secret.h. */
#include "secret.h"

#include <stddef.h>
#include <string.h>

bool sf_secret_equal(const char *presented, const char *secret)
{
	if (!presented || !secret)
		return false;
	size_t a = strlen(presented), b = strlen(secret);
	unsigned char diff = a != b;
	for (size_t i = 0; i < b; i++)
		diff |= (unsigned char)(presented[i < a ? i : 0] ^ secret[i]);
	return diff == 0;
}
