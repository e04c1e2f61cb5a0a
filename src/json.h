/*
 * json.h - strict JSON parsing and typed field extraction over json-c.
 *
 * gr_json_parse() accepts exactly one strict JSON value of valid UTF-8,
 * nested at most GR_JSON_DEPTH deep.  The extractors check the type before
 * reading (json-c's getters coerce silently) and, on failure, write a
 * message naming the field into err: "field 'name': expected a string of
 * 1 to 64 characters".  Strings returned are borrowed from the object.
 */
#ifndef GRADIENT_JSON_H
#define GRADIENT_JSON_H

#include <stddef.h>

#include <json-c/json.h>

#define GR_JSON_DEPTH	32

enum gr_field {
	GR_FIELD_OPTIONAL = 0,
	GR_FIELD_REQUIRED = 1,
};

/* New object (caller puts), or NULL with a message in err. */
struct json_object *gr_json_parse(const char *, size_t, char *, size_t);
/* Parse a request body that must be a JSON object. */
struct json_object *gr_json_parse_object(const char *, size_t, char *, size_t);

/*
 * String field of min..max bytes.  Returns 1 when present (*out set),
 * 0 when absent and optional (*out NULL), -1 on error (err filled).
 */
int	 gr_json_string(struct json_object *, const char *, enum gr_field,
	    size_t, size_t, const char **, char *, size_t);
/* Boolean field; same returns; *out untouched when absent. */
int	 gr_json_bool(struct json_object *, const char *, enum gr_field,
	    int *, char *, size_t);
/* Integer field within [min, max]; same returns. */
int	 gr_json_int(struct json_object *, const char *, enum gr_field,
	    long long, long long, long long *, char *, size_t);
/* Serialize compactly; borrowed until the object changes or is put. */
const char *gr_json_text(struct json_object *, size_t *);

struct gr_buf;
/*
 * Append s as a JSON string, quoted and escaped as gr_json_text() would
 * ('/' left alone); for answers written without building json-c objects.
 * 0, or -1 when out of memory.
 */
int	 gr_json_quote(struct gr_buf *, const char *);

#endif /* GRADIENT_JSON_H */
