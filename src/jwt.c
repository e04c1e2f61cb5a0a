/*
 * jwt.c - HS256 sign and verify (see jwt.h).
 *
 * Verification order: shape, header (alg must be HS256), signature in
 * constant time, then claims.  Nothing from the payload is trusted before
 * the signature has been checked.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/buf.h"
#include "src/crypto.h"
#include "src/http.h"
#include "src/json.h"
#include "src/jwt.h"

#define JWT_MAXLEN	4096
#define CLAIM_MAX	(1LL << 40)	/* iat and exp */

static const char jwt_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
/* Its base64url form, made once per process; never freed. */
static char *issued_header;

/*
 * HMAC's keyed start (the hashes of the padded key) depends on the key
 * alone: a process computes it once per key and copies it for each token.
 * The key is kept beside it to notice a different one (tests use several).
 */
static crypto_auth_hmacsha256_state	 keyed;
static unsigned char			*keyed_key;
static size_t				 keyed_len;

static void
hmac(const unsigned char *key, size_t keylen, const char *msg, size_t len,
    unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state	 st;

	/* Our own key against its copy: no attacker input, memcmp will do. */
	if (keyed_key == NULL || keyed_len != keylen ||
	    memcmp(keyed_key, key, keylen) != 0) {
		if (keyed_key != NULL)
			sodium_memzero(keyed_key, keyed_len);
		free(keyed_key);
		keyed_len = 0;
		if ((keyed_key = malloc(keylen > 0 ? keylen : 1)) != NULL) {
			memcpy(keyed_key, key, keylen);
			keyed_len = keylen;
		}
		crypto_auth_hmacsha256_init(&keyed, key, keylen);
	}
	st = keyed;
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

char *
gr_jwt_sign(const unsigned char *key, size_t keylen,
    const struct gr_jwt_claims *c)
{
	struct gr_buf	 b = GR_BUF_INIT, payload = GR_BUF_INIT;
	unsigned char	 sig[crypto_auth_hmacsha256_BYTES];
	char		*h = NULL, *p = NULL, *s = NULL, *out = NULL;

	if (gr_buf_addf(&payload, "{\"sub\":\"%s\",\"jti\":\"%s\",\"iat\":%lld,"
	    "\"exp\":%lld}", c->sub, c->jti, c->iat, c->exp) == -1)
		goto out;
	h = gr_b64url_encode((const unsigned char *)jwt_header,
	    sizeof(jwt_header) - 1);
	p = gr_b64url_encode((const unsigned char *)payload.data, payload.len);
	if (h == NULL || p == NULL)
		goto out;
	if (gr_buf_addf(&b, "%s.%s", h, p) == -1)
		goto out;
	hmac(key, keylen, b.data, b.len, sig);
	if ((s = gr_b64url_encode(sig, sizeof(sig))) == NULL)
		goto out;
	if (gr_buf_addf(&b, ".%s", s) == -1)
		goto out;
	out = gr_buf_detach(&b, NULL);
out:
	free(h);
	free(p);
	free(s);
	gr_buf_release(&b);
	gr_buf_release(&payload);
	return out;
}

/* Copy a UUID-shaped string claim into dst (37 bytes); -1 if absent/bad. */
static int
uuid_claim(struct json_object *o, const char *key, char *dst)
{
	const char	*v;
	char		 err[128];

	if (gr_json_string(o, key, GR_FIELD_REQUIRED, 36, 36, &v, err,
	    sizeof(err)) != 1 || !gr_valid_uuid(v))
		return -1;
	memcpy(dst, v, 37);
	return 0;
}

/* A JSON integer in [0, CLAIM_MAX] at *pp, no sign or leading zero; or -1. */
static long long
claim_int(const char **pp, const char *end)
{
	const char	*p = *pp;
	long long	 v = 0;

	if (p == end || *p < '0' || *p > '9' || (*p == '0' && p + 1 < end &&
	    p[1] >= '0' && p[1] <= '9'))
		return -1;
	for (; p < end && *p >= '0' && *p <= '9'; p++)
		if ((v = v * 10 + (*p - '0')) > CLAIM_MAX)
			return -1;
	*pp = p;
	return v;
}

/*
 * The payload exactly as gr_jwt_sign() writes it, read without a JSON
 * parser: 1 and the claims filled, or 0 for anything else (which then
 * goes to the parser, whose verdict stands).  Only reached once the
 * signature is good.
 */
static int
issued_claims(const char *p, size_t n, struct gr_jwt_claims *c)
{
	static const char	 k1[] = "{\"sub\":\"", k2[] = "\",\"jti\":\"";
	static const char	 k3[] = "\",\"iat\":", k4[] = ",\"exp\":";
	const char		*end = p + n;
	long long		 iat, exp;

	if (n < sizeof(k1) - 1 + 36 + sizeof(k2) - 1 + 36 + sizeof(k3) - 1 +
	    1 + sizeof(k4) - 1 + 1 + 1 || memcmp(p, k1, sizeof(k1) - 1) != 0)
		return 0;
	p += sizeof(k1) - 1;
	memcpy(c->sub, p, 36);
	c->sub[36] = '\0';
	p += 36;
	if (memcmp(p, k2, sizeof(k2) - 1) != 0)
		return 0;
	p += sizeof(k2) - 1;
	memcpy(c->jti, p, 36);
	c->jti[36] = '\0';
	p += 36;
	if (memcmp(p, k3, sizeof(k3) - 1) != 0)
		return 0;
	p += sizeof(k3) - 1;
	if ((iat = claim_int(&p, end)) == -1 ||
	    (size_t)(end - p) < sizeof(k4) - 1 + 2 ||
	    memcmp(p, k4, sizeof(k4) - 1) != 0)
		return 0;
	p += sizeof(k4) - 1;
	if ((exp = claim_int(&p, end)) == -1 || end - p != 1 || *p != '}' ||
	    !gr_valid_uuid(c->sub) || !gr_valid_uuid(c->jti))
		return 0;
	c->iat = iat;
	c->exp = exp;
	return 1;
}

/* Any other payload, through the parser: 0, or -1 for bad claims. */
static int
parsed_claims(const char *p, size_t n, struct gr_jwt_claims *c)
{
	struct json_object	*o;
	char			 err[128];
	long long		 iat = 0, exp;
	int			 rc = -1;

	if ((o = gr_json_parse(p, n, err, sizeof(err))) == NULL ||
	    !json_object_is_type(o, json_type_object))
		goto out;
	if (uuid_claim(o, "sub", c->sub) == -1 ||
	    uuid_claim(o, "jti", c->jti) == -1 ||
	    gr_json_int(o, "exp", GR_FIELD_REQUIRED, 0, CLAIM_MAX, &exp, err,
	    sizeof(err)) != 1 ||
	    gr_json_int(o, "iat", GR_FIELD_OPTIONAL, 0, CLAIM_MAX, &iat, err,
	    sizeof(err)) == -1)
		goto out;
	c->exp = exp;
	c->iat = iat;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

enum gr_jwt_err
gr_jwt_verify(const unsigned char *key, size_t keylen, const char *tok,
    long long now, struct gr_jwt_claims *c)
{
	const char		*d1, *d2, *alg;
	unsigned char		*hdr = NULL, *pl = NULL, *sig = NULL;
	unsigned char		 want[crypto_auth_hmacsha256_BYTES];
	size_t			 len, hlen, plen, slen;
	struct json_object	*ho = NULL;
	enum gr_jwt_err		 e = GR_JWT_MALFORMED;
	char			 err[128];

	memset(c, 0, sizeof(*c));
	len = strnlen(tok, JWT_MAXLEN + 1);
	if (len > JWT_MAXLEN)
		goto out;
	if ((d1 = strchr(tok, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
		goto out;
	/*
	 * The header we issue, byte for byte, needs no parsing; any other
	 * header is decoded and must still name HS256.
	 */
	if (issued_header == NULL)
		issued_header = gr_b64url_encode((const unsigned char *)
		    jwt_header, sizeof(jwt_header) - 1);
	if (issued_header == NULL || strlen(issued_header) !=
	    (size_t)(d1 - tok) || memcmp(issued_header, tok, (size_t)(d1 -
	    tok)) != 0) {
		if ((hdr = gr_b64url_decode(tok, (size_t)(d1 - tok),
		    &hlen)) == NULL || (ho = gr_json_parse((const char *)hdr,
		    hlen, err, sizeof(err))) == NULL ||
		    !json_object_is_type(ho, json_type_object))
			goto out;
		if (gr_json_string(ho, "alg", GR_FIELD_REQUIRED, 1, 16, &alg,
		    err, sizeof(err)) != 1 || strcmp(alg, "HS256") != 0) {
			e = GR_JWT_ALG;
			goto out;
		}
	}
	if ((sig = gr_b64url_decode(d2 + 1, strlen(d2 + 1), &slen)) == NULL)
		goto out;
	hmac(key, keylen, tok, (size_t)(d2 - tok), want);
	if (slen != sizeof(want) || !gr_ct_equal(sig, want, sizeof(want))) {
		e = GR_JWT_SIGNATURE;
		goto out;
	}
	e = GR_JWT_CLAIMS;
	if ((pl = gr_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1),
	    &plen)) == NULL)
		goto out;
	if (!issued_claims((const char *)pl, plen, c) &&
	    parsed_claims((const char *)pl, plen, c) == -1)
		goto out;
	if (c->exp <= now) {
		e = GR_JWT_EXPIRED;
		goto out;
	}
	e = GR_JWT_OK;
out:
	if (e != GR_JWT_OK && e != GR_JWT_EXPIRED)
		memset(c, 0, sizeof(*c));
	json_object_put(ho);
	free(hdr);
	free(pl);
	free(sig);
	return e;
}

const char *
gr_jwt_strerror(enum gr_jwt_err e)
{
	switch (e) {
	case GR_JWT_OK:
		return "ok";
	case GR_JWT_MALFORMED:
		return "malformed token";
	case GR_JWT_ALG:
		return "unsupported algorithm";
	case GR_JWT_SIGNATURE:
		return "bad signature";
	case GR_JWT_EXPIRED:
		return "token expired";
	case GR_JWT_CLAIMS:
		return "bad claims";
	}
	return "unknown";
}
