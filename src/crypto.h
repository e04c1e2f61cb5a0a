/*
 * crypto.h - the project's uses of libsodium in one place: randomness, hex
 * and base64url, API-key digests, argon2id passwords, constant-time
 * comparison.  gr_crypto_init() must run once before any of it.
 */
#ifndef GRADIENT_CRYPTO_H
#define GRADIENT_CRYPTO_H

#include <stddef.h>

#define GR_PWHASH_LEN	128	/* crypto_pwhash_STRBYTES */
#define GR_APIKEY_PREFIX "GRAD"
#define GR_APIKEY_LEN	(4 + 64)	/* "GRAD" + 32 bytes in hex */

int	 gr_crypto_init(void);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void	 gr_hex(const unsigned char *, size_t, char *);
/* SHA-256 of s as 64 hex characters into out (65 bytes). */
void	 gr_sha256_hex(const void *, size_t, char *);
/* A fresh API key "GRAD<64 hex>" into out (GR_APIKEY_LEN + 1 bytes). */
void	 gr_apikey_new(char *);
/* 1 if s has the shape of an API key. */
int	 gr_apikey_shape(const char *);
/*
 * A fresh UUID of version 7 (RFC 9562) into out (37 bytes): the Unix time
 * in milliseconds, then random bits.  Rows keyed by such ids land at the
 * growing end of their indexes instead of all over them.
 */
#define GR_UUID_LEN	36
void	 gr_uuid7(char *);

/* argon2id hash of pw into out; 0 or -1 (out of memory). */
int	 gr_password_hash(const char *, size_t, char out[GR_PWHASH_LEN]);
/* 1 if pw matches hash, 0 otherwise. */
int	 gr_password_verify(const char *, const char *, size_t);
/* Burn the time of one verification (for unknown accounts). */
void	 gr_password_dummy(const char *, size_t);

/* base64url without padding; the caller frees.  NULL on error. */
char	*gr_b64url_encode(const unsigned char *, size_t);
/* Decode into a fresh buffer (caller frees), length in *lenp; NULL if bad. */
unsigned char *gr_b64url_decode(const char *, size_t, size_t *);

/* Standard base64 with '=' padding; the caller frees.  NULL on error. */
char	*gr_b64_encode(const unsigned char *, size_t);
/* Decode standard base64 (padding required) into a fresh buffer. */
unsigned char *gr_b64_decode(const char *, size_t, size_t *);

/*
 * Seal a secret for the database under a key derived from the server's
 * crypt secret (crypto_secretbox): "sb1:" and base64 of nonce and box.
 * The caller frees.  gr_secret_open returns the plaintext, NUL-terminated,
 * which the caller wipes (sodium_memzero) and frees; NULL when the text
 * is not ours or was tampered with.
 */
char	*gr_secret_seal(const unsigned char *, size_t, const void *, size_t);
unsigned char *gr_secret_open(const unsigned char *, size_t, const char *,
	    size_t *);

/* Constant-time equality of two equal-length buffers. */
int	 gr_ct_equal(const void *, const void *, size_t);

#endif /* GRADIENT_CRYPTO_H */
