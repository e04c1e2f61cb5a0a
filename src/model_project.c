/*
 * model_project.c - projects and the commits evaluated for them.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "src/model_project.h"

static const char SQL_FIND[] =
    "SELECT id, managed FROM project WHERE organization_id = $1::uuid"
    " AND name = $2";
static const char SQL_LIST[] =
    "SELECT id, name FROM project WHERE organization_id = $1::uuid"
    " ORDER BY name";
static const char SQL_GET[] =
    "SELECT id, name, display_name, description, organization_id AS"
    " organization, repository, branch, evaluation_wildcard, active,"
    " managed, last_check_at, created_by, created_at"
    " FROM project WHERE id = $1::uuid";
static const char SQL_CREATE[] =
    "INSERT INTO project (organization_id, name, display_name, description,"
    " repository, branch, evaluation_wildcard, created_by, managed)"
    " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8::uuid, $9::boolean)"
    " RETURNING id";
/* $8 'unset' clears the branch; NULL leaves it. */
static const char SQL_UPDATE[] =
    "UPDATE project SET name = coalesce($2, name),"
    " display_name = coalesce($3, display_name),"
    " description = coalesce($4, description),"
    " repository = coalesce($5, repository),"
    " branch = CASE WHEN $7 = 'unset' THEN NULL"
    " ELSE coalesce($6, branch) END,"
    " evaluation_wildcard = coalesce($8, evaluation_wildcard)"
    " WHERE id = $1::uuid";
static const char SQL_ACTIVE[] =
    "UPDATE project SET active = $2::boolean WHERE id = $1::uuid";
static const char SQL_DELETE[] =
    "DELETE FROM project WHERE id = $1::uuid";
static const char SQL_REPOSITORY[] =
    "SELECT repository FROM project WHERE id = $1::uuid";
static const char SQL_CHECKED[] =
    "UPDATE project SET last_check_at = now() WHERE id = $1::uuid";
static const char SQL_COMMIT[] =
    "SELECT c.id, c.message, c.hash, c.author, c.author_name,"
    " c.author_email, c.committed_at, c.created_at FROM \"commit\" c"
    " JOIN organization_user m ON m.organization_id = c.organization_id"
    " WHERE c.id = $1::uuid AND m.user_id = $2::uuid";

/* A Nix identifier: [A-Za-z_][A-Za-z0-9_'-]*, or the wildcard "*". */
static const char *
segment(const char *s)
{
	if (*s == '*')
		return s + 1;
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return NULL;
	for (s++; isalnum((unsigned char)*s) || *s == '_' || *s == '\'' ||
	    *s == '-'; s++)
		;
	return s;
}

int
gr_wildcard_valid(const char *s)
{
	if (strlen(s) > GR_WILDCARD_MAX)
		return 0;
	for (;;) {
		while (*s == ' ')
			s++;
		/* One attribute path. */
		for (;;) {
			if ((s = segment(s)) == NULL)
				return 0;
			if (*s != '.')
				break;
			s++;
		}
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return 1;
		if (*s != ',')
			return 0;
		s++;
	}
}

int
gr_branch_valid(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > GR_BRANCH_MAX || s[0] == '-' || s[0] == '/' ||
	    s[n - 1] == '/' || s[n - 1] == '.' || strstr(s, "..") != NULL ||
	    strstr(s, "//") != NULL || strstr(s, "@{") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) ||
		    strchr("._/-+", s[i]) != NULL))
			return 0;
	return 1;
}

enum gr_status
gr_project_find(struct gr_db *db, const char *org, const char *slug,
    struct gr_project *p)
{
	const char	*q[2] = { org, slug };
	PGresult	*res;
	enum gr_status	 st = GR_NOTFOUND;

	memset(p, 0, sizeof(*p));
	if (!gr_valid_slug(slug))
		return GR_NOTFOUND;
	if ((res = gr_db_exec(db, SQL_FIND, 2, q)) == NULL)
		return GR_ERROR;
	if (PQntuples(res) == 1) {
		snprintf(p->id, sizeof(p->id), "%s", PQgetvalue(res, 0, 0));
		p->managed = gr_db_bool(res, 0, 1);
		st = GR_OK;
	}
	PQclear(res);
	return st;
}

struct json_object *
gr_project_list(struct gr_db *db, const char *org, enum gr_status *st)
{
	const char	*p[1] = { org };

	return gr_db_json(db, SQL_LIST, 1, p, 0, st);
}

struct json_object *
gr_project_json(struct gr_db *db, const char *id, enum gr_status *st)
{
	const char	*p[1] = { id };

	return gr_db_json(db, SQL_GET, 1, p, 1, st);
}

enum gr_status
gr_project_create(struct gr_db *db, const char *org, const char *name,
    const char *display, const char *description, const char *repository,
    const char *branch, const char *wildcard, const char *user_id,
    int managed, char *id)
{
	const char	*p[9] = { org, name, display, description, repository,
			    branch, wildcard, user_id,
			    managed ? "true" : "false" };
	PGresult	*res;

	if ((res = gr_db_exec(db, SQL_CREATE, 9, p)) == NULL)
		return gr_db_error_status(db);
	snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return GR_OK;
}

enum gr_status
gr_project_update(struct gr_db *db, const char *id, const char *name,
    const char *display, const char *description, const char *repository,
    const char *branch, const char *wildcard)
{
	/* An empty branch means "the default branch": stored as NULL. */
	const char	*p[8] = { id, name, display, description, repository,
			    branch != NULL && *branch != '\0' ? branch : NULL,
			    branch != NULL && *branch == '\0' ? "unset" : "",
			    wildcard };

	return gr_db_change(db, SQL_UPDATE, 8, p);
}

enum gr_status
gr_project_set_active(struct gr_db *db, const char *id, int active)
{
	const char	*p[2] = { id, active ? "true" : "false" };

	return gr_db_change(db, SQL_ACTIVE, 2, p);
}

enum gr_status
gr_project_delete(struct gr_db *db, const char *id)
{
	const char	*p[1] = { id };

	return gr_db_change(db, SQL_DELETE, 1, p);
}

char *
gr_project_repository(struct gr_db *db, const char *id)
{
	return gr_db_text(db, SQL_REPOSITORY, id);
}

enum gr_status
gr_project_checked(struct gr_db *db, const char *id)
{
	const char	*p[1] = { id };

	return gr_db_change(db, SQL_CHECKED, 1, p);
}

struct json_object *
gr_commit_json(struct gr_db *db, const char *id, const char *user_id,
    enum gr_status *st)
{
	const char	*p[2] = { id, user_id };

	if (!gr_valid_uuid(id)) {
		*st = GR_NOTFOUND;
		return NULL;
	}
	return gr_db_json(db, SQL_COMMIT, 2, p, 1, st);
}
