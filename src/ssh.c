/*
 * ssh.c - check a build server over SSH with libssh2 (see ssh.h).
 *
 * One call is one short session: a non-blocking connect bounded with
 * poll(2), then libssh2 in blocking mode with a per-call timeout for the
 * handshake, host key check, public key authentication and exec, and a
 * non-blocking loop that drains stdout and stderr together until EOF
 * (stderr shares the channel window, NIX-NOTES 4.7).  Every error names
 * its cause in err for the API client; nothing is logged here, so the
 * caller logs it once.  The organization's key goes only to libssh2.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>

#include "src/buf.h"
#include "src/crypto.h"
#include "src/ssh.h"
#include "src/sshkey.h"

#define DEFAULT_TIMEOUT	10		/* seconds */
#define COMMAND		"nix-store --version"
#define OUTPUT_MAX	(64 * 1024)	/* kept of stdout and of stderr */
#define LINE_MAX_SHOWN	200		/* of server text, in err */

/* One check in progress; everything here is released at the end. */
struct check {
	const struct gr_ssh_target	*t;
	char				 where[300];
	int				 fd;
	LIBSSH2_SESSION			*s;
	LIBSSH2_CHANNEL			*ch;
	struct timespec			 deadline;
	char				*err;
	size_t				 errsz;
};

static void	 check_err(struct check *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
check_err(struct check *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errsz, fmt, ap);
	va_end(ap);
}

/* libssh2_init once per process; libssh2 counts calls but we need one. */
static int
ssh_init(void)
{
	static int	 done;

	if (!done) {
		if (libssh2_init(0) != 0)
			return -1;
		done = 1;
	}
	return 0;
}

static void
deadline_set(struct check *c, int seconds)
{
	clock_gettime(CLOCK_MONOTONIC, &c->deadline);
	c->deadline.tv_sec += seconds;
}

/* Milliseconds left before the deadline, at least 0. */
static int
deadline_left(const struct check *c)
{
	struct timespec	 now;
	long long	 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(c->deadline.tv_sec - now.tv_sec) * 1000 +
	    (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/*
 * The first line of n bytes of server text into dst, cut to
 * LINE_MAX_SHOWN bytes, with everything but printable ASCII replaced by
 * '?': it ends up in logs and in JSON.
 */
static void
first_line(char *dst, size_t dstsz, const char *src, size_t n)
{
	size_t	 i, j = 0;

	for (i = 0; i < n && src[i] != '\n' && j + 1 < dstsz; i++) {
		if (src[i] == '\r' && (i + 1 == n || src[i + 1] == '\n'))
			continue;
		if (j == LINE_MAX_SHOWN) {
			if (dstsz - j > 3)
				j += (size_t)snprintf(dst + j, dstsz - j,
				    "...");
			break;
		}
		dst[j++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	}
	dst[j] = '\0';
}

/* Resolve and connect within the timeout; c->fd is a non-blocking socket. */
static int
dial(struct check *c)
{
	struct addrinfo		 hints, *res = NULL, *ai;
	struct pollfd		 pfd;
	socklen_t		 len;
	char			 port[16];
	int			 gai, fd = -1, error = 0, timedout = 0, n;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", c->t->port);
	if ((gai = getaddrinfo(c->t->host, port, &hints, &res)) != 0) {
		check_err(c, "cannot resolve host '%s': %s", c->t->host,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return -1;
	}
	deadline_set(c, c->t->timeout);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		timedout = 0;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			error = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			error = errno;
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			n = poll(&pfd, 1, deadline_left(c));
		} while (n == -1 && errno == EINTR);
		if (n == -1) {
			error = errno;
			goto next;
		}
		if (n == 0) {
			timedout = 1;
			goto next;
		}
		len = sizeof(error);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
			error = errno;
		if (error == 0)
			break;
next:
		close(fd);
		fd = -1;
		if (timedout)
			break;	/* no time is left for the next address */
	}
	freeaddrinfo(res);
	if (fd == -1) {
		if (timedout)
			check_err(c, "connection to %s timed out after %d s",
			    c->where, c->t->timeout);
		else
			check_err(c, "cannot connect to %s: %s", c->where,
			    strerror(error != 0 ? error : EHOSTUNREACH));
		return -1;
	}
	c->fd = fd;
	return 0;
}

/*
 * Fill err for a failed libssh2 call made during step, a noun phrase that
 * reads well before prep and the host ("SSH handshake" "with").
 */
static void
step_failed(struct check *c, int rc, const char *step, const char *prep)
{
	const char	*shown;
	char		*msg = NULL, line[LINE_MAX_SHOWN + 4];

	if (rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_EAGAIN) {
		check_err(c, "connection to %s timed out during %s (after "
		    "%d s)", c->where, step, c->t->timeout);
		return;
	}
	if (rc == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
	    rc == LIBSSH2_ERROR_SOCKET_RECV ||
	    rc == LIBSSH2_ERROR_SOCKET_SEND) {
		check_err(c, "%s %s %s failed: the connection was closed",
		    step, prep, c->where);
		return;
	}
	libssh2_session_last_error(c->s, &msg, NULL, 0);
	shown = msg != NULL && *msg != '\0' ? msg : "unknown libssh2 error";
	first_line(line, sizeof(line), shown, strlen(shown));
	check_err(c, "%s %s %s failed: %s", step, prep, c->where, line);
}

/* Compare the host key with the pinned one; *seen gets its base64. */
static int
hostkey_check(struct check *c, char **seen)
{
	const char	*hk;
	unsigned char	*known = NULL;
	char		*fpknown = NULL, *fpseen = NULL;
	size_t		 hklen, knownlen;
	int		 type, rc = -1;

	if ((hk = libssh2_session_hostkey(c->s, &hklen, &type)) == NULL ||
	    hklen == 0) {
		check_err(c, "SSH handshake with %s failed: no host key",
		    c->where);
		return -1;
	}
	if ((*seen = gr_b64_encode((const unsigned char *)hk, hklen)) ==
	    NULL) {
		check_err(c, "out of memory");
		return -1;
	}
	if (c->t->known_hostkey == NULL || c->t->known_hostkey[0] == '\0')
		return 0;	/* first use: the caller pins *seen */
	if ((known = gr_b64_decode(c->t->known_hostkey,
	    strlen(c->t->known_hostkey), &knownlen)) == NULL) {
		check_err(c, "the stored host key of %s is not valid base64; "
		    "refusing to connect", c->where);
		goto out;
	}
	if (knownlen == hklen && memcmp(known, hk, hklen) == 0) {
		rc = 0;
		goto out;
	}
	fpknown = gr_sshkey_fingerprint(known, knownlen);
	fpseen = gr_sshkey_fingerprint((const unsigned char *)hk, hklen);
	if (fpknown == NULL || fpseen == NULL) {
		check_err(c, "out of memory");
		goto out;
	}
	check_err(c, "host key of %s has changed (%s was expected, %s was "
	    "offered); refusing to connect", c->where, fpknown, fpseen);
out:
	free(known);
	free(fpknown);
	free(fpseen);
	return rc;
}

/* Wait until the socket is ready in the directions libssh2 wants. */
static int
wait_socket(struct check *c)
{
	struct pollfd	 pfd;
	int		 dir, n;

	dir = libssh2_session_block_directions(c->s);
	pfd.fd = c->fd;
	pfd.events = 0;
	if (dir == 0 || (dir & LIBSSH2_SESSION_BLOCK_INBOUND))
		pfd.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	do {
		n = poll(&pfd, 1, deadline_left(c));
	} while (n == -1 && errno == EINTR);
	if (n == 0)
		return LIBSSH2_ERROR_TIMEOUT;
	return n == -1 ? LIBSSH2_ERROR_SOCKET_RECV : 0;
}

/*
 * Read stdout and stderr until EOF, keeping OUTPUT_MAX bytes of each,
 * within one timeout.  Non-blocking, so that neither stream can stall the
 * other.  0, or a libssh2 error code.
 */
static int
drain(struct check *c, struct gr_buf *out, struct gr_buf *errout)
{
	char		 tmp[4096];
	ssize_t		 n;
	int		 busy, rc = 0;

	libssh2_session_set_blocking(c->s, 0);
	deadline_set(c, c->t->timeout);
	for (;;) {
		busy = 0;
		while ((n = libssh2_channel_read(c->ch, tmp,
		    sizeof(tmp))) > 0) {
			(void)gr_buf_add(out, tmp, (size_t)n);
			busy = 1;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			rc = (int)n;
			break;
		}
		while ((n = libssh2_channel_read_stderr(c->ch, tmp,
		    sizeof(tmp))) > 0) {
			(void)gr_buf_add(errout, tmp, (size_t)n);
			busy = 1;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			rc = (int)n;
			break;
		}
		if (libssh2_channel_eof(c->ch) == 1)
			break;
		if (!busy && (rc = wait_socket(c)) != 0)
			break;
	}
	libssh2_session_set_blocking(c->s, 1);
	return rc;
}

/* Run the command and check its exit status; *version on success. */
static int
run_command(struct check *c, char **version)
{
	struct gr_buf	 out = GR_BUF_INIT, errout = GR_BUF_INIT;
	char		 line[LINE_MAX_SHOWN + 4];
	char		 eline[LINE_MAX_SHOWN + 4];
	int		 rc, status, ret = -1;

	gr_buf_set_max(&out, OUTPUT_MAX);
	gr_buf_set_max(&errout, OUTPUT_MAX);
	if ((c->ch = libssh2_channel_open_session(c->s)) == NULL) {
		step_failed(c, libssh2_session_last_errno(c->s),
		    "opening a channel", "on");
		goto out;
	}
	if ((rc = libssh2_channel_exec(c->ch, COMMAND)) != 0) {
		step_failed(c, rc, "running '" COMMAND "'", "on");
		goto out;
	}
	/* nix-store --version reads nothing; a stray read must not hang. */
	if ((rc = libssh2_channel_send_eof(c->ch)) != 0) {
		step_failed(c, rc, "running '" COMMAND "'", "on");
		goto out;
	}
	if ((rc = drain(c, &out, &errout)) != 0) {
		step_failed(c, rc, "reading the output of '" COMMAND "'",
		    "on");
		goto out;
	}
	if ((rc = libssh2_channel_close(c->ch)) != 0 ||
	    (rc = libssh2_channel_wait_closed(c->ch)) != 0) {
		step_failed(c, rc, "closing the channel", "on");
		goto out;
	}
	status = libssh2_channel_get_exit_status(c->ch);
	first_line(line, sizeof(line), gr_buf_str(&out), out.len);
	first_line(eline, sizeof(eline), gr_buf_str(&errout), errout.len);
	if (status == 127) {
		check_err(c, "nix-store is not available on %s (exit status "
		    "127)%s%s", c->where, eline[0] != '\0' ? ": " : "", eline);
		goto out;
	}
	if (status != 0) {
		check_err(c, "'" COMMAND "' failed on %s (exit status %d)%s%s",
		    c->where, status, eline[0] != '\0' ? ": " : "", eline);
		goto out;
	}
	if (line[0] == '\0') {
		check_err(c, "'" COMMAND "' printed nothing on %s", c->where);
		goto out;
	}
	if ((*version = strdup(line)) == NULL) {
		check_err(c, "out of memory");
		goto out;
	}
	ret = 0;
out:
	gr_buf_release(&out);
	gr_buf_release(&errout);
	return ret;
}

/* 1 if s is non-empty, at most max bytes, and has no space or control. */
static int
word_valid(const char *s, size_t max)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0' || strlen(s) > max)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
gr_ssh_check(const struct gr_ssh_target *target, char **version,
    char **hostkey, char *err, size_t errsz)
{
	struct gr_ssh_target	 t;
	struct check		 c;
	char			*seen = NULL, *line = NULL, dummy[1];
	char			 why[128];
	int			 rc, handshaken = 0, ret = -1;

	*version = *hostkey = NULL;
	if (err == NULL || errsz == 0) {
		err = dummy;
		errsz = sizeof(dummy);
	}
	err[0] = '\0';
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.err = err;
	c.errsz = errsz;
	t = *target;
	if (t.timeout <= 0)
		t.timeout = DEFAULT_TIMEOUT;
	c.t = &t;

	if (!word_valid(t.host, 253)) {
		check_err(&c, "invalid host name");
		return -1;
	}
	if (t.port < 1 || t.port > 65535) {
		check_err(&c, "invalid port %d", t.port);
		return -1;
	}
	if (!word_valid(t.user, 64)) {
		check_err(&c, "invalid user name");
		return -1;
	}
	if (t.private_pem == NULL || t.private_pem[0] == '\0') {
		check_err(&c, "the organization has no SSH key");
		return -1;
	}
	/* A bad key is found here, not as a puzzling libssh2 error later. */
	if (gr_sshkey_public_from_private(t.private_pem, "", &line, why,
	    sizeof(why)) == -1) {
		check_err(&c, "the organization's key cannot be used: %s", why);
		return -1;
	}
	free(line);
	snprintf(c.where, sizeof(c.where), strchr(t.host, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", t.host, t.port);
	if (ssh_init() == -1) {
		check_err(&c, "cannot initialise libssh2");
		return -1;
	}

	if (dial(&c) == -1)
		goto out;
	if ((c.s = libssh2_session_init()) == NULL) {
		check_err(&c, "cannot create an SSH session: out of memory");
		goto out;
	}
	libssh2_session_set_blocking(c.s, 1);
	libssh2_session_set_timeout(c.s, (long)t.timeout * 1000);
	if ((rc = libssh2_session_handshake(c.s, c.fd)) != 0) {
		step_failed(&c, rc, "SSH handshake", "with");
		goto out;
	}
	handshaken = 1;
	if (hostkey_check(&c, &seen) == -1)
		goto out;

	rc = libssh2_userauth_publickey_frommemory(c.s, t.user,
	    strlen(t.user), NULL, 0, t.private_pem, strlen(t.private_pem),
	    NULL);
	if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ||
	    rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
		check_err(&c, "the server did not accept the organization's "
		    "key for user '%s'", t.user);
		goto out;
	}
	if (rc == LIBSSH2_ERROR_FILE ||
	    rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED) {
		check_err(&c, "the organization's key cannot be used (it is "
		    "not an unencrypted OpenSSH private key)");
		goto out;
	}
	if (rc != 0) {
		step_failed(&c, rc, "authentication", "with");
		goto out;
	}

	if (run_command(&c, version) == -1)
		goto out;
	*hostkey = seen;
	seen = NULL;
	ret = 0;
out:
	free(seen);
	if (c.ch != NULL)
		libssh2_channel_free(c.ch);
	if (c.s != NULL) {
		libssh2_session_set_blocking(c.s, 1);
		if (handshaken)
			libssh2_session_disconnect(c.s, "check done");
		libssh2_session_free(c.s);
	}
	if (c.fd != -1)
		close(c.fd);
	return ret;
}
