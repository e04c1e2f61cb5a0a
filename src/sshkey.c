/*
 * sshkey.c - OpenSSH ed25519 keys from libsodium (see sshkey.h).
 *
 * The formats are PROTOCOL.key and RFC 8709, as NIX-NOTES section 7 sets
 * them out: a public blob of two SSH strings, and an "openssh-key-v1"
 * container whose private section is padded 1, 2, 3... to a multiple of
 * 8 bytes.  libsodium's 64-byte secret key (seed, then public key) is
 * exactly what OpenSSH stores.  Every buffer that held a secret is wiped
 * with sodium_memzero before it is freed, and the parser, which may be
 * handed anything, checks each length against what is left before use.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/buf.h"
#include "src/crypto.h"
#include "src/sshkey.h"

#define KEYTYPE		"ssh-ed25519"
#define KEYTYPE_LEN	(sizeof(KEYTYPE) - 1)
#define MAGIC		"openssh-key-v1"	/* and its NUL: 15 bytes */
#define MAGIC_LEN	sizeof(MAGIC)
#define PEM_BEGIN	"-----BEGIN OPENSSH PRIVATE KEY-----"
#define PEM_END		"-----END OPENSSH PRIVATE KEY-----"
#define PEM_COLUMNS	70
#define PEM_MAX		(64 * 1024)	/* far above any ed25519 */
#define BLOB_LEN	(4 + KEYTYPE_LEN + 4 + crypto_sign_PUBLICKEYBYTES)
#define BLOCK		8		/* cipher "none" */

/* A cursor over a buffer being written; sizes are computed beforehand. */
struct wr {
	unsigned char	*p;
	size_t		 off;
};

/* A cursor over untrusted bytes. */
struct rd {
	const unsigned char	*p;
	size_t			 len;
	size_t			 off;
};

static void
put_u32(struct wr *w, uint32_t v)
{
	w->p[w->off++] = (unsigned char)(v >> 24);
	w->p[w->off++] = (unsigned char)(v >> 16);
	w->p[w->off++] = (unsigned char)(v >> 8);
	w->p[w->off++] = (unsigned char)v;
}

static void
put_string(struct wr *w, const void *s, size_t n)
{
	put_u32(w, (uint32_t)n);
	if (n > 0)
		memcpy(w->p + w->off, s, n);
	w->off += n;
}

static int
get_u32(struct rd *r, uint32_t *v)
{
	if (r->len - r->off < 4)
		return -1;
	*v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 |
	    (uint32_t)r->p[r->off + 2] << 8 | (uint32_t)r->p[r->off + 3];
	r->off += 4;
	return 0;
}

/* An SSH string: *s borrows from r, *n is its length. */
static int
get_string(struct rd *r, const unsigned char **s, size_t *n)
{
	uint32_t	 len;

	if (get_u32(r, &len) == -1 || r->len - r->off < len)
		return -1;
	*s = r->p + r->off;
	*n = len;
	r->off += len;
	return 0;
}

/* 1 if the n bytes at s are the string lit. */
static int
string_is(const unsigned char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* 1 if a comment of n bytes may go on a public key line. */
static int
comment_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n > GR_SSHKEY_COMMENT_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* The 51-byte public blob of pk into out. */
static void
make_blob(const unsigned char *pk, unsigned char out[BLOB_LEN])
{
	struct wr	 w = { out, 0 };

	put_string(&w, KEYTYPE, KEYTYPE_LEN);
	put_string(&w, pk, crypto_sign_PUBLICKEYBYTES);
}

/* "ssh-ed25519 <base64 blob>[ comment]"; the caller frees. */
static char *
make_line(const unsigned char *blob, const char *comment, size_t clen)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*b64;

	if ((b64 = gr_b64_encode(blob, BLOB_LEN)) == NULL)
		return NULL;
	if (gr_buf_adds(&b, KEYTYPE " ") == -1 || gr_buf_adds(&b, b64) == -1 ||
	    (clen > 0 && (gr_buf_addc(&b, ' ') == -1 ||
	    gr_buf_add(&b, comment, clen) == -1))) {
		free(b64);
		gr_buf_release(&b);
		return NULL;
	}
	free(b64);
	return gr_buf_detach(&b, NULL);
}

/*
 * The PEM text of n bytes of key container (caller frees and wipes).
 * The buffer is reserved once at its final size, so no copy of the key is
 * left behind by a realloc.
 */
static char *
make_pem(const unsigned char *bin, size_t n)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*b64 = NULL, *pem = NULL;
	size_t		 b64sz, b64len, i, lines;

	b64sz = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(b64sz)) == NULL)
		return NULL;
	sodium_bin2base64(b64, b64sz, bin, n, sodium_base64_VARIANT_ORIGINAL);
	b64len = strlen(b64);
	lines = (b64len + PEM_COLUMNS - 1) / PEM_COLUMNS;
	if (gr_buf_reserve(&b, sizeof(PEM_BEGIN) + b64len + lines +
	    sizeof(PEM_END)) == -1)
		goto out;
	gr_buf_adds(&b, PEM_BEGIN "\n");
	for (i = 0; i < b64len; i += PEM_COLUMNS) {
		gr_buf_add(&b, b64 + i, b64len - i < PEM_COLUMNS ?
		    b64len - i : PEM_COLUMNS);
		gr_buf_addc(&b, '\n');
	}
	gr_buf_adds(&b, PEM_END "\n");
	pem = gr_buf_detach(&b, NULL);
out:
	sodium_memzero(b64, b64sz);
	free(b64);
	return pem;
}

int
gr_sshkey_generate(const char *comment, struct gr_sshkey *k)
{
	unsigned char	 pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char	 sk[crypto_sign_SECRETKEYBYTES];
	unsigned char	 blob[BLOB_LEN], *bin = NULL;
	struct wr	 w;
	uint32_t	 check;
	size_t		 clen, section, pad, total, i;
	int		 rc = -1;

	k->public_line = k->private_pem = NULL;
	if (comment == NULL)
		comment = "";
	clen = strlen(comment);
	if (!comment_valid(comment, clen) || gr_crypto_init() == -1)
		return -1;

	section = 4 + 4 + (4 + KEYTYPE_LEN) + (4 + sizeof(pk)) +
	    (4 + sizeof(sk)) + (4 + clen);
	pad = (BLOCK - section % BLOCK) % BLOCK;
	section += pad;
	total = MAGIC_LEN + (4 + 4) + (4 + 4) + 4 + 4 + (4 + BLOB_LEN) +
	    4 + section;
	if ((bin = malloc(total)) == NULL)
		return -1;

	crypto_sign_keypair(pk, sk);
	make_blob(pk, blob);
	check = randombytes_random();

	w.p = bin;
	w.off = 0;
	memcpy(w.p, MAGIC, MAGIC_LEN);
	w.off = MAGIC_LEN;
	put_string(&w, "none", 4);		/* cipher */
	put_string(&w, "none", 4);		/* kdf */
	put_string(&w, "", 0);			/* kdf options */
	put_u32(&w, 1);				/* number of keys */
	put_string(&w, blob, sizeof(blob));
	put_u32(&w, (uint32_t)section);
	put_u32(&w, check);
	put_u32(&w, check);
	put_string(&w, KEYTYPE, KEYTYPE_LEN);
	put_string(&w, pk, sizeof(pk));
	put_string(&w, sk, sizeof(sk));
	put_string(&w, comment, clen);
	for (i = 1; i <= pad; i++)
		w.p[w.off++] = (unsigned char)i;

	if ((k->private_pem = make_pem(bin, total)) == NULL ||
	    (k->public_line = make_line(blob, comment, clen)) == NULL) {
		gr_sshkey_release(k);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(bin, total);
	free(bin);
	return rc;
}

/*
 * The base64 between the PEM lines, decoded into a fresh buffer (caller
 * wipes and frees).  NULL with err filled when the armour is wrong.
 */
static unsigned char *
pem_decode(const char *pem, size_t *lenp, char *err, size_t errsz)
{
	const char	*p, *end;
	char		*b64 = NULL;
	unsigned char	*bin = NULL;
	size_t		 n = 0, cap;

	if (strnlen(pem, PEM_MAX + 1) > PEM_MAX) {
		snprintf(err, errsz, "the key is too long");
		return NULL;
	}
	p = pem + strspn(pem, " \t\r\n");
	if (strncmp(p, PEM_BEGIN, strlen(PEM_BEGIN)) != 0) {
		snprintf(err, errsz, "not an OpenSSH private key (no '%s' "
		    "line)", PEM_BEGIN);
		return NULL;
	}
	p += strlen(PEM_BEGIN);
	if ((end = strstr(p, PEM_END)) == NULL) {
		snprintf(err, errsz, "the key is truncated (no '%s' line)",
		    PEM_END);
		return NULL;
	}
	if (end[strlen(PEM_END) + strspn(end + strlen(PEM_END),
	    " \t\r\n")] != '\0') {
		snprintf(err, errsz, "unexpected text after the '%s' line",
		    PEM_END);
		return NULL;
	}
	cap = (size_t)(end - p);
	if ((b64 = malloc(cap + 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	for (; p < end; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue;
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '+' || *p == '/' ||
		    *p == '=')) {
			snprintf(err, errsz, "the key is not valid base64");
			goto out;
		}
		b64[n++] = *p;
	}
	if (n == 0 || (bin = gr_b64_decode(b64, n, lenp)) == NULL)
		snprintf(err, errsz, "the key is not valid base64");
out:
	sodium_memzero(b64, cap + 1);
	free(b64);
	return bin;
}

/* Check the public blob: "ssh-ed25519" and 32 bytes; *pk borrows. */
static int
parse_blob(const unsigned char *blob, size_t len, const unsigned char **pk)
{
	struct rd		 r = { blob, len, 0 };
	const unsigned char	*s;
	size_t			 n;

	if (get_string(&r, &s, &n) == -1 || !string_is(s, n, KEYTYPE) ||
	    get_string(&r, pk, &n) == -1 || n != crypto_sign_PUBLICKEYBYTES ||
	    r.off != r.len)
		return -1;
	return 0;
}

int
gr_sshkey_public_from_private(const char *pem, const char *comment,
    char **line, char *err, size_t errsz)
{
	unsigned char		 pk2[crypto_sign_PUBLICKEYBYTES];
	unsigned char		 sk2[crypto_sign_SECRETKEYBYTES];
	unsigned char		 blob[BLOB_LEN], *bin = NULL;
	const unsigned char	*s, *pub, *pk, *ppk, *sk, *cm, *sect;
	char			 dummy[1];
	struct rd		 r, pr;
	uint32_t		 nkeys, check1, check2;
	size_t			 binlen = 0, n, publen, sectlen, cmlen, i;
	int			 rc = -1;

	if (err == NULL || errsz == 0) {
		err = dummy;
		errsz = sizeof(dummy);
	}
	*line = NULL;
	err[0] = '\0';
	if (pem == NULL) {
		snprintf(err, errsz, "no key");
		return -1;
	}
	if ((bin = pem_decode(pem, &binlen, err, errsz)) == NULL)
		return -1;

	r.p = bin;
	r.len = binlen;
	r.off = 0;
	if (binlen < MAGIC_LEN || memcmp(bin, MAGIC, MAGIC_LEN) != 0) {
		snprintf(err, errsz, "not an openssh-key-v1 private key");
		goto out;
	}
	r.off = MAGIC_LEN;
	if (get_string(&r, &s, &n) == -1)
		goto truncated;
	if (!string_is(s, n, "none")) {
		snprintf(err, errsz, "the key is encrypted; only keys without "
		    "a passphrase can be used");
		goto out;
	}
	if (get_string(&r, &s, &n) == -1)
		goto truncated;
	if (!string_is(s, n, "none")) {
		snprintf(err, errsz, "the key is encrypted (it names a key "
		    "derivation function); only keys without a passphrase "
		    "can be used");
		goto out;
	}
	if (get_string(&r, &s, &n) == -1)
		goto truncated;
	if (n != 0) {
		snprintf(err, errsz, "unexpected key derivation options in "
		    "an unencrypted key");
		goto out;
	}
	if (get_u32(&r, &nkeys) == -1)
		goto truncated;
	if (nkeys != 1) {
		snprintf(err, errsz, "the file holds %lu keys; one was "
		    "expected", (unsigned long)nkeys);
		goto out;
	}
	if (get_string(&r, &pub, &publen) == -1)
		goto truncated;
	if (parse_blob(pub, publen, &pk) == -1) {
		snprintf(err, errsz, "not an ed25519 key");
		goto out;
	}
	if (get_string(&r, &sect, &sectlen) == -1)
		goto truncated;
	if (r.off != r.len) {
		snprintf(err, errsz, "unexpected data after the private key");
		goto out;
	}
	if (sectlen % BLOCK != 0) {
		snprintf(err, errsz, "the private section is not a multiple "
		    "of %d bytes", BLOCK);
		goto out;
	}

	pr.p = sect;
	pr.len = sectlen;
	pr.off = 0;
	if (get_u32(&pr, &check1) == -1 || get_u32(&pr, &check2) == -1)
		goto truncated;
	if (check1 != check2) {
		snprintf(err, errsz, "the check numbers of the private "
		    "section differ (corrupt or encrypted key)");
		goto out;
	}
	if (get_string(&pr, &s, &n) == -1)
		goto truncated;
	if (!string_is(s, n, KEYTYPE)) {
		snprintf(err, errsz, "not an ed25519 key");
		goto out;
	}
	if (get_string(&pr, &ppk, &n) == -1)
		goto truncated;
	if (n != crypto_sign_PUBLICKEYBYTES) {
		snprintf(err, errsz, "bad ed25519 public key length");
		goto out;
	}
	if (get_string(&pr, &sk, &n) == -1)
		goto truncated;
	if (n != crypto_sign_SECRETKEYBYTES) {
		snprintf(err, errsz, "bad ed25519 private key length");
		goto out;
	}
	if (get_string(&pr, &cm, &cmlen) == -1)
		goto truncated;
	for (i = 0; pr.off < pr.len; i++, pr.off++)
		if (pr.p[pr.off] != (unsigned char)(i + 1)) {
			snprintf(err, errsz, "bad padding after the private "
			    "key");
			goto out;
		}

	/*
	 * The three copies of the public key must agree, and the seed must
	 * produce it: a key whose halves do not belong together would only
	 * fail later, at login, with a less helpful message.
	 */
	crypto_sign_seed_keypair(pk2, sk2, sk);
	sodium_memzero(sk2, sizeof(sk2));
	if (memcmp(pk, ppk, sizeof(pk2)) != 0 ||
	    memcmp(pk, sk + 32, sizeof(pk2)) != 0 ||
	    memcmp(pk, pk2, sizeof(pk2)) != 0) {
		snprintf(err, errsz, "the public and private halves of the "
		    "key do not match");
		goto out;
	}

	if (comment == NULL) {
		if (!comment_valid((const char *)cm, cmlen)) {
			snprintf(err, errsz, "the key's comment is too long or "
			    "contains control characters");
			goto out;
		}
	} else {
		cm = (const unsigned char *)comment;
		cmlen = strlen(comment);
		if (!comment_valid(comment, cmlen)) {
			snprintf(err, errsz, "the comment is too long or "
			    "contains control characters");
			goto out;
		}
	}
	make_blob(pk, blob);
	if ((*line = make_line(blob, (const char *)cm, cmlen)) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	rc = 0;
	goto out;
truncated:
	snprintf(err, errsz, "the key is truncated");
out:
	sodium_memzero(bin, binlen);
	free(bin);
	return rc;
}

char *
gr_sshkey_fingerprint(const unsigned char *blob, size_t len)
{
	unsigned char	 h[crypto_hash_sha256_BYTES];
	char		 b64[sodium_base64_ENCODED_LEN(
			    crypto_hash_sha256_BYTES,
			    sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	char		*out;

	crypto_hash_sha256(h, blob, len);
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if ((out = malloc(strlen("SHA256:") + strlen(b64) + 1)) == NULL)
		return NULL;
	strcpy(out, "SHA256:");
	strcat(out, b64);
	return out;
}

void
gr_sshkey_release(struct gr_sshkey *k)
{
	if (k->private_pem != NULL) {
		sodium_memzero(k->private_pem, strlen(k->private_pem));
		free(k->private_pem);
	}
	free(k->public_line);
	k->public_line = k->private_pem = NULL;
}
