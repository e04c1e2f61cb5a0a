/*
 * queue.c - claim, lease and release evaluations.
 *
 * A claim is one statement: pick the oldest queued evaluation, or one
 * whose lease ran out, with FOR UPDATE SKIP LOCKED so that two workers
 * never take the same row, mark it Evaluating under this worker's lease
 * and write the event, all in one transaction.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "src/log.h"
#include "worker/worker.h"

static const char SQL_CLAIM[] =
    "WITH c AS (UPDATE evaluation SET status = 'Evaluating',"
    " lease_owner = $1, lease_until = now() + make_interval(secs => $2::int),"
    " attempts = attempts + 1, started_at = coalesce(started_at, now()),"
    " updated_at = now(), error = NULL"
    " WHERE id = (SELECT id FROM evaluation WHERE status = 'Queued'"
    " OR (status = 'Evaluating' AND lease_until < now())"
    " ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)"
    " RETURNING id, organization_id, attempts)"
    " INSERT INTO event (kind, subject, organization_id, payload)"
    " SELECT 'evaluation.evaluating', id, organization_id,"
    " jsonb_build_object('worker', $1::text, 'attempt', attempts) FROM c"
    " RETURNING subject, payload->>'attempt'";
/* Leases are per claim: $1 is the array of the running claims' tokens. */
static const char SQL_RENEW[] =
    "UPDATE evaluation SET lease_until = now() + make_interval(secs =>"
    " $2::int) WHERE lease_owner = ANY($1::text[])"
    " AND status = 'Evaluating'";
static const char SQL_RELEASE[] =
    "WITH r AS (UPDATE evaluation SET status = 'Queued', lease_owner = NULL,"
    " lease_until = NULL, updated_at = now()"
    " WHERE lease_owner = ANY($1::text[]) AND status = 'Evaluating'"
    " RETURNING id)"
    " SELECT id, pg_notify('" QUEUE_CHANNEL "', id::text) FROM r";
/*
 * A job ended without finishing its evaluation (it died, or its database
 * work failed): queue it again, or fail it after three attempts so that a
 * flake that kills the evaluator cannot loop for ever.
 */
static const char SQL_ENDED[] =
    "WITH r AS (UPDATE evaluation SET status = CASE WHEN attempts >= 3"
    " THEN 'Failed' ELSE 'Queued' END, error = CASE WHEN attempts >= 3"
    " THEN 'the evaluation job stopped ' || attempts || ' times without"
    " finishing; see the worker''s log' END, finished_at = CASE WHEN"
    " attempts >= 3 THEN now() END, lease_owner = NULL, lease_until = NULL,"
    " updated_at = now() WHERE id = $1::uuid AND lease_owner = $2"
    " AND status = 'Evaluating' RETURNING id, status)"
    " SELECT status, CASE WHEN status = 'Queued' THEN"
    " pg_notify('" QUEUE_CHANNEL "', id::text) END FROM r";

int
queue_listen(struct gr_db *db)
{
	if (gr_db_script(db, "LISTEN " QUEUE_CHANNEL "; LISTEN "
	    ABORT_CHANNEL) == -1)
		return -1;
	return 0;
}

int
queue_claim(struct gr_db *db, const char *owner, long long lease, char *id)
{
	char		 lbuf[24];
	const char	*p[2] = { owner, lbuf };
	PGresult	*res;
	int		 rc = 0;

	snprintf(lbuf, sizeof(lbuf), "%lld", lease);
	if ((res = gr_db_exec(db, SQL_CLAIM, 2, p)) == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
		log_info("evaluation %s: Queued -> Evaluating (attempt %s)",
		    id, PQgetvalue(res, 0, 1));
		rc = 1;
	}
	PQclear(res);
	return rc;
}

int
queue_renew(struct gr_db *db, const char *tokens, long long lease)
{
	char		 lbuf[24];
	const char	*p[2] = { tokens, lbuf };
	PGresult	*res;

	snprintf(lbuf, sizeof(lbuf), "%lld", lease);
	if ((res = gr_db_exec(db, SQL_RENEW, 2, p)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
queue_release(struct gr_db *db, const char *tokens)
{
	const char	*p[1] = { tokens };
	PGresult	*res;
	int		 i;

	if ((res = gr_db_exec(db, SQL_RELEASE, 1, p)) == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++)
		log_info("evaluation %s: Evaluating -> Queued (worker "
		    "stopping)", PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

int
queue_ended(struct gr_db *db, const char *id, const char *token)
{
	const char	*p[2] = { id, token };
	PGresult	*res;

	if ((res = gr_db_exec(db, SQL_ENDED, 2, p)) == NULL)
		return -1;
	if (PQntuples(res) == 1)
		log_info("evaluation %s: Evaluating -> %s (its job stopped "
		    "without finishing)", id, PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}
