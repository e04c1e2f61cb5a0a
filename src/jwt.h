/*
 * jwt.h - HS256 JSON Web Tokens for login sessions.
 *
 * Only HS256 is accepted: a header naming any other algorithm, "none"
 * included, is refused before the signature is looked at.  The claims we
 * issue and require: sub (user id), jti (session id), iat and exp.
 */
#ifndef GRADIENT_JWT_H
#define GRADIENT_JWT_H

#include <stddef.h>

struct gr_jwt_claims {
	char		 sub[37];
	char		 jti[37];
	long long	 iat;
	long long	 exp;
};

enum gr_jwt_err {
	GR_JWT_OK = 0,
	GR_JWT_MALFORMED,
	GR_JWT_ALG,
	GR_JWT_SIGNATURE,
	GR_JWT_EXPIRED,
	GR_JWT_CLAIMS,
};

/* A signed token (caller frees), or NULL when out of memory. */
char		*gr_jwt_sign(const unsigned char *, size_t,
		    const struct gr_jwt_claims *);
/* Verify token against the secret at time now; fills claims on GR_JWT_OK. */
enum gr_jwt_err	 gr_jwt_verify(const unsigned char *, size_t, const char *,
		    long long, struct gr_jwt_claims *);
const char	*gr_jwt_strerror(enum gr_jwt_err);

#endif /* GRADIENT_JWT_H */
