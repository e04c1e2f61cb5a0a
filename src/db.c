/*
 * db.c - libpq connection, prepared statements and transactions.
 *
 * The level that sees the libpq error logs it here, once; callers only
 * look at the NULL return and, where it matters, gr_db_error_status().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "src/buf.h"
#include "src/db.h"
#include "src/json.h"
#include "src/log.h"

/* libpq's message for the log: its first line, without the newline. */
static const char *
pq_error(const struct gr_db *db)
{
	static char	 line[512];
	const char	*m;

	m = db->conn != NULL ? PQerrorMessage(db->conn) : "not connected";
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(m, "\n"), m);
	return line;
}

/* Server notices ("relation exists, skipping") are for debugging only. */
static void
notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("database notice: %s", msg);
}

struct gr_db *
gr_db_new(const char *conninfo)
{
	struct gr_db	*db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	if ((db->conninfo = strdup(conninfo)) == NULL) {
		free(db);
		return NULL;
	}
	return db;
}

void
gr_db_free(struct gr_db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

int
gr_db_connect(struct gr_db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->nstmt = 0;
	db->in_tx = 0;
	db->conn = PQconnectdb(db->conninfo);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		log_warnx("cannot connect to database: %s", db->conn != NULL ?
		    pq_error(db) : "out of memory");
		if (db->conn != NULL)
			PQfinish(db->conn);
		db->conn = NULL;
		return -1;
	}
	PQsetErrorVerbosity(db->conn, PQERRORS_TERSE);
	PQsetNoticeProcessor(db->conn, notice, NULL);
	/* Timestamps leave the database in UTC, whatever the server says. */
	if (gr_db_script(db, "SET TimeZone TO 'UTC'") == -1) {
		PQfinish(db->conn);
		db->conn = NULL;
		return -1;
	}
	return 0;
}

static void
set_state(struct gr_db *db, const PGresult *res)
{
	const char	*st = NULL, *cn = NULL;

	if (res != NULL) {
		st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		cn = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	}
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s",
	    st != NULL ? st : "");
	snprintf(db->constraint, sizeof(db->constraint), "%s",
	    cn != NULL ? cn : "");
}

/* "s" and the index: the name of prepared statement i, without printf. */
static void
stmt_name(size_t i, char name[GR_UTOA_LEN + 1])
{
	name[0] = 's';
	gr_utoa(i, name + 1);
}

/* Index of sql's prepared statement, preparing it if new; -1 on error. */
static int
prepare(struct gr_db *db, const char *sql, int nparams)
{
	PGresult	*res;
	char		 name[GR_UTOA_LEN + 1];
	size_t		 i;

	for (i = 0; i < db->nstmt; i++)
		if (db->stmt[i] == sql)
			return (int)i;
	if (db->nstmt == GR_DB_MAXSTMT) {
		log_warnx("too many prepared statements");
		return -1;
	}
	stmt_name(db->nstmt, name);
	res = PQprepare(db->conn, name, sql, nparams, NULL);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_state(db, res);
		log_warnx("cannot prepare statement: %s", pq_error(db));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	db->stmt[db->nstmt] = sql;
	return (int)db->nstmt++;
}

PGresult *
gr_db_exec(struct gr_db *db, const char *sql, int nparams,
    const char *const *params)
{
	PGresult	*res = NULL;
	char		 name[GR_UTOA_LEN + 1];
	int		 idx, attempt;

	db->sqlstate[0] = '\0';
	db->constraint[0] = '\0';
	for (attempt = 0; attempt < 2; attempt++) {
		if (db->in_tx && (db->conn == NULL ||
		    PQstatus(db->conn) != CONNECTION_OK))
			return NULL;	/* never reconnect inside a transaction */
		if (gr_db_connect(db) == -1)
			return NULL;
		if ((idx = prepare(db, sql, nparams)) == -1)
			goto broken;
		stmt_name((size_t)idx, name);
		res = PQexecPrepared(db->conn, name, nparams, params, NULL,
		    NULL, 0);
		if (res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK))
			return res;
		set_state(db, res);
		if (PQstatus(db->conn) == CONNECTION_OK) {
			/* A statement error (constraint, bad input): no retry. */
			if (strcmp(db->sqlstate, "23505") != 0)
				log_warnx("query failed (%s): %s", db->sqlstate,
				    pq_error(db));
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		res = NULL;
broken:
		if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
			return NULL;
		log_warnx("database connection lost: %s", pq_error(db));
		if (db->in_tx) {
			/* The transaction is gone; the caller must start over. */
			PQfinish(db->conn);
			db->conn = NULL;
			db->in_tx = 0;
			return NULL;
		}
		PQfinish(db->conn);
		db->conn = NULL;
	}
	return NULL;
}

int
gr_db_script(struct gr_db *db, const char *sql)
{
	PGresult	*res;
	int		 rc = 0;

	if (db->in_tx && (db->conn == NULL ||
	    PQstatus(db->conn) != CONNECTION_OK))
		return -1;
	if (gr_db_connect(db) == -1)
		return -1;
	res = PQexec(db->conn, sql);
	if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)) {
		set_state(db, res);
		log_warnx("script failed: %s", pq_error(db));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

enum gr_status
gr_db_error_status(const struct gr_db *db)
{
	if (strcmp(db->sqlstate, "23505") == 0)
		return GR_CONFLICT;
	return GR_ERROR;
}

int
gr_db_begin(struct gr_db *db)
{
	if (gr_db_script(db, "BEGIN") == -1)
		return -1;
	db->in_tx = 1;
	return 0;
}

int
gr_db_commit(struct gr_db *db)
{
	int	 rc;

	if (!db->in_tx)
		return -1;
	rc = gr_db_script(db, "COMMIT");
	db->in_tx = 0;
	return rc;
}

void
gr_db_rollback(struct gr_db *db)
{
	if (!db->in_tx)
		return;
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		(void)gr_db_script(db, "ROLLBACK");
	db->in_tx = 0;
}

char *
gr_db_strdup(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return strdup(PQgetvalue(res, row, col));
}

void
gr_db_copy(const PGresult *res, int row, int col, char *dst, size_t sz)
{
	size_t	 n = (size_t)PQgetlength(res, row, col);

	if (sz == 0)
		return;
	if (n > sz - 1)
		n = sz - 1;
	memcpy(dst, PQgetvalue(res, row, col), n);
	dst[n] = '\0';
}

int
gr_db_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* Type OIDs from pg_type.h, which libpq does not install. */
#define OID_BOOL	16
#define OID_INT8	20
#define OID_INT2	21
#define OID_INT4	23
#define OID_JSON	114
#define OID_TIMESTAMPTZ	1184
#define OID_JSONB	3802

/* "2026-11-25 11:20:18.123456+00" (UTC session) as ISO 8601. */
static struct json_object *
timestamp_json(const char *v)
{
	char	 out[64];
	size_t	 n = strlen(v);

	if (n >= sizeof(out) - 1 || n < 19)
		return json_object_new_string(v);
	memcpy(out, v, n + 1);
	out[10] = 'T';
	if (n > 3 && strcmp(out + n - 3, "+00") == 0)
		strcpy(out + n - 3, "Z");
	return json_object_new_string(out);
}

static struct json_object *
value_json(const PGresult *res, int row, int col)
{
	const char		*v;
	struct json_object	*o;
	char			 err[64];

	if (PQgetisnull(res, row, col))
		return NULL;
	v = PQgetvalue(res, row, col);
	switch (PQftype(res, col)) {
	case OID_BOOL:
		return json_object_new_boolean(v[0] == 't');
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return json_object_new_int64(strtoll(v, NULL, 10));
	case OID_JSON:
	case OID_JSONB:
		if ((o = gr_json_parse(v, strlen(v), err, sizeof(err))) != NULL)
			return o;
		return NULL;
	case OID_TIMESTAMPTZ:
		return timestamp_json(v);
	default:
		return json_object_new_string(v);
	}
}

static struct json_object *
row_json(const PGresult *res, int row)
{
	struct json_object	*o;
	int			 c;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	for (c = 0; c < PQnfields(res); c++)
		json_object_object_add(o, PQfname(res, c),
		    value_json(res, row, c));
	return o;
}

struct json_object *
gr_db_json(struct gr_db *db, const char *sql, int n, const char *const *p,
    int one, enum gr_status *st)
{
	PGresult		*res;
	struct json_object	*out;
	int			 i;

	if ((res = gr_db_exec(db, sql, n, p)) == NULL) {
		*st = GR_ERROR;
		return NULL;
	}
	if (one) {
		if (PQntuples(res) == 0) {
			*st = GR_NOTFOUND;
			PQclear(res);
			return NULL;
		}
		out = row_json(res, 0);
	} else {
		out = json_object_new_array();
		for (i = 0; out != NULL && i < PQntuples(res); i++)
			json_object_array_add(out, row_json(res, i));
	}
	PQclear(res);
	*st = out != NULL ? GR_OK : GR_ERROR;
	return out;
}

enum gr_status
gr_db_change(struct gr_db *db, const char *sql, int n, const char *const *p)
{
	PGresult	*res;
	enum gr_status	 st;

	if ((res = gr_db_exec(db, sql, n, p)) == NULL)
		return gr_db_error_status(db);
	st = strcmp(PQcmdTuples(res), "0") == 0 ? GR_NOTFOUND : GR_OK;
	PQclear(res);
	return st;
}

char *
gr_db_text(struct gr_db *db, const char *sql, const char *param)
{
	const char	*p[1] = { param };
	PGresult	*res;
	char		*s = NULL;

	if ((res = gr_db_exec(db, sql, 1, p)) == NULL)
		return NULL;
	if (PQntuples(res) == 1)
		s = gr_db_strdup(res, 0, 0);
	PQclear(res);
	return s;
}
