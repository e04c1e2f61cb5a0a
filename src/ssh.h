/*
 * ssh.h - reach a build server over SSH (libssh2) and check that it works.
 *
 * gr_ssh_check() logs in with the organization's key and runs
 * "nix-store --version".  It pins host keys by their blob: the caller
 * stores the blob seen on first use and passes it back afterwards, and a
 * different key is refused before the client authenticates.  It logs
 * nothing (the caller logs err once) and never puts key material in err.
 * Text that comes from the server (version, stderr, libssh2's messages)
 * is cut to one line with all but printable ASCII replaced by '?'.
 */
#ifndef GRADIENT_SSH_H
#define GRADIENT_SSH_H

#include <stddef.h>

struct gr_ssh_target {
	const char	*host;
	int		 port;
	const char	*user;
	const char	*private_pem;	/* the organization's key */
	const char	*known_hostkey;	/* base64 of the host key blob, or
					   NULL or "" on first use */
	int		 timeout;	/* seconds, for connect and each
					   step; <= 0 means 10 */
};

/*
 * Connect, check the host key (refuse a changed one), authenticate with
 * the key, run "nix-store --version" and read its output.  On success
 * returns 0, *version is the first line of output (caller frees) and
 * *hostkey the base64 blob of the host key seen (caller frees; the caller
 * stores it on first use).  On failure returns -1, both pointers NULL,
 * with a message in err naming the cause, such as:
 *   "cannot resolve host 'X'", "cannot connect to X:P: Connection refused",
 *   "connection to X:P timed out", "SSH handshake with X:P failed: ...",
 *   "host key of X:P has changed (SHA256:... was expected, SHA256:... was
 *   offered); refusing to connect", "the server did not accept the
 *   organization's key for user 'U'", "nix-store is not available on X:P
 *   (exit status 127): <first line of stderr>".
 * The key is checked (gr_sshkey_public_from_private) before anything is
 * sent.  The call blocks: the timeout bounds the connect (all addresses
 * together), each libssh2 call (handshake, authentication, channel open,
 * exec, close) and the reading of the output.  A dead or silent server
 * costs one timeout; only a server that answers each step just in time
 * can stretch it to a few.  getaddrinfo(3) is not bounded by it.
 */
int	 gr_ssh_check(const struct gr_ssh_target *, char **version,
	    char **hostkey, char *err, size_t errsz);

#endif /* GRADIENT_SSH_H */
