/*
 * test_json.c - unit tests for src/json.c: the strict parser and the
 * typed field extractors.
 *
 * Parser inputs are hostile on purpose: trailing bytes, broken UTF-8,
 * deep nesting, JavaScript-isms.  Extractor failures must name the field.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "src/buf.h"
#include "src/json.h"

#define NOT_JSON	"request body is not valid JSON: "

/* Parse len bytes of s; assert success and return the object. */
static struct json_object *
parse_ok(const char *s, size_t len)
{
	struct json_object	*o;
	char			 err[256] = "";

	o = gr_json_parse(s, len, err, sizeof(err));
	cr_assert_not_null(o, "'%.*s' refused: %s", (int)len, s, err);
	return o;
}

/* Parse len bytes of s; assert failure with a message starting want. */
static void
parse_fails(const char *s, size_t len, const char *want)
{
	struct json_object	*o;
	char			 err[256] = "";

	o = gr_json_parse(s, len, err, sizeof(err));
	if (o != NULL)
		json_object_put(o);
	cr_assert_null(o, "'%.*s' was accepted", (int)len, s);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0,
	    "'%.*s': message '%s' does not start with '%s'", (int)len, s, err,
	    want);
}

#define PARSE_OK(lit)		parse_ok((lit), sizeof(lit) - 1)
#define PARSE_FAILS(lit, w)	parse_fails((lit), sizeof(lit) - 1, (w))

/* Parse a JSON object literal for the extractor tests. */
static struct json_object *
obj(const char *s)
{
	struct json_object	*o;

	o = parse_ok(s, strlen(s));
	cr_assert(json_object_is_type(o, json_type_object));
	return o;
}

Test(json, parse_accepts_object)
{
	struct json_object	*o, *v;

	o = PARSE_OK("{\"name\":\"gradient\",\"n\":3,\"ok\":true,"
	    "\"list\":[1,2],\"none\":null,\"s\":\"\\u00e9\\n\"}");
	cr_assert(json_object_is_type(o, json_type_object));
	cr_assert(json_object_object_get_ex(o, "name", &v));
	cr_assert_str_eq(json_object_get_string(v), "gradient");
	cr_assert(json_object_object_get_ex(o, "s", &v));
	cr_assert_str_eq(json_object_get_string(v), "\xc3\xa9\n");
	json_object_put(o);
}

Test(json, parse_accepts_surrounding_white_space)
{
	json_object_put(PARSE_OK(" \t\r\n{\"a\":1} \t\r\n"));
	json_object_put(PARSE_OK("[1, 2, 3]\n"));
}

Test(json, parse_accepts_valid_multibyte_utf8)
{
	struct json_object	*o, *v;

	o = PARSE_OK("{\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
	cr_assert(json_object_object_get_ex(o, "s", &v));
	cr_assert_str_eq(json_object_get_string(v),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	json_object_put(o);
}

Test(json, parse_rejects_trailing_garbage)
{
	PARSE_FAILS("{\"a\":1}x", NOT_JSON);
	PARSE_FAILS("{\"a\":1} x", NOT_JSON);
	PARSE_FAILS("{\"a\":1}{}", NOT_JSON);
	PARSE_FAILS("{}\x0b", NOT_JSON);
	PARSE_FAILS("[1]]", NOT_JSON);
}

/* strchr(" \t\r\n", c) is true for c == '\0': NUL is not white space. */
Test(json, parse_rejects_trailing_nul_bytes)
{
	PARSE_FAILS("{}\0", NOT_JSON);
	PARSE_FAILS("{\"a\":1}\0\0\0", NOT_JSON);
}

Test(json, parse_rejects_empty_and_blank_input)
{
	PARSE_FAILS("", NOT_JSON "unexpected end of input");
	PARSE_FAILS("   \n", NOT_JSON "unexpected end of input");
}

Test(json, parse_rejects_unterminated_input)
{
	PARSE_FAILS("{", NOT_JSON "unexpected end of input");
	PARSE_FAILS("{\"a\":", NOT_JSON "unexpected end of input");
	PARSE_FAILS("{\"a\":[1,2", NOT_JSON "unexpected end of input");
	PARSE_FAILS("{\"a\":\"abc", NOT_JSON "unexpected end of input");
	PARSE_FAILS("[", NOT_JSON "unexpected end of input");
}

Test(json, parse_rejects_invalid_utf8_bytes)
{
	PARSE_FAILS("{\"a\":\"\xff\"}", NOT_JSON);
	PARSE_FAILS("{\"a\":\"\xfe\xff\"}", NOT_JSON);
	PARSE_FAILS("{\"a\":\"\x80\"}", NOT_JSON);	/* lone continuation */
	PARSE_FAILS("{\"a\":\"\xc3\"}", NOT_JSON);	/* truncated */
	PARSE_FAILS("{\"a\":\"\xe2\x82\"}", NOT_JSON);	/* truncated */
	PARSE_FAILS("{\"\xff\":1}", NOT_JSON);	/* in a key */
}

/*
 * json.h promises "valid UTF-8".  These byte sequences are well-formed
 * in shape but invalid UTF-8 (RFC 3629): an overlong NUL, a UTF-16
 * surrogate, a code point above U+10FFFF.
 */
Test(json, parse_rejects_overlong_utf8)
{
	PARSE_FAILS("{\"a\":\"\xc0\x80\"}", NOT_JSON);
	PARSE_FAILS("{\"a\":\"\xe0\x80\xaf\"}", NOT_JSON);
}

Test(json, parse_rejects_utf8_surrogates)
{
	PARSE_FAILS("{\"a\":\"\xed\xa0\x80\"}", NOT_JSON);
}

Test(json, parse_rejects_utf8_beyond_u10ffff)
{
	PARSE_FAILS("{\"a\":\"\xf4\x90\x80\x80\"}", NOT_JSON);
}

Test(json, parse_accepts_nesting_of_exactly_max_depth)
{
	char	 s[2 * GR_JSON_DEPTH];

	memset(s, '[', GR_JSON_DEPTH);
	memset(s + GR_JSON_DEPTH, ']', GR_JSON_DEPTH);
	json_object_put(parse_ok(s, sizeof(s)));
}

Test(json, parse_rejects_nesting_deeper_than_max_depth)
{
	char	 s[2 * (GR_JSON_DEPTH + 1)];

	memset(s, '[', GR_JSON_DEPTH + 1);
	memset(s + GR_JSON_DEPTH + 1, ']', GR_JSON_DEPTH + 1);
	parse_fails(s, sizeof(s), NOT_JSON "nesting too deep");
}

Test(json, parse_rejects_very_deep_nesting_without_crashing)
{
	static char	 s[200000];

	memset(s, '[', sizeof(s));
	parse_fails(s, sizeof(s), NOT_JSON "nesting too deep");
	memset(s, '{', sizeof(s));
	parse_fails(s, sizeof(s), NOT_JSON);
}

Test(json, parse_rejects_single_quoted_values)
{
	PARSE_FAILS("{\"a\":'x'}", NOT_JSON);
	PARSE_FAILS("['x']", NOT_JSON);
}

/* json-c's STRICT flag checks quotes on values but not on object keys. */
Test(json, parse_rejects_single_quoted_keys)
{
	PARSE_FAILS("{'a':1}", NOT_JSON);
}

Test(json, parse_rejects_non_strict_syntax)
{
	PARSE_FAILS("/* c */{}", NOT_JSON);
	PARSE_FAILS("{} // c", NOT_JSON);
	PARSE_FAILS("{\"a\":1,}", NOT_JSON);
	PARSE_FAILS("[1,]", NOT_JSON);
	PARSE_FAILS("{a:1}", NOT_JSON);
	PARSE_FAILS("{\"a\":01}", NOT_JSON);
	PARSE_FAILS("{\"a\":.5}", NOT_JSON);
	PARSE_FAILS("{\"a\":+1}", NOT_JSON);
	PARSE_FAILS("{\"a\":nan}", NOT_JSON);
	PARSE_FAILS("{\"a\":tru}", NOT_JSON);
	PARSE_FAILS("{\"a\":True}", NOT_JSON);
	PARSE_FAILS("{\"a\":\"\\x41\"}", NOT_JSON);
}

/* json-c's STRICT flag still takes these JavaScript number forms. */
Test(json, parse_rejects_non_json_numbers)
{
	PARSE_FAILS("{\"a\":NaN}", NOT_JSON);
	PARSE_FAILS("{\"a\":Infinity}", NOT_JSON);
	PARSE_FAILS("{\"a\":-Infinity}", NOT_JSON);
	PARSE_FAILS("{\"a\":1.}", NOT_JSON);
}

/* RFC 8259, section 7: control characters must be escaped in strings. */
Test(json, parse_rejects_raw_control_characters_in_strings)
{
	PARSE_FAILS("{\"a\":\"tab\there\"}", NOT_JSON);
	PARSE_FAILS("{\"a\":\"line\nbreak\"}", NOT_JSON);
	PARSE_FAILS("{\"a\":\"\x01\"}", NOT_JSON);
}

Test(json, parse_turns_lone_surrogate_escape_into_replacement_char)
{
	struct json_object	*o, *v;

	o = PARSE_OK("{\"a\":\"\\ud800x\"}");
	cr_assert(json_object_object_get_ex(o, "a", &v));
	cr_assert_str_eq(json_object_get_string(v), "\xef\xbf\xbdx");
	json_object_put(o);
}

/*
 * json.h: gr_json_parse() "accepts exactly one strict JSON value".  A bare
 * number or literal is one; json-c waits for more digits at the end of
 * the buffer, which gr_json_parse reports as "unexpected end of input".
 */
Test(json, parse_accepts_scalar_at_end_of_input)
{
	struct json_object	*o;

	o = PARSE_OK("1");
	cr_assert_eq(json_object_get_int(o), 1);
	json_object_put(o);
	json_object_put(PARSE_OK("true"));
}

Test(json, parse_object_accepts_object)
{
	struct json_object	*o;
	char			 err[256] = "";

	o = gr_json_parse_object("{\"a\":1}", 7, err, sizeof(err));
	cr_assert_not_null(o, "%s", err);
	json_object_put(o);
}

Test(json, parse_object_rejects_array)
{
	char	 err[256] = "";

	cr_assert_null(gr_json_parse_object("[{\"a\":1}]", 9, err,
	    sizeof(err)));
	cr_assert_str_eq(err, "request body must be a JSON object");
}

Test(json, parse_object_rejects_string)
{
	char	 err[256] = "";

	cr_assert_null(gr_json_parse_object("\"x\"", 3, err, sizeof(err)));
	cr_assert_str_eq(err, "request body must be a JSON object");
}

/*
 * json-c represents a top-level JSON null as a NULL object, which
 * gr_json_parse() returns as if it had failed, but without a message.
 */
Test(json, parse_object_rejects_null)
{
	char	 err[256] = "";

	cr_assert_null(gr_json_parse_object("null ", 5, err, sizeof(err)));
	cr_assert_str_eq(err, "request body must be a JSON object");
}

Test(json, parse_object_rejects_empty_body)
{
	char	 err[256] = "";

	cr_assert_null(gr_json_parse_object("", 0, err, sizeof(err)));
	cr_assert_str_eq(err, "request body is required: expected a JSON "
	    "object");
	/* A NULL body of length 0, as the router passes for no body. */
	err[0] = '\0';
	cr_assert_null(gr_json_parse_object(NULL, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "request body is required: expected a JSON "
	    "object");
}

Test(json, parse_object_rejects_malformed_body)
{
	char	 err[256] = "";

	cr_assert_null(gr_json_parse_object("{\"a\":", 5, err, sizeof(err)));
	cr_assert_str_eq(err, NOT_JSON "unexpected end of input");
}

Test(json, parse_honours_length_not_nul)
{
	struct json_object	*o;

	/* Only the first 7 bytes are the body. */
	o = parse_ok("{\"a\":1}garbage", 7);
	json_object_put(o);
}

Test(json, string_present)
{
	struct json_object	*o;
	const char		*s = NULL;
	char			 err[256] = "";

	o = obj("{\"name\":\"gradient\"}");
	cr_assert_eq(gr_json_string(o, "name", GR_FIELD_REQUIRED, 1, 64, &s,
	    err, sizeof(err)), 1, "%s", err);
	cr_assert_str_eq(s, "gradient");
	json_object_put(o);
}

Test(json, string_length_bounds_are_inclusive)
{
	struct json_object	*o;
	const char		*s;
	char			 err[256] = "";

	o = obj("{\"a\":\"abc\",\"e\":\"\"}");
	cr_assert_eq(gr_json_string(o, "a", GR_FIELD_REQUIRED, 3, 3, &s, err,
	    sizeof(err)), 1);
	cr_assert_str_eq(s, "abc");
	cr_assert_eq(gr_json_string(o, "e", GR_FIELD_REQUIRED, 0, 3, &s, err,
	    sizeof(err)), 1);
	cr_assert_str_eq(s, "");
	json_object_put(o);
}

Test(json, string_too_short_names_field)
{
	struct json_object	*o;
	const char		*s = "unset";
	char			 err[256] = "";

	o = obj("{\"name\":\"\"}");
	cr_assert_eq(gr_json_string(o, "name", GR_FIELD_REQUIRED, 1, 64, &s,
	    err, sizeof(err)), -1);
	cr_assert_null(s);
	cr_assert_str_eq(err, "field 'name': expected a string of 1 to 64 "
	    "characters");
	json_object_put(o);
}

Test(json, string_too_long_names_field)
{
	struct json_object	*o;
	const char		*s;
	char			 err[256] = "";

	o = obj("{\"slug\":\"abcdef\"}");
	cr_assert_eq(gr_json_string(o, "slug", GR_FIELD_REQUIRED, 1, 5, &s,
	    err, sizeof(err)), -1);
	cr_assert_str_eq(err, "field 'slug': expected a string of 1 to 5 "
	    "characters");
	json_object_put(o);
}

Test(json, string_exact_length_message)
{
	struct json_object	*o;
	const char		*s;
	char			 err[256] = "";

	o = obj("{\"id\":\"short\"}");
	cr_assert_eq(gr_json_string(o, "id", GR_FIELD_REQUIRED, 36, 36, &s,
	    err, sizeof(err)), -1);
	cr_assert_str_eq(err, "field 'id': expected a string of 36 "
	    "characters");
	json_object_put(o);
}

Test(json, string_wrong_type_names_field)
{
	struct json_object	*o;
	const char		*s;
	char			 err[256];
	static const char *const bodies[] = {
		"{\"name\":5}", "{\"name\":true}", "{\"name\":[\"x\"]}",
		"{\"name\":{\"x\":1}}", "{\"name\":1.5}",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		o = obj(bodies[i]);
		err[0] = '\0';
		cr_assert_eq(gr_json_string(o, "name", GR_FIELD_REQUIRED, 0, 64,
		    &s, err, sizeof(err)), -1, "%s", bodies[i]);
		cr_assert_str_eq(err, "field 'name': expected a string of 0 to "
		    "64 characters", "%s", bodies[i]);
		json_object_put(o);
	}
}

Test(json, string_with_embedded_nul_is_refused)
{
	struct json_object	*o;
	const char		*s;
	char			 err[256] = "";

	o = obj("{\"name\":\"a\\u0000b\"}");
	cr_assert_eq(gr_json_string(o, "name", GR_FIELD_REQUIRED, 0, 64, &s,
	    err, sizeof(err)), -1);
	cr_assert_str_eq(err, "field 'name': expected valid UTF-8 text "
	    "without NUL characters");
	json_object_put(o);
}

Test(json, required_missing_names_field)
{
	struct json_object	*o;
	const char		*s;
	int			 b;
	long long		 n;
	char			 err[256] = "";

	o = obj("{\"y\":1}");
	cr_assert_eq(gr_json_string(o, "x", GR_FIELD_REQUIRED, 0, 10, &s, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "field 'x' is required");
	err[0] = '\0';
	cr_assert_eq(gr_json_bool(o, "flag", GR_FIELD_REQUIRED, &b, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "field 'flag' is required");
	err[0] = '\0';
	cr_assert_eq(gr_json_int(o, "count", GR_FIELD_REQUIRED, 0, 10, &n, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "field 'count' is required");
	json_object_put(o);
}

Test(json, optional_missing_is_absent)
{
	struct json_object	*o;
	const char		*s = "unset";
	int			 b = 7;
	long long		 n = 7;
	char			 err[256] = "";

	o = obj("{}");
	cr_assert_eq(gr_json_string(o, "x", GR_FIELD_OPTIONAL, 1, 10, &s, err,
	    sizeof(err)), 0);
	cr_assert_null(s);
	cr_assert_eq(gr_json_bool(o, "x", GR_FIELD_OPTIONAL, &b, err,
	    sizeof(err)), 0);
	cr_assert_eq(b, 7);
	cr_assert_eq(gr_json_int(o, "x", GR_FIELD_OPTIONAL, 0, 10, &n, err,
	    sizeof(err)), 0);
	cr_assert_eq(n, 7);
	cr_assert_str_eq(err, "");
	json_object_put(o);
}

Test(json, null_counts_as_absent)
{
	struct json_object	*o;
	const char		*s = "unset";
	int			 b = 7;
	long long		 n = 7;
	char			 err[256] = "";

	o = obj("{\"x\":null}");
	cr_assert_eq(gr_json_string(o, "x", GR_FIELD_OPTIONAL, 1, 10, &s, err,
	    sizeof(err)), 0);
	cr_assert_null(s);
	cr_assert_eq(gr_json_bool(o, "x", GR_FIELD_OPTIONAL, &b, err,
	    sizeof(err)), 0);
	cr_assert_eq(b, 7);
	cr_assert_eq(gr_json_int(o, "x", GR_FIELD_OPTIONAL, 0, 10, &n, err,
	    sizeof(err)), 0);
	cr_assert_eq(n, 7);
	cr_assert_eq(gr_json_string(o, "x", GR_FIELD_REQUIRED, 1, 10, &s, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "field 'x' is required");
	json_object_put(o);
}

Test(json, bool_accepts_true_and_false)
{
	struct json_object	*o;
	int			 b = 7;
	char			 err[256] = "";

	o = obj("{\"t\":true,\"f\":false}");
	cr_assert_eq(gr_json_bool(o, "t", GR_FIELD_REQUIRED, &b, err,
	    sizeof(err)), 1);
	cr_assert_eq(b, 1);
	cr_assert_eq(gr_json_bool(o, "f", GR_FIELD_REQUIRED, &b, err,
	    sizeof(err)), 1);
	cr_assert_eq(b, 0);
	json_object_put(o);
}

Test(json, bool_rejects_number_and_string)
{
	struct json_object	*o;
	int			 b = 7;
	char			 err[256];
	static const char *const keys[] = { "one", "zero", "str", "arr" };
	char			 want[128];
	size_t			 i;

	o = obj("{\"one\":1,\"zero\":0,\"str\":\"true\",\"arr\":[true]}");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(gr_json_bool(o, keys[i], GR_FIELD_OPTIONAL, &b,
		    err, sizeof(err)), -1, "%s", keys[i]);
		snprintf(want, sizeof(want), "field '%s': expected true or "
		    "false", keys[i]);
		cr_assert_str_eq(err, want);
		cr_assert_eq(b, 7);
	}
	json_object_put(o);
}

Test(json, int_within_bounds)
{
	struct json_object	*o;
	long long		 n = 0;
	char			 err[256] = "";

	o = obj("{\"lo\":-5,\"hi\":10,\"big\":1099511627776}");
	cr_assert_eq(gr_json_int(o, "lo", GR_FIELD_REQUIRED, -5, 10, &n, err,
	    sizeof(err)), 1, "%s", err);
	cr_assert_eq(n, -5);
	cr_assert_eq(gr_json_int(o, "hi", GR_FIELD_REQUIRED, -5, 10, &n, err,
	    sizeof(err)), 1, "%s", err);
	cr_assert_eq(n, 10);
	cr_assert_eq(gr_json_int(o, "big", GR_FIELD_REQUIRED, 0, 1LL << 40,
	    &n, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(n, 1LL << 40);
	json_object_put(o);
}

Test(json, int_out_of_bounds_names_field_and_range)
{
	struct json_object	*o;
	long long		 n = 7;
	char			 err[256] = "";

	o = obj("{\"lo\":-6,\"hi\":11}");
	cr_assert_eq(gr_json_int(o, "lo", GR_FIELD_REQUIRED, -5, 10, &n, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "field 'lo': expected an integer from -5 to 10");
	cr_assert_eq(gr_json_int(o, "hi", GR_FIELD_REQUIRED, -5, 10, &n, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "field 'hi': expected an integer from -5 to 10");
	cr_assert_eq(n, 7);
	json_object_put(o);
}

Test(json, int_rejects_fraction_and_string)
{
	struct json_object	*o;
	long long		 n = 7;
	char			 err[256];
	static const char *const keys[] = { "frac", "whole", "str", "bool" };
	char			 want[128];
	size_t			 i;

	o = obj("{\"frac\":1.5,\"whole\":1.0,\"str\":\"1\",\"bool\":true}");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(gr_json_int(o, keys[i], GR_FIELD_REQUIRED, 0, 10,
		    &n, err, sizeof(err)), -1, "%s", keys[i]);
		snprintf(want, sizeof(want), "field '%s': expected an integer "
		    "from 0 to 10", keys[i]);
		cr_assert_str_eq(err, want);
		cr_assert_eq(n, 7);
	}
	json_object_put(o);
}

/*
 * json-c saturates integers beyond 64 bits to INT64_MIN/INT64_MAX (and
 * UINT64_MAX for large positives), so a range check against LLONG_MAX
 * cannot see that the number was out of range.
 */
Test(json, int_beyond_64_bits_is_refused)
{
	struct json_object	*o;
	long long		 n = 7, m = 7;
	char			 err[256] = "";
	int			 rn, rm;

	o = obj("{\"n\":99999999999999999999,\"m\":-99999999999999999999}");
	rn = gr_json_int(o, "n", GR_FIELD_REQUIRED, 0, LLONG_MAX, &n, err,
	    sizeof(err));
	rm = gr_json_int(o, "m", GR_FIELD_REQUIRED, LLONG_MIN, 0, &m, err,
	    sizeof(err));
	json_object_put(o);
	cr_assert_eq(rn, -1, "1e20 accepted as %lld", n);
	cr_assert_eq(rm, -1, "-1e20 accepted as %lld", m);
}

Test(json, text_is_compact_and_keeps_slashes)
{
	struct json_object	*o;
	const char		*t;
	size_t			 len = 0;

	o = obj("{ \"a\" : \"x/y\" , \"b\" : [ 1 , 2 ] }");
	t = gr_json_text(o, &len);
	cr_assert_str_eq(t, "{\"a\":\"x/y\",\"b\":[1,2]}");
	cr_assert_eq(len, strlen(t));
	json_object_put(o);
}

/* gr_json_quote() writes what json-c writes for the same string. */
Test(json, quote_matches_json_c)
{
	static const char *const samples[] = {
		"", "plain", "a\"b", "back\\slash", "a/b", "tab\there",
		"line\nbreak\r\n", "\b\f", "\x01\x02\x1f\x7f", "\xc3\xa9t\xc3\xa9",
		"\xf0\x9f\x98\x80 emoji", "</script>",
	};
	char		 all[32];
	struct gr_buf	 b = GR_BUF_INIT;
	size_t		 i, len;

	for (i = 1; i < sizeof(all); i++)
		all[i - 1] = (char)i;
	all[sizeof(all) - 1] = '\0';
	for (i = 0; i <= sizeof(samples) / sizeof(samples[0]); i++) {
		const char		*s = i < sizeof(samples) /
					    sizeof(samples[0]) ? samples[i] : all;
		struct json_object	*o = json_object_new_string(s);
		const char		*want = gr_json_text(o, &len);

		gr_buf_reset(&b);
		cr_assert_eq(gr_json_quote(&b, s), 0);
		cr_assert_str_eq(gr_buf_str(&b), want, "sample %zu", i);
		json_object_put(o);
	}
	gr_buf_release(&b);
}
