/*
 * http.c - the answer envelope, status mapping and input grammars.
 *
 * The only place that turns an enum gr_status into an HTTP code, and the
 * only writer of the {"error", "message"} envelope.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "src/http.h"
#include "src/json.h"

void
gr_req_init(struct gr_req *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
}

void
gr_req_reset(struct gr_req *r)
{
	struct gr_buf	 h = r->headers, o = r->out;

	gr_buf_reset(&h);
	gr_buf_reset(&o);
	/* Keep the buffers' memory, but cap what one request may keep. */
	if (o.cap > 1 << 20)
		gr_buf_release(&o);
	memset(r, 0, sizeof(*r));
	r->headers = h;
	r->out = o;
	r->status = 200;
}

void
gr_req_release(struct gr_req *r)
{
	gr_buf_release(&r->headers);
	gr_buf_release(&r->out);
	memset(r, 0, sizeof(*r));
}

int
gr_status_http(enum gr_status st)
{
	switch (st) {
	case GR_OK:
		return 200;
	case GR_NOTFOUND:
		return 404;
	case GR_CONFLICT:
		return 409;
	case GR_INVALID:
		return 400;
	case GR_FORBIDDEN:
		return 403;
	case GR_ERROR:
	case GR_STATUS__MAX:
		break;
	}
	return 500;
}

const char *
gr_http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static int
envelope(struct gr_req *r, int code, int error, struct json_object *msg)
{
	struct json_object	*env;
	const char		*text;
	size_t			 len;

	r->status = code;
	gr_buf_reset(&r->out);
	if ((env = json_object_new_object()) == NULL) {
		json_object_put(msg);
		goto oom;
	}
	json_object_object_add(env, "error", json_object_new_boolean(error));
	json_object_object_add(env, "message", msg);
	text = gr_json_text(env, &len);
	if (text == NULL || gr_buf_add(&r->out, text, len) == -1) {
		json_object_put(env);
		goto oom;
	}
	json_object_put(env);
	r->answered = 1;
	return 0;
oom:
	r->status = 500;
	gr_buf_reset(&r->out);
	gr_buf_adds(&r->out,
	    "{\"error\":true,\"message\":\"Internal Server Error\"}");
	r->answered = 1;
	return 0;
}

int
gr_http_ok(struct gr_req *r, struct json_object *msg)
{
	return envelope(r, 200, 0, msg);
}

int
gr_http_ok_json(struct gr_req *r, const char *msg, size_t len)
{
	static const char	 head[] = "{\"error\":false,\"message\":";

	r->status = 200;
	gr_buf_reset(&r->out);
	if (msg == NULL || gr_buf_add(&r->out, head, sizeof(head) - 1) == -1 ||
	    gr_buf_add(&r->out, msg, len) == -1 ||
	    gr_buf_addc(&r->out, '}') == -1)
		return envelope(r, 500, 1, json_object_new_string(
		    "Internal Server Error"));
	r->answered = 1;
	return 0;
}

int
gr_http_ok_str(struct gr_req *r, const char *s)
{
	return envelope(r, 200, 0, json_object_new_string(s));
}

int
gr_http_error(struct gr_req *r, int code, const char *msg)
{
	return envelope(r, code, 1, json_object_new_string(msg));
}

int
gr_http_errorf(struct gr_req *r, int code, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gr_http_error(r, code, msg);
}

int
gr_http_status(struct gr_req *r, enum gr_status st, const char *msg)
{
	int	 code = gr_status_http(st);

	if (msg == NULL || code >= 500)
		msg = code >= 500 ? "Internal Server Error" :
		    gr_http_reason(code);
	return gr_http_error(r, code, msg);
}

int
gr_http_header(struct gr_req *r, const char *name, const char *value)
{
	return gr_buf_addf(&r->headers, "%s: %s\r\n", name, value);
}

int
gr_valid_slug(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n >= 64)
			return 0;
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '_'))
			return 0;
	}
	return n > 0;
}

int
gr_valid_uuid(const char *s)
{
	size_t	 i;

	for (i = 0; i < 36; i++) {
		unsigned char	 c = (unsigned char)s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') ||
		    ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')))
			return 0;
	}
	return s[36] == '\0';
}

int
gr_valid_utf8(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, k;
	unsigned int		 cp;

	while (i < len) {
		if (p[i] == 0)
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}
