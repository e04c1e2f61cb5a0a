/*
 * test_http.c - unit tests for src/http.c: the answer envelope, status
 * mapping, extra headers and the path segment and UTF-8 grammars.
 *
 * Envelopes are checked by parsing r.out with json-c, so a test sees
 * what a client sees: the types of "error" and "message", not spelling.
 */
#include "config.h"

#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "src/http.h"

static struct gr_req		 r;
static struct json_object	*env;	/* the last envelope parsed */

static void
setup(void)
{
	gr_req_init(&r);
}

static void
teardown(void)
{
	json_object_put(env);
	env = NULL;
	gr_req_release(&r);
}

TestSuite(http, .init = setup, .fini = teardown);

/*
 * Parse r.out as an envelope with exactly the keys "error" and "message";
 * assert the status and error flag, and return the message.  The parsed
 * envelope is kept in env until the next call or teardown, so a failed
 * assertion leaks nothing.
 */
static struct json_object *
envelope(int status, int error)
{
	struct json_object	*e, *m;
	enum json_tokener_error	 jerr;

	json_object_put(env);
	env = NULL;
	cr_assert_eq(r.status, status);
	cr_assert_eq(r.answered, 1);
	cr_assert_eq(strlen(gr_buf_str(&r.out)), r.out.len,
	    "envelope has an embedded NUL");
	env = json_tokener_parse_verbose(gr_buf_str(&r.out), &jerr);
	cr_assert_not_null(env, "envelope '%s' is not JSON: %s",
	    gr_buf_str(&r.out), json_tokener_error_desc(jerr));
	cr_assert(json_object_is_type(env, json_type_object));
	cr_assert_eq(json_object_object_length(env), 2, "envelope '%s'",
	    gr_buf_str(&r.out));
	cr_assert(json_object_object_get_ex(env, "error", &e));
	cr_assert(json_object_is_type(e, json_type_boolean));
	cr_assert_eq(json_object_get_boolean(e), error);
	cr_assert(json_object_object_get_ex(env, "message", &m));
	return m;
}

/* Assert an envelope whose message is the string want. */
static void
envelope_str(int status, int error, const char *want)
{
	struct json_object	*m;

	m = envelope(status, error);
	cr_assert(json_object_is_type(m, json_type_string), "message of '%s'",
	    gr_buf_str(&r.out));
	cr_assert_str_eq(json_object_get_string(m), want);
}

Test(http, req_init_defaults_to_200_unanswered)
{
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.answered, 0);
	cr_assert_null(r.method);
	cr_assert_null(r.user);
	cr_assert_eq(r.out.len, 0);
	cr_assert_eq(r.headers.len, 0);
}

Test(http, ok_takes_ownership_of_object)
{
	struct json_object	*o, *m, *v;

	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string("abc"));
	json_object_object_add(o, "n", json_object_new_int(3));
	cr_assert_eq(gr_http_ok(&r, o), 0);
	/* o now belongs to the envelope; LeakSanitizer checks it is put. */
	m = envelope(200, 0);
	cr_assert(json_object_is_type(m, json_type_object));
	cr_assert(json_object_object_get_ex(m, "id", &v));
	cr_assert_str_eq(json_object_get_string(v), "abc");
	cr_assert(json_object_object_get_ex(m, "n", &v));
	cr_assert_eq(json_object_get_int(v), 3);
}

Test(http, ok_with_array_message)
{
	struct json_object	*a, *m;

	a = json_object_new_array();
	json_object_array_add(a, json_object_new_string("x"));
	json_object_array_add(a, json_object_new_string("y"));
	gr_http_ok(&r, a);
	m = envelope(200, 0);
	cr_assert(json_object_is_type(m, json_type_array));
	cr_assert_eq(json_object_array_length(m), 2);
	cr_assert_str_eq(json_object_get_string(
	    json_object_array_get_idx(m, 1)), "y");
}

Test(http, ok_with_null_is_json_null)
{
	struct json_object	*m;

	gr_http_ok(&r, NULL);
	m = envelope(200, 0);
	cr_assert_null(m);
	cr_assert_str_eq(gr_buf_str(&r.out), "{\"error\":false,"
	    "\"message\":null}");
}

Test(http, ok_str_is_a_string_message)
{
	cr_assert_eq(gr_http_ok_str(&r, "200 ALIVE"), 0);
	envelope_str(200, 0, "200 ALIVE");
	cr_assert_str_eq(gr_buf_str(&r.out), "{\"error\":false,"
	    "\"message\":\"200 ALIVE\"}");
}

Test(http, message_is_escaped)
{
	const char	*nasty = "quote \" backslash \\ slash / nl \n tab \t "
	    "ctl \x01 utf8 \xc3\xa9 </script>";

	gr_http_ok_str(&r, nasty);
	envelope_str(200, 0, nasty);
}

Test(http, error_sets_status_and_flag)
{
	cr_assert_eq(gr_http_error(&r, 404, "Not Found"), 0);
	envelope_str(404, 1, "Not Found");
}

Test(http, error_with_status_200_keeps_error_flag)
{
	/* /auth/check-username answers 200 with "error": true. */
	gr_http_error(&r, 200, "Username is already taken");
	envelope_str(200, 1, "Username is already taken");
}

Test(http, errorf_formats_message)
{
	gr_http_errorf(&r, 413, "Request body is larger than %lld bytes",
	    8388608LL);
	envelope_str(413, 1, "Request body is larger than 8388608 bytes");
}

Test(http, later_answer_replaces_earlier_one)
{
	gr_http_ok_str(&r, "first");
	gr_http_error(&r, 500, "Internal Server Error");
	envelope_str(500, 1, "Internal Server Error");
}

Test(http, status_mapping)
{
	cr_assert_eq(gr_status_http(GR_OK), 200);
	cr_assert_eq(gr_status_http(GR_NOTFOUND), 404);
	cr_assert_eq(gr_status_http(GR_CONFLICT), 409);
	cr_assert_eq(gr_status_http(GR_INVALID), 400);
	cr_assert_eq(gr_status_http(GR_FORBIDDEN), 403);
	cr_assert_eq(gr_status_http(GR_ERROR), 500);
	cr_assert_eq(gr_status_http(GR_STATUS__MAX), 500);
	cr_assert_eq(gr_status_http((enum gr_status)42), 500);
}

Test(http, status_notfound_uses_reason_when_no_message)
{
	gr_http_status(&r, GR_NOTFOUND, NULL);
	envelope_str(404, 1, "Not Found");
}

Test(http, status_conflict_keeps_message)
{
	gr_http_status(&r, GR_CONFLICT, "Username is already taken");
	envelope_str(409, 1, "Username is already taken");
}

Test(http, status_invalid_is_400)
{
	gr_http_status(&r, GR_INVALID, "field 'name': expected a string");
	envelope_str(400, 1, "field 'name': expected a string");
}

Test(http, status_invalid_without_message_is_bad_request)
{
	gr_http_status(&r, GR_INVALID, NULL);
	envelope_str(400, 1, "Bad Request");
}

Test(http, status_forbidden_is_403)
{
	gr_http_status(&r, GR_FORBIDDEN, NULL);
	envelope_str(403, 1, "Forbidden");
}

Test(http, status_error_never_leaks_message)
{
	gr_http_status(&r, GR_ERROR, "relation \"user\" does not exist");
	envelope_str(500, 1, "Internal Server Error");
	cr_assert_null(strstr(gr_buf_str(&r.out), "relation"));
}

Test(http, status_error_without_message_is_generic)
{
	gr_http_status(&r, GR_ERROR, NULL);
	envelope_str(500, 1, "Internal Server Error");
}

Test(http, reason_phrases)
{
	cr_assert_str_eq(gr_http_reason(200), "OK");
	cr_assert_str_eq(gr_http_reason(401), "Unauthorized");
	cr_assert_str_eq(gr_http_reason(405), "Method Not Allowed");
	cr_assert_str_eq(gr_http_reason(413), "Payload Too Large");
	cr_assert_str_eq(gr_http_reason(429), "Too Many Requests");
	cr_assert_str_eq(gr_http_reason(500), "Internal Server Error");
	cr_assert_str_eq(gr_http_reason(799), "Unknown");
}

Test(http, header_appends_name_value_crlf)
{
	cr_assert_eq(gr_http_header(&r, "Allow", "GET, POST"), 0);
	cr_assert_str_eq(gr_buf_str(&r.headers), "Allow: GET, POST\r\n");
	cr_assert_eq(gr_http_header(&r, "WWW-Authenticate", "Bearer"), 0);
	cr_assert_str_eq(gr_buf_str(&r.headers),
	    "Allow: GET, POST\r\nWWW-Authenticate: Bearer\r\n");
	cr_assert_eq(r.headers.len, strlen("Allow: GET, POST\r\n"
	    "WWW-Authenticate: Bearer\r\n"));
	/* Headers are not the body. */
	cr_assert_eq(r.out.len, 0);
}

Test(http, reset_clears_answer_for_next_request)
{
	gr_http_header(&r, "Retry-After", "30");
	gr_http_error(&r, 429, "Too many failed logins");
	r.method = "POST";
	gr_req_reset(&r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.answered, 0);
	cr_assert_null(r.method);
	cr_assert_eq(r.out.len, 0);
	cr_assert_eq(r.headers.len, 0);
	cr_assert_str_eq(gr_buf_str(&r.out), "");
	cr_assert_str_eq(gr_buf_str(&r.headers), "");
	gr_http_ok_str(&r, "again");
	envelope_str(200, 0, "again");
}

Test(http, slug_accepts_its_grammar)
{
	char	 s[65];

	cr_assert_eq(gr_valid_slug("a"), 1);
	cr_assert_eq(gr_valid_slug("my-project_2"), 1);
	cr_assert_eq(gr_valid_slug("0"), 1);
	cr_assert_eq(gr_valid_slug("-_-"), 1);
	memset(s, 'a', 64);
	s[64] = '\0';
	cr_assert_eq(gr_valid_slug(s), 1);
}

Test(http, slug_rejects_outside_grammar)
{
	char	 s[66];

	memset(s, 'a', 65);
	s[65] = '\0';
	cr_assert_eq(gr_valid_slug(s), 0, "65 characters");
	cr_assert_eq(gr_valid_slug(""), 0);
	cr_assert_eq(gr_valid_slug("Project"), 0);
	cr_assert_eq(gr_valid_slug("a/b"), 0);
	cr_assert_eq(gr_valid_slug("/"), 0);
	cr_assert_eq(gr_valid_slug(".."), 0);
	cr_assert_eq(gr_valid_slug("a.b"), 0);
	cr_assert_eq(gr_valid_slug("a b"), 0);
	cr_assert_eq(gr_valid_slug("a%2f"), 0);
	cr_assert_eq(gr_valid_slug("caf\xc3\xa9"), 0);
	cr_assert_eq(gr_valid_slug("a\n"), 0);
}

Test(http, uuid_accepts_canonical_form)
{
	cr_assert_eq(gr_valid_uuid("123e4567-e89b-12d3-a456-426614174000"), 1);
	cr_assert_eq(gr_valid_uuid("00000000-0000-0000-0000-000000000000"), 1);
	cr_assert_eq(gr_valid_uuid("ABCDEF01-abcd-ABCD-abcd-0123456789AB"), 1);
}

Test(http, uuid_rejects_anything_else)
{
	static const char *const bad[] = {
		"",
		"123e4567-e89b-12d3-a456-42661417400",		/* 35 */
		"123e4567-e89b-12d3-a456-4266141740000",	/* 37 */
		"123e4567e-89b-12d3-a456-426614174000",		/* dash moved */
		"123e456-7e89b-12d3-a456-426614174000",
		"123e4567-e89b1-2d3-a456-426614174000",
		"123e4567-e89b-12d3a-456-426614174000",
		"123e4567-e89b-12d3-a4564-26614174000",
		"123e4567-e89b-12d3-a456-42661417400-",
		"123e4567+e89b-12d3-a456-426614174000",
		"123e4567-e89b-12d3-a456_426614174000",
		"123e4567e89b12d3a456426614174000",		/* no dashes */
		"{123e4567-e89b-12d3-a456-426614174000}",
		"123g4567-e89b-12d3-a456-426614174000",		/* not hex */
		"123e4567-e89b-12d3-a456-42661417400z",
		" 23e4567-e89b-12d3-a456-426614174000",
		"123e4567-e89b-12d3-a456-426614174000 ",
		"123e4567-e89b-12d3-a456-426614174000\n",
		"------------------------------------",
		"0x3e4567-e89b-12d3-a456-426614174000",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(gr_valid_uuid(bad[i]), 0, "'%s'", bad[i]);
}

#define UTF8(lit)	gr_valid_utf8((lit), sizeof(lit) - 1)

Test(http, utf8_accepts_valid_text)
{
	cr_assert_eq(gr_valid_utf8("", 0), 1);
	cr_assert_eq(UTF8("plain ascii ~\x7f"), 1);
	cr_assert_eq(UTF8("\xc2\x80"), 1);			/* U+0080 */
	cr_assert_eq(UTF8("caf\xc3\xa9"), 1);			/* 2 bytes */
	cr_assert_eq(UTF8("\xe0\xa0\x80"), 1);			/* U+0800 */
	cr_assert_eq(UTF8("\xe2\x82\xac"), 1);			/* euro */
	cr_assert_eq(UTF8("\xed\x9f\xbf"), 1);			/* U+D7FF */
	cr_assert_eq(UTF8("\xee\x80\x80"), 1);			/* U+E000 */
	cr_assert_eq(UTF8("\xef\xbf\xbf"), 1);			/* U+FFFF */
	cr_assert_eq(UTF8("\xf0\x90\x80\x80"), 1);		/* U+10000 */
	cr_assert_eq(UTF8("\xf0\x9f\x98\x80 ok"), 1);		/* emoji */
	cr_assert_eq(UTF8("\xf4\x8f\xbf\xbf"), 1);		/* U+10FFFF */
}

Test(http, utf8_rejects_overlong_forms)
{
	cr_assert_eq(UTF8("\xc0\x80"), 0);
	cr_assert_eq(UTF8("\xc1\xbf"), 0);
	cr_assert_eq(UTF8("\xc0\xaf"), 0);
	cr_assert_eq(UTF8("\xe0\x80\x80"), 0);
	cr_assert_eq(UTF8("\xe0\x9f\xbf"), 0);
	cr_assert_eq(UTF8("\xf0\x80\x80\x80"), 0);
	cr_assert_eq(UTF8("\xf0\x8f\xbf\xbf"), 0);
}

Test(http, utf8_rejects_surrogates)
{
	cr_assert_eq(UTF8("\xed\xa0\x80"), 0);		/* U+D800 */
	cr_assert_eq(UTF8("\xed\xbf\xbf"), 0);		/* U+DFFF */
	cr_assert_eq(UTF8("\xed\xa0\xbd\xed\xb8\x80"), 0);	/* CESU-8 */
}

Test(http, utf8_rejects_beyond_u10ffff)
{
	cr_assert_eq(UTF8("\xf4\x90\x80\x80"), 0);
	cr_assert_eq(UTF8("\xf5\x80\x80\x80"), 0);
	cr_assert_eq(UTF8("\xf7\xbf\xbf\xbf"), 0);
	cr_assert_eq(UTF8("\xf8\x88\x80\x80\x80"), 0);	/* 5-byte form */
	cr_assert_eq(UTF8("\xfc\x84\x80\x80\x80\x80"), 0);
	cr_assert_eq(UTF8("\xfe"), 0);
	cr_assert_eq(UTF8("\xff"), 0);
}

Test(http, utf8_rejects_truncated_sequences)
{
	cr_assert_eq(UTF8("\xc3"), 0);
	cr_assert_eq(UTF8("caf\xc3"), 0);
	cr_assert_eq(UTF8("\xe2\x82"), 0);
	cr_assert_eq(UTF8("\xf0\x9f\x98"), 0);
	cr_assert_eq(UTF8("\xe2\x82x"), 0);		/* ASCII too soon */
	cr_assert_eq(UTF8("\xc3\xc3\xa9"), 0);
	/* Length, not NUL, ends the input: a valid prefix is cut. */
	cr_assert_eq(gr_valid_utf8("\xe2\x82\xac", 2), 0);
	cr_assert_eq(gr_valid_utf8("\xe2\x82\xac", 3), 1);
}

Test(http, utf8_rejects_lone_continuation_bytes)
{
	cr_assert_eq(UTF8("\x80"), 0);
	cr_assert_eq(UTF8("a\xbf"), 0);
	cr_assert_eq(UTF8("\xe2\x82\xac\xac"), 0);
}

Test(http, utf8_rejects_embedded_nul)
{
	cr_assert_eq(UTF8("a\0b"), 0);
	cr_assert_eq(UTF8("\0"), 0);
	cr_assert_eq(UTF8("abc\0"), 0);
	cr_assert_eq(gr_valid_utf8("abc", 3), 1);
}
