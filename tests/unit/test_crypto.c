/*
 * test_crypto.c - sealing secrets for the database, base64, API keys.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "src/crypto.h"

static const unsigned char key1[] = "0123456789abcdef0123456789abcdef";
static const unsigned char key2[] = "fedcba9876543210fedcba9876543210";

static void
setup(void)
{
	cr_assert_eq(gr_crypto_init(), 0);
}

TestSuite(crypto, .init = setup);

Test(crypto, seal_then_open_round_trips)
{
	const char	 plain[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n";
	char		*sealed;
	unsigned char	*back;
	size_t		 n;

	sealed = gr_secret_seal(key1, 32, plain, strlen(plain));
	cr_assert_not_null(sealed);
	cr_assert_eq(strncmp(sealed, "sb1:", 4), 0);
	cr_assert_null(strstr(sealed, "OPENSSH"));
	back = gr_secret_open(key1, 32, sealed, &n);
	cr_assert_not_null(back);
	cr_assert_eq(n, strlen(plain));
	cr_assert_str_eq((char *)back, plain);
	free(back);
	free(sealed);
}

Test(crypto, sealing_twice_differs)
{
	char	*a = gr_secret_seal(key1, 32, "same", 4);
	char	*b = gr_secret_seal(key1, 32, "same", 4);

	cr_assert_str_neq(a, b);	/* fresh nonce each time */
	free(a);
	free(b);
}

Test(crypto, wrong_key_or_tampering_is_refused)
{
	char		*sealed = gr_secret_seal(key1, 32, "secret", 6);
	size_t		 n, i;

	cr_assert_null(gr_secret_open(key2, 32, sealed, &n));
	/* Flip one base64 character in the box. */
	i = strlen(sealed) - 6;
	sealed[i] = sealed[i] == 'A' ? 'B' : 'A';
	cr_assert_null(gr_secret_open(key1, 32, sealed, &n));
	cr_assert_null(gr_secret_open(key1, 32, "plain text", &n));
	cr_assert_null(gr_secret_open(key1, 32, "sb1:", &n));
	cr_assert_null(gr_secret_open(key1, 32, "sb1:AAAA", &n));
	free(sealed);
}

Test(crypto, base64_round_trip_and_strictness)
{
	unsigned char	*p;
	char		*s;
	size_t		 n;

	s = gr_b64_encode((const unsigned char *)"hello", 5);
	cr_assert_str_eq(s, "aGVsbG8=");
	p = gr_b64_decode(s, strlen(s), &n);
	cr_assert_eq(n, 5);
	cr_assert_eq(memcmp(p, "hello", 5), 0);
	free(p);
	free(s);
	cr_assert_null(gr_b64_decode("aGVsbG8", 7, &n));	/* no padding */
	cr_assert_null(gr_b64_decode("aGV*bG8=", 8, &n));
}

Test(crypto, api_keys_have_their_shape)
{
	char	 k[GR_APIKEY_LEN + 1], l[GR_APIKEY_LEN + 1];

	gr_apikey_new(k);
	gr_apikey_new(l);
	cr_assert_eq(strlen(k), GR_APIKEY_LEN);
	cr_assert_eq(gr_apikey_shape(k), 1);
	cr_assert_str_neq(k, l);
	k[10] = 'X';
	cr_assert_eq(gr_apikey_shape(k), 0);
	cr_assert_eq(gr_apikey_shape("GRAD"), 0);
}

Test(crypto, uuid7_has_version_variant_and_time)
{
	struct timespec	 ts;
	char		 u[GR_UUID_LEN + 1], hexms[13];
	unsigned long long ms, got;
	size_t		 i;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	gr_uuid7(u);
	cr_assert_eq(strlen(u), 36);
	for (i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23)
			cr_assert_eq(u[i], '-', "%s", u);
		else
			cr_assert(strchr("0123456789abcdef", u[i]) != NULL,
			    "%s", u);
	cr_assert_eq(u[14], '7', "version nibble in %s", u);
	cr_assert(strchr("89ab", u[19]) != NULL, "variant in %s", u);
	/* The first 48 bits are the time in milliseconds. */
	memcpy(hexms, u, 8);
	memcpy(hexms + 8, u + 9, 4);
	hexms[12] = '\0';
	got = strtoull(hexms, NULL, 16);
	cr_assert(got >= ms && got < ms + 5000, "%llu vs %llu", got, ms);
}

Test(crypto, uuid7_are_unique_and_grow_with_time)
{
	char		 a[GR_UUID_LEN + 1], b[GR_UUID_LEN + 1];
	char		(*many)[GR_UUID_LEN + 1];
	struct timespec	 pause = { 0, 3 * 1000 * 1000 };
	size_t		 i, j, n = 2000;

	gr_uuid7(a);
	nanosleep(&pause, NULL);
	gr_uuid7(b);
	cr_assert_lt(strcmp(a, b), 0, "%s then %s", a, b);
	cr_assert_not_null(many = calloc(n, sizeof(*many)));
	for (i = 0; i < n; i++)
		gr_uuid7(many[i]);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			cr_assert_str_neq(many[i], many[j]);
	free(many);
}

Test(crypto, base64url_decodes_what_libsodium_encodes)
{
	unsigned char	 in[64], *p;
	char		*s;
	size_t		 len, n;

	for (len = 0; len <= sizeof(in); len++) {
		randombytes_buf(in, len);
		cr_assert_not_null(s = gr_b64url_encode(in, len));
		p = gr_b64url_decode(s, strlen(s), &n);
		cr_assert_not_null(p, "%zu bytes: '%s'", len, s);
		cr_assert_eq(n, len);
		cr_assert_eq(memcmp(p, in, len), 0, "%zu bytes", len);
		free(p);
		free(s);
	}
}

Test(crypto, base64url_is_strict)
{
	static const char *bad[] = {
		"aGVsbG8=",	/* padding */
		"aGVsbG9",	/* low bits of the last character set */
		"a+8", "a/8",	/* the standard alphabet */
		"aGVsb",	/* one character over a group */
		"aG Vs", "aGV\x80", "aGVs\n",
	};
	unsigned char	*p;
	size_t		 i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(gr_b64url_decode(bad[i], strlen(bad[i]), &n),
		    "'%s' accepted", bad[i]);
	cr_assert_null(gr_b64url_decode("aG\0s", 4, &n));
	cr_assert_not_null(p = gr_b64url_decode("aGVsbG8", 7, &n));
	cr_assert_eq(n, 5);
	cr_assert_eq(memcmp(p, "hello", 5), 0);
	free(p);
	cr_assert_not_null(p = gr_b64url_decode("", 0, &n));
	cr_assert_eq(n, 0);
	free(p);
}
