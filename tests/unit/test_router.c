/*
 * test_router.c - unit tests for fcgi/router.c and the handlers that
 * answer without a database.
 *
 * Each test builds a struct gr_req in memory, as fcgi/main.c would from
 * FastCGI parameters, with db = NULL.  Only paths that answer before any
 * model call are exercised: routing, 404/405, the bearer check up to the
 * JWT verification (auth_authenticate), the registration switch and the
 * input validation that precedes every query.  The configuration comes
 * from gr_config_load() on an empty temporary file, so it has the real
 * defaults.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <sodium.h>

#include "fcgi/handlers.h"
#include "src/conf.h"
#include "src/jwt.h"

#define JWT_SECRET	"router-test-secret-of-32-bytes-or-more"
#define SUB		"0b6a7c3e-8f1d-4e2a-9c5b-1d2e3f4a5b6c"
#define JTI		"f47ac10b-58cc-4372-a567-0e02b2c3d479"
#define BAD_USERNAME	"Invalid username: use 3 to 32 lowercase letters, " \
			"digits, '-' or '_'"

static struct gr_config		 cfg;
static struct gr_req		 r;
static struct json_object	*env;	/* the last envelope parsed */

static void
setup(void)
{
	char	 path[] = "/tmp/gr-router-XXXXXX", err[512] = "";
	int	 fd;

	cr_assert_geq(sodium_init(), 0);
	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	close(fd);
	unsetenv("GRADIENT_CONFIG");
	cr_assert_eq(gr_config_load(&cfg, path, err, sizeof(err)), 0, "%s",
	    err);
	unlink(path);
	/* Whatever the caller's environment says. */
	cfg.registration_disabled = 0;
	cfg.max_body_size = 8388608;
	cfg.jwt_secret_len = strlen(JWT_SECRET);
	cfg.jwt_secret = malloc(cfg.jwt_secret_len);
	cr_assert_not_null(cfg.jwt_secret);
	memcpy(cfg.jwt_secret, JWT_SECRET, cfg.jwt_secret_len);
	gr_req_init(&r);
}

static void
teardown(void)
{
	json_object_put(env);
	env = NULL;
	gr_req_release(&r);
	gr_config_release(&cfg);
}

TestSuite(router, .init = setup, .fini = teardown);

/* Dispatch one request; the strings are borrowed for the test. */
static void
dispatch(const char *method, const char *path, const char *authorization,
    const char *body)
{
	gr_req_reset(&r);
	r.cfg = &cfg;
	r.db = NULL;
	r.method = method;
	r.path = path;
	r.authorization = authorization;
	r.request_id = "unit-test";
	r.body = body;
	r.body_len = body != NULL ? strlen(body) : 0;
	cr_assert_eq(router_dispatch(&r), 0, "%s %s", method, path);
	cr_assert_eq(r.answered, 1, "%s %s: not answered", method, path);
	cr_assert_null(r.user);
}

/*
 * Parse r.out as an envelope; assert status and error flag, and return
 * the message.  The parsed envelope is kept in env until the next call or
 * teardown, so a failed assertion leaks nothing.
 */
static struct json_object *
envelope(int status, int error)
{
	struct json_object	*e, *m;

	json_object_put(env);
	env = NULL;
	cr_assert_eq(r.status, status, "%s %s: status %d, want %d (%s)",
	    r.method, r.path, r.status, status, gr_buf_str(&r.out));
	env = json_tokener_parse(gr_buf_str(&r.out));
	cr_assert_not_null(env, "'%s' is not JSON", gr_buf_str(&r.out));
	cr_assert(json_object_is_type(env, json_type_object));
	cr_assert_eq(json_object_object_length(env), 2);
	cr_assert(json_object_object_get_ex(env, "error", &e));
	cr_assert(json_object_is_type(e, json_type_boolean));
	cr_assert_eq(json_object_get_boolean(e), error, "'%s'",
	    gr_buf_str(&r.out));
	cr_assert(json_object_object_get_ex(env, "message", &m));
	return m;
}

static void
envelope_str(int status, int error, const char *want)
{
	struct json_object	*m;

	m = envelope(status, error);
	cr_assert(json_object_is_type(m, json_type_string), "'%s'",
	    gr_buf_str(&r.out));
	cr_assert_str_eq(json_object_get_string(m), want);
}

/* Assert an envelope whose message starts with prefix. */
static void
envelope_prefix(int status, int error, const char *prefix)
{
	struct json_object	*m;
	const char		*s;

	m = envelope(status, error);
	cr_assert(json_object_is_type(m, json_type_string));
	s = json_object_get_string(m);
	cr_assert_eq(strncmp(s, prefix, strlen(prefix)), 0,
	    "message '%s' does not start with '%s'", s, prefix);
}

static void
assert_flag(struct json_object *o, const char *key, int want)
{
	struct json_object	*v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no '%s'", key);
	cr_assert(json_object_is_type(v, json_type_boolean), "'%s'", key);
	cr_assert_eq(json_object_get_boolean(v), want, "'%s'", key);
}

Test(router, health_is_200_alive)
{
	dispatch("GET", "/api/v1/health", NULL, NULL);
	envelope_str(200, 0, "200 ALIVE");
	cr_assert_str_eq(gr_buf_str(&r.out),
	    "{\"error\":false,\"message\":\"200 ALIVE\"}");
	cr_assert_eq(r.headers.len, 0);
}

Test(router, health_ignores_authorization_and_body)
{
	dispatch("GET", "/api/v1/health", "Bearer garbage", "not json");
	envelope_str(200, 0, "200 ALIVE");
}

Test(router, config_reports_flags)
{
	struct json_object	*m;

	dispatch("GET", "/api/v1/config", NULL, NULL);
	m = envelope(200, 0);
	cr_assert(json_object_is_type(m, json_type_object));
	cr_assert_eq(json_object_object_length(m), 3);
	assert_flag(m, "oidc_enabled", 0);
	assert_flag(m, "registration_disabled", 0);
	assert_flag(m, "email_verification_enabled", 0);
}

Test(router, config_reports_registration_disabled)
{
	struct json_object	*m;

	cfg.registration_disabled = 1;
	dispatch("GET", "/api/v1/config", NULL, NULL);
	m = envelope(200, 0);
	assert_flag(m, "registration_disabled", 1);
}

Test(router, known_path_wrong_method_is_405)
{
	dispatch("POST", "/api/v1/health", NULL, "{}");
	envelope_str(405, 1, "Method POST is not allowed here; use GET");
	cr_assert_str_eq(gr_buf_str(&r.headers), "Allow: GET\r\n");
}

/* HEAD runs the GET handler; nginx sends only the head of the answer. */
Test(router, head_is_answered_as_get)
{
	dispatch("HEAD", "/api/v1/health", NULL, NULL);
	envelope_str(200, 0, "200 ALIVE");
}

Test(router, head_where_there_is_no_get_is_405)
{
	dispatch("HEAD", "/api/v1/auth/logout", NULL, NULL);
	envelope_str(405, 1, "Method HEAD is not allowed here; use POST");
	cr_assert_str_eq(gr_buf_str(&r.headers), "Allow: POST\r\n");
}

Test(router, method_is_case_sensitive)
{
	dispatch("get", "/api/v1/health", NULL, NULL);
	envelope_str(405, 1, "Method get is not allowed here; use GET");
}

Test(router, wrong_method_lists_every_allowed_method)
{
	dispatch("PUT", "/api/v1/user/keys", NULL, NULL);
	envelope_str(405, 1, "Method PUT is not allowed here; use GET, POST, "
	    "DELETE");
	cr_assert_str_eq(gr_buf_str(&r.headers),
	    "Allow: GET, POST, DELETE\r\n");
}

Test(router, wrong_method_on_protected_path_is_405_before_auth)
{
	dispatch("PATCH", "/api/v1/user", NULL, NULL);
	envelope_str(405, 1, "Method PATCH is not allowed here; use GET, "
	    "DELETE");
	cr_assert_str_eq(gr_buf_str(&r.headers), "Allow: GET, DELETE\r\n");
	cr_assert_null(strstr(gr_buf_str(&r.headers), "WWW-Authenticate"));
}

Test(router, unknown_paths_are_404)
{
	static const char *const paths[] = {
		"/api/v1/nope", "/other", "/", "", "/api", "/api/v1",
		"/api/v1/", "/api/v10/health", "/api/v1health",
		"/api/v2/health", "/API/V1/health", "/api/v1/HEALTH",
		"/api/v1/health/", "/api/v1//health", "/api/v1/health/extra",
		"/api/v1/healt", "/api/v1/healthz", "/api/v1/user/keys/x",
		"/api/v1/auth", "/api/v1/auth/basic", "/x/api/v1/health",
		"/api/v1/health?x=1", "/api/v1/../v1/health",
	};
	size_t	 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		dispatch("GET", paths[i], NULL, NULL);
		envelope_str(404, 1, "Not Found");
		cr_assert_eq(r.headers.len, 0, "'%s'", paths[i]);
	}
}

Test(router, unknown_path_with_any_method_is_404)
{
	dispatch("DELETE", "/api/v1/nope", NULL, NULL);
	envelope_str(404, 1, "Not Found");
	dispatch("POST", "/other", NULL, "{}");
	envelope_str(404, 1, "Not Found");
}

Test(router, very_long_path_is_404)
{
	char	 path[1024];

	memcpy(path, "/api/v1/", 8);
	memset(path + 8, 'a', sizeof(path) - 9);
	path[sizeof(path) - 1] = '\0';
	dispatch("GET", path, NULL, NULL);
	envelope_str(404, 1, "Not Found");
}

Test(router, protected_route_without_authorization_is_401)
{
	dispatch("GET", "/api/v1/user", NULL, NULL);
	envelope_str(401, 1, "Unauthorized");
	cr_assert_str_eq(gr_buf_str(&r.headers),
	    "WWW-Authenticate: Bearer\r\n");
	cr_assert_str_eq(r.session_id, "");
}

Test(router, garbage_bearer_token_is_401)
{
	dispatch("GET", "/api/v1/user", "Bearer garbage", NULL);
	envelope_str(401, 1, "Unauthorized");
	cr_assert_str_eq(gr_buf_str(&r.headers),
	    "WWW-Authenticate: Bearer\r\n");
}

Test(router, non_bearer_authorization_is_401)
{
	static const char *const auths[] = {
		"", "Bearer", "Bearer ", "Bearer    ", "bearer garbage",
		"Basic dXNlcjpwYXNzd29yZA==", "Token abc", "Bearerabc.def.ghi",
		"Bearer a.b.c",
		/* "GRAD" and 63 hex digits: no API key, so no lookup */
		"Bearer GRAD0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcde",
	};
	size_t	 i;

	for (i = 0; i < sizeof(auths) / sizeof(auths[0]); i++) {
		dispatch("GET", "/api/v1/user/keys", auths[i], NULL);
		envelope_str(401, 1, "Unauthorized");
		cr_assert_str_eq(gr_buf_str(&r.headers),
		    "WWW-Authenticate: Bearer\r\n", "'%s'", auths[i]);
	}
}

/* A JWT for SUB/JTI signed with key, expiring at exp (caller frees). */
static char *
bearer(const char *key, long long exp)
{
	struct gr_jwt_claims	 c;
	char			*tok, *h;
	size_t			 n;

	memset(&c, 0, sizeof(c));
	memcpy(c.sub, SUB, sizeof(c.sub));
	memcpy(c.jti, JTI, sizeof(c.jti));
	c.iat = exp - 3600;
	c.exp = exp;
	tok = gr_jwt_sign((const unsigned char *)key, strlen(key), &c);
	cr_assert_not_null(tok);
	n = strlen(tok) + 8;
	h = malloc(n);
	cr_assert_not_null(h);
	snprintf(h, n, "Bearer %s", tok);
	free(tok);
	return h;
}

Test(router, expired_jwt_is_401)
{
	char	*h;

	h = bearer(JWT_SECRET, (long long)time(NULL) - 10);
	dispatch("GET", "/api/v1/user", h, NULL);
	envelope_str(401, 1, "Unauthorized");
	cr_assert_str_eq(gr_buf_str(&r.headers),
	    "WWW-Authenticate: Bearer\r\n");
	cr_assert_str_eq(r.session_id, "");
	free(h);
}

Test(router, jwt_signed_with_another_secret_is_401)
{
	char	*h;

	h = bearer("some-other-secret-of-32-bytes-or-more",
	    (long long)time(NULL) + 3600);
	dispatch("POST", "/api/v1/auth/logout", h, NULL);
	envelope_str(401, 1, "Unauthorized");
	free(h);
}

Test(router, register_when_disabled_is_403)
{
	cfg.registration_disabled = 1;
	dispatch("POST", "/api/v1/auth/basic/register", NULL,
	    "{\"username\":\"alice\",\"name\":\"Alice\","
	    "\"email\":\"alice@example.com\","
	    "\"password\":\"correct-horse-battery\"}");
	envelope_str(403, 1, "Registration is disabled");
}

Test(router, register_when_disabled_is_403_even_with_bad_body)
{
	cfg.registration_disabled = 1;
	dispatch("POST", "/api/v1/auth/basic/register", NULL, "{");
	envelope_str(403, 1, "Registration is disabled");
}

Test(router, register_with_malformed_body_is_400)
{
	dispatch("POST", "/api/v1/auth/basic/register", NULL, "{\"username\":");
	envelope_str(400, 1, "request body is not valid JSON: unexpected end "
	    "of input");
}

Test(router, register_without_body_is_400)
{
	dispatch("POST", "/api/v1/auth/basic/register", NULL, NULL);
	envelope_str(400, 1, "request body is required: expected a JSON "
	    "object");
}

Test(router, register_missing_field_is_400)
{
	dispatch("POST", "/api/v1/auth/basic/register", NULL,
	    "{\"username\":\"alice\",\"name\":\"Alice\","
	    "\"password\":\"correct-horse-battery\"}");
	envelope_str(400, 1, "field 'email' is required");
}

Test(router, register_field_of_wrong_type_is_400)
{
	dispatch("POST", "/api/v1/auth/basic/register", NULL,
	    "{\"username\":42,\"name\":\"Alice\","
	    "\"email\":\"alice@example.com\","
	    "\"password\":\"correct-horse-battery\"}");
	envelope_str(400, 1, "field 'username': expected a string of 0 to "
	    "1024 characters");
}

Test(router, register_invalid_username_is_400)
{
	dispatch("POST", "/api/v1/auth/basic/register", NULL,
	    "{\"username\":\"Alice\",\"name\":\"Alice\","
	    "\"email\":\"alice@example.com\","
	    "\"password\":\"correct-horse-battery\"}");
	envelope_str(400, 1, BAD_USERNAME);
}

Test(router, register_weak_password_is_400)
{
	dispatch("POST", "/api/v1/auth/basic/register", NULL,
	    "{\"username\":\"alice\",\"name\":\"Alice\","
	    "\"email\":\"alice@example.com\",\"password\":\"short\"}");
	envelope_str(400, 1, "Password must be at least 8 characters long");
}

Test(router, login_missing_loginname_is_400)
{
	dispatch("POST", "/api/v1/auth/basic/login", NULL,
	    "{\"password\":\"x\"}");
	envelope_str(400, 1, "field 'loginname' is required");
}

Test(router, login_remember_me_must_be_boolean)
{
	dispatch("POST", "/api/v1/auth/basic/login", NULL,
	    "{\"loginname\":\"alice\",\"password\":\"x\","
	    "\"remember_me\":\"yes\"}");
	envelope_str(400, 1, "field 'remember_me': expected true or false");
}

Test(router, login_body_must_be_object)
{
	dispatch("POST", "/api/v1/auth/basic/login", NULL,
	    "[\"alice\",\"x\"]");
	envelope_str(400, 1, "request body must be a JSON object");
}

Test(router, check_username_invalid_is_200_with_error)
{
	dispatch("POST", "/api/v1/auth/check-username", NULL,
	    "{\"username\":\"no spaces\"}");
	envelope_str(200, 1, BAD_USERNAME);
}

Test(router, body_length_absent_is_zero)
{
	size_t	 len = 99;

	cr_assert_eq(router_body_length(NULL, 1024, &len), 0);
	cr_assert_eq(len, 0);
	len = 99;
	cr_assert_eq(router_body_length("", 1024, &len), 0);
	cr_assert_eq(len, 0);
	len = 99;
	cr_assert_eq(router_body_length("0", 1024, &len), 0);
	cr_assert_eq(len, 0);
}

Test(router, body_length_within_max)
{
	size_t	 len = 0;

	cr_assert_eq(router_body_length("10", 1024, &len), 0);
	cr_assert_eq(len, 10);
	cr_assert_eq(router_body_length("1024", 1024, &len), 0);
	cr_assert_eq(len, 1024);
}

Test(router, body_length_above_max_is_413)
{
	size_t	 len = 99;

	cr_assert_eq(router_body_length("1025", 1024, &len), 413);
	cr_assert_eq(len, 0);
	cr_assert_eq(router_body_length("20971520", 8388608, &len), 413);
	cr_assert_eq(len, 0);
}

Test(router, body_length_huge_is_413)
{
	size_t	 len = 99;

	cr_assert_eq(router_body_length("99999999999999999999999", 1024, &len),
	    413);
	cr_assert_eq(len, 0);
	cr_assert_eq(router_body_length("9223372036854775807", 1024, &len),
	    413);
}

Test(router, body_length_garbage_is_400)
{
	static const char *const bad[] = {
		"abc", "-1", "1e3", "10abc", " 10", "10 ", "0x10", "1.0",
		"-0x1", "--1",
	};
	size_t	 i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = 99;
		cr_assert_eq(router_body_length(bad[i], 1024, &len), 400,
		    "'%s'", bad[i]);
		cr_assert_eq(len, 0, "'%s'", bad[i]);
	}
}

/* Set r up with body and no answer yet. */
static void
with_body(const char *body)
{
	gr_req_reset(&r);
	r.cfg = &cfg;
	r.method = "POST";
	r.path = "/api/v1/auth/basic/login";
	r.body = body;
	r.body_len = strlen(body);
}

Test(router, req_json_object_returns_object)
{
	struct json_object	*o;

	with_body("{\"a\":1}");
	o = req_json_object(&r);
	cr_assert_not_null(o);
	cr_assert(json_object_is_type(o, json_type_object));
	cr_assert_eq(r.answered, 0);
	cr_assert_eq(r.out.len, 0);
	json_object_put(o);
}

Test(router, req_json_object_malformed_is_400)
{
	with_body("{\"a\":1,}");
	cr_assert_null(req_json_object(&r));
	cr_assert_eq(r.answered, 1);
	envelope_prefix(400, 1, "request body is not valid JSON");
}

Test(router, req_json_object_trailing_garbage_is_400)
{
	with_body("{\"a\":1} trailing");
	cr_assert_null(req_json_object(&r));
	envelope_prefix(400, 1, "request body is not valid JSON: ");
}

Test(router, req_json_object_invalid_utf8_is_400)
{
	with_body("{\"a\":\"\xff\xfe\"}");
	cr_assert_null(req_json_object(&r));
	envelope_prefix(400, 1, "request body is not valid JSON: ");
}

Test(router, req_json_object_array_is_400)
{
	with_body("[1,2]");
	cr_assert_null(req_json_object(&r));
	envelope_str(400, 1, "request body must be a JSON object");
}

/* Fill the stack below us with non-zero bytes, as a busy child's would. */
static void __attribute__((noinline))
dirty_stack(void)
{
	volatile char	 junk[8192];
	size_t		 i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = 'Z';
}

/*
 * A body of "null\n" is valid JSON, but not an object.  json-c gives a
 * top-level null as a NULL object, gr_json_parse() returns that as if it
 * had failed but without writing a message, and req_json_object() then
 * answers with whatever its uninitialised err[] buffer held.
 */
Test(router, req_json_object_null_is_400_not_an_object)
{
	with_body("null\n");
	dirty_stack();
	cr_assert_null(req_json_object(&r));
	envelope_str(400, 1, "request body must be a JSON object");
}
