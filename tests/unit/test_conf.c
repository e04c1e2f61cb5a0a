/*
 * test_conf.c - unit tests for src/conf.c: defaults, the file format,
 * GRADIENT_<KEY> overrides, number and boolean parsing, secret files.
 *
 * Every file lives in a fresh mkdtemp(3) directory that .fini removes.
 * Criterion runs each test in its own process, so setenv() in one test
 * cannot leak into another; .init still clears any GRADIENT_* variable
 * inherited from the caller's environment.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "src/conf.h"

#define MAXFILES	8

static char	 tmpdir[64];
static char	 files[MAXFILES][128];
static size_t	 nfiles;

static const char *const envkeys[] = {
	"GRADIENT_CONFIG", "GRADIENT_CHILDREN", "GRADIENT_CRYPT_SECRET_FILE",
	"GRADIENT_DATABASE_URL", "GRADIENT_JWT_LIFETIME",
	"GRADIENT_JWT_REMEMBER_LIFETIME", "GRADIENT_JWT_SECRET_FILE",
	"GRADIENT_LISTEN", "GRADIENT_LOGIN_MAX_FAILURES",
	"GRADIENT_LOGIN_WINDOW", "GRADIENT_MAX_BODY_SIZE",
	"GRADIENT_REGISTRATION_DISABLED", "GRADIENT_SQL_DIR", "GRADIENT_USER",
};

static void
setup(void)
{
	const char	*t;
	size_t		 i;

	for (i = 0; i < sizeof(envkeys) / sizeof(envkeys[0]); i++)
		unsetenv(envkeys[i]);
	if ((t = getenv("TMPDIR")) == NULL || *t == '\0' || strlen(t) > 40)
		t = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/gr-conf-XXXXXX", t);
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp %s", tmpdir);
	nfiles = 0;
}

static void
teardown(void)
{
	size_t	 i;

	for (i = 0; i < nfiles; i++)
		unlink(files[i]);
	rmdir(tmpdir);
}

TestSuite(conf, .init = setup, .fini = teardown);

/* Write text to a new file in tmpdir; the path stays valid for the test. */
static const char *
write_file(const char *text, size_t len)
{
	char	*path;
	FILE	*fp;
	int	 fd;

	cr_assert_lt(nfiles, MAXFILES);
	path = files[nfiles];
	snprintf(path, sizeof(files[0]), "%s/f-XXXXXX", tmpdir);
	fd = mkstemp(path);
	cr_assert_neq(fd, -1, "mkstemp %s", path);
	nfiles++;
	fp = fdopen(fd, "w");
	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(text, 1, len, fp), len);
	cr_assert_eq(fclose(fp), 0);
	return path;
}

static const char *
write_conf(const char *text)
{
	return write_file(text, strlen(text));
}

/* Load path; assert success. */
static void
load_ok(struct gr_config *c, const char *path)
{
	char	 err[512] = "";

	cr_assert_eq(gr_config_load(c, path, err, sizeof(err)), 0,
	    "gr_config_load failed: %s", err);
}

/* Load path; assert failure with exactly the message want. */
static void
load_fails(const char *path, const char *want)
{
	struct gr_config	 c;
	char			 err[512] = "";

	cr_assert_eq(gr_config_load(&c, path, err, sizeof(err)), -1);
	cr_assert_str_eq(err, want);
	gr_config_release(&c);
}

Test(conf, empty_file_gives_defaults)
{
	struct gr_config	 c;

	load_ok(&c, write_conf(""));
	cr_assert_str_eq(c.database_url, "dbname=gradient");
	cr_assert_str_eq(c.listen, "/run/gradient/fcgi.sock");
	cr_assert_str_eq(c.user, "");
	cr_assert_str_eq(c.sql_dir, PKGDATADIR "/sql");
	cr_assert_str_eq(c.jwt_secret_file, SYSCONFDIR "/gradient/jwt_secret");
	cr_assert_str_eq(c.crypt_secret_file,
	    SYSCONFDIR "/gradient/crypt_secret");
	cr_assert_eq(c.children, 4);
	cr_assert_eq(c.max_body_size, 8388608);
	cr_assert_eq(c.registration_disabled, 0);
	cr_assert_eq(c.login_max_failures, 10);
	cr_assert_eq(c.login_window, 900);
	cr_assert_eq(c.jwt_lifetime, 86400);
	cr_assert_eq(c.jwt_remember_lifetime, 2592000);
	cr_assert_null(c.jwt_secret);
	cr_assert_eq(c.jwt_secret_len, 0);
	cr_assert_null(c.crypt_secret);
	gr_config_release(&c);
}

Test(conf, file_with_comments_blank_lines_and_spacing)
{
	struct gr_config	 c;

	load_ok(&c, write_conf(
	    "# Gradient configuration\n"
	    "\n"
	    "   \t\n"
	    "  # indented comment = not a key\n"
	    "children = 8\n"
	    "\tdatabase_url   =   host=/run/postgresql dbname=ci  \n"
	    "listen=127.0.0.1:9000\n"
	    "user = gradient\n"
	    "max_body_size = 1024\n"
	    "registration_disabled = true\n"
	    "login_window = 60"));	/* no final newline */
	cr_assert_eq(c.children, 8);
	/* Only the first '=' separates; the value keeps the rest, trimmed. */
	cr_assert_str_eq(c.database_url, "host=/run/postgresql dbname=ci");
	cr_assert_str_eq(c.listen, "127.0.0.1:9000");
	cr_assert_str_eq(c.user, "gradient");
	cr_assert_eq(c.max_body_size, 1024);
	cr_assert_eq(c.registration_disabled, 1);
	cr_assert_eq(c.login_window, 60);
	/* Keys not in the file keep their defaults. */
	cr_assert_eq(c.jwt_lifetime, 86400);
	gr_config_release(&c);
}

Test(conf, later_line_wins)
{
	struct gr_config	 c;

	load_ok(&c, write_conf("children = 2\nchildren = 3\n"));
	cr_assert_eq(c.children, 3);
	gr_config_release(&c);
}

Test(conf, empty_string_value_is_allowed)
{
	struct gr_config	 c;

	load_ok(&c, write_conf("user =\n"));
	cr_assert_str_eq(c.user, "");
	gr_config_release(&c);
}

Test(conf, unknown_key_names_file_and_line)
{
	const char	*path;
	char		 want[512];

	path = write_conf("# comment\nchildren = 2\n\nbogus_key = 1\n");
	snprintf(want, sizeof(want), "%s:4: unknown key 'bogus_key'", path);
	load_fails(path, want);
}

Test(conf, line_without_equals_names_file_and_line)
{
	const char	*path;
	char		 want[512];

	path = write_conf("children 2\n");
	snprintf(want, sizeof(want), "%s:1: expected 'key = value'", path);
	load_fails(path, want);
}

Test(conf, key_lookup_is_case_sensitive)
{
	const char	*path;
	char		 want[512];

	path = write_conf("Children = 2\n");
	snprintf(want, sizeof(want), "%s:1: unknown key 'Children'", path);
	load_fails(path, want);
}

Test(conf, integer_above_range_names_key_and_bounds)
{
	const char	*path;
	char		 want[512];

	path = write_conf("\nchildren = 257\n");
	snprintf(want, sizeof(want), "%s:2: 'children' is too large "
	    "(expected an integer from 1 to 256)", path);
	load_fails(path, want);
}

Test(conf, integer_below_range_names_key_and_bounds)
{
	const char	*path;
	char		 want[512];

	path = write_conf("max_body_size = 1023\n");
	snprintf(want, sizeof(want), "%s:1: 'max_body_size' is too small "
	    "(expected an integer from 1024 to 17179869184)", path);
	load_fails(path, want);
}

Test(conf, integer_garbage_is_invalid)
{
	const char	*path;
	char		 want[512];

	path = write_conf("login_window = 15m\n");
	snprintf(want, sizeof(want), "%s:1: 'login_window' is invalid "
	    "(expected an integer from 1 to 2592000)", path);
	load_fails(path, want);
}

Test(conf, integer_bounds_are_inclusive)
{
	struct gr_config	 c;

	load_ok(&c, write_conf("children = 256\nmax_body_size = 1024\n"
	    "jwt_lifetime = 60\njwt_remember_lifetime = 31536000\n"));
	cr_assert_eq(c.children, 256);
	cr_assert_eq(c.max_body_size, 1024);
	cr_assert_eq(c.jwt_lifetime, 60);
	cr_assert_eq(c.jwt_remember_lifetime, 31536000);
	gr_config_release(&c);
}

Test(conf, bool_words_are_parsed)
{
	struct gr_config	 c;
	static const struct {
		const char	*text;
		long long	 want;
	} cases[] = {
		{ "registration_disabled = true\n", 1 },
		{ "registration_disabled = YES\n", 1 },
		{ "registration_disabled = on\n", 1 },
		{ "registration_disabled = 1\n", 1 },
		{ "registration_disabled = false\n", 0 },
		{ "registration_disabled = No\n", 0 },
		{ "registration_disabled = OFF\n", 0 },
		{ "registration_disabled = 0\n", 0 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		load_ok(&c, write_file(cases[i].text, strlen(cases[i].text)));
		cr_assert_eq(c.registration_disabled, cases[i].want,
		    "%s", cases[i].text);
		gr_config_release(&c);
		unlink(files[--nfiles]);
	}
}

Test(conf, bool_garbage_names_key)
{
	const char	*path;
	char		 want[512];

	path = write_conf("registration_disabled = maybe\n");
	snprintf(want, sizeof(want), "%s:1: 'registration_disabled' expects "
	    "true or false", path);
	load_fails(path, want);
}

Test(conf, parse_bool)
{
	cr_assert_eq(gr_parse_bool("true"), 1);
	cr_assert_eq(gr_parse_bool("TrUe"), 1);
	cr_assert_eq(gr_parse_bool("yes"), 1);
	cr_assert_eq(gr_parse_bool("on"), 1);
	cr_assert_eq(gr_parse_bool("1"), 1);
	cr_assert_eq(gr_parse_bool("false"), 0);
	cr_assert_eq(gr_parse_bool("no"), 0);
	cr_assert_eq(gr_parse_bool("off"), 0);
	cr_assert_eq(gr_parse_bool("0"), 0);
	cr_assert_eq(gr_parse_bool(""), -1);
	cr_assert_eq(gr_parse_bool("2"), -1);
	cr_assert_eq(gr_parse_bool("truthy"), -1);
	cr_assert_eq(gr_parse_bool(" true"), -1);
	cr_assert_eq(gr_parse_bool("y"), -1);
}

Test(conf, environment_overrides_file)
{
	struct gr_config	 c;

	cr_assert_eq(setenv("GRADIENT_CHILDREN", "16", 1), 0);
	cr_assert_eq(setenv("GRADIENT_DATABASE_URL", "dbname=fromenv", 1), 0);
	cr_assert_eq(setenv("GRADIENT_REGISTRATION_DISABLED", "off", 1), 0);
	load_ok(&c, write_conf("children = 8\ndatabase_url = dbname=fromfile\n"
	    "registration_disabled = true\nlogin_window = 120\n"));
	cr_assert_eq(c.children, 16);
	cr_assert_str_eq(c.database_url, "dbname=fromenv");
	cr_assert_eq(c.registration_disabled, 0);
	/* Keys without a variable keep the file's value. */
	cr_assert_eq(c.login_window, 120);
	gr_config_release(&c);
}

Test(conf, environment_overrides_default)
{
	struct gr_config	 c;

	cr_assert_eq(setenv("GRADIENT_MAX_BODY_SIZE", "2048", 1), 0);
	cr_assert_eq(setenv("GRADIENT_JWT_REMEMBER_LIFETIME", "3600", 1), 0);
	load_ok(&c, write_conf(""));
	cr_assert_eq(c.max_body_size, 2048);
	cr_assert_eq(c.jwt_remember_lifetime, 3600);
	gr_config_release(&c);
}

Test(conf, unset_variable_no_longer_overrides)
{
	struct gr_config	 c;

	cr_assert_eq(setenv("GRADIENT_CHILDREN", "16", 1), 0);
	cr_assert_eq(unsetenv("GRADIENT_CHILDREN"), 0);
	load_ok(&c, write_conf("children = 8\n"));
	cr_assert_eq(c.children, 8);
	gr_config_release(&c);
}

Test(conf, bad_environment_value_names_variable_and_key)
{
	cr_assert_eq(setenv("GRADIENT_CHILDREN", "1000", 1), 0);
	load_fails(write_conf(""), "environment GRADIENT_CHILDREN: 'children' "
	    "is too large (expected an integer from 1 to 256)");
}

Test(conf, bad_environment_bool_names_variable)
{
	cr_assert_eq(setenv("GRADIENT_REGISTRATION_DISABLED", "nope", 1), 0);
	load_fails(write_conf(""), "environment GRADIENT_REGISTRATION_DISABLED:"
	    " 'registration_disabled' expects true or false");
}

Test(conf, missing_explicit_file_is_an_error)
{
	char	 path[128], want[256];

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	load_fails(path, want);
}

Test(conf, gradient_config_variable_names_the_file)
{
	struct gr_config	 c;

	cr_assert_eq(setenv("GRADIENT_CONFIG", write_conf("children = 5\n"),
	    1), 0);
	load_ok(&c, NULL);
	cr_assert_eq(c.children, 5);
	gr_config_release(&c);
}

Test(conf, gradient_config_naming_missing_file_is_an_error)
{
	char	 path[128], want[256];

	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	cr_assert_eq(setenv("GRADIENT_CONFIG", path, 1), 0);
	load_fails(NULL, want);
}

Test(conf, explicit_path_beats_gradient_config_variable)
{
	struct gr_config	 c;

	cr_assert_eq(setenv("GRADIENT_CONFIG", write_conf("children = 5\n"),
	    1), 0);
	load_ok(&c, write_conf("children = 6\n"));
	cr_assert_eq(c.children, 6);
	gr_config_release(&c);
}

Test(conf, release_clears_and_is_safe_after_failed_load)
{
	struct gr_config	 c;
	char			 err[256];

	cr_assert_eq(gr_config_load(&c, write_conf("user = x\nbogus = 1\n"),
	    err, sizeof(err)), -1);
	gr_config_release(&c);
	cr_assert_null(c.user);
	cr_assert_null(c.database_url);
	cr_assert_eq(c.children, 0);
}

Test(conf, strtonum_accepts_within_bounds)
{
	const char	*errstr = "unset";

	cr_assert_eq(gr_strtonum("42", 0, 100, &errstr), 42);
	cr_assert_null(errstr);
	cr_assert_eq(gr_strtonum("-5", -10, 10, &errstr), -5);
	cr_assert_null(errstr);
	cr_assert_eq(gr_strtonum("0", 0, 0, &errstr), 0);
	cr_assert_null(errstr);
	cr_assert_eq(gr_strtonum("100", 0, 100, &errstr), 100);
	cr_assert_null(errstr);
	cr_assert_eq(gr_strtonum("9223372036854775807", 0, LLONG_MAX,
	    &errstr), LLONG_MAX);
	cr_assert_null(errstr);
	cr_assert_eq(gr_strtonum("-9223372036854775808", LLONG_MIN, 0,
	    &errstr), LLONG_MIN);
	cr_assert_null(errstr);
}

Test(conf, strtonum_refuses_out_of_bounds)
{
	const char	*errstr;

	cr_assert_eq(gr_strtonum("101", 0, 100, &errstr), 0);
	cr_assert_str_eq(errstr, "too large");
	cr_assert_eq(gr_strtonum("-1", 0, 100, &errstr), 0);
	cr_assert_str_eq(errstr, "too small");
	cr_assert_eq(gr_strtonum("9223372036854775808", 0, LLONG_MAX,
	    &errstr), 0);
	cr_assert_str_eq(errstr, "too large");
	cr_assert_eq(gr_strtonum("-9223372036854775809", LLONG_MIN, 0,
	    &errstr), 0);
	cr_assert_str_eq(errstr, "too small");
	cr_assert_eq(gr_strtonum("99999999999999999999999", 0, 10, &errstr), 0);
	cr_assert_str_eq(errstr, "too large");
}

Test(conf, strtonum_refuses_garbage)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "\t1", "1\n", "abc", "12abc", "0x10", "1e3",
		"1.5", "--1", "-", "+",
	};
	const char	*errstr;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errstr = NULL;
		cr_assert_eq(gr_strtonum(bad[i], -100, 100, &errstr), 0,
		    "'%s'", bad[i]);
		cr_assert_str_eq(errstr, "invalid", "'%s'", bad[i]);
	}
	errstr = NULL;
	cr_assert_eq(gr_strtonum(NULL, 0, 10, &errstr), 0);
	cr_assert_str_eq(errstr, "invalid");
}

/* A config whose secret files are the given paths. */
static void
load_with_secrets(struct gr_config *c, const char *jwt, const char *crypt)
{
	char	 text[512];

	snprintf(text, sizeof(text), "jwt_secret_file = %s\n"
	    "crypt_secret_file = %s\n", jwt, crypt);
	load_ok(c, write_conf(text));
}

#define SECRET32	"0123456789abcdef0123456789ABCDEF"
#define SECRET31	"0123456789abcdef0123456789ABCDE"

Test(conf, secrets_are_read_and_one_newline_trimmed)
{
	struct gr_config	 c;
	const char		*jwt, *crypt;
	char			 err[512] = "";

	jwt = write_conf(SECRET32 "\n");
	crypt = write_conf(SECRET32 "XY");
	load_with_secrets(&c, jwt, crypt);
	cr_assert_eq(gr_config_load_secrets(&c, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(c.jwt_secret_len, 32);
	cr_assert_eq(memcmp(c.jwt_secret, SECRET32, 32), 0);
	cr_assert_eq(c.crypt_secret_len, 34);
	cr_assert_eq(memcmp(c.crypt_secret, SECRET32 "XY", 34), 0);
	gr_config_release(&c);
	cr_assert_null(c.jwt_secret);
	cr_assert_eq(c.jwt_secret_len, 0);
}

Test(conf, secret_keeps_all_but_one_trailing_newline)
{
	struct gr_config	 c;
	const char		*jwt;
	char			 err[512] = "";

	jwt = write_conf(SECRET32 "\n\n");
	load_with_secrets(&c, jwt, jwt);
	cr_assert_eq(gr_config_load_secrets(&c, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(c.jwt_secret_len, 33);
	cr_assert_eq(c.jwt_secret[32], '\n');
	gr_config_release(&c);
}

Test(conf, secret_keeps_binary_bytes)
{
	struct gr_config	 c;
	const char		*jwt;
	char			 err[512] = "";
	unsigned char		 raw[40];
	size_t			 i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7);	/* includes NUL */
	jwt = write_file((const char *)raw, sizeof(raw));
	load_with_secrets(&c, jwt, jwt);
	cr_assert_eq(gr_config_load_secrets(&c, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(c.jwt_secret_len, sizeof(raw));
	cr_assert_eq(memcmp(c.jwt_secret, raw, sizeof(raw)), 0);
	gr_config_release(&c);
}

Test(conf, short_jwt_secret_is_refused)
{
	struct gr_config	 c;
	const char		*jwt, *crypt;
	char			 err[512] = "", want[512];

	/* 31 bytes, and the trimmed newline does not count. */
	jwt = write_conf(SECRET31 "\n");
	crypt = write_conf(SECRET32);
	load_with_secrets(&c, jwt, crypt);
	cr_assert_eq(gr_config_load_secrets(&c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: secret must be at least 32 bytes",
	    jwt);
	cr_assert_str_eq(err, want);
	gr_config_release(&c);
}

Test(conf, short_crypt_secret_is_refused)
{
	struct gr_config	 c;
	const char		*jwt, *crypt;
	char			 err[512] = "", want[512];

	jwt = write_conf(SECRET32);
	crypt = write_conf("");
	load_with_secrets(&c, jwt, crypt);
	cr_assert_eq(gr_config_load_secrets(&c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: secret must be at least 32 bytes",
	    crypt);
	cr_assert_str_eq(err, want);
	gr_config_release(&c);
}

Test(conf, missing_secret_file_names_it)
{
	struct gr_config	 c;
	const char		*crypt;
	char			 err[512] = "", want[512], jwt[128];

	snprintf(jwt, sizeof(jwt), "%s/no-jwt-secret", tmpdir);
	crypt = write_conf(SECRET32);
	load_with_secrets(&c, jwt, crypt);
	cr_assert_eq(gr_config_load_secrets(&c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", jwt);
	cr_assert_str_eq(err, want);
	gr_config_release(&c);
}

Test(conf, oversized_secret_file_is_refused)
{
	struct gr_config	 c;
	const char		*jwt;
	char			*big, err[512] = "", want[512];
	size_t			 n = 65537;

	big = malloc(n);
	cr_assert_not_null(big);
	memset(big, 's', n);
	jwt = write_file(big, n);
	free(big);
	load_with_secrets(&c, jwt, jwt);
	cr_assert_eq(gr_config_load_secrets(&c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: secret file too large", jwt);
	cr_assert_str_eq(err, want);
	gr_config_release(&c);
}
