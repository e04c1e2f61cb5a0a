/*
 * evals.c - /evals/{id}: an evaluation, its abort, its builds and the
 * NDJSON stream of their logs.
 *
 * Members of the evaluation's organization read it; writers abort it.
 * Anyone else, and any id that is not a strict UUID, gets 404
 * "Evaluation not found".  The log stream blocks this responder child
 * until the evaluation ends, STREAM_MAX_S passes or the child is asked to
 * stop; nginx must not buffer it, which the streamed head asks for
 * (X-Accel-Buffering: no).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fcgi/handlers.h"
#include "src/json.h"
#include "src/log.h"
#include "src/model_eval.h"

#define STREAM_POLL_MS	500
#define STREAM_MAX_S	600	/* a stream gives up after ten minutes */

/* The evaluation of the path, with at least role need; -1 once answered. */
static int
eval_request(struct gr_req *r, enum gr_role need, struct gr_eval_ref *e)
{
	enum gr_status	 st;

	st = gr_eval_access(r->db, r->params[0], r->user->id, e);
	if (st != GR_OK) {
		gr_http_status(r, st, "Evaluation not found");
		return -1;
	}
	if (e->role < need) {
		gr_http_errorf(r, 403, "Forbidden: this needs the %s role in "
		    "organization '%s'", gr_role_name(need), e->organization);
		return -1;
	}
	return 0;
}

int
evals_get(struct gr_req *r)
{
	struct gr_eval_ref	 e;
	struct json_object	*o;
	enum gr_status		 st;

	if (eval_request(r, GR_ROLE_VIEW, &e) == -1)
		return 0;
	if ((o = gr_eval_json(r->db, e.id, &st)) == NULL)
		return gr_http_status(r, st, "Evaluation not found");
	return gr_http_ok(r, o);
}

int
evals_post(struct gr_req *r)
{
	struct gr_eval_ref	 e;
	struct json_object	*o;
	const char		*method;
	char			 err[256];
	enum gr_status		 st;

	if (eval_request(r, GR_ROLE_WRITE, &e) == -1)
		return 0;
	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (gr_json_string(o, "method", GR_FIELD_REQUIRED, 1, 64, &method,
	    err, sizeof(err)) == -1 || strcmp(method, "abort") != 0) {
		gr_http_error(r, 400, "field 'method': expected \"abort\"");
		goto out;
	}
	st = gr_eval_abort(r->db, e.id, r->user->id);
	if (st == GR_OK) {
		log_info("request %s: evaluation %s aborted by '%s'",
		    r->request_id != NULL ? r->request_id : "-", e.id,
		    r->user->username);
		gr_http_ok_str(r, "Evaluation aborted");
	} else if (st == GR_INVALID)
		gr_http_error(r, 400, "Evaluation is already finished");
	else
		gr_http_status(r, st, "Evaluation not found");
out:
	json_object_put(o);
	return 0;
}

int
evals_builds(struct gr_req *r)
{
	struct gr_eval_ref	 e;
	struct json_object	*arr;
	enum gr_status		 st;

	if (eval_request(r, GR_ROLE_VIEW, &e) == -1)
		return 0;
	if ((arr = gr_eval_builds(r->db, e.id, &st)) == NULL)
		return gr_http_status(r, st, NULL);
	return gr_http_ok(r, arr);
}

/* One NDJSON line {"build", "name", "log"}, written at once. */
static int
log_line(void *arg, const char *build, const char *name, const char *text,
    size_t len)
{
	struct gr_req		*r = arg;
	struct json_object	*o;
	const char		*s;
	size_t			 n;
	int			 rc = -1;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(o, "build", json_object_new_string(build));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "log",
	    json_object_new_string_len(text, (int)len));
	if ((s = gr_json_text(o, &n)) != NULL &&
	    gr_http_stream(r, s, n) == 0 && gr_http_stream(r, "\n", 1) == 0)
		rc = 0;
	json_object_put(o);
	return rc;
}

int
evals_stream(struct gr_req *r)
{
	struct gr_eval_ref	 e;
	struct gr_eval_logs	 logs = GR_EVAL_LOGS_INIT;
	struct timespec		 start, now;
	struct timespec		 nap = { 0, STREAM_POLL_MS * 1000000L };
	sigset_t		 pending;
	char			 status[16];

	if (eval_request(r, GR_ROLE_VIEW, &e) == -1)
		return 0;
	if (r->stream == NULL)
		return gr_http_error(r, 500, "Streaming is not available");
	if (gr_http_stream_begin(r, "application/x-ndjson") == -1)
		goto out;	/* the client left */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		/* The status is read before the logs: a final one is final. */
		if (gr_eval_logs_poll(r->db, e.id, &logs, status,
		    sizeof(status), log_line, r) == -1)
			break;
		if (gr_eval_status_final(status))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= STREAM_MAX_S)
			break;
		/*
		 * fcgi/main.c blocks SIGTERM while a request is served; a
		 * stream ends early rather than hold up a stop or reload.
		 */
		if (sigpending(&pending) == 0 &&
		    (sigismember(&pending, SIGTERM) == 1 ||
		    sigismember(&pending, SIGINT) == 1))
			break;
		nanosleep(&nap, NULL);
	}
out:
	gr_eval_logs_release(&logs);
	return 0;
}
