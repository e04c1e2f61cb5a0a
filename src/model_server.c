/*
 * model_server.c - build servers (see model_server.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/model_server.h"

static const char SQL_FIND[] =
    "SELECT id, managed FROM server WHERE organization_id = $1::uuid"
    " AND name = $2";
static const char SQL_LIST[] =
    "SELECT id, name FROM server WHERE organization_id = $1::uuid"
    " ORDER BY name";
static const char SQL_GET[] =
    "SELECT id, name, display_name, organization_id AS organization,"
    " active, host, port, username, to_json(architectures) AS"
    " architectures, to_json(features) AS features, max_jobs, managed,"
    " last_connection_at, created_by, created_at"
    " FROM server WHERE id = $1::uuid";
static const char SQL_CREATE[] =
    "INSERT INTO server (organization_id, name, display_name, host, port,"
    " username, architectures, features, max_jobs, created_by, managed)"
    " VALUES ($1::uuid, $2, $3, $4, $5::int, $6,"
    " ARRAY(SELECT json_array_elements_text($7::json)),"
    " ARRAY(SELECT json_array_elements_text($8::json)),"
    " $9::int, $10::uuid, $11::boolean) RETURNING id";
/* A changed address forgets the pinned host key. */
static const char SQL_UPDATE[] =
    "UPDATE server SET name = coalesce($2, name),"
    " display_name = coalesce($3, display_name),"
    " host_key = CASE WHEN coalesce($4, host) <> host OR"
    " coalesce($5::int, port) <> port THEN NULL ELSE host_key END,"
    " host = coalesce($4, host), port = coalesce($5::int, port),"
    " username = coalesce($6, username),"
    " architectures = CASE WHEN $7::json IS NULL THEN architectures ELSE"
    " ARRAY(SELECT json_array_elements_text($7::json)) END,"
    " features = CASE WHEN $8::json IS NULL THEN features ELSE"
    " ARRAY(SELECT json_array_elements_text($8::json)) END,"
    " max_jobs = coalesce($9::int, max_jobs) WHERE id = $1::uuid";
static const char SQL_ACTIVE[] =
    "UPDATE server SET active = $2::boolean WHERE id = $1::uuid";
static const char SQL_DELETE[] =
    "DELETE FROM server WHERE id = $1::uuid";
static const char SQL_TARGET[] =
    "SELECT host, port, username, host_key FROM server WHERE id = $1::uuid";
static const char SQL_CONNECTED[] =
    "UPDATE server SET last_connection_at = now(),"
    " host_key = coalesce(host_key, $2) WHERE id = $1::uuid";

static const char *const systems[] = {
	"x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin",
	"i686-linux", "riscv64-linux", "armv7l-linux", "armv6l-linux",
	"powerpc64le-linux",
};

int
gr_system_valid(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(systems) / sizeof(systems[0]); i++)
		if (strcmp(s, systems[i]) == 0)
			return 1;
	return 0;
}

int
gr_host_valid(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > 253 || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) ||
		    strchr(".-:_[]%", s[i]) != NULL))
			return 0;
	return 1;
}

int
gr_username_valid(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > 32 || !(islower((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(islower((unsigned char)s[i]) ||
		    isdigit((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int
gr_feature_valid(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

enum gr_status
gr_server_find(struct gr_db *db, const char *org, const char *slug,
    struct gr_server *sv)
{
	const char	*q[2] = { org, slug };
	PGresult	*res;
	enum gr_status	 st = GR_NOTFOUND;

	memset(sv, 0, sizeof(*sv));
	if (!gr_valid_slug(slug))
		return GR_NOTFOUND;
	if ((res = gr_db_exec(db, SQL_FIND, 2, q)) == NULL)
		return GR_ERROR;
	if (PQntuples(res) == 1) {
		snprintf(sv->id, sizeof(sv->id), "%s", PQgetvalue(res, 0, 0));
		sv->managed = gr_db_bool(res, 0, 1);
		st = GR_OK;
	}
	PQclear(res);
	return st;
}

struct json_object *
gr_server_list(struct gr_db *db, const char *org, enum gr_status *st)
{
	const char	*p[1] = { org };

	return gr_db_json(db, SQL_LIST, 1, p, 0, st);
}

struct json_object *
gr_server_json(struct gr_db *db, const char *id, enum gr_status *st)
{
	const char	*p[1] = { id };

	return gr_db_json(db, SQL_GET, 1, p, 1, st);
}

enum gr_status
gr_server_create(struct gr_db *db, const char *org, const char *name,
    const char *display, const char *host, int port, const char *username,
    const char *archs, const char *features, int max_jobs,
    const char *user_id, int managed, char *id)
{
	char		 pbuf[16], mbuf[16];
	const char	*p[11] = { org, name, display, host, pbuf, username,
			    archs, features, mbuf, user_id,
			    managed ? "true" : "false" };
	PGresult	*res;

	snprintf(pbuf, sizeof(pbuf), "%d", port);
	snprintf(mbuf, sizeof(mbuf), "%d", max_jobs);
	if ((res = gr_db_exec(db, SQL_CREATE, 11, p)) == NULL)
		return gr_db_error_status(db);
	snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return GR_OK;
}

enum gr_status
gr_server_update(struct gr_db *db, const char *id, const char *name,
    const char *display, const char *host, int port, const char *username,
    const char *archs, const char *features, int max_jobs)
{
	char		 pbuf[16], mbuf[16];
	const char	*p[9] = { id, name, display, host,
			    port > 0 ? pbuf : NULL, username, archs, features,
			    max_jobs > 0 ? mbuf : NULL };

	snprintf(pbuf, sizeof(pbuf), "%d", port);
	snprintf(mbuf, sizeof(mbuf), "%d", max_jobs);
	return gr_db_change(db, SQL_UPDATE, 9, p);
}

enum gr_status
gr_server_set_active(struct gr_db *db, const char *id, int active)
{
	const char	*p[2] = { id, active ? "true" : "false" };

	return gr_db_change(db, SQL_ACTIVE, 2, p);
}

enum gr_status
gr_server_delete(struct gr_db *db, const char *id)
{
	const char	*p[1] = { id };

	return gr_db_change(db, SQL_DELETE, 1, p);
}

enum gr_status
gr_server_target(struct gr_db *db, const char *id, struct gr_server_target *t)
{
	const char	*p[1] = { id };
	PGresult	*res;
	enum gr_status	 st = GR_NOTFOUND;

	memset(t, 0, sizeof(*t));
	if ((res = gr_db_exec(db, SQL_TARGET, 1, p)) == NULL)
		return GR_ERROR;
	if (PQntuples(res) == 1) {
		t->host = gr_db_strdup(res, 0, 0);
		t->port = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
		t->username = gr_db_strdup(res, 0, 2);
		t->host_key = gr_db_strdup(res, 0, 3);
		st = t->host != NULL && t->username != NULL ? GR_OK : GR_ERROR;
	}
	PQclear(res);
	return st;
}

void
gr_server_target_release(struct gr_server_target *t)
{
	free(t->host);
	free(t->username);
	free(t->host_key);
	memset(t, 0, sizeof(*t));
}

enum gr_status
gr_server_connected(struct gr_db *db, const char *id, const char *host_key)
{
	const char	*p[2] = { id, host_key };

	return gr_db_change(db, SQL_CONNECTED, 2, p);
}
