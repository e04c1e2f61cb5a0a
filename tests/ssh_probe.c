/*
 * ssh_probe.c - a test driver for src/sshkey.c and src/ssh.c.
 *
 * tests/integration/test_sshd.py runs it against a private sshd, because
 * the API endpoint that will call gr_ssh_check() does not exist yet and
 * unit tests run no servers.  It is built by "make check" and never
 * installed.
 *
 *	ssh_probe keygen comment privfile pubfile
 *		write a new key pair: the PEM (mode 0600) and the public line
 *	ssh_probe pub privfile
 *		print the public line of a private key, with its own comment
 *	ssh_probe [-t seconds] host port user privfile [known_hostkey]
 *		gr_ssh_check(): print "ok <version>\n<hostkey>\n"
 *
 * On failure it prints "error <message>\n" on stdout and exits 1.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "src/buf.h"
#include "src/conf.h"
#include "src/crypto.h"
#include "src/ssh.h"
#include "src/sshkey.h"

#define KEYFILE_MAX	(64 * 1024)

static int	 fail(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/* Print "error <message>" and return 1. */
static int
fail(const char *fmt, ...)
{
	va_list	 ap;

	printf("error ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 1;
}

/* Write len bytes to path, created with mode; 0 or -1. */
static int
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	ssize_t	 n;
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1)
		return -1;
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (len > 0) {
		if ((n = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		data += n;
		len -= (size_t)n;
	}
	return close(fd);
fail:
	close(fd);
	return -1;
}

/* The whole file as a string in b (at most KEYFILE_MAX bytes); 0 or -1. */
static int
read_file(const char *path, struct gr_buf *b)
{
	char	 tmp[4096];
	ssize_t	 n;
	int	 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	gr_buf_set_max(b, KEYFILE_MAX);
	/* One allocation: no copy of the key is left behind by a realloc. */
	if (gr_buf_reserve(b, KEYFILE_MAX) == -1)
		goto out;
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || gr_buf_add(b, tmp, (size_t)n) == -1)
			goto out;
	}
	rc = 0;
out:
	sodium_memzero(tmp, sizeof(tmp));
	close(fd);
	return rc;
}

static int
keygen(const char *comment, const char *privfile, const char *pubfile)
{
	struct gr_sshkey	 k;
	char			*line = NULL;
	int			 rc = 1;

	if (gr_sshkey_generate(comment, &k) == -1)
		return fail("cannot generate a key with comment '%s'",
		    comment);
	if (asprintf(&line, "%s\n", k.public_line) == -1) {
		line = NULL;
		fail("out of memory");
		goto out;
	}
	if (write_file(privfile, k.private_pem, strlen(k.private_pem),
	    0600) == -1) {
		fail("cannot write '%s'", privfile);
		goto out;
	}
	if (write_file(pubfile, line, strlen(line), 0644) == -1) {
		fail("cannot write '%s'", pubfile);
		goto out;
	}
	rc = 0;
out:
	free(line);
	gr_sshkey_release(&k);
	return rc;
}

static int
pub(const char *privfile)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*line = NULL, err[256];
	int		 rc = 1;

	if (read_file(privfile, &b) == -1) {
		fail("cannot read '%s'", privfile);
		goto out;
	}
	if (gr_sshkey_public_from_private(gr_buf_str(&b), NULL, &line, err,
	    sizeof(err)) == -1) {
		fail("%s", err);
		goto out;
	}
	printf("%s\n", line);
	rc = 0;
out:
	free(line);
	if (b.data != NULL)
		sodium_memzero(b.data, b.cap);
	gr_buf_release(&b);
	return rc;
}

static int
check(int timeout, char **argv, int argc)
{
	struct gr_ssh_target	 t;
	struct gr_buf		 b = GR_BUF_INIT;
	const char		*errstr;
	char			*version = NULL, *hostkey = NULL, err[512];
	int			 rc = 1;

	memset(&t, 0, sizeof(t));
	t.host = argv[0];
	t.port = (int)gr_strtonum(argv[1], 1, 65535, &errstr);
	if (errstr != NULL)
		return fail("port '%s' is invalid", argv[1]);
	t.user = argv[2];
	t.known_hostkey = argc > 4 ? argv[4] : NULL;
	t.timeout = timeout;
	if (read_file(argv[3], &b) == -1) {
		fail("cannot read '%s'", argv[3]);
		goto out;
	}
	t.private_pem = gr_buf_str(&b);
	if (gr_ssh_check(&t, &version, &hostkey, err, sizeof(err)) == -1) {
		fail("%s", err);
		goto out;
	}
	printf("ok %s\n%s\n", version, hostkey);
	rc = 0;
out:
	free(version);
	free(hostkey);
	if (b.data != NULL)
		sodium_memzero(b.data, b.cap);
	gr_buf_release(&b);
	return rc;
}

static int
usage(void)
{
	fprintf(stderr, "usage: ssh_probe keygen comment privfile pubfile\n"
	    "       ssh_probe pub privfile\n"
	    "       ssh_probe [-t seconds] host port user privfile "
	    "[known_hostkey]\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	const char	*errstr;
	int		 timeout = 10;

	if (gr_crypto_init() == -1) {
		fprintf(stderr, "ssh_probe: cannot initialise libsodium\n");
		return 2;
	}
	argc--;
	argv++;
	if (argc == 4 && strcmp(argv[0], "keygen") == 0)
		return keygen(argv[1], argv[2], argv[3]);
	if (argc == 2 && strcmp(argv[0], "pub") == 0)
		return pub(argv[1]);
	if (argc >= 2 && strcmp(argv[0], "-t") == 0) {
		timeout = (int)gr_strtonum(argv[1], 1, 3600, &errstr);
		if (errstr != NULL)
			return usage();
		argc -= 2;
		argv += 2;
	}
	if (argc != 4 && argc != 5)
		return usage();
	return check(timeout, argv, argc);
}
