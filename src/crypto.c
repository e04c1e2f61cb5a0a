/*
 * crypto.c - libsodium wrappers (see crypto.h).
 *
 * Passwords use argon2id at libsodium's "interactive" limits: about a tenth
 * of a second and 64 MiB here, which bounds how fast a stolen table can be
 * attacked without letting one login tie up a responder child.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/crypto.h"

int
gr_crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void
gr_hex(const unsigned char *p, size_t n, char *out)
{
	sodium_bin2hex(out, n * 2 + 1, p, n);
}

void
gr_sha256_hex(const void *p, size_t n, char *out)
{
	unsigned char	 h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, p, n);
	gr_hex(h, sizeof(h), out);
}

void
gr_apikey_new(char *out)
{
	unsigned char	 k[32];

	randombytes_buf(k, sizeof(k));
	memcpy(out, GR_APIKEY_PREFIX, 4);
	gr_hex(k, sizeof(k), out + 4);
	sodium_memzero(k, sizeof(k));
}

int
gr_apikey_shape(const char *s)
{
	size_t	 i;

	if (strncmp(s, GR_APIKEY_PREFIX, 4) != 0)
		return 0;
	for (i = 4; i < GR_APIKEY_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[GR_APIKEY_LEN] == '\0';
}

int
gr_password_hash(const char *pw, size_t len, char out[GR_PWHASH_LEN])
{
	return crypto_pwhash_str_alg(out, pw, len,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE,
	    crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
}

int
gr_password_verify(const char *hash, const char *pw, size_t len)
{
	return crypto_pwhash_str_verify(hash, pw, len) == 0;
}

void
gr_password_dummy(const char *pw, size_t len)
{
	static char	 dummy[GR_PWHASH_LEN];

	if (dummy[0] == '\0' && gr_password_hash("gradient-dummy", 14,
	    dummy) == -1)
		return;
	/* The answer is always "no"; only the time spent matters. */
	(void)!crypto_pwhash_str_verify(dummy, pw, len);
}

char *
gr_b64url_encode(const unsigned char *p, size_t n)
{
	size_t	 sz;
	char	*out;

	sz = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if ((out = malloc(sz)) == NULL)
		return NULL;
	sodium_bin2base64(out, sz, p, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

unsigned char *
gr_b64url_decode(const char *s, size_t len, size_t *lenp)
{
	unsigned char	*out;
	const char	*end;
	size_t		 cap = len * 3 / 4 + 3;

	if ((out = malloc(cap)) == NULL)
		return NULL;
	if (sodium_base642bin(out, cap, s, len, NULL, lenp, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != s + len) {
		free(out);
		return NULL;
	}
	return out;
}

int
gr_ct_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}
