/*
 * model_cache.c - binary caches (see model_cache.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/model_cache.h"

static const char SQL_ACCESS[] =
    "SELECT c.id, c.created_by = $2::uuid, c.managed FROM cache c"
    " WHERE c.name = $1 AND (c.created_by = $2::uuid OR EXISTS ("
    " SELECT 1 FROM organization_cache s JOIN organization_user m"
    " ON m.organization_id = s.organization_id"
    " WHERE s.cache_id = c.id AND m.user_id = $2::uuid))";
static const char SQL_LIST[] =
    "SELECT c.id, c.name FROM cache c WHERE c.created_by = $1::uuid"
    " OR EXISTS (SELECT 1 FROM organization_cache s JOIN organization_user m"
    " ON m.organization_id = s.organization_id"
    " WHERE s.cache_id = c.id AND m.user_id = $1::uuid) ORDER BY c.name";
static const char SQL_GET[] =
    "SELECT id, name, display_name, description, priority, active, managed,"
    " created_by, created_at FROM cache WHERE id = $1::uuid";
static const char SQL_CREATE[] =
    "INSERT INTO cache (name, display_name, description, priority,"
    " public_key, secret_key, created_by, managed)"
    " VALUES ($1, $2, $3, $4::int, $5, $6, $7::uuid, $8::boolean)"
    " RETURNING id";
static const char SQL_UPDATE[] =
    "UPDATE cache SET name = coalesce($2, name),"
    " display_name = coalesce($3, display_name),"
    " description = coalesce($4, description),"
    " priority = coalesce($5::int, priority) WHERE id = $1::uuid";
static const char SQL_ACTIVE[] =
    "UPDATE cache SET active = $2::boolean WHERE id = $1::uuid";
static const char SQL_DELETE[] =
    "DELETE FROM cache WHERE id = $1::uuid";
static const char SQL_PUBLIC_KEY[] =
    "SELECT public_key FROM cache WHERE id = $1::uuid";

enum gr_status
gr_cache_access(struct gr_db *db, const char *slug, const char *user_id,
    struct gr_cache *c)
{
	const char	*p[2] = { slug, user_id };
	PGresult	*res;
	enum gr_status	 st = GR_NOTFOUND;

	memset(c, 0, sizeof(*c));
	if (!gr_valid_slug(slug))
		return GR_NOTFOUND;
	if ((res = gr_db_exec(db, SQL_ACCESS, 2, p)) == NULL)
		return GR_ERROR;
	if (PQntuples(res) == 1) {
		snprintf(c->id, sizeof(c->id), "%s", PQgetvalue(res, 0, 0));
		c->owner = gr_db_bool(res, 0, 1);
		c->managed = gr_db_bool(res, 0, 2);
		st = GR_OK;
	}
	PQclear(res);
	return st;
}

struct json_object *
gr_cache_list(struct gr_db *db, const char *user_id, enum gr_status *st)
{
	const char	*p[1] = { user_id };

	return gr_db_json(db, SQL_LIST, 1, p, 0, st);
}

struct json_object *
gr_cache_json(struct gr_db *db, const char *id, enum gr_status *st)
{
	const char	*p[1] = { id };

	return gr_db_json(db, SQL_GET, 1, p, 1, st);
}

enum gr_status
gr_cache_create(struct gr_db *db, const char *name, const char *display,
    const char *description, int priority, const char *pub,
    const char *sealed, const char *user_id, int managed, char *id)
{
	char		 prio[16];
	const char	*p[8] = { name, display, description, prio, pub, sealed,
			    user_id, managed ? "true" : "false" };
	PGresult	*res;

	snprintf(prio, sizeof(prio), "%d", priority);
	if ((res = gr_db_exec(db, SQL_CREATE, 8, p)) == NULL)
		return gr_db_error_status(db);
	snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return GR_OK;
}

enum gr_status
gr_cache_update(struct gr_db *db, const char *id, const char *name,
    const char *display, const char *description, int priority)
{
	char		 prio[16];
	const char	*p[5] = { id, name, display, description,
			    priority >= 0 ? prio : NULL };

	snprintf(prio, sizeof(prio), "%d", priority);
	return gr_db_change(db, SQL_UPDATE, 5, p);
}

enum gr_status
gr_cache_set_active(struct gr_db *db, const char *id, int active)
{
	const char	*p[2] = { id, active ? "true" : "false" };

	return gr_db_change(db, SQL_ACTIVE, 2, p);
}

enum gr_status
gr_cache_delete(struct gr_db *db, const char *id)
{
	const char	*p[1] = { id };

	return gr_db_change(db, SQL_DELETE, 1, p);
}

char *
gr_cache_public_key(struct gr_db *db, const char *id)
{
	return gr_db_text(db, SQL_PUBLIC_KEY, id);
}
