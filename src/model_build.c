/*
 * model_build.c - builds, their dependency graph and direct builds (see
 * model_build.h).
 *
 * Visibility is decided in SQL: a build is found only through an
 * evaluation whose organization has the user as a member.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "src/buf.h"
#include "src/model_build.h"
#include "src/model_eval.h"

static const char SQL_ACCESS[] =
    "SELECT e.id FROM evaluation_build eb"
    " JOIN evaluation e ON e.id = eb.evaluation_id"
    " JOIN organization_user m ON m.organization_id = e.organization_id"
    " AND m.user_id = $2::uuid"
    " WHERE eb.build_id = $1::uuid"
    " ORDER BY e.created_at, e.id LIMIT 1";
static const char SQL_GET[] =
    "SELECT b.id, v.id AS evaluation, b.status, b.derivation_path,"
    " b.system AS architecture, b.server_id AS server,"
    " coalesce((SELECT jsonb_object_agg(o.name, o.path)"
    " FROM build_output o WHERE o.build_id = b.id), '{}'::jsonb) AS output,"
    " b.name, b.created_at, b.updated_at"
    " FROM build b CROSS JOIN LATERAL (SELECT e.id FROM evaluation_build eb"
    " JOIN evaluation e ON e.id = eb.evaluation_id"
    " JOIN organization_user m ON m.organization_id = e.organization_id"
    " AND m.user_id = $2::uuid"
    " WHERE eb.build_id = b.id ORDER BY e.created_at, e.id LIMIT 1) v"
    " WHERE b.id = $1::uuid";
static const char SQL_DEPENDENCIES[] =
    "SELECT b.id, b.name, b.derivation_path AS path, b.status,"
    " b.created_at, b.updated_at"
    " FROM build_dependency d JOIN build b ON b.id = d.dependency_id"
    " WHERE d.build_id = $1::uuid ORDER BY b.name, b.id";
static const char SQL_NODE[] =
    "SELECT id, name, derivation_path AS path, status, created_at,"
    " updated_at FROM build WHERE id = $1::uuid";
/* One level of the graph: the dependencies of every build in $1. */
static const char SQL_LEVEL[] =
    "SELECT d.build_id AS target, b.id, b.name, b.derivation_path AS path,"
    " b.status, b.created_at, b.updated_at"
    " FROM build_dependency d JOIN build b ON b.id = d.dependency_id"
    " WHERE d.build_id = ANY($1::uuid[])"
    " ORDER BY d.build_id, b.name, b.id";

static const char SQL_DIRECT_ID[] =
    "SELECT gen_random_uuid()";
static const char SQL_DIRECT_INSERT[] =
    "INSERT INTO direct_build (id, organization_id, evaluation_id,"
    " derivation, created_by, files)"
    " VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5::uuid, $6::jsonb)";
static const char SQL_DIRECT_RECENT[] =
    "SELECT d.id, d.derivation, to_char(d.created_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD HH24:MI:SS') AS created_at, d.evaluation_id, e.status"
    " FROM direct_build d JOIN evaluation e ON e.id = d.evaluation_id"
    " JOIN organization_user m ON m.organization_id = d.organization_id"
    " AND m.user_id = $1::uuid"
    " WHERE d.created_by = $1::uuid"
    " ORDER BY d.created_at DESC, d.id DESC LIMIT 20";

enum gr_status
gr_build_access(struct gr_db *db, const char *id, const char *user_id,
    char *evaluation)
{
	const char	*p[2] = { id, user_id };
	PGresult	*res;
	enum gr_status	 st = GR_NOTFOUND;

	if (evaluation != NULL)
		evaluation[0] = '\0';
	if (!gr_valid_uuid(id))
		return GR_NOTFOUND;
	if ((res = gr_db_exec(db, SQL_ACCESS, 2, p)) == NULL)
		return GR_ERROR;
	if (PQntuples(res) == 1) {
		if (evaluation != NULL)
			snprintf(evaluation, 37, "%s", PQgetvalue(res, 0, 0));
		st = GR_OK;
	}
	PQclear(res);
	return st;
}

struct json_object *
gr_build_json(struct gr_db *db, const char *id, const char *user_id,
    enum gr_status *st)
{
	const char	*p[2] = { id, user_id };

	if (!gr_valid_uuid(id)) {
		*st = GR_NOTFOUND;
		return NULL;
	}
	return gr_db_json(db, SQL_GET, 2, p, 1, st);
}

struct json_object *
gr_build_dependencies(struct gr_db *db, const char *id, enum gr_status *st)
{
	const char	*p[1] = { id };

	return gr_db_json(db, SQL_DEPENDENCIES, 1, p, 0, st);
}

static int
edge_add(struct json_object *edges, const char *source, const char *target)
{
	struct json_object	*e;

	if ((e = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(e, "source", json_object_new_string(source));
	json_object_object_add(e, "target", json_object_new_string(target));
	return json_object_array_add(edges, e) == 0 ? 0 : -1;
}

static const char *
str_field(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * Expand one level: the dependencies of the builds in frontier (an array
 * literal).  New nodes go to nodes, seen and next while there is room.
 */
static enum gr_status
graph_level(struct gr_db *db, const char *frontier, size_t max,
    struct json_object *nodes, struct json_object *seen,
    struct json_object *edges, struct gr_buf *next, int *truncated)
{
	struct json_object	*rows, *row;
	const char		*p[1] = { frontier }, *id, *target;
	enum gr_status		 st;
	size_t			 i, n;

	if ((rows = gr_db_json(db, SQL_LEVEL, 1, p, 0, &st)) == NULL)
		return st;
	n = json_object_array_length(rows);
	for (i = 0; i < n; i++) {
		row = json_object_array_get_idx(rows, i);
		if ((id = str_field(row, "id")) == NULL ||
		    (target = str_field(row, "target")) == NULL)
			goto fail;
		if (!json_object_object_get_ex(seen, id, NULL)) {
			if (json_object_array_length(nodes) >= max) {
				*truncated = 1;
				continue;
			}
			if (json_object_object_add(seen, id,
			    json_object_new_boolean(1)) != 0 ||
			    gr_buf_addf(next, "%s%s", next->len > 1 ? "," : "",
			    id) == -1)
				goto fail;
			/* id and target stay valid: row is still in rows. */
			json_object_get(row);
			if (json_object_array_add(nodes, row) != 0) {
				json_object_put(row);
				goto fail;
			}
		}
		if (edge_add(edges, id, target) == -1)
			goto fail;
	}
	/* Drop the helper column from the nodes this level added. */
	for (i = 0; i < n; i++)
		json_object_object_del(json_object_array_get_idx(rows, i),
		    "target");
	json_object_put(rows);
	return GR_OK;
fail:
	json_object_put(rows);
	return GR_ERROR;
}

struct json_object *
gr_build_graph(struct gr_db *db, const char *id, size_t max,
    enum gr_status *st)
{
	struct json_object	*g = NULL, *nodes, *edges, *seen = NULL, *root;
	struct gr_buf		 frontier = GR_BUF_INIT, next = GR_BUF_INIT;
	const char		*p[1] = { id };
	int			 truncated = 0;

	if ((root = gr_db_json(db, SQL_NODE, 1, p, 1, st)) == NULL)
		return NULL;
	*st = GR_ERROR;
	if ((g = json_object_new_object()) == NULL ||
	    (nodes = json_object_new_array()) == NULL) {
		json_object_put(root);
		goto fail;
	}
	json_object_object_add(g, "root", json_object_new_string(id));
	json_object_object_add(g, "nodes", nodes);
	json_object_array_add(nodes, root);
	if ((edges = json_object_new_array()) == NULL)
		goto fail;
	json_object_object_add(g, "edges", edges);
	if ((seen = json_object_new_object()) == NULL ||
	    json_object_object_add(seen, id, json_object_new_boolean(1)) != 0)
		goto fail;
	if (gr_buf_addf(&frontier, "{%s}", id) == -1)
		goto fail;
	/* Each level is expanded once; its builds' edges all come back. */
	while (frontier.len > 2) {
		gr_buf_reset(&next);
		if (gr_buf_addc(&next, '{') == -1)
			goto fail;
		if ((*st = graph_level(db, gr_buf_str(&frontier), max, nodes,
		    seen, edges, &next, &truncated)) != GR_OK)
			goto fail;
		if (gr_buf_addc(&next, '}') == -1)
			goto fail;
		gr_buf_reset(&frontier);
		if (gr_buf_add(&frontier, next.data, next.len) == -1)
			goto fail;
	}
	json_object_object_add(g, "truncated",
	    json_object_new_boolean(truncated));
	json_object_put(seen);
	gr_buf_release(&frontier);
	gr_buf_release(&next);
	*st = GR_OK;
	return g;
fail:
	if (*st == GR_OK)
		*st = GR_ERROR;
	json_object_put(g);
	json_object_put(seen);
	gr_buf_release(&frontier);
	gr_buf_release(&next);
	return NULL;
}

enum gr_status
gr_direct_create(struct gr_db *db, const char *org, const char *derivation,
    const char *files, const char *user_id, char *evaluation)
{
	struct gr_eval_new	 n;
	const char		*p[6];
	char			 id[37], repo[64];
	PGresult		*res = NULL;
	enum gr_status		 st = GR_ERROR;

	evaluation[0] = '\0';
	if (gr_db_begin(db) == -1)
		return GR_ERROR;
	/* The id comes first: the evaluation's repository names it. */
	if ((res = gr_db_exec(db, SQL_DIRECT_ID, 0, NULL)) == NULL)
		goto out;
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	snprintf(repo, sizeof(repo), "direct:%s", id);
	memset(&n, 0, sizeof(n));
	n.organization_id = org;
	n.repository = repo;
	n.wildcard = derivation;
	n.created_by = user_id;
	if ((st = gr_eval_enqueue(db, &n, evaluation)) != GR_OK)
		goto out;
	st = GR_ERROR;
	p[0] = id;
	p[1] = org;
	p[2] = evaluation;
	p[3] = derivation;
	p[4] = user_id;
	p[5] = files;
	if ((res = gr_db_exec(db, SQL_DIRECT_INSERT, 6, p)) == NULL)
		goto out;
	st = GR_OK;
out:
	PQclear(res);
	if (st == GR_OK && gr_db_commit(db) == 0)
		return GR_OK;
	gr_db_rollback(db);
	evaluation[0] = '\0';
	return st == GR_OK ? GR_ERROR : st;
}

struct json_object *
gr_direct_recent(struct gr_db *db, const char *user_id, enum gr_status *st)
{
	const char	*p[1] = { user_id };

	return gr_db_json(db, SQL_DIRECT_RECENT, 1, p, 0, st);
}
