/*
 * test_ssh.c - unit tests for src/ssh.c: what gr_ssh_check refuses before
 * it opens a socket.
 *
 * Everything that needs a server (refused connections, host key pinning,
 * authentication, nix-store's exit status) is tested against a private
 * sshd in tests/integration/test_sshd.py; unit tests open no sockets, so
 * every target here is refused before gr_ssh_check() would dial.
 */
#include "config.h"

#include <string.h>

#include <criterion/criterion.h>

#include "src/ssh.h"

#define PEM	"-----BEGIN OPENSSH PRIVATE KEY-----\n" \
		"-----END OPENSSH PRIVATE KEY-----\n"

TestSuite(ssh);

/* A target that would be checked if it reached the network. */
static struct gr_ssh_target
target(void)
{
	struct gr_ssh_target	 t;

	memset(&t, 0, sizeof(t));
	t.host = "build.example.org";
	t.port = 22;
	t.user = "root";
	t.private_pem = PEM;
	t.timeout = 1;
	return t;
}

/* Check that t is refused with a message containing want. */
static void
refused(const struct gr_ssh_target *t, const char *want)
{
	char	 sentinel, *version = &sentinel, *hostkey = &sentinel;
	char	 err[256];

	err[0] = '\0';
	cr_assert_eq(gr_ssh_check(t, &version, &hostkey, err, sizeof(err)),
	    -1);
	cr_assert_eq(version, NULL);
	cr_assert_eq(hostkey, NULL);
	cr_assert_neq(strstr(err, want), NULL, "err is '%s', wanted '%s'",
	    err, want);
}

Test(ssh, bad_hosts_are_refused)
{
	struct gr_ssh_target	 t = target();

	t.host = NULL;
	refused(&t, "invalid host");
	t.host = "";
	refused(&t, "invalid host");
	t.host = "two words";
	refused(&t, "invalid host");
	t.host = "line\nbreak";
	refused(&t, "invalid host");
}

Test(ssh, bad_ports_are_refused)
{
	struct gr_ssh_target	 t = target();

	t.port = 0;
	refused(&t, "invalid port 0");
	t.port = 65536;
	refused(&t, "invalid port 65536");
	t.port = -22;
	refused(&t, "invalid port");
}

Test(ssh, bad_users_are_refused)
{
	struct gr_ssh_target	 t = target();

	t.user = NULL;
	refused(&t, "invalid user");
	t.user = "";
	refused(&t, "invalid user");
	t.user = "root\r";
	refused(&t, "invalid user");
}

Test(ssh, a_missing_key_is_refused)
{
	struct gr_ssh_target	 t = target();

	t.private_pem = NULL;
	refused(&t, "no SSH key");
	t.private_pem = "";
	refused(&t, "no SSH key");
}

Test(ssh, a_bad_key_is_refused_before_connecting)
{
	struct gr_ssh_target	 t = target();

	t.host = "127.0.0.1";
	t.port = 9;
	t.private_pem = "garbage";
	refused(&t, "the organization's key cannot be used: not an OpenSSH");
	t.private_pem = PEM;
	refused(&t, "the organization's key cannot be used: the key is not "
	    "valid base64");
}

Test(ssh, err_may_be_null)
{
	struct gr_ssh_target	 t = target();
	char			*version, *hostkey;

	t.port = 0;
	cr_assert_eq(gr_ssh_check(&t, &version, &hostkey, NULL, 0), -1);
	cr_assert_eq(version, NULL);
	cr_assert_eq(hostkey, NULL);
}

Test(ssh, err_is_cut_to_its_size)
{
	struct gr_ssh_target	 t = target();
	char			*version, *hostkey, err[8];

	t.port = 0;
	memset(err, 'x', sizeof(err));
	cr_assert_eq(gr_ssh_check(&t, &version, &hostkey, err, sizeof(err)),
	    -1);
	cr_assert_eq(strlen(err), sizeof(err) - 1);
}
