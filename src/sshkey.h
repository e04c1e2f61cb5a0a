/*
 * sshkey.h - OpenSSH ed25519 keys made and read with libsodium.
 *
 * An organization's build servers trust one key pair.  gr_sshkey_generate()
 * makes it: the public line goes into a server's authorized_keys, the
 * private key (an unencrypted "openssh-key-v1" PEM, as ssh-keygen writes
 * it) is sealed into the database and handed to libssh2 when connecting.
 * Both strings belong to the struct; gr_sshkey_release() frees them and
 * wipes the private key first.  Nothing here logs key material.
 */
#ifndef GRADIENT_SSHKEY_H
#define GRADIENT_SSHKEY_H

#include <stddef.h>

struct gr_sshkey {
	char	*public_line;	/* "ssh-ed25519 AAAA... comment", no \n */
	char	*private_pem;	/* "-----BEGIN OPENSSH PRIVATE KEY-----\n"
				   ... "-----END OPENSSH PRIVATE KEY-----\n" */
};

/* Longest comment accepted, in bytes. */
#define GR_SSHKEY_COMMENT_MAX	255

/*
 * A fresh key pair with this comment in both halves (NULL or "" for none;
 * no control characters, at most GR_SSHKEY_COMMENT_MAX bytes).  0, or -1
 * with both fields NULL (bad comment or out of memory).  Calls
 * gr_crypto_init() itself.
 */
int	 gr_sshkey_generate(const char *, struct gr_sshkey *);

/*
 * Parse an unencrypted openssh-key-v1 ed25519 private key and give its
 * public line in *line (caller frees), with this comment, or with the
 * key's own comment when comment is NULL.  0, or -1 with a reason in err
 * (which never quotes the key).
 */
int	 gr_sshkey_public_from_private(const char *pem, const char *comment,
	    char **line, char *err, size_t errsz);

/*
 * The OpenSSH fingerprint of a public key blob, "SHA256:" and the
 * unpadded base64 of its SHA-256, as ssh-keygen -l prints it.  The caller
 * frees; NULL when out of memory.
 */
char	*gr_sshkey_fingerprint(const unsigned char *, size_t);

/* Free both strings, wiping the private key; the struct may be reused. */
void	 gr_sshkey_release(struct gr_sshkey *);

#endif /* GRADIENT_SSHKEY_H */
