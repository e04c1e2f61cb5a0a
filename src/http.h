/*
 * http.h - one API request and its buffered answer, independent of FastCGI.
 *
 * fcgi/main.c fills a struct gr_req from the FastCGI parameters and body,
 * the router and handlers answer into it, and fcgi/main.c writes the
 * answer out.  Unit tests build a gr_req in memory the same way.  Nothing
 * here outlives one request: gr_req_reset() clears it for the next.
 *
 * Every answer is the envelope {"error": bool, "message": ...} with
 * Content-Type application/json.
 */
#ifndef GRADIENT_HTTP_H
#define GRADIENT_HTTP_H

#include <stddef.h>

#include <json-c/json.h>

#include "src/buf.h"

/* The one status the core returns; gr_status_http() maps it to HTTP. */
enum gr_status {
	GR_OK = 0,
	GR_NOTFOUND,
	GR_CONFLICT,
	GR_INVALID,
	GR_FORBIDDEN,
	GR_ERROR,
	GR_STATUS__MAX
};

struct gr_config;
struct gr_db;
struct gr_user;

struct gr_req {
	/* Request, borrowed from the caller for the request's lifetime. */
	const char	*method;
	const char	*path;		/* below /api/v1, starts with '/' */
	const char	*query;
	const char	*content_type;
	const char	*authorization;
	const char	*request_id;
	const char	*body;
	size_t		 body_len;

	/* Context, borrowed. */
	const struct gr_config	*cfg;
	struct gr_db		*db;

	/* Filled by the router. */
	const char	*params[4];	/* path captures, in order */
	size_t		 nparams;
	struct gr_user	*user;		/* who, once authenticated */
	char		 session_id[37];	/* "" for an API key */

	/* Answer. */
	int		 status;
	struct gr_buf	 headers;	/* extra "Name: value\r\n" lines */
	struct gr_buf	 out;		/* body */
	int		 answered;

	/*
	 * Streaming, for answers of unknown length (NDJSON logs).  The
	 * transport sets stream and stream_ctx for each request (NULL: it
	 * cannot stream).  stream(r, NULL, 0) writes the head with
	 * stream_type and no Content-Length; stream(r, p, n) writes and
	 * flushes n bytes.  Both return 0, or -1 once the client is gone.
	 * Once streamed is set, nothing in out is written.
	 */
	int		(*stream)(struct gr_req *, const char *, size_t);
	void		*stream_ctx;
	const char	*stream_type;	/* borrowed */
	int		 streamed;
};

void	 gr_req_init(struct gr_req *);
void	 gr_req_reset(struct gr_req *);
void	 gr_req_release(struct gr_req *);

int	 gr_status_http(enum gr_status);
const char *gr_http_reason(int);

/*
 * Answer with the envelope.  gr_http_ok takes ownership of msg (NULL
 * means JSON null).  All return 0 so a handler can "return gr_http_...".
 */
int	 gr_http_ok(struct gr_req *, struct json_object *);
int	 gr_http_ok_str(struct gr_req *, const char *);
/*
 * The same with a message already written as JSON (len bytes; see
 * gr_json_quote()), for hot paths that skip building json-c objects.
 */
int	 gr_http_ok_json(struct gr_req *, const char *, size_t);
int	 gr_http_error(struct gr_req *, int, const char *);
int	 gr_http_errorf(struct gr_req *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* Error for a core status; msg may be NULL for the generic wording. */
int	 gr_http_status(struct gr_req *, enum gr_status, const char *);
int	 gr_http_header(struct gr_req *, const char *, const char *);

/*
 * Start a streamed 200 answer of this content type: the head goes out at
 * once.  -1 when the transport cannot stream or the client is gone.
 */
static inline int
gr_http_stream_begin(struct gr_req *r, const char *content_type)
{
	if (r->stream == NULL || r->streamed)
		return -1;
	r->status = 200;
	r->stream_type = content_type;
	r->streamed = 1;
	r->answered = 1;
	return r->stream(r, NULL, 0);
}

/* Send n bytes of a streamed answer now; 0, or -1 if the client is gone. */
static inline int
gr_http_stream(struct gr_req *r, const char *p, size_t n)
{
	if (!r->streamed || r->stream == NULL)
		return -1;
	return n == 0 ? 0 : r->stream(r, p, n);
}

/*
 * Path segment grammars.  A slug: lowercase letters, digits, '-' and '_',
 * 1 to 64 characters.  A UUID: 8-4-4-4-12 hex digits, nothing else.
 */
int	 gr_valid_slug(const char *);
int	 gr_valid_uuid(const char *);
/* Valid UTF-8 without NUL of exactly len bytes. */
int	 gr_valid_utf8(const char *, size_t);

#endif /* GRADIENT_HTTP_H */
