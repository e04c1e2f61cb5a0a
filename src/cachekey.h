/*
 * cachekey.h - a binary cache's Ed25519 signing key in Nix's text forms.
 *
 * Nix writes keys as "NAME:BASE64": the public key is 32 bytes, the secret
 * key 64 (seed and public key, libsodium's layout).  A narinfo signature
 * is "NAME:BASE64" of the 64-byte detached signature of the fingerprint
 * (NIX-NOTES §3.4).  Secret texts must be wiped by the caller.
 */
#ifndef GRADIENT_CACHEKEY_H
#define GRADIENT_CACHEKEY_H

#include <stddef.h>

/* 1 if s is a usable key name: 1..128 of [A-Za-z0-9._-]. */
int	 gr_cachekey_valid_name(const char *);
/* New key pair named name; *pub and *sec are fresh strings to free. */
int	 gr_cachekey_generate(const char *, char **, char **);
/* The public text for a secret text; NULL if sec is malformed. */
char	*gr_cachekey_public(const char *);
/* Sign msg with the secret text: a fresh "NAME:BASE64" (NULL on error). */
char	*gr_cachekey_sign(const char *, const char *, size_t);
/* 1 if sig ("NAME:BASE64") verifies msg under the public text pub. */
int	 gr_cachekey_verify(const char *, const char *, const char *, size_t);

#endif /* GRADIENT_CACHEKEY_H */
