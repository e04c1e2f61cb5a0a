/*
 * json.c - strict parsing and typed extraction (see json.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "src/buf.h"
#include "src/http.h"
#include "src/json.h"

/*
 * RFC 8259 at the level of tokens: strings with valid escapes and no raw
 * control characters, numbers of the JSON grammar, the three literals,
 * structural characters and white space.  json-c is lenient about all of
 * these (single quotes, NaN, "1.", raw tabs), so they are checked here;
 * nesting and structure are left to json-c.  Returns NULL or the problem.
 */
static const char *
lex_check(const char *s, size_t len)
{
	static const char *const lits[] = { "true", "false", "null" };
	size_t	 i = 0, j, k, n;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '{' || c == '}' || c == '[' || c == ']' || c == ':' ||
		    c == ',') {
			i++;
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if ((unsigned char)s[i] < 0x20)
					return "control character in a string";
				if (s[i] != '\\')
					continue;
				if (++i == len)
					break;
				if (s[i] == 'u') {
					for (k = 1; k <= 4; k++)
						if (i + k >= len ||
						    !isxdigit((unsigned char)s[i + k]))
							return "bad \\u escape";
					i += 4;
				} else if (strchr("\"\\/bfnrt", s[i]) == NULL ||
				    s[i] == '\0')
					return "bad escape in a string";
			}
			if (i >= len)
				return "unexpected end of input";
			i++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			j = i;
			if (s[j] == '-')
				j++;
			if (j < len && s[j] == '0')
				j++;
			else if (j < len && s[j] >= '1' && s[j] <= '9')
				while (j < len && isdigit((unsigned char)s[j]))
					j++;
			else
				return "bad number";
			if (j < len && s[j] == '.') {
				if (++j >= len || !isdigit((unsigned char)s[j]))
					return "bad number";
				while (j < len && isdigit((unsigned char)s[j]))
					j++;
			}
			if (j < len && (s[j] == 'e' || s[j] == 'E')) {
				if (++j < len && (s[j] == '+' || s[j] == '-'))
					j++;
				if (j >= len || !isdigit((unsigned char)s[j]))
					return "bad number";
				while (j < len && isdigit((unsigned char)s[j]))
					j++;
			}
			i = j;
		} else {
			for (k = 0; k < sizeof(lits) / sizeof(lits[0]); k++) {
				n = strlen(lits[k]);
				if (len - i >= n && memcmp(s + i, lits[k], n) == 0)
					break;
			}
			if (k == sizeof(lits) / sizeof(lits[0]))
				return "unexpected character";
			i += strlen(lits[k]);
			if (i < len && isalnum((unsigned char)s[i]))
				return "unexpected character";
		}
	}
	return NULL;
}

/* Parse; *isnull is set when the value was a valid JSON null. */
static struct json_object *
parse(const char *s, size_t len, char *err, size_t errsz, int *isnull)
{
	struct json_tokener	*tok;
	struct json_object	*o = NULL;
	enum json_tokener_error	 jerr;
	const char		*why;
	size_t			 end;

	*isnull = 0;
	if (len > (size_t)INT32_MAX) {
		snprintf(err, errsz, "request body is not valid JSON: too large");
		return NULL;
	}
	/* json-c checks the shape of UTF-8 only, not overlongs or surrogates. */
	if (!gr_valid_utf8(s, len)) {
		snprintf(err, errsz, "request body is not valid JSON: invalid "
		    "UTF-8");
		return NULL;
	}
	if ((why = lex_check(s, len)) != NULL) {
		snprintf(err, errsz, "request body is not valid JSON: %s", why);
		return NULL;
	}
	if ((tok = json_tokener_new_ex(GR_JSON_DEPTH)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/*
		 * A number or literal at the very end may still be waiting
		 * for more digits: one space ends it.
		 */
		o = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
		if (jerr == json_tokener_continue) {
			snprintf(err, errsz, "request body is not valid JSON: "
			    "unexpected end of input");
			goto fail;
		}
	}
	if (jerr != json_tokener_success) {
		snprintf(err, errsz, "request body is not valid JSON: %s",
		    json_tokener_error_desc(jerr));
		goto fail;
	}
	/* Only white space may follow the value. */
	for (; end < len; end++) {
		if (s[end] != ' ' && s[end] != '\t' && s[end] != '\r' &&
		    s[end] != '\n') {
			snprintf(err, errsz, "request body is not valid JSON: "
			    "trailing data after the value");
			goto fail;
		}
	}
	if (o == NULL) {
		/* json-c represents a top-level null as NULL. */
		snprintf(err, errsz, "a JSON null is not accepted here");
		*isnull = 1;
		goto fail;
	}
	json_tokener_free(tok);
	return o;
fail:
	json_object_put(o);
	json_tokener_free(tok);
	return NULL;
}

struct json_object *
gr_json_parse(const char *s, size_t len, char *err, size_t errsz)
{
	int	 isnull;

	return parse(s, len, err, errsz, &isnull);
}

struct json_object *
gr_json_parse_object(const char *s, size_t len, char *err, size_t errsz)
{
	struct json_object	*o;
	int			 isnull;

	if (len == 0) {
		snprintf(err, errsz, "request body is required: expected a "
		    "JSON object");
		return NULL;
	}
	if ((o = parse(s, len, err, errsz, &isnull)) == NULL) {
		if (isnull)
			snprintf(err, errsz, "request body must be a JSON object");
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errsz, "request body must be a JSON object");
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Look up key; 1 found, 0 absent-and-optional, -1 absent-and-required. */
static int
lookup(struct json_object *o, const char *key, enum gr_field req,
    struct json_object **v, char *err, size_t errsz)
{
	if (!json_object_object_get_ex(o, key, v) || *v == NULL) {
		if (req == GR_FIELD_REQUIRED) {
			snprintf(err, errsz, "field '%s' is required", key);
			return -1;
		}
		return 0;
	}
	return 1;
}

int
gr_json_string(struct json_object *o, const char *key, enum gr_field req,
    size_t min, size_t max, const char **out, char *err, size_t errsz)
{
	struct json_object	*v;
	const char		*s;
	size_t			 len;
	int			 rc;

	*out = NULL;
	if ((rc = lookup(o, key, req, &v, err, errsz)) != 1)
		return rc;
	if (!json_object_is_type(v, json_type_string))
		goto bad;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	/* \u escapes can smuggle in NUL or lone surrogates. */
	if (!gr_valid_utf8(s, len)) {
		snprintf(err, errsz, "field '%s': expected valid UTF-8 text "
		    "without NUL characters", key);
		return -1;
	}
	if (len < min || len > max)
		goto bad;
	*out = s;
	return 1;
bad:
	if (min == max)
		snprintf(err, errsz, "field '%s': expected a string of %zu "
		    "characters", key, min);
	else
		snprintf(err, errsz, "field '%s': expected a string of %zu to "
		    "%zu characters", key, min, max);
	return -1;
}

int
gr_json_bool(struct json_object *o, const char *key, enum gr_field req,
    int *out, char *err, size_t errsz)
{
	struct json_object	*v;
	int			 rc;

	if ((rc = lookup(o, key, req, &v, err, errsz)) != 1)
		return rc;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errsz, "field '%s': expected true or false", key);
		return -1;
	}
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 1;
}

int
gr_json_int(struct json_object *o, const char *key, enum gr_field req,
    long long min, long long max, long long *out, char *err, size_t errsz)
{
	struct json_object	*v;
	long long		 n;
	int			 rc;

	if ((rc = lookup(o, key, req, &v, err, errsz)) != 1)
		return rc;
	if (!json_object_is_type(v, json_type_int))
		goto bad;
	n = (long long)json_object_get_int64(v);
	/* json-c saturates what does not fit in 64 bits: refuse the ends. */
	if (n == INT64_MAX || n == INT64_MIN || n < min || n > max)
		goto bad;
	*out = n;
	return 1;
bad:
	snprintf(err, errsz, "field '%s': expected an integer from %lld to "
	    "%lld", key, min, max);
	return -1;
}

const char *
gr_json_text(struct json_object *o, size_t *lenp)
{
	return json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, lenp);
}

int
gr_json_quote(struct gr_buf *b, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*run;
	char			 esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	if (gr_buf_addc(b, '"') == -1)
		return -1;
	for (run = s; *s != '\0'; s++) {
		unsigned char	 c = (unsigned char)*s;
		const char	*e = NULL;
		size_t		 elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0x0f];
			e = esc;
			elen = 6;
		}
		if (gr_buf_add(b, run, (size_t)(s - run)) == -1 ||
		    gr_buf_add(b, e, elen) == -1)
			return -1;
		run = s + 1;
	}
	if (gr_buf_add(b, run, (size_t)(s - run)) == -1)
		return -1;
	return gr_buf_addc(b, '"');
}
