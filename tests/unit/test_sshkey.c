/*
 * test_sshkey.c - unit tests for src/sshkey.c: OpenSSH ed25519 keys.
 *
 * The layouts are checked byte by byte against NIX-NOTES section 7 with a
 * decoder written here, not the one under test.  Hostile keys are built
 * by taking a good key apart, changing one thing and putting it back
 * together, so each one is wrong in exactly one way.  ssh-keygen's opinion
 * of the keys is asked in tests/integration/test_sshd.py, since unit
 * tests run no programs.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "src/sshkey.h"

#define PREFIX		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"
#define BEGIN		"-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define END		"-----END OPENSSH PRIVATE KEY-----\n"
#define COMMENT		"gradient-org-x"	/* 14 bytes, 7 of padding */
#define HEAD_LEN	98	/* magic to the private section's length */

static void
setup(void)
{
	cr_assert_geq(sodium_init(), 0, "sodium_init failed");
}

TestSuite(sshkey, .init = setup);

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* The binary inside a PEM (caller frees), checking the armour on the way. */
static unsigned char *
unarmour(const char *pem, size_t *lenp)
{
	const char	*body, *end;
	unsigned char	*bin;
	size_t		 cap;

	cr_assert_eq(strncmp(pem, BEGIN, strlen(BEGIN)), 0);
	body = pem + strlen(BEGIN);
	end = strstr(body, END);
	cr_assert_neq(end, NULL);
	cap = (size_t)(end - body);
	bin = malloc(cap);
	cr_assert_neq(bin, NULL);
	cr_assert_eq(sodium_base642bin(bin, cap, body, cap, "\n", lenp, NULL,
	    sodium_base64_VARIANT_ORIGINAL), 0);
	return bin;
}

/* A PEM around n bytes of bin, wrapped at 70 columns (caller frees). */
static char *
armour(const unsigned char *bin, size_t n)
{
	size_t	 sz = sodium_base64_ENCODED_LEN(n,
		    sodium_base64_VARIANT_ORIGINAL);
	char	*b64, *pem, *p;
	size_t	 i, len;

	b64 = malloc(sz);
	cr_assert_neq(b64, NULL);
	sodium_bin2base64(b64, sz, bin, n, sodium_base64_VARIANT_ORIGINAL);
	len = strlen(b64);
	pem = malloc(strlen(BEGIN) + len + len / 70 + 2 + strlen(END) + 1);
	cr_assert_neq(pem, NULL);
	p = pem + sprintf(pem, "%s", BEGIN);
	for (i = 0; i < len; i += 70)
		p += sprintf(p, "%.70s\n", b64 + i);
	strcpy(p, END);
	free(b64);
	return pem;
}

/* A fresh key's container, decoded (caller frees); the key is released. */
static unsigned char *
fresh_container(const char *comment, size_t *lenp)
{
	struct gr_sshkey	 k;
	unsigned char		*bin;

	cr_assert_eq(gr_sshkey_generate(comment, &k), 0);
	bin = unarmour(k.private_pem, lenp);
	gr_sshkey_release(&k);
	return bin;
}

/* 1 if public_from_private refuses n bytes of bin, with a reason. */
static int
refused(const unsigned char *bin, size_t n)
{
	char	 sentinel, *pem, *line = &sentinel, err[256];
	int	 rc;

	pem = armour(bin, n);
	err[0] = '\0';
	rc = gr_sshkey_public_from_private(pem, NULL, &line, err, sizeof(err));
	free(pem);
	if (rc == 0) {
		free(line);
		return 0;
	}
	return line == NULL && err[0] != '\0';
}

/* The same, for PEM text, with err checked to contain want. */
static void
refused_text(const char *pem, const char *want)
{
	char	 sentinel, *line = &sentinel, err[256];

	err[0] = '\0';
	cr_assert_eq(gr_sshkey_public_from_private(pem, NULL, &line, err,
	    sizeof(err)), -1, "accepted: %s", pem);
	cr_assert_eq(line, NULL);
	cr_assert_neq(strstr(err, want), NULL, "err is '%s', wanted '%s'",
	    err, want);
}

Test(sshkey, public_line_has_the_ed25519_blob_and_comment)
{
	struct gr_sshkey	 k;
	unsigned char		 blob[64];
	const char		*b64, *sp;
	size_t			 len;

	cr_assert_eq(gr_sshkey_generate("gradient@my-org", &k), 0);
	cr_assert_eq(strncmp(k.public_line, PREFIX, strlen(PREFIX)), 0,
	    "%s", k.public_line);
	cr_assert_eq(strchr(k.public_line, '\n'), NULL);
	b64 = k.public_line + strlen("ssh-ed25519 ");
	sp = strchr(b64, ' ');
	cr_assert_neq(sp, NULL);
	cr_assert_str_eq(sp + 1, "gradient@my-org");
	cr_assert_eq(sp - b64, 68);
	cr_assert_eq(sodium_base642bin(blob, sizeof(blob), b64,
	    (size_t)(sp - b64), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL), 0);
	cr_assert_eq(len, 51);
	cr_assert_eq(be32(blob), 11);
	cr_assert_eq(memcmp(blob + 4, "ssh-ed25519", 11), 0);
	cr_assert_eq(be32(blob + 15), 32);
	gr_sshkey_release(&k);
	cr_assert_eq(k.public_line, NULL);
	cr_assert_eq(k.private_pem, NULL);
	gr_sshkey_release(&k);		/* twice is harmless */
}

Test(sshkey, no_comment_gives_two_fields)
{
	struct gr_sshkey	 k;

	cr_assert_eq(gr_sshkey_generate(NULL, &k), 0);
	cr_assert_eq(strlen(k.public_line), strlen("ssh-ed25519 ") + 68);
	gr_sshkey_release(&k);
	cr_assert_eq(gr_sshkey_generate("", &k), 0);
	cr_assert_eq(strlen(k.public_line), strlen("ssh-ed25519 ") + 68);
	gr_sshkey_release(&k);
}

Test(sshkey, private_pem_has_the_openssh_key_v1_layout)
{
	struct gr_sshkey	 k;
	unsigned char		*bin, *sect, blob[51];
	const char		*p, *nl;
	size_t			 len, sectlen, b64len, i, off;

	cr_assert_eq(gr_sshkey_generate(COMMENT, &k), 0);
	cr_assert_eq(strncmp(k.private_pem, BEGIN, strlen(BEGIN)), 0);
	len = strlen(k.private_pem);
	cr_assert_geq(len, strlen(END));
	cr_assert_str_eq(k.private_pem + len - strlen(END), END);

	/* Every base64 line is 70 columns but the last. */
	p = k.private_pem + strlen(BEGIN);
	while (strncmp(p, "-----END", 8) != 0) {
		nl = strchr(p, '\n');
		cr_assert_neq(nl, NULL);
		b64len = (size_t)(nl - p);
		if (strncmp(nl + 1, "-----END", 8) != 0)
			cr_assert_eq(b64len, 70);
		else
			cr_assert_leq(b64len, 70);
		p = nl + 1;
	}

	bin = unarmour(k.private_pem, &len);
	/* 98 + (131 + 14 + 7 of padding) */
	cr_assert_eq(len, HEAD_LEN + 152);
	cr_assert_eq(memcmp(bin, "openssh-key-v1\0", 15), 0);
	cr_assert_eq(be32(bin + 15), 4);
	cr_assert_eq(memcmp(bin + 19, "none", 4), 0);
	cr_assert_eq(be32(bin + 23), 4);
	cr_assert_eq(memcmp(bin + 27, "none", 4), 0);
	cr_assert_eq(be32(bin + 31), 0);
	cr_assert_eq(be32(bin + 35), 1);
	cr_assert_eq(be32(bin + 39), 51);
	memcpy(blob, bin + 43, 51);
	sectlen = be32(bin + 94);
	cr_assert_eq(sectlen, 152);
	sect = bin + HEAD_LEN;
	cr_assert_eq(be32(sect), be32(sect + 4), "check numbers differ");
	off = 8;
	cr_assert_eq(be32(sect + off), 11);
	cr_assert_eq(memcmp(sect + off + 4, "ssh-ed25519", 11), 0);
	off += 15;
	cr_assert_eq(be32(sect + off), 32);
	cr_assert_eq(memcmp(sect + off + 4, blob + 19, 32), 0);
	off += 36;
	cr_assert_eq(be32(sect + off), 64);
	/* The secret key ends with the public key (libsodium's layout). */
	cr_assert_eq(memcmp(sect + off + 4 + 32, blob + 19, 32), 0);
	off += 68;
	cr_assert_eq(be32(sect + off), strlen(COMMENT));
	cr_assert_eq(memcmp(sect + off + 4, COMMENT, strlen(COMMENT)), 0);
	off += 4 + strlen(COMMENT);
	for (i = 0; off + i < sectlen; i++)
		cr_assert_eq(sect[off + i], i + 1, "padding byte %zu", i);
	cr_assert_eq(i, 7);
	sodium_memzero(bin, len);
	free(bin);
	gr_sshkey_release(&k);
}

Test(sshkey, comment_lengths_pad_to_eight)
{
	char		 comment[GR_SSHKEY_COMMENT_MAX + 1];
	unsigned char	*bin;
	size_t		 n, len;

	for (n = 0; n < 20; n++) {
		memset(comment, 'c', n);
		comment[n] = '\0';
		bin = fresh_container(comment, &len);
		cr_assert_eq(be32(bin + 94) % 8, 0, "comment of %zu", n);
		cr_assert_eq(len, HEAD_LEN + be32(bin + 94));
		free(bin);
	}
}

Test(sshkey, private_key_gives_back_the_public_line)
{
	struct gr_sshkey	 k;
	char			*line = NULL, err[256];

	cr_assert_eq(gr_sshkey_generate("gradient@my-org", &k), 0);
	cr_assert_eq(gr_sshkey_public_from_private(k.private_pem, NULL, &line,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(line, k.public_line);
	free(line);

	/* With another comment, only the comment changes. */
	cr_assert_eq(gr_sshkey_public_from_private(k.private_pem, "other",
	    &line, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strncmp(line, k.public_line,
	    strlen("ssh-ed25519 ") + 68), 0);
	cr_assert_str_eq(line + strlen("ssh-ed25519 ") + 69, "other");
	free(line);
	gr_sshkey_release(&k);
}

Test(sshkey, crlf_and_surrounding_blank_lines_are_accepted)
{
	struct gr_sshkey	 k;
	const char		*p;
	char			*crlf, *line = NULL, err[256];
	size_t			 n = 0;

	cr_assert_eq(gr_sshkey_generate("crlf", &k), 0);
	crlf = malloc(2 * strlen(k.private_pem) + 4);
	cr_assert_neq(crlf, NULL);
	crlf[n++] = '\n';
	for (p = k.private_pem; *p != '\0'; p++) {
		if (*p == '\n')
			crlf[n++] = '\r';
		crlf[n++] = *p;
	}
	crlf[n++] = '\n';
	crlf[n] = '\0';
	cr_assert_eq(gr_sshkey_public_from_private(crlf, NULL, &line, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(line, k.public_line);
	free(line);
	free(crlf);
	gr_sshkey_release(&k);
}

Test(sshkey, keys_and_check_numbers_are_random)
{
	unsigned char	*a, *b;
	size_t		 alen, blen;

	a = fresh_container(COMMENT, &alen);
	b = fresh_container(COMMENT, &blen);
	cr_assert_eq(alen, blen);
	cr_assert_neq(memcmp(a + HEAD_LEN, b + HEAD_LEN, 4), 0,
	    "check numbers repeat");
	cr_assert_neq(memcmp(a + 43, b + 43, 51), 0, "public keys repeat");
	free(a);
	free(b);
}

Test(sshkey, bad_comments_are_refused)
{
	struct gr_sshkey	 k;
	char			 longc[GR_SSHKEY_COMMENT_MAX + 2];

	cr_assert_eq(gr_sshkey_generate("a\nb", &k), -1);
	cr_assert_eq(k.public_line, NULL);
	cr_assert_eq(k.private_pem, NULL);
	gr_sshkey_release(&k);
	cr_assert_eq(gr_sshkey_generate("tab\there", &k), -1);
	memset(longc, 'x', sizeof(longc) - 1);
	longc[sizeof(longc) - 1] = '\0';
	cr_assert_eq(gr_sshkey_generate(longc, &k), -1);
	longc[GR_SSHKEY_COMMENT_MAX] = '\0';
	cr_assert_eq(gr_sshkey_generate(longc, &k), 0);
	gr_sshkey_release(&k);
}

Test(sshkey, every_truncation_is_refused)
{
	unsigned char	*bin;
	size_t		 len, n;

	bin = fresh_container(COMMENT, &len);
	for (n = 0; n < len; n++)
		cr_assert(refused(bin, n), "accepted %zu of %zu bytes", n,
		    len);
	cr_assert_not(refused(bin, len));
	free(bin);
}

Test(sshkey, truncated_pem_text_is_refused)
{
	struct gr_sshkey	 k;
	char			*cut, *e, *last;

	cr_assert_eq(gr_sshkey_generate(COMMENT, &k), 0);
	cut = strndup(k.private_pem, strlen(k.private_pem) / 2);
	cr_assert_neq(cut, NULL);
	refused_text(cut, "truncated");
	free(cut);

	/* Without the last base64 line, but with the END line. */
	cut = strdup(k.private_pem);
	cr_assert_neq(cut, NULL);
	e = strstr(cut, "-----END");
	cr_assert_neq(e, NULL);
	for (last = e - 1; last > cut && last[-1] != '\n'; last--)
		;
	strcpy(last, END);
	refused_text(cut, "truncated");
	free(cut);
	gr_sshkey_release(&k);
}

Test(sshkey, wrong_magic_is_refused)
{
	unsigned char	*bin;
	size_t		 len;

	bin = fresh_container(COMMENT, &len);
	bin[8] = 'w';			/* "openssh-wey-v1" */
	cr_assert(refused(bin, len));
	free(bin);
}

/* An SSH string at *pp, which moves past it. */
static void
putstr(unsigned char **pp, const void *s, size_t n)
{
	put32(*pp, (uint32_t)n);
	if (n > 0)
		memcpy(*pp + 4, s, n);
	*pp += 4 + n;
}

/*
 * Build a container from its parts: cipher, kdf, kdf options, the public
 * blob and the private section, as an encrypted key would have them.
 */
static unsigned char *
container(const char *cipher, const char *kdf, const unsigned char *kdfopt,
    size_t kdfoptlen, const unsigned char *blob, size_t bloblen,
    const unsigned char *sect, size_t sectlen, size_t *lenp)
{
	unsigned char	*p, *bin;

	bin = malloc(15 + 4 + strlen(cipher) + 4 + strlen(kdf) + 4 +
	    kdfoptlen + 4 + 4 + bloblen + 4 + sectlen);
	cr_assert_neq(bin, NULL);
	memcpy(bin, "openssh-key-v1\0", 15);
	p = bin + 15;
	putstr(&p, cipher, strlen(cipher));
	putstr(&p, kdf, strlen(kdf));
	putstr(&p, kdfopt, kdfoptlen);
	put32(p, 1);
	p += 4;
	putstr(&p, blob, bloblen);
	putstr(&p, sect, sectlen);
	*lenp = (size_t)(p - bin);
	return bin;
}

Test(sshkey, encrypted_keys_are_refused)
{
	unsigned char	*bin, *enc, kdfopt[24];
	char		*pem;
	size_t		 len, enclen;

	bin = fresh_container(COMMENT, &len);
	/* bcrypt options: a 16-byte salt and 16 rounds. */
	put32(kdfopt, 16);
	randombytes_buf(kdfopt + 4, 16);
	put32(kdfopt + 20, 16);
	enc = container("aes256-ctr", "bcrypt", kdfopt, sizeof(kdfopt),
	    bin + 43, 51, bin + HEAD_LEN, len - HEAD_LEN, &enclen);
	pem = armour(enc, enclen);
	refused_text(pem, "encrypted");
	free(pem);
	free(enc);

	/* Cipher "none" but a kdf: still not something we can use. */
	enc = container("none", "bcrypt", kdfopt, sizeof(kdfopt),
	    bin + 43, 51, bin + HEAD_LEN, len - HEAD_LEN, &enclen);
	cr_assert(refused(enc, enclen));
	free(enc);

	/* The unchanged parts put back together are fine. */
	enc = container("none", "none", NULL, 0, bin + 43, 51,
	    bin + HEAD_LEN, len - HEAD_LEN, &enclen);
	cr_assert_eq(enclen, len);
	cr_assert_not(refused(enc, enclen));
	free(enc);
	free(bin);
}

Test(sshkey, bad_padding_is_refused)
{
	unsigned char	*bin;
	char		*pem;
	size_t		 len;

	bin = fresh_container(COMMENT, &len);
	bin[len - 1] = 0;		/* 01 02 03 04 05 06 00 */
	pem = armour(bin, len);
	refused_text(pem, "padding");
	free(pem);
	bin[len - 1] = 7;
	bin[len - 7] = 7;		/* 07 02 03 04 05 06 07 */
	cr_assert(refused(bin, len));
	free(bin);
}

Test(sshkey, section_not_a_multiple_of_eight_is_refused)
{
	unsigned char	*bin;
	size_t		 len;

	bin = fresh_container(COMMENT, &len);
	/* Drop the last padding byte: padding still 1..6, length 151. */
	put32(bin + 94, be32(bin + 94) - 1);
	cr_assert(refused(bin, len - 1));
	free(bin);
}

Test(sshkey, mismatched_check_numbers_are_refused)
{
	unsigned char	*bin;
	char		*pem;
	size_t		 len;

	bin = fresh_container(COMMENT, &len);
	bin[HEAD_LEN + 7] ^= 0x01;
	pem = armour(bin, len);
	refused_text(pem, "check numbers");
	free(pem);
	free(bin);
}

Test(sshkey, halves_that_do_not_belong_together_are_refused)
{
	unsigned char	*bin, *other;
	char		*pem;
	size_t		 len, olen, pkoff, skoff;

	pkoff = HEAD_LEN + 8 + 15 + 4;	/* the private section's pk */
	skoff = pkoff + 32 + 4;		/* its sk: seed, then pk */
	bin = fresh_container(COMMENT, &len);
	other = fresh_container(COMMENT, &olen);

	/* Another key's public blob in the header. */
	memcpy(bin + 43, other + 43, 51);
	pem = armour(bin, len);
	refused_text(pem, "do not match");
	free(pem);
	free(bin);

	/* Another key's seed: everything else agrees, the seed does not. */
	bin = fresh_container(COMMENT, &len);
	memcpy(bin + skoff, other + skoff, 32);
	cr_assert(refused(bin, len));
	free(bin);

	/* The public key inside the section differs from the header's. */
	bin = fresh_container(COMMENT, &len);
	memcpy(bin + pkoff, other + pkoff, 32);
	cr_assert(refused(bin, len));
	free(bin);
	free(other);
}

Test(sshkey, other_key_types_and_counts_are_refused)
{
	unsigned char	*bin;
	size_t		 len;

	bin = fresh_container(COMMENT, &len);
	memcpy(bin + 47, "ssh-ed25518", 11);	/* in the public blob */
	cr_assert(refused(bin, len));
	free(bin);

	bin = fresh_container(COMMENT, &len);
	memcpy(bin + HEAD_LEN + 12, "ssh-ed25518", 11);	/* in the key */
	cr_assert(refused(bin, len));
	free(bin);

	bin = fresh_container(COMMENT, &len);
	put32(bin + 35, 2);			/* two keys */
	cr_assert(refused(bin, len));
	put32(bin + 35, 0);
	cr_assert(refused(bin, len));
	free(bin);
}

Test(sshkey, huge_lengths_and_trailing_bytes_are_refused)
{
	unsigned char	*bin, *big;
	size_t		 len;

	bin = fresh_container(COMMENT, &len);
	put32(bin + 39, 0xffffffffU);		/* public blob length */
	cr_assert(refused(bin, len));
	free(bin);

	bin = fresh_container(COMMENT, &len);
	put32(bin + 94, 0xfffffff8U);		/* section length */
	cr_assert(refused(bin, len));
	free(bin);

	bin = fresh_container(COMMENT, &len);
	/* The comment's length. */
	put32(bin + HEAD_LEN + 8 + 15 + 36 + 68, 0xffffffffU);
	cr_assert(refused(bin, len));
	free(bin);

	bin = fresh_container(COMMENT, &len);
	big = malloc(len + 8);
	cr_assert_neq(big, NULL);
	memcpy(big, bin, len);
	memset(big + len, 0, 8);
	cr_assert(refused(big, len + 8));
	free(big);
	free(bin);
}

Test(sshkey, text_that_is_not_a_key_is_refused)
{
	struct gr_sshkey	 k;
	char			*s, *line = NULL;

	refused_text("", "not an OpenSSH private key");
	refused_text("hello", "not an OpenSSH private key");
	refused_text("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n"
	    "-----END RSA PRIVATE KEY-----\n", "not an OpenSSH private key");
	refused_text(BEGIN END, "base64");
	refused_text(BEGIN "AAAA*AAA\n" END, "base64");
	refused_text(BEGIN "AAA\n" END, "base64");
	cr_assert_eq(gr_sshkey_public_from_private(NULL, NULL, &line, NULL,
	    0), -1);
	cr_assert_eq(line, NULL);

	cr_assert_eq(gr_sshkey_generate(COMMENT, &k), 0);
	/* A public line is not a private key. */
	refused_text(k.public_line, "not an OpenSSH private key");
	s = malloc(strlen(k.private_pem) + 8);
	cr_assert_neq(s, NULL);
	strcpy(s, k.private_pem);
	strcat(s, "extra\n");
	refused_text(s, "after");
	free(s);
	gr_sshkey_release(&k);
}

Test(sshkey, no_one_character_change_yields_another_key)
{
	struct gr_sshkey	 k;
	char			*s, *line, c;
	size_t			 i, keylen, accepted = 0;

	cr_assert_eq(gr_sshkey_generate(COMMENT, &k), 0);
	keylen = strlen("ssh-ed25519 ") + 68;	/* type and blob */
	s = strdup(k.private_pem);
	cr_assert_neq(s, NULL);
	for (i = strlen(BEGIN); s[i] != '-'; i++) {
		if ((c = s[i]) == '\n')
			continue;
		s[i] = c == 'A' ? 'B' : 'A';
		line = NULL;
		if (gr_sshkey_public_from_private(s, NULL, &line, NULL,
		    0) == 0) {
			/* Only the comment may change unnoticed. */
			cr_assert_eq(strncmp(line, k.public_line, keylen), 0,
			    "changing byte %zu gave %s", i, line);
			free(line);
			accepted++;
		} else
			cr_assert_eq(line, NULL);
		s[i] = c;
	}
	cr_assert_lt(accepted, 30);
	free(s);
	gr_sshkey_release(&k);
}

Test(sshkey, fingerprint_is_openssh_sha256)
{
	unsigned char	 blob[51];
	char		*fp;
	int		 i;

	/* ssh-keygen -l gives this for the key 00 01 02 ... 1f. */
	put32(blob, 11);
	memcpy(blob + 4, "ssh-ed25519", 11);
	put32(blob + 15, 32);
	for (i = 0; i < 32; i++)
		blob[19 + i] = (unsigned char)i;
	fp = gr_sshkey_fingerprint(blob, sizeof(blob));
	cr_assert_str_eq(fp,
	    "SHA256:ZkAslGjFiUHdGf/WUL8rQvkib4PTvQatUV0OUQSncCA");
	free(fp);
}
