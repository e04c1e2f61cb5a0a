/*
 * json.c - strict parsing and typed extraction (see json.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "src/json.h"

struct json_object *
gr_json_parse(const char *s, size_t len, char *err, size_t errsz)
{
	struct json_tokener	*tok;
	struct json_object	*o = NULL;
	enum json_tokener_error	 jerr;
	size_t			 end;

	if (len > (size_t)INT32_MAX) {
		snprintf(err, errsz, "request body is not valid JSON: too large");
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
	if (jerr == json_tokener_continue) {
		/* Input ended inside a value. */
		snprintf(err, errsz, "request body is not valid JSON: "
		    "unexpected end of input");
		goto fail;
	}
	if (jerr != json_tokener_success) {
		snprintf(err, errsz, "request body is not valid JSON: %s",
		    json_tokener_error_desc(jerr));
		goto fail;
	}
	/* Only white space may follow the value. */
	end = json_tokener_get_parse_end(tok);
	for (; end < len; end++) {
		if (strchr(" \t\r\n", s[end]) == NULL) {
			snprintf(err, errsz, "request body is not valid JSON: "
			    "trailing data after the value");
			goto fail;
		}
	}
	json_tokener_free(tok);
	return o;
fail:
	json_object_put(o);
	json_tokener_free(tok);
	return NULL;
}

struct json_object *
gr_json_parse_object(const char *s, size_t len, char *err, size_t errsz)
{
	struct json_object	*o;

	if (len == 0) {
		snprintf(err, errsz, "request body is required: expected a "
		    "JSON object");
		return NULL;
	}
	if ((o = gr_json_parse(s, len, err, errsz)) == NULL)
		return NULL;
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
	if (len < min || len > max || memchr(s, '\0', len) != NULL)
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
	if (n < min || n > max)
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
