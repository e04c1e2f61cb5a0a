/*
 * model_org.c - organizations, members, SSH keys and subscriptions.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/log.h"
#include "src/model_org.h"

static const char SQL_ACCESS[] =
    "SELECT o.id, o.name, m.role, o.managed FROM organization o"
    " JOIN organization_user m ON m.organization_id = o.id"
    " WHERE o.name = $1 AND m.user_id = $2::uuid";
static const char SQL_LIST[] =
    "SELECT o.id, o.name FROM organization o"
    " JOIN organization_user m ON m.organization_id = o.id"
    " WHERE m.user_id = $1::uuid ORDER BY o.name";
static const char SQL_GET[] =
    "SELECT id, name, display_name, description, created_by, created_at,"
    " managed FROM organization WHERE id = $1::uuid";
static const char SQL_CREATE[] =
    "INSERT INTO organization (name, display_name, description,"
    " ssh_public_key, ssh_private_key, created_by, managed)"
    " VALUES ($1, $2, $3, $4, $5, $6::uuid, $7::boolean) RETURNING id";
static const char SQL_CREATOR[] =
    "INSERT INTO organization_user (organization_id, user_id, role)"
    " VALUES ($1::uuid, $2::uuid, 'admin')";
/* A new name renames the key's comment too ("gradient@<name>"). */
static const char SQL_UPDATE[] =
    "UPDATE organization SET ssh_public_key = CASE WHEN $2::text IS NULL THEN"
    " ssh_public_key ELSE split_part(ssh_public_key, ' ', 1) || ' ' ||"
    " split_part(ssh_public_key, ' ', 2) || ' gradient@' || $2 END,"
    " name = coalesce($2, name),"
    " display_name = coalesce($3, display_name),"
    " description = coalesce($4, description) WHERE id = $1::uuid";
static const char SQL_DELETE[] =
    "DELETE FROM organization WHERE id = $1::uuid";

static const char SQL_MEMBERS[] =
    "SELECT u.username AS name, m.role FROM organization_user m"
    " JOIN \"user\" u ON u.id = m.user_id WHERE m.organization_id = $1::uuid"
    " ORDER BY u.username";
static const char SQL_MEMBER_ADD[] =
    "INSERT INTO organization_user (organization_id, user_id, role)"
    " SELECT $1::uuid, id, $3 FROM \"user\" WHERE username = $2";
/* Lock the organization's members so the last-admin check holds. */
static const char SQL_MEMBERS_LOCK[] =
    "SELECT 1 FROM organization WHERE id = $1::uuid FOR UPDATE";
static const char SQL_MEMBER_ROLE[] =
    "SELECT m.role, (SELECT count(*) FROM organization_user a"
    " WHERE a.organization_id = $1::uuid AND a.role = 'admin')"
    " FROM organization_user m JOIN \"user\" u ON u.id = m.user_id"
    " WHERE m.organization_id = $1::uuid AND u.username = $2";
static const char SQL_MEMBER_UPDATE[] =
    "UPDATE organization_user m SET role = $3 FROM \"user\" u"
    " WHERE u.id = m.user_id AND m.organization_id = $1::uuid"
    " AND u.username = $2";
static const char SQL_MEMBER_DELETE[] =
    "DELETE FROM organization_user m USING \"user\" u"
    " WHERE u.id = m.user_id AND m.organization_id = $1::uuid"
    " AND u.username = $2";
static const char SQL_USER_EXISTS[] =
    "SELECT 1 FROM \"user\" WHERE username = $1";

static const char SQL_SSH_PUBLIC[] =
    "SELECT ssh_public_key FROM organization WHERE id = $1::uuid";
static const char SQL_SSH_SEALED[] =
    "SELECT ssh_private_key FROM organization WHERE id = $1::uuid";
static const char SQL_SSH_SET[] =
    "UPDATE organization SET ssh_public_key = $2, ssh_private_key = $3"
    " WHERE id = $1::uuid";
static const char SQL_KNOWN_HOSTS[] =
    "SELECT known_hosts FROM organization WHERE id = $1::uuid";
/* Only over the text we read, so two checks at once lose nothing. */
static const char SQL_KNOWN_HOSTS_SET[] =
    "UPDATE organization SET known_hosts = $3 WHERE id = $1::uuid"
    " AND known_hosts = $2";

static const char SQL_CACHES[] =
    "SELECT c.id, c.name FROM organization_cache s"
    " JOIN cache c ON c.id = s.cache_id WHERE s.organization_id = $1::uuid"
    " ORDER BY c.name";
static const char SQL_SUBSCRIBE[] =
    "INSERT INTO organization_cache (organization_id, cache_id)"
    " VALUES ($1::uuid, $2::uuid)";
static const char SQL_UNSUBSCRIBE[] =
    "DELETE FROM organization_cache WHERE organization_id = $1::uuid"
    " AND cache_id = $2::uuid";

static const char *const role_names[GR_ROLE__MAX] = {
	[GR_ROLE_NONE] = "none",
	[GR_ROLE_VIEW] = "view",
	[GR_ROLE_WRITE] = "write",
	[GR_ROLE_ADMIN] = "admin",
};

enum gr_role
gr_role_parse(const char *s)
{
	int	 i;

	for (i = GR_ROLE_VIEW; i < GR_ROLE__MAX; i++)
		if (strcmp(s, role_names[i]) == 0)
			return (enum gr_role)i;
	return GR_ROLE_NONE;
}

const char *
gr_role_name(enum gr_role r)
{
	return r < GR_ROLE__MAX ? role_names[r] : "none";
}

int
gr_valid_text(const char *s, size_t max)
{
	size_t	 i, chars = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	}
	return chars <= max;
}

enum gr_status
gr_org_access(struct gr_db *db, const char *slug, const char *user_id,
    struct gr_org *o)
{
	const char	*p[2] = { slug, user_id };
	PGresult	*res;
	enum gr_status	 st = GR_NOTFOUND;

	memset(o, 0, sizeof(*o));
	if (!gr_valid_slug(slug))
		return GR_NOTFOUND;
	if ((res = gr_db_exec(db, SQL_ACCESS, 2, p)) == NULL)
		return GR_ERROR;
	if (PQntuples(res) == 1) {
		snprintf(o->id, sizeof(o->id), "%s", PQgetvalue(res, 0, 0));
		snprintf(o->name, sizeof(o->name), "%s", PQgetvalue(res, 0, 1));
		o->role = gr_role_parse(PQgetvalue(res, 0, 2));
		o->managed = gr_db_bool(res, 0, 3);
		st = GR_OK;
	}
	PQclear(res);
	return st;
}

struct json_object *
gr_org_list(struct gr_db *db, const char *user_id)
{
	const char	*p[1] = { user_id };
	enum gr_status	 st;

	return gr_db_json(db, SQL_LIST, 1, p, 0, &st);
}

struct json_object *
gr_org_json(struct gr_db *db, const char *id, enum gr_status *st)
{
	const char	*p[1] = { id };

	return gr_db_json(db, SQL_GET, 1, p, 1, st);
}

enum gr_status
gr_org_create(struct gr_db *db, const char *name, const char *display,
    const char *description, const char *pub, const char *sealed,
    const char *user_id, int managed, char *id)
{
	const char	*p[7] = { name, display, description, pub, sealed,
			    user_id, managed ? "true" : "false" };
	const char	*q[2];
	PGresult	*res = NULL;
	enum gr_status	 st = GR_ERROR;

	if (gr_db_begin(db) == -1)
		return GR_ERROR;
	if ((res = gr_db_exec(db, SQL_CREATE, 7, p)) == NULL) {
		st = gr_db_error_status(db);
		goto out;
	}
	snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	q[0] = id;
	q[1] = user_id;
	if (user_id != NULL &&
	    (res = gr_db_exec(db, SQL_CREATOR, 2, q)) == NULL)
		goto out;
	st = GR_OK;
out:
	PQclear(res);
	if (st == GR_OK && gr_db_commit(db) == 0)
		return GR_OK;
	gr_db_rollback(db);
	return st == GR_OK ? GR_ERROR : st;
}

enum gr_status
gr_org_update(struct gr_db *db, const char *id, const char *name,
    const char *display, const char *description)
{
	const char	*p[4] = { id, name, display, description };

	return gr_db_change(db, SQL_UPDATE, 4, p);
}

enum gr_status
gr_org_delete(struct gr_db *db, const char *id)
{
	const char	*p[1] = { id };

	return gr_db_change(db, SQL_DELETE, 1, p);
}

struct json_object *
gr_org_members(struct gr_db *db, const char *id, enum gr_status *st)
{
	const char	*p[1] = { id };

	return gr_db_json(db, SQL_MEMBERS, 1, p, 0, st);
}

/* 1 if username exists, 0 if not, -1 on error. */
static int
user_exists(struct gr_db *db, const char *username)
{
	const char	*p[1] = { username };
	PGresult	*res;
	int		 n;

	if ((res = gr_db_exec(db, SQL_USER_EXISTS, 1, p)) == NULL)
		return -1;
	n = PQntuples(res) > 0;
	PQclear(res);
	return n;
}

/*
 * Inside a transaction holding the organization's row lock: the member's
 * current role and the number of admins.  GR_NOTFOUND if not a member.
 */
static enum gr_status
member_role(struct gr_db *db, const char *org, const char *username,
    enum gr_role *role, long *admins)
{
	const char	*p[2] = { org, username };
	PGresult	*res;
	enum gr_status	 st = GR_NOTFOUND;

	if ((res = gr_db_exec(db, SQL_MEMBERS_LOCK, 1, p)) == NULL)
		return GR_ERROR;
	PQclear(res);
	if ((res = gr_db_exec(db, SQL_MEMBER_ROLE, 2, p)) == NULL)
		return GR_ERROR;
	if (PQntuples(res) == 1) {
		*role = gr_role_parse(PQgetvalue(res, 0, 0));
		*admins = strtol(PQgetvalue(res, 0, 1), NULL, 10);
		st = GR_OK;
	}
	PQclear(res);
	return st;
}

enum gr_status
gr_org_member_set(struct gr_db *db, const char *org, const char *username,
    enum gr_role role, int add)
{
	const char	*p[3] = { org, username, gr_role_name(role) };
	enum gr_role	 cur;
	enum gr_status	 st;
	long		 admins;
	int		 e;

	if (add) {
		if ((e = user_exists(db, username)) != 1)
			return e == 0 ? GR_NOTFOUND : GR_ERROR;
		st = gr_db_change(db, SQL_MEMBER_ADD, 3, p);
		return st;
	}
	if (gr_db_begin(db) == -1)
		return GR_ERROR;
	if ((st = member_role(db, org, username, &cur, &admins)) != GR_OK)
		goto out;
	if (cur == GR_ROLE_ADMIN && role != GR_ROLE_ADMIN && admins <= 1) {
		st = GR_INVALID;
		goto out;
	}
	st = gr_db_change(db, SQL_MEMBER_UPDATE, 3, p);
out:
	if (st == GR_OK && gr_db_commit(db) == 0)
		return GR_OK;
	gr_db_rollback(db);
	return st == GR_OK ? GR_ERROR : st;
}

enum gr_status
gr_org_member_remove(struct gr_db *db, const char *org, const char *username)
{
	const char	*p[2] = { org, username };
	enum gr_role	 cur;
	enum gr_status	 st;
	long		 admins;

	if (gr_db_begin(db) == -1)
		return GR_ERROR;
	if ((st = member_role(db, org, username, &cur, &admins)) != GR_OK)
		goto out;
	if (cur == GR_ROLE_ADMIN && admins <= 1) {
		st = GR_INVALID;
		goto out;
	}
	st = gr_db_change(db, SQL_MEMBER_DELETE, 2, p);
out:
	if (st == GR_OK && gr_db_commit(db) == 0)
		return GR_OK;
	gr_db_rollback(db);
	return st == GR_OK ? GR_ERROR : st;
}

char *
gr_org_ssh_public(struct gr_db *db, const char *id)
{
	return gr_db_text(db, SQL_SSH_PUBLIC, id);
}

char *
gr_org_ssh_sealed(struct gr_db *db, const char *id)
{
	return gr_db_text(db, SQL_SSH_SEALED, id);
}

enum gr_status
gr_org_ssh_set(struct gr_db *db, const char *id, const char *pub,
    const char *sealed)
{
	const char	*p[3] = { id, pub, sealed };

	return gr_db_change(db, SQL_SSH_SET, 3, p);
}

char *
gr_org_known_hosts(struct gr_db *db, const char *id)
{
	return gr_db_text(db, SQL_KNOWN_HOSTS, id);
}

enum gr_status
gr_org_known_hosts_set(struct gr_db *db, const char *id, const char *old,
    const char *text)
{
	const char	*p[3] = { id, old, text };

	return gr_db_change(db, SQL_KNOWN_HOSTS_SET, 3, p);
}

struct json_object *
gr_org_caches(struct gr_db *db, const char *id, enum gr_status *st)
{
	const char	*p[1] = { id };

	return gr_db_json(db, SQL_CACHES, 1, p, 0, st);
}

enum gr_status
gr_org_subscribe(struct gr_db *db, const char *org, const char *cache)
{
	const char	*p[2] = { org, cache };

	return gr_db_change(db, SQL_SUBSCRIBE, 2, p);
}

enum gr_status
gr_org_unsubscribe(struct gr_db *db, const char *org, const char *cache)
{
	const char	*p[2] = { org, cache };

	return gr_db_change(db, SQL_UNSUBSCRIBE, 2, p);
}
