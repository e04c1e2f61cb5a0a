/*
 * db.h - the libpq wrapper: one connection, prepared statements, retries.
 *
 * Statements are static const char literals with $n placeholders; each is
 * prepared once per connection the first time it runs, keyed by the
 * literal's address.  Parameters are always passed out of line.  When the
 * connection breaks outside a transaction, gr_db_exec reconnects once and
 * retries; inside a transaction the caller sees the failure.
 */
#ifndef GRADIENT_DB_H
#define GRADIENT_DB_H

#include <libpq-fe.h>

#include "src/http.h"

#define GR_DB_MAXSTMT	256

struct gr_db {
	PGconn		*conn;
	char		*conninfo;
	int		 in_tx;
	char		 sqlstate[6];	/* of the last failure, "" if none */
	char		 constraint[64];	/* its constraint, if any */
	size_t		 nstmt;
	const char	*stmt[GR_DB_MAXSTMT];
};

/* New handle (caller frees with gr_db_free); connects at once or later. */
struct gr_db	*gr_db_new(const char *);
void		 gr_db_free(struct gr_db *);
/* 0 if connected (connecting now if needed), -1 otherwise (logged). */
int		 gr_db_connect(struct gr_db *);

/*
 * Run a prepared statement.  Returns a result with status COMMAND_OK or
 * TUPLES_OK that the caller PQclear()s, or NULL (logged, sqlstate set).
 */
PGresult	*gr_db_exec(struct gr_db *, const char *, int,
		    const char *const *);
/* Run a parameterless script (migrations); 0 or -1 (logged). */
int		 gr_db_script(struct gr_db *, const char *);
/* GR_CONFLICT for a unique violation, GR_ERROR otherwise. */
enum gr_status	 gr_db_error_status(const struct gr_db *);

int		 gr_db_begin(struct gr_db *);
int		 gr_db_commit(struct gr_db *);
void		 gr_db_rollback(struct gr_db *);

/*
 * Rows as JSON, keys from the column names: booleans, integers, json
 * columns and NULL keep their type, timestamps become ISO 8601 in UTC,
 * everything else a string.  With one == 0: an array of objects.  With
 * one != 0: the first row's object, or NULL with *st GR_NOTFOUND.  NULL
 * with *st GR_ERROR when the query failed.  The caller puts the result.
 */
struct json_object *gr_db_json(struct gr_db *, const char *, int,
		    const char *const *, int, enum gr_status *);
/* First column of a one-row, one-parameter query (caller frees), or NULL. */
char		*gr_db_text(struct gr_db *, const char *, const char *);
/* Run a statement that changes rows: GR_NOTFOUND when it changed none. */
enum gr_status	 gr_db_change(struct gr_db *, const char *, int,
		    const char *const *);

/* Copy column c of row 0 into a fresh string (caller frees); NULL if null. */
char		*gr_db_strdup(const PGresult *, int, int);
/*
 * Copy the value at (row, col) into dst of size sz, cut at sz - 1 bytes
 * (the columns it is used for are bounded by the schema); "" for NULL.
 */
void		 gr_db_copy(const PGresult *, int, int, char *, size_t);
/* PQgetvalue as a bool ('t'). */
int		 gr_db_bool(const PGresult *, int, int);

#endif /* GRADIENT_DB_H */
