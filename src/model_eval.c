/*
 * model_eval.c - evaluations: queueing, reading, aborting, log polling
 * and a project's evaluation history (see model_eval.h).
 *
 * A state change writes its row, its event and its NOTIFY in one
 * transaction, so the worker never wakes for a change it cannot see and
 * never misses one it can.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/buf.h"
#include "src/model_eval.h"

static const char SQL_LOCK_PROJECT[] =
    "SELECT 1 FROM project WHERE id = $1::uuid FOR UPDATE";
static const char SQL_PROJECT[] =
    "SELECT organization_id, repository, branch, evaluation_wildcard,"
    " active FROM project WHERE id = $1::uuid FOR UPDATE";
/*
 * previous is the project's latest evaluation, read under the project
 * row's lock; created_at is the clock, not the transaction start, so that
 * an evaluation that waited for the lock still sorts after the one it
 * follows.
 */
static const char SQL_INSERT[] =
    "INSERT INTO evaluation (organization_id, project_id, repository,"
    " branch, wildcard, requested_rev, previous, created_by, created_at,"
    " updated_at)"
    " SELECT $1::uuid, $2::uuid, $3, $4, $5, $6,"
    " (SELECT e.id FROM evaluation e WHERE e.project_id = $2::uuid"
    " ORDER BY e.created_at DESC, e.id DESC LIMIT 1),"
    " $7::uuid, c.t, c.t FROM (SELECT clock_timestamp() AS t) c"
    " RETURNING id";
static const char SQL_EVENT_QUEUED[] =
    "INSERT INTO event (kind, subject, organization_id, payload)"
    " VALUES ('evaluation.queued', $1::uuid, $2::uuid,"
    " jsonb_strip_nulls(jsonb_build_object('project', $3::uuid,"
    " 'requested_rev', $4::text)))";
static const char SQL_NOTIFY_QUEUED[] =
    "SELECT pg_notify('" GR_EVAL_CHANNEL "', $1)";

static const char SQL_ACCESS[] =
    "SELECT e.id, e.organization_id, o.name, m.role, e.status"
    " FROM evaluation e"
    " JOIN organization o ON o.id = e.organization_id"
    " JOIN organization_user m ON m.organization_id = e.organization_id"
    " AND m.user_id = $2::uuid"
    " WHERE e.id = $1::uuid";
static const char SQL_GET[] =
    "SELECT e.id, e.project_id AS project, e.repository,"
    " e.commit_id AS \"commit\", e.wildcard, e.status, e.previous,"
    " (SELECT n.id FROM evaluation n WHERE n.previous = e.id"
    " ORDER BY n.created_at, n.id LIMIT 1) AS next,"
    " e.error, e.created_at, e.updated_at"
    " FROM evaluation e WHERE e.id = $1::uuid";

static const char SQL_ABORT[] =
    "UPDATE evaluation SET status = 'Aborted', error = NULL,"
    " finished_at = now(), updated_at = now()"
    " WHERE id = $1::uuid AND status IN ('Queued', 'Evaluating', 'Building')"
    " RETURNING organization_id";
/* Queued builds of this evaluation that no other running one contains. */
static const char SQL_ABORT_BUILDS[] =
    "UPDATE build b SET status = 'Aborted', updated_at = now()"
    " FROM evaluation_build eb"
    " WHERE eb.evaluation_id = $1::uuid AND eb.build_id = b.id"
    " AND b.status = 'Queued'"
    " AND NOT EXISTS (SELECT 1 FROM evaluation_build o"
    " JOIN evaluation oe ON oe.id = o.evaluation_id"
    " WHERE o.build_id = b.id AND o.evaluation_id <> $1::uuid"
    " AND oe.status IN ('Queued', 'Evaluating', 'Building'))";
static const char SQL_EVENT_ABORTED[] =
    "INSERT INTO event (kind, subject, organization_id, payload)"
    " VALUES ('evaluation.aborted', $1::uuid, $2::uuid,"
    " jsonb_build_object('user', $3::uuid))";
static const char SQL_NOTIFY_ABORT[] =
    "SELECT pg_notify('" GR_EVAL_ABORT_CHANNEL "', $1)";

static const char SQL_BUILDS[] =
    "SELECT b.id, b.derivation_path AS name, b.status,"
    " b.name AS derivation_name"
    " FROM evaluation_build eb JOIN build b ON b.id = eb.build_id"
    " WHERE eb.evaluation_id = $1::uuid ORDER BY b.derivation_path";

static const char SQL_STATUS[] =
    "SELECT status FROM evaluation WHERE id = $1::uuid";
/*
 * Logs only grow.  octet_length() reads the TOAST header only, so an
 * unchanged log costs nothing to skip; a changed one is sent from the
 * character where the last poll stopped.
 */
static const char SQL_LOGS[] =
    "SELECT b.id, b.derivation_path, octet_length(b.log),"
    " char_length(b.log), substr(b.log, (coalesce(k.chars, 0) + 1)::int)"
    " FROM evaluation_build eb JOIN build b ON b.id = eb.build_id"
    " LEFT JOIN unnest($2::uuid[], $3::bigint[], $4::bigint[])"
    " AS k(id, bytes, chars) ON k.id = b.id"
    " WHERE eb.evaluation_id = $1::uuid"
    " AND octet_length(b.log) > coalesce(k.bytes, 0)"
    " ORDER BY b.derivation_path";

static const char SQL_PROJECT_RECENT[] =
    "SELECT e.id, e.status, (SELECT count(*) FROM evaluation_build eb"
    " WHERE eb.evaluation_id = e.id) AS builds, e.created_at"
    " FROM evaluation e WHERE e.project_id = $1::uuid"
    " ORDER BY e.created_at DESC, e.id DESC LIMIT 10";
static const char SQL_PROJECT_ENTRY_POINTS[] =
    "SELECT ep.build_id, b.name, ep.attr, b.status"
    " FROM entry_point ep JOIN build b ON b.id = ep.build_id"
    " WHERE ep.evaluation_id = (SELECT e.id FROM evaluation e"
    " WHERE e.project_id = $1::uuid AND EXISTS (SELECT 1 FROM entry_point x"
    " WHERE x.evaluation_id = e.id)"
    " ORDER BY e.created_at DESC, e.id DESC LIMIT 1)"
    " ORDER BY ep.attr";

int
gr_eval_status_final(const char *s)
{
	return strcmp(s, "Completed") == 0 || strcmp(s, "Failed") == 0 ||
	    strcmp(s, "Aborted") == 0;
}

/* The three statements of a queued evaluation, inside a transaction. */
static enum gr_status
enqueue(struct gr_db *db, const struct gr_eval_new *n, char *id)
{
	const char	*p[7] = { n->organization_id, n->project_id,
			    n->repository, n->branch, n->wildcard,
			    n->requested_rev, n->created_by };
	const char	*q[4];
	PGresult	*res;

	if ((res = gr_db_exec(db, SQL_INSERT, 7, p)) == NULL)
		return gr_db_error_status(db);
	snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	q[0] = id;
	q[1] = n->organization_id;
	q[2] = n->project_id;
	q[3] = n->requested_rev;
	if ((res = gr_db_exec(db, SQL_EVENT_QUEUED, 4, q)) == NULL)
		return GR_ERROR;
	PQclear(res);
	if ((res = gr_db_exec(db, SQL_NOTIFY_QUEUED, 1, q)) == NULL)
		return GR_ERROR;
	PQclear(res);
	return GR_OK;
}

/* Begin unless the caller's transaction is open (*own = 0 then). */
static int
tx_begin(struct gr_db *db, int *own)
{
	*own = 0;
	if (db->in_tx)
		return 0;
	if (gr_db_begin(db) == -1)
		return -1;
	*own = 1;
	return 0;
}

/* Commit what we began; a joined transaction is the caller's to end. */
static enum gr_status
tx_end(struct gr_db *db, int own, enum gr_status st)
{
	if (!own)
		return st;
	if (st == GR_OK && gr_db_commit(db) == 0)
		return GR_OK;
	gr_db_rollback(db);
	return st == GR_OK ? GR_ERROR : st;
}

enum gr_status
gr_eval_enqueue(struct gr_db *db, const struct gr_eval_new *n, char *id)
{
	const char	*p[1] = { n->project_id };
	PGresult	*res;
	enum gr_status	 st = GR_ERROR;
	int		 own;

	id[0] = '\0';
	if (tx_begin(db, &own) == -1)
		return GR_ERROR;
	if (n->project_id != NULL) {
		if ((res = gr_db_exec(db, SQL_LOCK_PROJECT, 1, p)) == NULL)
			goto out;
		st = PQntuples(res) == 1 ? GR_OK : GR_NOTFOUND;
		PQclear(res);
		if (st != GR_OK)
			goto out;
	}
	st = enqueue(db, n, id);
out:
	return tx_end(db, own, st);
}

enum gr_status
gr_eval_enqueue_project(struct gr_db *db, const char *project,
    const char *rev, const char *user_id, char *id)
{
	const char		*p[1] = { project };
	struct gr_eval_new	 n;
	PGresult		*res = NULL;
	enum gr_status		 st = GR_ERROR;
	int			 own;

	id[0] = '\0';
	if (tx_begin(db, &own) == -1)
		return GR_ERROR;
	if ((res = gr_db_exec(db, SQL_PROJECT, 1, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		st = GR_NOTFOUND;
		goto out;
	}
	if (!gr_db_bool(res, 0, 4)) {
		st = GR_INVALID;
		goto out;
	}
	memset(&n, 0, sizeof(n));
	n.organization_id = PQgetvalue(res, 0, 0);
	n.project_id = project;
	n.repository = PQgetvalue(res, 0, 1);
	n.branch = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
	n.wildcard = PQgetvalue(res, 0, 3);
	n.requested_rev = rev;
	n.created_by = user_id;
	/* The row is locked (FOR UPDATE) until the transaction ends. */
	st = enqueue(db, &n, id);
out:
	PQclear(res);
	return tx_end(db, own, st);
}

enum gr_status
gr_eval_access(struct gr_db *db, const char *id, const char *user_id,
    struct gr_eval_ref *e)
{
	const char	*p[2] = { id, user_id };
	PGresult	*res;
	enum gr_status	 st = GR_NOTFOUND;

	memset(e, 0, sizeof(*e));
	if (!gr_valid_uuid(id))
		return GR_NOTFOUND;
	if ((res = gr_db_exec(db, SQL_ACCESS, 2, p)) == NULL)
		return GR_ERROR;
	if (PQntuples(res) == 1) {
		snprintf(e->id, sizeof(e->id), "%s", PQgetvalue(res, 0, 0));
		snprintf(e->organization_id, sizeof(e->organization_id), "%s",
		    PQgetvalue(res, 0, 1));
		snprintf(e->organization, sizeof(e->organization), "%s",
		    PQgetvalue(res, 0, 2));
		e->role = gr_role_parse(PQgetvalue(res, 0, 3));
		snprintf(e->status, sizeof(e->status), "%s",
		    PQgetvalue(res, 0, 4));
		st = GR_OK;
	}
	PQclear(res);
	return st;
}

struct json_object *
gr_eval_json(struct gr_db *db, const char *id, enum gr_status *st)
{
	const char	*p[1] = { id };

	return gr_db_json(db, SQL_GET, 1, p, 1, st);
}

enum gr_status
gr_eval_abort(struct gr_db *db, const char *id, const char *user_id)
{
	const char	*p[1] = { id };
	const char	*q[3];
	char		 org[37];
	PGresult	*res = NULL;
	enum gr_status	 st = GR_ERROR;

	if (gr_db_begin(db) == -1)
		return GR_ERROR;
	if ((res = gr_db_exec(db, SQL_ABORT, 1, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		st = GR_INVALID;	/* already finished */
		goto out;
	}
	snprintf(org, sizeof(org), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if ((res = gr_db_exec(db, SQL_ABORT_BUILDS, 1, p)) == NULL)
		goto out;
	PQclear(res);
	q[0] = id;
	q[1] = org;
	q[2] = user_id;
	if ((res = gr_db_exec(db, SQL_EVENT_ABORTED, 3, q)) == NULL)
		goto out;
	PQclear(res);
	if ((res = gr_db_exec(db, SQL_NOTIFY_ABORT, 1, p)) == NULL)
		goto out;
	st = GR_OK;
out:
	PQclear(res);
	if (st == GR_OK && gr_db_commit(db) == 0)
		return GR_OK;
	gr_db_rollback(db);
	return st == GR_OK ? GR_ERROR : st;
}

struct json_object *
gr_eval_builds(struct gr_db *db, const char *id, enum gr_status *st)
{
	const char	*p[1] = { id };

	return gr_db_json(db, SQL_BUILDS, 1, p, 0, st);
}

void
gr_eval_logs_release(struct gr_eval_logs *l)
{
	free(l->pos);
	l->pos = NULL;
	l->n = l->cap = 0;
}

/* Where the cursor of build id is, adding it (at 0) if new; NULL: no memory. */
static struct gr_eval_logpos *
logpos(struct gr_eval_logs *l, const char *id)
{
	struct gr_eval_logpos	*v;
	size_t			 i, cap;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->pos[i].id, id) == 0)
			return &l->pos[i];
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 16 : l->cap * 2;
		if (cap < l->cap || (v = reallocarray(l->pos, cap,
		    sizeof(*v))) == NULL)
			return NULL;
		l->pos = v;
		l->cap = cap;
	}
	v = &l->pos[l->n++];
	memset(v, 0, sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%s", id);
	return v;
}

/*
 * The cursors as three array literals: {uuid,...} {bytes,...} {chars,...}.
 * The values are uuids and integers we wrote ourselves.
 */
static int
logpos_arrays(const struct gr_eval_logs *l, struct gr_buf *ids,
    struct gr_buf *bytes, struct gr_buf *chars)
{
	size_t	 i;
	int	 rc = 0;

	rc |= gr_buf_addc(ids, '{');
	rc |= gr_buf_addc(bytes, '{');
	rc |= gr_buf_addc(chars, '{');
	for (i = 0; i < l->n && rc == 0; i++) {
		rc |= gr_buf_addf(ids, "%s%s", i > 0 ? "," : "", l->pos[i].id);
		rc |= gr_buf_addf(bytes, "%s%lld", i > 0 ? "," : "",
		    l->pos[i].bytes);
		rc |= gr_buf_addf(chars, "%s%lld", i > 0 ? "," : "",
		    l->pos[i].sent);
	}
	rc |= gr_buf_addc(ids, '}');
	rc |= gr_buf_addc(bytes, '}');
	rc |= gr_buf_addc(chars, '}');
	return rc == 0 ? 0 : -1;
}

int
gr_eval_logs_poll(struct gr_db *db, const char *id, struct gr_eval_logs *l,
    char *status, size_t statussz, int (*fn)(void *, const char *,
    const char *, const char *, size_t), void *arg)
{
	struct gr_buf		 ids = GR_BUF_INIT, bytes = GR_BUF_INIT;
	struct gr_buf		 chars = GR_BUF_INIT;
	struct gr_eval_logpos	*pos;
	const char		*p[4];
	PGresult		*res = NULL;
	int			 i, rc = -1;

	p[0] = id;
	if ((res = gr_db_exec(db, SQL_STATUS, 1, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		snprintf(status, statussz, "Aborted");	/* deleted: stop */
		rc = 0;
		goto out;
	}
	snprintf(status, statussz, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	if (logpos_arrays(l, &ids, &bytes, &chars) == -1)
		goto out;
	p[1] = gr_buf_str(&ids);
	p[2] = gr_buf_str(&bytes);
	p[3] = gr_buf_str(&chars);
	if ((res = gr_db_exec(db, SQL_LOGS, 4, p)) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		if ((pos = logpos(l, PQgetvalue(res, i, 0))) == NULL)
			goto out;
		pos->bytes = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		pos->sent = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		if (PQgetlength(res, i, 4) > 0 && fn(arg, PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 4),
		    (size_t)PQgetlength(res, i, 4)) == -1)
			goto out;
	}
	rc = 0;
out:
	PQclear(res);
	gr_buf_release(&ids);
	gr_buf_release(&bytes);
	gr_buf_release(&chars);
	return rc;
}

struct json_object *
gr_eval_project_recent(struct gr_db *db, const char *project,
    enum gr_status *st)
{
	const char	*p[1] = { project };

	return gr_db_json(db, SQL_PROJECT_RECENT, 1, p, 0, st);
}

struct json_object *
gr_eval_project_entry_points(struct gr_db *db, const char *project,
    enum gr_status *st)
{
	const char	*p[1] = { project };

	return gr_db_json(db, SQL_PROJECT_ENTRY_POINTS, 1, p, 0, st);
}
