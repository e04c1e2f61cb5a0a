/*
 * cachekey.c - Nix binary cache signing keys (see cachekey.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/buf.h"
#include "src/cachekey.h"
#include "src/crypto.h"

int
gr_cachekey_valid_name(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= 128 || !((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '.' || s[n] == '-' || s[n] == '_'))
			return 0;
	return n > 0;
}

/* "name:" + base64(p); NULL on error. */
static char *
key_text(const char *name, size_t namelen, const unsigned char *p, size_t n)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*b64;

	if ((b64 = gr_b64_encode(p, n)) == NULL)
		return NULL;
	if (gr_buf_add(&b, name, namelen) == -1 || gr_buf_addc(&b, ':') == -1 ||
	    gr_buf_adds(&b, b64) == -1) {
		sodium_memzero(b64, strlen(b64));
		free(b64);
		if (b.data != NULL)
			sodium_memzero(b.data, b.cap);
		gr_buf_release(&b);
		return NULL;
	}
	sodium_memzero(b64, strlen(b64));
	free(b64);
	return gr_buf_detach(&b, NULL);
}

/* Split "NAME:BASE64" and decode exactly want bytes; NULL if malformed. */
static unsigned char *
key_bytes(const char *text, size_t want, size_t *namelen)
{
	const char	*colon;
	unsigned char	*p;
	size_t		 n;

	if ((colon = strchr(text, ':')) == NULL || colon == text)
		return NULL;
	if ((p = gr_b64_decode(colon + 1, strlen(colon + 1), &n)) == NULL)
		return NULL;
	if (n != want) {
		sodium_memzero(p, n);
		free(p);
		return NULL;
	}
	*namelen = (size_t)(colon - text);
	return p;
}

int
gr_cachekey_generate(const char *name, char **pub, char **sec)
{
	unsigned char	 pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char	 sk[crypto_sign_SECRETKEYBYTES];

	*pub = *sec = NULL;
	if (!gr_cachekey_valid_name(name))
		return -1;
	crypto_sign_keypair(pk, sk);
	*pub = key_text(name, strlen(name), pk, sizeof(pk));
	*sec = key_text(name, strlen(name), sk, sizeof(sk));
	sodium_memzero(sk, sizeof(sk));
	if (*pub == NULL || *sec == NULL) {
		free(*pub);
		if (*sec != NULL)
			sodium_memzero(*sec, strlen(*sec));
		free(*sec);
		*pub = *sec = NULL;
		return -1;
	}
	return 0;
}

char *
gr_cachekey_public(const char *sec)
{
	unsigned char	*sk;
	size_t		 namelen;
	char		*pub;

	if ((sk = key_bytes(sec, crypto_sign_SECRETKEYBYTES, &namelen)) == NULL)
		return NULL;
	/* libsodium's secret key ends with the public key. */
	pub = key_text(sec, namelen, sk + crypto_sign_SEEDBYTES,
	    crypto_sign_PUBLICKEYBYTES);
	sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
	free(sk);
	return pub;
}

char *
gr_cachekey_sign(const char *sec, const char *msg, size_t len)
{
	unsigned char	*sk, sig[crypto_sign_BYTES];
	size_t		 namelen;
	char		*out;

	if ((sk = key_bytes(sec, crypto_sign_SECRETKEYBYTES, &namelen)) == NULL)
		return NULL;
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, sk);
	sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
	free(sk);
	out = key_text(sec, namelen, sig, sizeof(sig));
	return out;
}

int
gr_cachekey_verify(const char *pub, const char *sig, const char *msg,
    size_t len)
{
	unsigned char	*pk, *sg;
	size_t		 pn, sn;
	int		 ok = 0;

	if ((pk = key_bytes(pub, crypto_sign_PUBLICKEYBYTES, &pn)) == NULL)
		return 0;
	if ((sg = key_bytes(sig, crypto_sign_BYTES, &sn)) != NULL) {
		/* The signature must name the same key. */
		ok = pn == sn && strncmp(pub, sig, pn) == 0 &&
		    crypto_sign_verify_detached(sg, (const unsigned char *)msg,
		    len, pk) == 0;
		free(sg);
	}
	free(pk);
	return ok;
}
