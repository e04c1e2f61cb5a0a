/*
 * model_eval.h - evaluations: queueing, reading, aborting, and the views
 * of a project's evaluation history.
 *
 * Every way an evaluation is started (POST .../evaluate, a direct build, a
 * new commit seen by the worker) goes through gr_eval_enqueue(), which
 * writes the evaluation row, its 'evaluation.queued' event and the NOTIFY
 * on channel "gradient_evaluation" (payload: the evaluation id) in one
 * transaction.  An evaluation belongs to one organization; its members
 * (any role) may read it, writers may abort it.
 */
#ifndef GRADIENT_MODEL_EVAL_H
#define GRADIENT_MODEL_EVAL_H

#include <stddef.h>

#include <json-c/json.h>

#include "src/db.h"
#include "src/http.h"
#include "src/model_org.h"

#define GR_EVAL_CHANNEL		"gradient_evaluation"
#define GR_EVAL_ABORT_CHANNEL	"gradient_abort"

/* What to evaluate; the strings are borrowed for the call. */
struct gr_eval_new {
	const char	*organization_id;
	const char	*project_id;	/* NULL for a direct build */
	const char	*repository;	/* URL, or "direct:<direct_build id>" */
	const char	*branch;	/* NULL: the repository's default */
	const char	*wildcard;
	const char	*requested_rev;	/* a commit hash, NULL: branch head */
	const char	*created_by;	/* user id, NULL for the system */
};

/* An evaluation as its reader sees it. */
struct gr_eval_ref {
	char		 id[37];
	char		 organization_id[37];
	char		 organization[65];	/* its name */
	char		 status[16];
	enum gr_role	 role;			/* the reader's */
};

/* 1 if status is one an evaluation never leaves (Completed, ...). */
int		 gr_eval_status_final(const char *);

/*
 * Queue an evaluation: insert it (previous = the project's latest
 * evaluation, found under a lock on the project row), its event and the
 * NOTIFY.  Runs in its own transaction, or joins the caller's when one is
 * open (the caller then commits or rolls back).  id gets the uuid.
 */
enum gr_status	 gr_eval_enqueue(struct gr_db *, const struct gr_eval_new *,
		    char *id);
/*
 * Queue an evaluation of a project with its repository, branch and
 * wildcard, optionally at commit rev (NULL: the branch head), as
 * gr_eval_enqueue does.  GR_INVALID when the project is disabled,
 * GR_NOTFOUND when it does not exist.
 */
enum gr_status	 gr_eval_enqueue_project(struct gr_db *, const char *project,
		    const char *rev, const char *user_id, char *id);

/* The evaluation id, if user_id is a member of its organization. */
enum gr_status	 gr_eval_access(struct gr_db *, const char *id,
		    const char *user_id, struct gr_eval_ref *);
/* The Evaluation object of the reference (access already checked). */
struct json_object *gr_eval_json(struct gr_db *, const char *,
		    enum gr_status *);
/*
 * Abort a Queued, Evaluating or Building evaluation and its queued builds
 * that no other running evaluation needs, with the event and NOTIFY on
 * "gradient_abort", in one transaction.  GR_INVALID if already finished.
 */
enum gr_status	 gr_eval_abort(struct gr_db *, const char *, const char *);
/* [BuildItem {id, name, status, derivation_name}] ordered by name. */
struct json_object *gr_eval_builds(struct gr_db *, const char *,
		    enum gr_status *);

/*
 * How much of each build's log a stream has sent.  Zeroed by the caller
 * (GR_EVAL_LOGS_INIT), freed with gr_eval_logs_release().
 */
struct gr_eval_logs {
	struct gr_eval_logpos {
		char		 id[37];
		long long	 bytes;		/* octet_length sent */
		long long	 sent;		/* characters sent */
	}		*pos;
	size_t		 n;
	size_t		 cap;
};
#define GR_EVAL_LOGS_INIT	{ NULL, 0, 0 }
/*
 * Call fn(arg, build id, derivation path, text, len) with the log text of
 * every build of the evaluation written since the last call, then advance
 * the cursor.  fn returns 0, or -1 to stop (the call then fails).
 * *status gets the evaluation status read just before the logs, so that
 * a final status means no log text is left behind.
 */
int		 gr_eval_logs_poll(struct gr_db *, const char *,
		    struct gr_eval_logs *, char *, size_t,
		    int (*)(void *, const char *, const char *, const char *,
		    size_t), void *);
void		 gr_eval_logs_release(struct gr_eval_logs *);

/*
 * The project's last 10 evaluations, newest first: [EvaluationSummary
 * {id, status, builds, created_at}].
 */
struct json_object *gr_eval_project_recent(struct gr_db *, const char *,
		    enum gr_status *);
/*
 * [EntryPointSummary {build_id, name, attr, status}] of the project's
 * latest evaluation that has entry points, by attribute.
 */
struct json_object *gr_eval_project_entry_points(struct gr_db *,
		    const char *, enum gr_status *);

#endif /* GRADIENT_MODEL_EVAL_H */
