/*
 * crypto.c - libsodium wrappers (see crypto.h).
 *
 * Passwords use argon2id at libsodium's "interactive" limits: about a tenth
 * of a second and 64 MiB here, which bounds how fast a stolen table can be
 * attacked without letting one login tie up a responder child.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

void
gr_uuid7(char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	struct timespec		 ts;
	unsigned char		 u[16];
	uint64_t		 ms;
	size_t			 i, o = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	randombytes_buf(u + 6, sizeof(u) - 6);
	for (i = 0; i < 6; i++)
		u[i] = (unsigned char)(ms >> (40 - 8 * i));
	u[6] = (unsigned char)(0x70 | (u[6] & 0x0f));	/* version 7 */
	u[8] = (unsigned char)(0x80 | (u[8] & 0x3f));	/* variant 10 */
	for (i = 0; i < sizeof(u); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 0x0f];
	}
	out[o] = '\0';
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

/*
 * base64url is only ever decoded from public input (the parts of a JWT),
 * so a table lookup per character is fine here; libsodium's decoder runs
 * in constant time at many times the cost.  As strict as that decoder:
 * no padding, nothing outside the alphabet, and the unused low bits of
 * the last character must be zero.
 */
static const signed char b64url_value[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27,
	['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
	['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
	['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62,
	['-'] = 63, ['_'] = 64,
};	/* value + 1; 0 is not in the alphabet */

unsigned char *
gr_b64url_decode(const char *s, size_t len, size_t *lenp)
{
	const unsigned char	*u = (const unsigned char *)s;
	unsigned char		*out;
	uint32_t		 acc;
	size_t			 i, n = 0, bits;
	int			 a, b, c, d;

	if (len % 4 == 1)
		return NULL;
	if ((out = malloc(len * 3 / 4 + 1)) == NULL)
		return NULL;
	for (i = 0; i + 4 <= len; i += 4) {
		a = b64url_value[u[i]];
		b = b64url_value[u[i + 1]];
		c = b64url_value[u[i + 2]];
		d = b64url_value[u[i + 3]];
		if (a == 0 || b == 0 || c == 0 || d == 0)
			goto bad;
		acc = (uint32_t)(a - 1) << 18 | (uint32_t)(b - 1) << 12 |
		    (uint32_t)(c - 1) << 6 | (uint32_t)(d - 1);
		out[n++] = (unsigned char)(acc >> 16);
		out[n++] = (unsigned char)(acc >> 8);
		out[n++] = (unsigned char)acc;
	}
	/* The last 2 or 3 characters: 1 or 2 bytes and some spare bits. */
	for (acc = 0, bits = 0; i < len; i++) {
		if ((a = b64url_value[u[i]]) == 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)(a - 1);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	if ((acc & ((1U << bits) - 1)) != 0)
		goto bad;
	*lenp = n;
	return out;
bad:
	free(out);
	return NULL;
}

char *
gr_b64_encode(const unsigned char *p, size_t n)
{
	size_t	 sz;
	char	*out;

	sz = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	if ((out = malloc(sz)) == NULL)
		return NULL;
	sodium_bin2base64(out, sz, p, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

unsigned char *
gr_b64_decode(const char *s, size_t len, size_t *lenp)
{
	unsigned char	*out;
	const char	*end;
	size_t		 cap = len * 3 / 4 + 3;

	if ((out = malloc(cap)) == NULL)
		return NULL;
	if (sodium_base642bin(out, cap, s, len, NULL, lenp, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + len) {
		free(out);
		return NULL;
	}
	return out;
}

#define SEAL_PREFIX	"sb1:"

/* The sealing key: BLAKE2b of a fixed context, keyed by the crypt secret. */
static void
seal_key(const unsigned char *secret, size_t len,
    unsigned char key[crypto_secretbox_KEYBYTES])
{
	static const char	 ctx[] = "gradient secretbox v1";
	size_t			 klen = len;

	if (klen > crypto_generichash_KEYBYTES_MAX)
		klen = crypto_generichash_KEYBYTES_MAX;
	crypto_generichash(key, crypto_secretbox_KEYBYTES,
	    (const unsigned char *)ctx, sizeof(ctx) - 1, secret, klen);
}

char *
gr_secret_seal(const unsigned char *secret, size_t secretlen,
    const void *plain, size_t len)
{
	unsigned char	 key[crypto_secretbox_KEYBYTES], *box = NULL;
	char		*b64 = NULL, *out = NULL;
	size_t		 boxlen;

	if (__builtin_add_overflow(len, crypto_secretbox_NONCEBYTES +
	    crypto_secretbox_MACBYTES, &boxlen) ||
	    (box = malloc(boxlen)) == NULL)
		return NULL;
	seal_key(secret, secretlen, key);
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, plain, len,
	    box, key);
	sodium_memzero(key, sizeof(key));
	if ((b64 = gr_b64_encode(box, boxlen)) == NULL)
		goto out;
	if ((out = malloc(strlen(SEAL_PREFIX) + strlen(b64) + 1)) == NULL)
		goto out;
	strcpy(out, SEAL_PREFIX);
	strcat(out, b64);
out:
	free(box);
	free(b64);
	return out;
}

unsigned char *
gr_secret_open(const unsigned char *secret, size_t secretlen,
    const char *sealed, size_t *lenp)
{
	unsigned char	 key[crypto_secretbox_KEYBYTES], *box, *plain = NULL;
	size_t		 boxlen, n;

	if (strncmp(sealed, SEAL_PREFIX, strlen(SEAL_PREFIX)) != 0)
		return NULL;
	sealed += strlen(SEAL_PREFIX);
	if ((box = gr_b64_decode(sealed, strlen(sealed), &boxlen)) == NULL)
		return NULL;
	if (boxlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		goto out;
	n = boxlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if ((plain = malloc(n + 1)) == NULL)
		goto out;
	seal_key(secret, secretlen, key);
	if (crypto_secretbox_open_easy(plain, box + crypto_secretbox_NONCEBYTES,
	    boxlen - crypto_secretbox_NONCEBYTES, box, key) != 0) {
		free(plain);
		plain = NULL;
	} else {
		plain[n] = '\0';
		if (lenp != NULL)
			*lenp = n;
	}
	sodium_memzero(key, sizeof(key));
out:
	free(box);
	return plain;
}

int
gr_ct_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}
