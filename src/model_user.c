/*
 * model_user.c - users, sessions, API keys and login throttling.
 *
 * Throttling is per account and lives in the database, since responders
 * keep no state: each failed password is a row of login_failure, and an
 * account with login_max_failures rows inside the window is refused until
 * the oldest of them leaves it.  Other accounts are never touched.  A name
 * with no account behind it is throttled the same way, so that neither
 * the answer nor its timing tells whether an account exists.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/buf.h"
#include "src/json.h"
#include "src/log.h"
#include "src/model_user.h"

static const char SQL_USER_CREATE[] =
    "INSERT INTO \"user\" (username, name, email, password_hash)"
    " VALUES ($1, $2, $3, $4) RETURNING id";
static const char SQL_USER_BY_ID[] =
    "SELECT id, username, name, email, managed FROM \"user\""
    " WHERE id = $1::uuid";
static const char SQL_USER_TAKEN[] =
    "SELECT 1 FROM \"user\" WHERE username = $1";
static const char SQL_USER_UPDATE[] =
    "UPDATE \"user\" SET username = coalesce($2, username),"
    " name = coalesce($3, name), email = coalesce($4, email)"
    " WHERE id = $1::uuid";
static const char SQL_USER_DELETE[] =
    "DELETE FROM \"user\" WHERE id = $1::uuid";
/* An organization of which this user is the only admin. */
static const char SQL_LAST_ADMIN[] =
    "SELECT o.name FROM organization_user m"
    " JOIN organization o ON o.id = m.organization_id"
    " WHERE m.user_id = $1::uuid AND m.role = 'admin' AND NOT EXISTS ("
    " SELECT 1 FROM organization_user a WHERE a.organization_id ="
    " m.organization_id AND a.role = 'admin' AND a.user_id <> $1::uuid)"
    " ORDER BY o.name LIMIT 1 FOR UPDATE OF o";

static const char SQL_LOGIN_FIND[] =
    "SELECT id, coalesce(password_hash, '') FROM \"user\""
    " WHERE username = $1 OR lower(email) = lower($1)";
/* Serialises attempts on one subject across every responder. */
static const char SQL_LOGIN_LOCK[] =
    "SELECT pg_advisory_xact_lock(hashtext($1))";
/* Seconds until the max-th newest failure in the window leaves it. */
static const char SQL_LOGIN_RETRY[] =
    "SELECT greatest(1, ceil(extract(epoch FROM"
    " at + make_interval(secs => $2::int) - now())))::bigint"
    " FROM login_failure WHERE subject = $1"
    " AND at > now() - make_interval(secs => $2::int)"
    " ORDER BY at DESC OFFSET $3::int - 1 LIMIT 1";
static const char SQL_LOGIN_FAIL[] =
    "WITH old AS (DELETE FROM login_failure"
    " WHERE at <= now() - make_interval(secs => $2::int))"
    " INSERT INTO login_failure (subject) VALUES ($1)";
static const char SQL_LOGIN_OK[] =
    "WITH f AS (DELETE FROM login_failure WHERE subject = $1),"
    " s AS (DELETE FROM session WHERE user_id = $1::uuid"
    " AND (expires_at < now() OR revoked_at IS NOT NULL)),"
    " u AS (UPDATE \"user\" SET last_login_at = now() WHERE id = $1::uuid)"
    " INSERT INTO session (user_id, expires_at)"
    " VALUES ($1::uuid, now() + make_interval(secs => $2::int))"
    " RETURNING id, extract(epoch FROM created_at)::bigint,"
    " extract(epoch FROM expires_at)::bigint";

static const char SQL_SESSION_USER[] =
    "SELECT u.id, u.username, u.name, u.email, u.managed"
    " FROM session s JOIN \"user\" u ON u.id = s.user_id"
    " WHERE s.id = $1::uuid AND s.user_id = $2::uuid"
    " AND s.revoked_at IS NULL AND s.expires_at > now()";
static const char SQL_SESSION_REVOKE[] =
    "UPDATE session SET revoked_at = now() WHERE id = $1::uuid"
    " AND revoked_at IS NULL";

static const char SQL_APIKEY_USER[] =
    "SELECT u.id, u.username, u.name, u.email, u.managed"
    " FROM api_key k JOIN \"user\" u ON u.id = k.user_id"
    " WHERE k.key_hash = $1";
static const char SQL_APIKEY_LIST[] =
    "SELECT id, name FROM api_key WHERE user_id = $1::uuid"
    " ORDER BY created_at, name";
static const char SQL_APIKEY_CREATE[] =
    "INSERT INTO api_key (user_id, name, key_hash)"
    " VALUES ($1::uuid, $2, $3)";
static const char SQL_APIKEY_DELETE[] =
    "DELETE FROM api_key WHERE user_id = $1::uuid AND name = $2";

static int
bad(char *msg, size_t msgsz, const char *text)
{
	snprintf(msg, msgsz, "%s", text);
	return 0;
}

int
gr_user_valid_username(const char *s, char *msg, size_t msgsz)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '_'))
			return bad(msg, msgsz, "Invalid username: use 3 to 32 "
			    "lowercase letters, digits, '-' or '_'");
	if (n < GR_USERNAME_MIN || n > GR_USERNAME_MAX)
		return bad(msg, msgsz, "Invalid username: use 3 to 32 "
		    "lowercase letters, digits, '-' or '_'");
	return 1;
}

int
gr_user_valid_email(const char *s, char *msg, size_t msgsz)
{
	const char	*at, *dot;
	size_t		 n = strlen(s), i;

	if (n < 3 || n > GR_EMAIL_MAX)
		goto bad;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f ||
		    strchr("<>()[]\\,;:\"", s[i]) != NULL)
			goto bad;
	if ((at = strchr(s, '@')) == NULL || strchr(at + 1, '@') != NULL ||
	    at == s || at - s > 64)
		goto bad;
	dot = strrchr(at + 1, '.');
	if (dot == NULL || dot == at + 1 || dot[1] == '\0' ||
	    strstr(at + 1, "..") != NULL)
		goto bad;
	return 1;
bad:
	return bad(msg, msgsz, "Invalid email address");
}

int
gr_user_valid_name(const char *s, char *msg, size_t msgsz)
{
	size_t	 n = strlen(s), i, chars = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return bad(msg, msgsz, "Invalid name: control "
			    "characters are not allowed");
		/* Count UTF-8 lead bytes, not continuation bytes. */
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	}
	if (chars < 1 || chars > GR_NAME_MAX || n > GR_NAME_BYTES)
		return bad(msg, msgsz, "Invalid name: use 1 to 128 characters");
	return 1;
}

int
gr_user_valid_password(const char *pw, const char *username,
    const char *email, char *msg, size_t msgsz)
{
	size_t	 n = strlen(pw), i, distinct = 0;
	int	 seen[256] = { 0 };

	if (n < GR_PASSWORD_MIN)
		return bad(msg, msgsz, "Password must be at least 8 "
		    "characters long");
	if (n > GR_PASSWORD_MAX)
		return bad(msg, msgsz, "Password must be at most 256 "
		    "characters long");
	for (i = 0; i < n; i++)
		if (!seen[(unsigned char)pw[i]]++)
			distinct++;
	if (distinct < 5)
		return bad(msg, msgsz, "Password must contain at least 5 "
		    "different characters");
	if ((username != NULL && strcasecmp(pw, username) == 0) ||
	    (email != NULL && strcasecmp(pw, email) == 0))
		return bad(msg, msgsz, "Password must not be the username or "
		    "the email address");
	return 1;
}

/* Turn a unique violation on the user table into a message. */
static void
conflict_msg(const struct gr_db *db, char *msg, size_t msgsz)
{
	if (strcmp(db->constraint, "user_email_key") == 0)
		snprintf(msg, msgsz, "Email is already in use");
	else
		snprintf(msg, msgsz, "Username is already taken");
}

enum gr_status
gr_user_create(struct gr_db *db, const char *username, const char *name,
    const char *email, const char *pwhash, char *id, char *msg, size_t msgsz)
{
	const char	*params[4] = { username, name, email, pwhash };
	PGresult	*res;
	enum gr_status	 st;

	if ((res = gr_db_exec(db, SQL_USER_CREATE, 4, params)) == NULL) {
		if ((st = gr_db_error_status(db)) == GR_CONFLICT)
			conflict_msg(db, msg, msgsz);
		return st;
	}
	snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return GR_OK;
}

static void
user_from_row(struct gr_user *u, const PGresult *res, int row)
{
	gr_db_copy(res, row, 0, u->id, sizeof(u->id));
	gr_db_copy(res, row, 1, u->username, sizeof(u->username));
	gr_db_copy(res, row, 2, u->name, sizeof(u->name));
	gr_db_copy(res, row, 3, u->email, sizeof(u->email));
	u->managed = gr_db_bool(res, row, 4);
}

/* Run a query expected to return at most one user row. */
static enum gr_status
user_query(struct gr_db *db, const char *sql, int n, const char *const *p,
    struct gr_user *u)
{
	PGresult	*res;
	enum gr_status	 st = GR_NOTFOUND;

	if ((res = gr_db_exec(db, sql, n, p)) == NULL)
		return GR_ERROR;
	if (PQntuples(res) == 1) {
		user_from_row(u, res, 0);
		st = GR_OK;
	}
	PQclear(res);
	return st;
}

enum gr_status
gr_user_by_id(struct gr_db *db, const char *id, struct gr_user *u)
{
	const char	*p[1] = { id };

	return user_query(db, SQL_USER_BY_ID, 1, p, u);
}

enum gr_status
gr_user_username_taken(struct gr_db *db, const char *username, int *taken)
{
	const char	*p[1] = { username };
	PGresult	*res;

	if ((res = gr_db_exec(db, SQL_USER_TAKEN, 1, p)) == NULL)
		return GR_ERROR;
	*taken = PQntuples(res) > 0;
	PQclear(res);
	return GR_OK;
}

enum gr_status
gr_user_update(struct gr_db *db, const char *id, const char *username,
    const char *name, const char *email, char *msg, size_t msgsz)
{
	const char	*p[4] = { id, username, name, email };
	PGresult	*res;
	enum gr_status	 st;

	if ((res = gr_db_exec(db, SQL_USER_UPDATE, 4, p)) == NULL) {
		if ((st = gr_db_error_status(db)) == GR_CONFLICT)
			conflict_msg(db, msg, msgsz);
		return st;
	}
	st = strcmp(PQcmdTuples(res), "0") == 0 ? GR_NOTFOUND : GR_OK;
	PQclear(res);
	return st;
}

enum gr_status
gr_user_delete(struct gr_db *db, const char *id, char *org, size_t orgsz)
{
	const char	*p[1] = { id };
	PGresult	*res;
	enum gr_status	 st;

	if (gr_db_begin(db) == -1)
		return GR_ERROR;
	if ((res = gr_db_exec(db, SQL_LAST_ADMIN, 1, p)) == NULL) {
		st = GR_ERROR;
		goto out;
	}
	if (PQntuples(res) > 0) {
		/* Nobody could manage that organization any more. */
		snprintf(org, orgsz, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		st = GR_CONFLICT;
		goto out;
	}
	PQclear(res);
	st = gr_db_change(db, SQL_USER_DELETE, 1, p);
out:
	if (st == GR_OK && gr_db_commit(db) == 0)
		return GR_OK;
	gr_db_rollback(db);
	return st == GR_OK ? GR_ERROR : st;
}

enum gr_status
gr_login_begin(struct gr_db *db, const char *loginname, long long window,
    long long max, struct gr_login_gate *g)
{
	struct gr_buf	 subject = GR_BUF_INIT;
	char		 wbuf[24], mbuf[24];
	const char	*p1[1] = { loginname };
	const char	*p3[3];
	PGresult	*res = NULL;
	enum gr_status	 st = GR_ERROR;
	size_t		 i;

	memset(g, 0, sizeof(*g));
	snprintf(wbuf, sizeof(wbuf), "%lld", window);
	snprintf(mbuf, sizeof(mbuf), "%lld", max);
	if (gr_db_begin(db) == -1)
		return GR_ERROR;
	if ((res = gr_db_exec(db, SQL_LOGIN_FIND, 1, p1)) == NULL)
		goto out;
	if (PQntuples(res) == 1) {
		g->found = 1;
		snprintf(g->user_id, sizeof(g->user_id), "%s",
		    PQgetvalue(res, 0, 0));
		snprintf(g->password_hash, sizeof(g->password_hash), "%s",
		    PQgetvalue(res, 0, 1));
		if (gr_buf_adds(&subject, g->user_id) == -1)
			goto out;
	} else {
		/* No such account: throttle the name itself, the same way. */
		if (gr_buf_addc(&subject, '?') == -1)
			goto out;
		for (i = 0; loginname[i] != '\0'; i++)
			if (gr_buf_addc(&subject, (char)tolower(
			    (unsigned char)loginname[i])) == -1)
				goto out;
	}
	PQclear(res);
	p3[0] = subject.data;
	p3[1] = wbuf;
	p3[2] = mbuf;
	if ((res = gr_db_exec(db, SQL_LOGIN_LOCK, 1, p3)) == NULL)
		goto out;
	PQclear(res);
	if ((res = gr_db_exec(db, SQL_LOGIN_RETRY, 3, p3)) == NULL)
		goto out;
	if (PQntuples(res) == 1) {
		g->retry_after = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (g->retry_after < 1)
			g->retry_after = 1;
		st = GR_OK;
		goto out;
	}
	PQclear(res);
	/* Counted as a failure now; a right password clears it. */
	if ((res = gr_db_exec(db, SQL_LOGIN_FAIL, 2, p3)) == NULL)
		goto out;
	st = GR_OK;
out:
	PQclear(res);
	gr_buf_release(&subject);
	if (st == GR_OK && gr_db_commit(db) == 0)
		return GR_OK;
	gr_db_rollback(db);
	memset(g, 0, sizeof(*g));
	return GR_ERROR;
}

enum gr_status
gr_login_succeed(struct gr_db *db, const char *user_id, long long lifetime,
    char *session_id, long long *iat, long long *exp)
{
	char		 lbuf[24];
	const char	*p[2] = { user_id, lbuf };
	PGresult	*res;

	snprintf(lbuf, sizeof(lbuf), "%lld", lifetime);
	if ((res = gr_db_exec(db, SQL_LOGIN_OK, 2, p)) == NULL)
		return GR_ERROR;
	snprintf(session_id, 37, "%s", PQgetvalue(res, 0, 0));
	*iat = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	*exp = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return GR_OK;
}

enum gr_status
gr_session_user(struct gr_db *db, const char *session_id, const char *user_id,
    struct gr_user *u)
{
	const char	*p[2] = { session_id, user_id };

	return user_query(db, SQL_SESSION_USER, 2, p, u);
}

enum gr_status
gr_session_revoke(struct gr_db *db, const char *session_id)
{
	const char	*p[1] = { session_id };

	return gr_db_change(db, SQL_SESSION_REVOKE, 1, p);
}

enum gr_status
gr_apikey_user(struct gr_db *db, const char *digest, struct gr_user *u)
{
	const char	*p[1] = { digest };

	return user_query(db, SQL_APIKEY_USER, 1, p, u);
}

struct json_object *
gr_apikey_list(struct gr_db *db, const char *user_id)
{
	const char		*p[1] = { user_id };
	PGresult		*res;
	struct json_object	*arr, *o;
	int			 i;

	if ((res = gr_db_exec(db, SQL_APIKEY_LIST, 1, p)) == NULL)
		return NULL;
	arr = json_object_new_array();
	for (i = 0; arr != NULL && i < PQntuples(res); i++) {
		o = json_object_new_object();
		json_object_object_add(o, "id",
		    json_object_new_string(PQgetvalue(res, i, 0)));
		json_object_object_add(o, "name",
		    json_object_new_string(PQgetvalue(res, i, 1)));
		json_object_array_add(arr, o);
	}
	PQclear(res);
	return arr;
}

enum gr_status
gr_apikey_create(struct gr_db *db, const char *user_id, const char *name,
    const char *digest)
{
	const char	*p[3] = { user_id, name, digest };

	return gr_db_change(db, SQL_APIKEY_CREATE, 3, p);
}

enum gr_status
gr_apikey_delete(struct gr_db *db, const char *user_id, const char *name)
{
	const char	*p[2] = { user_id, name };

	return gr_db_change(db, SQL_APIKEY_DELETE, 2, p);
}
