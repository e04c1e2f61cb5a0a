/*
 * test_state.c - unit tests for src/state.c: reading and validating the
 * state file, without a database.
 *
 * Each test parses a document from memory with gr_state_parse(); secret
 * files go into a fresh mkdtemp directory that is also the base for
 * relative paths.  Applying is tested against a real database in
 * tests/integration/test_state.py.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "src/buf.h"
#include "src/cachekey.h"
#include "src/crypto.h"
#include "src/sshkey.h"
#include "src/state.h"

static char	 dir[64];
static char	 err[1024];

static void
setup(void)
{
	cr_assert_eq(gr_crypto_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/gradient-test-state-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

TestSuite(state, .init = setup, .fini = teardown);

static void
put(const char *name, const void *p, size_t len)
{
	char	 path[256];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, p, len), (ssize_t)len);
	close(fd);
}

/* Parse text; 1 if it was accepted. */
static int
parse(const char *text)
{
	struct gr_state	*s;

	err[0] = '\0';
	s = gr_state_parse(text, strlen(text), dir, err, sizeof(err));
	gr_state_free(s);
	return s != NULL;
}

static void
refused(const char *text, const char *want)
{
	cr_assert_eq(parse(text), 0, "accepted: %s", text);
	cr_assert_str_eq(err, want);
}

static void
refused_prefix(const char *text, const char *want)
{
	cr_assert_eq(parse(text), 0, "accepted: %s", text);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "got: %s", err);
}

static void
refused_containing(const char *text, const char *want)
{
	cr_assert_eq(parse(text), 0, "accepted: %s", text);
	cr_assert_not_null(strstr(err, want), "got: %s", err);
}

#define ORG(x)	"{\"organizations\": [{\"name\": \"acme\", \"display_name\": " \
		"\"Acme\"" x "}]}"
#define SERVER(x) "{\"servers\": [{\"organization\": \"acme\", \"name\": " \
		"\"b1\", \"display_name\": \"B\", \"host\": \"10.0.0.5\", " \
		"\"username\": \"nix\", \"architectures\": [\"x86_64-linux\"]" \
		x "}]}"
#define PROJECT(x) "{\"projects\": [{\"organization\": \"acme\", \"name\": " \
		"\"web\", \"display_name\": \"Web\", \"repository\": " \
		"\"https://example.com/web.git\", \"evaluation_wildcard\": " \
		"\"packages.*\"" x "}]}"
#define USER(x)	"{\"users\": [{\"username\": \"alice\", \"name\": \"A\", " \
		"\"email\": \"alice@example.com\"" x "}]}"
#define CACHE(x) "{\"caches\": [{\"name\": \"main\", \"display_name\": " \
		"\"Main\"" x "}]}"

Test(state, empty_object_and_null_arrays_are_accepted)
{
	cr_assert_eq(parse("{}"), 1, "%s", err);
	cr_assert_eq(parse("{\"users\": [], \"organizations\": null}"), 1,
	    "%s", err);
}

Test(state, minimal_objects_are_accepted)
{
	cr_assert_eq(parse(ORG("")), 1, "%s", err);
	cr_assert_eq(parse(SERVER("")), 1, "%s", err);
	cr_assert_eq(parse(PROJECT("")), 1, "%s", err);
	cr_assert_eq(parse(USER("")), 1, "%s", err);
	cr_assert_eq(parse(CACHE("")), 1, "%s", err);
	/* An empty branch means none. */
	cr_assert_eq(parse(PROJECT(", \"branch\": \"\"")), 1, "%s", err);
}

Test(state, not_an_object_or_not_json)
{
	refused("", "empty file: expected a JSON object");
	refused("[]", "must be a JSON object");
	refused_prefix("{\"users\": [],}", "not valid JSON");
	refused_prefix("{} x", "not valid JSON");
}

Test(state, unknown_keys_are_refused)
{
	refused("{\"userz\": []}", "userz: unknown top-level field (expected "
	    "users, organizations, projects, servers, caches)");
	refused(ORG(", \"nmae\": \"x\""), "organizations[0].nmae: unknown "
	    "field (expected name, display_name, description, "
	    "private_key_file, members)");
	refused_prefix(ORG(", \"members\": [{\"username\": \"bob\", "
	    "\"role\": \"view\", \"rol\": 1}]"),
	    "organizations[0].members[0].rol: unknown field");
}

Test(state, field_errors_name_object_and_field)
{
	refused("{\"organizations\": [{\"name\": \"acme\"}]}",
	    "organizations[0].display_name: required field is missing");
	refused("{\"organizations\": [{\"name\": \"acme\", \"display_name\": "
	    "5}]}", "organizations[0].display_name: expected a string of 0 to "
	    "512 characters");
	refused("{\"organizations\": [{\"name\": \"Acme\", \"display_name\": "
	    "\"A\"}]}", "organizations[0].name: use 1 to 64 lowercase "
	    "letters, digits, '-' or '_'");
	refused("{\"organizations\": [{\"name\": \"acme\", \"display_name\": "
	    "\"\"}]}", "organizations[0].display_name: must not be empty");
	refused("{\"organizations\": [{\"name\": \"acme\", \"display_name\": "
	    "\"a\\nb\"}]}", "organizations[0].display_name: expected text of "
	    "at most 128 characters without control characters");
	refused(SERVER(", \"port\": 0"), "servers[0].port: expected an "
	    "integer from 1 to 65535");
	refused(SERVER(", \"active\": 1"), "servers[0].active: expected true "
	    "or false");
	refused("{\"users\": {}}", "users: expected an array");
	refused("{\"users\": [1]}", "users[0]: expected an object");
	refused(ORG(", \"members\": [{\"username\": \"bob\", \"role\": "
	    "\"owner\"}]"), "organizations[0].members[0].role: expected admin, "
	    "write or view");
}

Test(state, validators_match_the_api)
{
	refused(SERVER(", \"architectures\": []"), "servers[0].architectures: "
	    "expected an array of 1 to 16 entries");
	refused(SERVER(", \"architectures\": [\"vax\"]"),
	    "servers[0].architectures[0]: expected a Nix system such as "
	    "\"x86_64-linux\"");
	refused(SERVER(", \"features\": [\"kvm\", \"kvm\"]"),
	    "servers[0].features[1]: duplicate of features[0]");
	refused(SERVER(", \"host\": \"-oProxyCommand=x\""),
	    "servers[0].host: expected a host name or address");
	refused(PROJECT(", \"branch\": \"a..b\""),
	    "projects[0].branch: not a valid branch name");
	refused_prefix(PROJECT(", \"repository\": \"ext::sh -c x\""),
	    "projects[0].repository: expected a git URL");
	refused_prefix(PROJECT(", \"evaluation_wildcard\": \"a b\""),
	    "projects[0].evaluation_wildcard: expected attribute paths");
	refused_prefix("{\"users\": [{\"username\": \"Al\", \"name\": \"A\", "
	    "\"email\": \"a@example.com\"}]}", "users[0].username: Invalid "
	    "username");
	refused("{\"users\": [{\"username\": \"alice\", \"name\": \"A\", "
	    "\"email\": \"alice\"}]}", "users[0].email: Invalid email address");
	refused(CACHE(", \"priority\": 1001"), "caches[0].priority: expected "
	    "an integer from 0 to 1000");
	refused(CACHE(", \"organizations\": [\"Acme\"]"),
	    "caches[0].organizations[0]: expected an organization name");
}

Test(state, duplicates_are_refused)
{
	refused("{\"organizations\": [{\"name\": \"a\", \"display_name\": "
	    "\"A\"}, {\"name\": \"a\", \"display_name\": \"B\"}]}",
	    "organizations[1].name: 'a' is already defined by "
	    "organizations[0]");
	refused("{\"users\": [{\"username\": \"alice\", \"name\": \"A\", "
	    "\"email\": \"a@example.com\"}, {\"username\": \"bob\", \"name\": "
	    "\"B\", \"email\": \"A@EXAMPLE.COM\"}]}",
	    "users[1].email: already used by users[0]");
	refused(ORG(", \"members\": [{\"username\": \"bob\", \"role\": "
	    "\"view\"}, {\"username\": \"bob\", \"role\": \"admin\"}]"),
	    "organizations[0].members[1].username: 'bob' is already listed in "
	    "members[0]");
	/* The same name in two organizations is fine. */
	cr_assert_eq(parse("{\"projects\": ["
	    "{\"organization\": \"a\", \"name\": \"web\", \"display_name\": "
	    "\"W\", \"repository\": \"https://x/y\", \"evaluation_wildcard\": "
	    "\"p\"}, {\"organization\": \"b\", \"name\": \"web\", "
	    "\"display_name\": \"W\", \"repository\": \"https://x/y\", "
	    "\"evaluation_wildcard\": \"p\"}]}"), 1, "%s", err);
}

Test(state, password_files)
{
	char	 big[GR_STATE_MAX_SECRET + 2];

	put("pw", "correct-horse\n", 14);
	cr_assert_eq(parse(USER(", \"password_file\": \"pw\"")), 1, "%s", err);
	put("short", "abc\n", 4);
	refused(USER(", \"password_file\": \"short\""), "users[0].password_file: "
	    "Password must be at least 8 characters long");
	put("same", "alice@example.com", 17);
	refused(USER(", \"password_file\": \"same\""), "users[0].password_file: "
	    "Password must not be the username or the email address");
	put("nul", "correct\0horse", 13);
	refused_containing(USER(", \"password_file\": \"nul\""),
	    "/nul: contains a NUL byte");
	put("empty", "\n", 1);
	refused_containing(USER(", \"password_file\": \"empty\""),
	    "/empty: is empty");
	memset(big, 'x', sizeof(big));
	put("big", big, sizeof(big));
	refused_containing(USER(", \"password_file\": \"big\""),
	    "/big: larger than 65536 bytes");
	refused_prefix(USER(", \"password_file\": \"/nonexistent/pw\""),
	    "users[0].password_file: /nonexistent/pw: No such file");
	refused_prefix(USER(", \"password_file\": \"/\""),
	    "users[0].password_file: /: not a regular file");
}

Test(state, organization_key_files)
{
	struct gr_sshkey	 k;

	cr_assert_eq(gr_sshkey_generate("x", &k), 0);
	put("key", k.private_pem, strlen(k.private_pem));
	put("key.pub", k.public_line, strlen(k.public_line));
	gr_sshkey_release(&k);
	cr_assert_eq(parse(ORG(", \"private_key_file\": \"key\"")), 1, "%s",
	    err);
	refused_prefix(ORG(", \"private_key_file\": \"key.pub\""),
	    "organizations[0].private_key_file: key.pub: ");
}

/* sec with its public half (the last 32 bytes) taken from other. */
static char *
mix_halves(const char *sec, const char *other)
{
	struct gr_buf	 b = GR_BUF_INIT;
	unsigned char	*raw, *raw2;
	char		*b64;
	size_t		 n, n2;

	raw = gr_b64_decode(strchr(sec, ':') + 1, strlen(strchr(sec, ':') + 1),
	    &n);
	raw2 = gr_b64_decode(strchr(other, ':') + 1,
	    strlen(strchr(other, ':') + 1), &n2);
	cr_assert(raw != NULL && raw2 != NULL && n == 64 && n2 == 64);
	memcpy(raw + 32, raw2 + 32, 32);
	b64 = gr_b64_encode(raw, n);
	cr_assert_eq(gr_buf_addf(&b, "%.*s:%s", (int)(strchr(sec, ':') - sec),
	    sec, b64), 0);
	free(b64);
	free(raw);
	free(raw2);
	return gr_buf_detach(&b, NULL);
}

Test(state, cache_key_files)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*pub, *sec, *pub2, *sec2, *mixed;

	cr_assert_eq(gr_cachekey_generate("test-1", &pub, &sec), 0);
	cr_assert_eq(gr_cachekey_generate("test-1", &pub2, &sec2), 0);
	put("sec", sec, strlen(sec));
	cr_assert_eq(parse(CACHE(", \"signing_key_file\": \"sec\"")), 1, "%s",
	    err);
	/* A trailing newline is fine. */
	cr_assert_eq(gr_buf_addf(&b, "%s\n", sec), 0);
	put("sec", b.data, b.len);
	gr_buf_release(&b);
	cr_assert_eq(parse(CACHE(", \"signing_key_file\": \"sec\"")), 1, "%s",
	    err);
	/* The public key instead of the secret one. */
	put("pub", pub, strlen(pub));
	refused(CACHE(", \"signing_key_file\": \"pub\""),
	    "caches[0].signing_key_file: pub: not a Nix secret key "
	    "(NAME:BASE64 of 64 bytes, as written by nix-store "
	    "--generate-binary-cache-key)");
	/* One key's seed with another's public half. */
	mixed = mix_halves(sec, sec2);
	put("mixed", mixed, strlen(mixed));
	free(mixed);
	refused_prefix(CACHE(", \"signing_key_file\": \"mixed\""),
	    "caches[0].signing_key_file: mixed: not a Nix secret key");
	put("badname", "bad name:AAAA", 13);
	refused_prefix(CACHE(", \"signing_key_file\": \"badname\""),
	    "caches[0].signing_key_file: badname: not a Nix secret key");
	free(pub);
	free(sec);
	free(pub2);
	free(sec2);
}

Test(state, load_names_the_file_and_resolves_paths_from_its_directory)
{
	struct gr_state	*s;
	char		 path[256];
	const char	*doc = USER(", \"password_file\": \"pw\"");

	put("pw", "correct-horse\n", 14);
	put("state.json", doc, strlen(doc));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	s = gr_state_load(path, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	gr_state_free(s);
	put("state.json", "{\"x\": 1}", 8);
	cr_assert_null(gr_state_load(path, err, sizeof(err)));
	cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s", err);
	cr_assert_str_eq(err + strlen(path), ": x: unknown top-level field "
	    "(expected users, organizations, projects, servers, caches)");
}
