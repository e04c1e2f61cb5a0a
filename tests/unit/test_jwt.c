/*
 * test_jwt.c - unit tests for src/jwt.c: HS256 sign and verify.
 *
 * Hostile tokens are built by hand here, with libsodium's base64url and
 * HMAC-SHA-256 rather than the code under test, so a token can carry a
 * correct signature over a bad header or bad claims.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "src/jwt.h"

#define SUB	"0b6a7c3e-8f1d-4e2a-9c5b-1d2e3f4a5b6c"
#define JTI	"f47ac10b-58cc-4372-a567-0e02b2c3d479"
#define NOW	1700000000LL
#define HS256	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define SUB_JTI	"{\"sub\":\"" SUB "\",\"jti\":\"" JTI "\""

static const unsigned char	 secret[] =
    "an-hs256-secret-of-at-least-32-bytes!";
#define SECRETLEN	(sizeof(secret) - 1)

static void
setup(void)
{
	cr_assert_geq(sodium_init(), 0, "sodium_init failed");
}

TestSuite(jwt, .init = setup);

/* base64url without padding of n bytes of p into out (caller frees). */
static char *
b64url(const void *p, size_t n)
{
	size_t	 sz;
	char	*out;

	sz = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out = malloc(sz);
	cr_assert_not_null(out);
	sodium_bin2base64(out, sz, p, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/*
 * "b64(header).b64(payload).b64(HMAC(key, first two parts))", or with
 * sig given, that text in place of the computed signature.
 */
static char *
make_token(const char *header, const char *payload,
    const unsigned char *key, size_t keylen, const char *sig)
{
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 mac[crypto_auth_hmacsha256_BYTES];
	char				*h, *p, *s, *tok;
	size_t				 sz;

	h = b64url(header, strlen(header));
	p = b64url(payload, strlen(payload));
	sz = strlen(h) + strlen(p) + 2 + 64 + (sig != NULL ? strlen(sig) : 0);
	tok = malloc(sz);
	cr_assert_not_null(tok);
	snprintf(tok, sz, "%s.%s", h, p);
	if (sig == NULL) {
		crypto_auth_hmacsha256_init(&st, key, keylen);
		crypto_auth_hmacsha256_update(&st, (unsigned char *)tok,
		    strlen(tok));
		crypto_auth_hmacsha256_final(&st, mac);
		s = b64url(mac, sizeof(mac));
	} else
		s = strdup(sig);
	cr_assert_not_null(s);
	strcat(tok, ".");
	strcat(tok, s);
	free(h);
	free(p);
	free(s);
	return tok;
}

/* A correctly signed token with this payload. */
static char *
signed_token(const char *payload)
{
	return make_token(HS256, payload, secret, SECRETLEN, NULL);
}

static struct gr_jwt_claims
claims(long long iat, long long exp)
{
	struct gr_jwt_claims	 c;

	memset(&c, 0, sizeof(c));
	memcpy(c.sub, SUB, sizeof(c.sub));
	memcpy(c.jti, JTI, sizeof(c.jti));
	c.iat = iat;
	c.exp = exp;
	return c;
}

/* Verify tok at NOW; assert the result is want; return the claims. */
static struct gr_jwt_claims
verify_is(const char *tok, enum gr_jwt_err want)
{
	struct gr_jwt_claims	 c;
	enum gr_jwt_err		 e;

	e = gr_jwt_verify(secret, SECRETLEN, tok, NOW, &c);
	cr_assert_eq(e, want, "verify gave %d (%s), want %d (%s) for '%.200s'",
	    e, gr_jwt_strerror(e), want, gr_jwt_strerror(want), tok);
	return c;
}

/* Claims are zeroed on every failure other than expiry. */
static void
assert_claims_empty(const struct gr_jwt_claims *c)
{
	cr_assert_str_eq(c->sub, "");
	cr_assert_str_eq(c->jti, "");
	cr_assert_eq(c->iat, 0);
	cr_assert_eq(c->exp, 0);
}

Test(jwt, sign_then_verify_round_trip)
{
	struct gr_jwt_claims	 in, out;
	char			*tok;

	in = claims(NOW - 10, NOW + 3600);
	tok = gr_jwt_sign(secret, SECRETLEN, &in);
	cr_assert_not_null(tok);
	out = verify_is(tok, GR_JWT_OK);
	cr_assert_str_eq(out.sub, SUB);
	cr_assert_str_eq(out.jti, JTI);
	cr_assert_eq(out.iat, NOW - 10);
	cr_assert_eq(out.exp, NOW + 3600);
	free(tok);
}

Test(jwt, signed_token_has_hs256_header_and_three_parts)
{
	struct gr_jwt_claims	 in;
	char			*tok, *h, *d1, *d2;

	in = claims(NOW, NOW + 60);
	tok = gr_jwt_sign(secret, SECRETLEN, &in);
	cr_assert_not_null(tok);
	h = b64url(HS256, strlen(HS256));
	cr_assert_eq(strncmp(tok, h, strlen(h)), 0, "header of '%s'", tok);
	cr_assert_eq(tok[strlen(h)], '.');
	d1 = strchr(tok, '.');
	cr_assert_not_null(d1);
	d2 = strchr(d1 + 1, '.');
	cr_assert_not_null(d2);
	cr_assert_null(strchr(d2 + 1, '.'));
	cr_assert_eq(strlen(d2 + 1), 43);	/* 32 bytes, no padding */
	cr_assert_null(strpbrk(tok, "+/="), "'%s' is not base64url", tok);
	free(h);
	free(tok);
}

Test(jwt, hand_built_token_verifies)
{
	struct gr_jwt_claims	 c;
	char			*tok;

	tok = signed_token("{\"sub\":\"" SUB "\",\"jti\":\"" JTI "\","
	    "\"iat\":1,\"exp\":1700000001}");
	c = verify_is(tok, GR_JWT_OK);
	cr_assert_str_eq(c.sub, SUB);
	cr_assert_eq(c.exp, NOW + 1);
	cr_assert_eq(c.iat, 1);
	free(tok);
}

Test(jwt, iat_is_optional)
{
	struct gr_jwt_claims	 c;
	char			*tok;

	tok = signed_token("{\"sub\":\"" SUB "\",\"jti\":\"" JTI "\","
	    "\"exp\":1700000100}");
	c = verify_is(tok, GR_JWT_OK);
	cr_assert_eq(c.iat, 0);
	free(tok);
}

Test(jwt, tampered_payload_is_bad_signature)
{
	struct gr_jwt_claims	 in, out;
	char			*tok, *p;

	in = claims(NOW, NOW + 3600);
	tok = gr_jwt_sign(secret, SECRETLEN, &in);
	cr_assert_not_null(tok);
	p = strchr(tok, '.') + 5;		/* inside the payload */
	*p = *p == 'A' ? 'B' : 'A';
	out = verify_is(tok, GR_JWT_SIGNATURE);
	assert_claims_empty(&out);
	free(tok);
}

Test(jwt, payload_swapped_for_another_is_bad_signature)
{
	char	*good, *evil, *tok, *d1, *d2, *e1, *e2;
	size_t	 n;

	good = signed_token("{\"sub\":\"" SUB "\",\"jti\":\"" JTI "\","
	    "\"exp\":1700003600}");
	evil = signed_token("{\"sub\":\"" JTI "\",\"jti\":\"" JTI "\","
	    "\"exp\":1900000000}");
	/* The header of good, the payload of evil, the signature of good. */
	d1 = strchr(good, '.');
	d2 = strchr(d1 + 1, '.');
	e1 = strchr(evil, '.');
	e2 = strchr(e1 + 1, '.');
	n = strlen(good) + strlen(evil) + 1;
	tok = malloc(n);
	cr_assert_not_null(tok);
	snprintf(tok, n, "%.*s%.*s%s", (int)(d1 - good), good,
	    (int)(e2 - e1), e1, d2);
	verify_is(tok, GR_JWT_SIGNATURE);
	free(tok);
	free(good);
	free(evil);
}

Test(jwt, tampered_signature_is_bad_signature)
{
	struct gr_jwt_claims	 in;
	char			*tok, *p;

	in = claims(NOW, NOW + 3600);
	tok = gr_jwt_sign(secret, SECRETLEN, &in);
	cr_assert_not_null(tok);
	p = strrchr(tok, '.') + 10;
	*p = *p == 'A' ? 'B' : 'A';
	verify_is(tok, GR_JWT_SIGNATURE);
	free(tok);
}

Test(jwt, truncated_signature_is_bad_signature)
{
	char	*tok;

	/* 8 bytes of signature: decodes, but is the wrong length. */
	tok = make_token(HS256, "{}", NULL, 0, "AAAAAAAAAAA");
	verify_is(tok, GR_JWT_SIGNATURE);
	free(tok);
}

Test(jwt, wrong_secret_is_bad_signature)
{
	static const unsigned char	 other[] =
	    "another-secret-that-is-32-bytes-long";
	struct gr_jwt_claims		 in, out;
	char				*tok;

	in = claims(NOW, NOW + 3600);
	tok = gr_jwt_sign(other, sizeof(other) - 1, &in);
	cr_assert_not_null(tok);
	out = verify_is(tok, GR_JWT_SIGNATURE);
	assert_claims_empty(&out);
	free(tok);
}

Test(jwt, alg_none_with_empty_signature_is_refused)
{
	struct gr_jwt_claims	 c;
	char			*tok;

	tok = make_token("{\"alg\":\"none\",\"typ\":\"JWT\"}",
	    "{\"sub\":\"" SUB "\",\"jti\":\"" JTI "\",\"exp\":1900000000}",
	    NULL, 0, "");
	cr_assert_eq(tok[strlen(tok) - 1], '.');
	c = verify_is(tok, GR_JWT_ALG);
	assert_claims_empty(&c);
	free(tok);
}

Test(jwt, alg_none_in_other_spellings_is_refused)
{
	static const char *const headers[] = {
		"{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}", "{\"alg\":\"\"}",
		"{\"alg\":\"hs256\"}", "{\"alg\":null}", "{\"alg\":256}",
		"{\"typ\":\"JWT\"}", "{\"alg\":[\"HS256\"]}",
	};
	char	*tok;
	size_t	 i;

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		tok = make_token(headers[i], "{\"sub\":\"" SUB "\",\"jti\":\""
		    JTI "\",\"exp\":1900000000}", NULL, 0, "");
		verify_is(tok, GR_JWT_ALG);
		free(tok);
	}
}

Test(jwt, alg_none_correctly_keyed_is_still_refused)
{
	char	*tok;

	/* Even a signature made with our secret does not save "none". */
	tok = make_token("{\"alg\":\"none\"}", "{\"sub\":\"" SUB "\","
	    "\"jti\":\"" JTI "\",\"exp\":1900000000}", secret, SECRETLEN,
	    NULL);
	verify_is(tok, GR_JWT_ALG);
	free(tok);
}

Test(jwt, hs512_is_refused)
{
	char	*tok;

	tok = make_token("{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
	    "{\"sub\":\"" SUB "\",\"jti\":\"" JTI "\",\"exp\":1900000000}",
	    secret, SECRETLEN, NULL);
	verify_is(tok, GR_JWT_ALG);
	free(tok);
}

Test(jwt, rs256_is_refused)
{
	char	*tok;

	tok = make_token("{\"alg\":\"RS256\"}", "{\"sub\":\"" SUB "\","
	    "\"jti\":\"" JTI "\",\"exp\":1900000000}", secret, SECRETLEN,
	    NULL);
	verify_is(tok, GR_JWT_ALG);
	free(tok);
}

Test(jwt, expired_token_is_refused_with_claims)
{
	struct gr_jwt_claims	 in, out;
	char			*tok;

	in = claims(NOW - 7200, NOW - 1);
	tok = gr_jwt_sign(secret, SECRETLEN, &in);
	cr_assert_not_null(tok);
	out = verify_is(tok, GR_JWT_EXPIRED);
	/* The claims are filled, so the caller can log whose it was. */
	cr_assert_str_eq(out.sub, SUB);
	cr_assert_eq(out.exp, NOW - 1);
	free(tok);
}

Test(jwt, token_expiring_now_is_expired)
{
	struct gr_jwt_claims	 in;
	char			*tok;

	in = claims(NOW - 60, NOW);
	tok = gr_jwt_sign(secret, SECRETLEN, &in);
	cr_assert_not_null(tok);
	verify_is(tok, GR_JWT_EXPIRED);
	free(tok);
	in = claims(NOW - 60, NOW + 1);
	tok = gr_jwt_sign(secret, SECRETLEN, &in);
	cr_assert_not_null(tok);
	verify_is(tok, GR_JWT_OK);
	free(tok);
}

Test(jwt, bad_claims_are_refused)
{
	static const char *const payloads[] = {
		/* sub missing, empty, not a uuid, wrong type */
		"{\"jti\":\"" JTI "\",\"exp\":1900000000}",
		"{\"sub\":\"\",\"jti\":\"" JTI "\",\"exp\":1900000000}",
		"{\"sub\":\"admin\",\"jti\":\"" JTI "\",\"exp\":1900000000}",
		"{\"sub\":\"0b6a7c3e_8f1d_4e2a_9c5b_1d2e3f4a5b6c\","
		    "\"jti\":\"" JTI "\",\"exp\":1900000000}",
		"{\"sub\":\"" SUB "x\",\"jti\":\"" JTI "\",\"exp\":1900000000}",
		"{\"sub\":1,\"jti\":\"" JTI "\",\"exp\":1900000000}",
		"{\"sub\":null,\"jti\":\"" JTI "\",\"exp\":1900000000}",
		/* jti missing or bad */
		"{\"sub\":\"" SUB "\",\"exp\":1900000000}",
		"{\"sub\":\"" SUB "\","
		    "\"jti\":\"zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz\","
		    "\"exp\":1900000000}",
		/* exp missing, wrong type, negative, beyond 2^40 */
		SUB_JTI "}",
		SUB_JTI ",\"exp\":\"1900000000\"}",
		SUB_JTI ",\"exp\":1900000000.5}",
		SUB_JTI ",\"exp\":-1}",
		SUB_JTI ",\"exp\":1099511627777}",
		/* iat of the wrong type */
		SUB_JTI ",\"exp\":1900000000,\"iat\":\"now\"}",
		/* not an object, not JSON */
		"[\"" SUB "\"]",
		"{\"sub\":\"" SUB "\",",
		"",
	};
	struct gr_jwt_claims	 c;
	char			*tok;
	size_t			 i;

	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		tok = signed_token(payloads[i]);
		c = verify_is(tok, GR_JWT_CLAIMS);
		assert_claims_empty(&c);
		free(tok);
	}
}

Test(jwt, claims_are_not_read_before_the_signature)
{
	char	*tok;

	/* Bad claims and a bad signature: the signature is reported. */
	tok = make_token(HS256, "{\"sub\":\"admin\"}", (const unsigned char *)
	    "not-our-secret-not-our-secret-xx", 32, NULL);
	verify_is(tok, GR_JWT_SIGNATURE);
	free(tok);
}

Test(jwt, two_dots_are_required)
{
	static const char *const toks[] = {
		"", ".", "..", "...", "abc", "abc.def", "a.b.c.d",
		"eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9.e30",
	};
	struct gr_jwt_claims	 c;
	size_t			 i;

	for (i = 0; i < sizeof(toks) / sizeof(toks[0]); i++) {
		c = verify_is(toks[i], GR_JWT_MALFORMED);
		assert_claims_empty(&c);
	}
}

Test(jwt, extra_dot_after_valid_token_is_malformed)
{
	struct gr_jwt_claims	 in;
	char			*tok, *longer;
	size_t			 n;

	in = claims(NOW, NOW + 3600);
	tok = gr_jwt_sign(secret, SECRETLEN, &in);
	cr_assert_not_null(tok);
	n = strlen(tok) + 2;
	longer = malloc(n);
	cr_assert_not_null(longer);
	snprintf(longer, n, "%s.", tok);
	verify_is(longer, GR_JWT_MALFORMED);
	free(longer);
	free(tok);
}

Test(jwt, garbage_is_malformed)
{
	static const char *const toks[] = {
		"garbage", "Bearer x.y.z", "!!!.???.***", "a b.c d.e f",
		"eyJ=.eyJ=.abc=", "\xff\xfe.\x01.\x02",
	};
	size_t	 i;

	for (i = 0; i < sizeof(toks) / sizeof(toks[0]); i++)
		verify_is(toks[i], GR_JWT_MALFORMED);
}

Test(jwt, header_that_is_not_a_json_object_is_malformed)
{
	char	*tok;

	tok = make_token("[\"HS256\"]", "{}", secret, SECRETLEN, NULL);
	verify_is(tok, GR_JWT_MALFORMED);
	free(tok);
	tok = make_token("{\"alg\":\"HS256\"", "{}", secret, SECRETLEN, NULL);
	verify_is(tok, GR_JWT_MALFORMED);
	free(tok);
}

Test(jwt, padded_base64_is_malformed)
{
	struct gr_jwt_claims	 in;
	char			*tok, *padded, *d1;
	size_t			 n;

	in = claims(NOW, NOW + 3600);
	tok = gr_jwt_sign(secret, SECRETLEN, &in);
	cr_assert_not_null(tok);
	/* Standard base64 padding is not base64url-without-padding. */
	n = strlen(tok) + 3;
	padded = malloc(n);
	cr_assert_not_null(padded);
	d1 = strchr(tok, '.');
	snprintf(padded, n, "%.*s==%s", (int)(d1 - tok), tok, d1);
	verify_is(padded, GR_JWT_MALFORMED);
	free(padded);
	free(tok);
}

Test(jwt, very_long_token_is_malformed)
{
	struct gr_jwt_claims	 c;
	char			*pad, *tok;
	size_t			 n = 5000;

	/* A correctly signed token, only longer than 4096 bytes. */
	pad = malloc(n + 1);
	cr_assert_not_null(pad);
	memset(pad, 'x', n);
	pad[n] = '\0';
	tok = malloc(n + 200);
	cr_assert_not_null(tok);
	snprintf(tok, n + 200, "{\"sub\":\"" SUB "\",\"jti\":\"" JTI "\","
	    "\"exp\":1900000000,\"pad\":\"%s\"}", pad);
	free(pad);
	pad = signed_token(tok);
	cr_assert_gt(strlen(pad), 4096);
	c = verify_is(pad, GR_JWT_MALFORMED);
	assert_claims_empty(&c);
	free(pad);
	free(tok);
}

/* A signed token whose "pad" claim is n bytes long (caller frees). */
static char *
padded_token(size_t n)
{
	char	*pad, *payload, *tok;

	pad = malloc(n + 1);
	cr_assert_not_null(pad);
	memset(pad, 'x', n);
	pad[n] = '\0';
	payload = malloc(n + 200);
	cr_assert_not_null(payload);
	snprintf(payload, n + 200, "{\"sub\":\"" SUB "\",\"jti\":\"" JTI "\","
	    "\"exp\":1900000000,\"pad\":\"%s\"}", pad);
	tok = signed_token(payload);
	free(payload);
	free(pad);
	return tok;
}

Test(jwt, length_limit_is_4096_bytes)
{
	char	*tok, *prev = NULL;
	size_t	 n;

	/* Grow the token until it passes 4096 bytes. */
	for (n = 2800; ; n++) {
		tok = padded_token(n);
		if (strlen(tok) > 4096)
			break;
		free(prev);
		prev = tok;
	}
	cr_assert_not_null(prev);
	cr_assert_geq(strlen(prev), 4095);
	verify_is(prev, GR_JWT_OK);
	verify_is(tok, GR_JWT_MALFORMED);
	free(prev);
	free(tok);
}

Test(jwt, strerror_names_each_error)
{
	cr_assert_str_eq(gr_jwt_strerror(GR_JWT_OK), "ok");
	cr_assert_str_eq(gr_jwt_strerror(GR_JWT_MALFORMED), "malformed token");
	cr_assert_str_eq(gr_jwt_strerror(GR_JWT_ALG), "unsupported algorithm");
	cr_assert_str_eq(gr_jwt_strerror(GR_JWT_SIGNATURE), "bad signature");
	cr_assert_str_eq(gr_jwt_strerror(GR_JWT_EXPIRED), "token expired");
	cr_assert_str_eq(gr_jwt_strerror(GR_JWT_CLAIMS), "bad claims");
}

/*
 * Payloads laid out exactly as gr_jwt_sign() writes them are read without
 * the JSON parser; near misses must get the parser's verdict all the same.
 */
#define ISSUED(iat, exp) "{\"sub\":\"" SUB "\",\"jti\":\"" JTI \
	"\",\"iat\":" iat ",\"exp\":" exp "}"

Test(jwt, issued_layout_near_misses_get_the_parsers_verdict)
{
	static const char *const bad[] = {
		ISSUED("1700000000", "01900000000"),	/* leading zero */
		ISSUED("01", "1900000000"),
		ISSUED("1700000000", "1099511627777"),	/* beyond 2^40 */
		ISSUED("1700000000", "-1"),
		ISSUED("1700000000", "1900000000.0"),
		ISSUED("1700000000", "1900000000") "x",	/* trailing bytes */
		ISSUED("1700000000", "1900000000,"),
		"{\"sub\":\"0b6a7c3e_8f1d_4e2a_9c5b_1d2e3f4a5b6c\",\"jti\":\""
		    JTI "\",\"iat\":1700000000,\"exp\":1900000000}",
		"{\"sub\":\"" SUB "\",\"jti\":\"" JTI "\",\"iat\":1700000000,"
		    "\"exp\":}",
		"{\"sub\":\"" SUB "\",\"jti\":\"" JTI "\",\"iat\":,\"exp\":1}",
	};
	static const struct {
		const char	*payload;
		long long	 iat, exp;
	} good[] = {
		{ ISSUED("1700000000", "1900000000"), 1700000000, 1900000000 },
		{ ISSUED("0", "1099511627776"), 0, 1099511627776LL },
		/* Other layouts still go through the parser. */
		{ "{\"exp\":1900000000,\"iat\":5,\"jti\":\"" JTI "\",\"sub\":\""
		    SUB "\"}", 5, 1900000000 },
		{ "{ \"sub\": \"" SUB "\", \"jti\": \"" JTI "\", \"iat\": 7,"
		    " \"exp\": 1900000001 }", 7, 1900000001 },
	};
	struct gr_jwt_claims	 c;
	char			*tok;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = signed_token(bad[i]);
		c = verify_is(tok, GR_JWT_CLAIMS);
		assert_claims_empty(&c);
		free(tok);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		tok = signed_token(good[i].payload);
		c = verify_is(tok, GR_JWT_OK);
		cr_assert_str_eq(c.sub, SUB);
		cr_assert_str_eq(c.jti, JTI);
		cr_assert_eq(c.iat, good[i].iat, "%s", good[i].payload);
		cr_assert_eq(c.exp, good[i].exp, "%s", good[i].payload);
		free(tok);
	}
}

Test(jwt, a_second_key_is_not_served_from_the_first_keys_state)
{
	static const unsigned char	 other[] =
	    "another-hs256-secret-of-32-bytes-or-more";
	struct gr_jwt_claims		 in = claims(NOW, NOW + 60), c;
	char				*a, *b;

	a = gr_jwt_sign(secret, SECRETLEN, &in);
	b = gr_jwt_sign(other, sizeof(other) - 1, &in);
	cr_assert_str_neq(a, b);
	cr_assert_eq(gr_jwt_verify(secret, SECRETLEN, a, NOW, &c), GR_JWT_OK);
	cr_assert_eq(gr_jwt_verify(secret, SECRETLEN, b, NOW, &c),
	    GR_JWT_SIGNATURE);
	cr_assert_eq(gr_jwt_verify(other, sizeof(other) - 1, b, NOW, &c),
	    GR_JWT_OK);
	cr_assert_eq(gr_jwt_verify(other, sizeof(other) - 1, a, NOW, &c),
	    GR_JWT_SIGNATURE);
	/* A key that is a prefix of the other. */
	cr_assert_eq(gr_jwt_verify(secret, SECRETLEN - 1, a, NOW, &c),
	    GR_JWT_SIGNATURE);
	cr_assert_eq(gr_jwt_verify(secret, SECRETLEN, a, NOW, &c), GR_JWT_OK);
	free(a);
	free(b);
}
