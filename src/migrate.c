/*
 * migrate.c - schema migrations (see migrate.h).
 *
 * A migration file is named NNNN_short_name.sql, four digits then a
 * lowercase name; its version is the whole file name without ".sql".
 * Files are append-only: an applied file is never run again.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/buf.h"
#include "src/log.h"
#include "src/migrate.h"

/* An arbitrary constant that names "gradient schema migration". */
static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock(7242014)";
static const char SQL_TABLE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now())";
static const char SQL_APPLIED[] =
    "SELECT 1 FROM schema_migrations WHERE version = $1";
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version) VALUES ($1)";

static int
migration_name(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 10 || strcmp(s + n - 4, ".sql") != 0 || s[4] != '_')
		return 0;
	for (i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	for (i = 5; i < n - 4; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
read_file(const char *path, struct gr_buf *b)
{
	char	 chunk[8192];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("cannot open '%s'", path);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (gr_buf_add(b, chunk, (size_t)n) == -1) {
			close(fd);
			return -1;
		}
	close(fd);
	if (n == -1) {
		log_warn("cannot read '%s'", path);
		return -1;
	}
	return 0;
}

/* Apply one file if it is not recorded; 1 applied, 0 already, -1 error. */
static int
apply_one(struct gr_db *db, const char *dir, const char *file)
{
	struct gr_buf	 sql = GR_BUF_INIT, path = GR_BUF_INIT;
	char		 version[256];
	const char	*p[1] = { version };
	PGresult	*res = NULL;
	int		 rc = -1;

	snprintf(version, sizeof(version), "%.*s", (int)(strlen(file) - 4),
	    file);
	if (gr_db_begin(db) == -1)
		goto out;
	if ((res = gr_db_exec(db, SQL_LOCK, 0, NULL)) == NULL)
		goto out;
	PQclear(res);
	if ((res = gr_db_exec(db, SQL_TABLE, 0, NULL)) == NULL)
		goto out;
	PQclear(res);
	if ((res = gr_db_exec(db, SQL_APPLIED, 1, p)) == NULL)
		goto out;
	if (PQntuples(res) > 0) {
		rc = 0;
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (gr_buf_addf(&path, "%s/%s", dir, file) == -1 ||
	    read_file(path.data, &sql) == -1)
		goto out;
	if (gr_db_script(db, gr_buf_str(&sql)) == -1) {
		log_warnx("migration '%s' failed", file);
		goto out;
	}
	if ((res = gr_db_exec(db, SQL_RECORD, 1, p)) == NULL)
		goto out;
	rc = 1;
out:
	PQclear(res);
	if (rc >= 0) {
		if (gr_db_commit(db) == -1)
			rc = -1;
	} else
		gr_db_rollback(db);
	if (rc == 1)
		log_info("applied migration %s", version);
	gr_buf_release(&sql);
	gr_buf_release(&path);
	return rc;
}

int
gr_migrate(struct gr_db *db, const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL, **nn;
	size_t		 n = 0, i;
	int		 applied = 0, rc;

	if ((d = opendir(dir)) == NULL) {
		log_warn("cannot open migrations directory '%s'", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!migration_name(de->d_name))
			continue;
		if ((nn = reallocarray(names, n + 1, sizeof(*names))) == NULL)
			goto fail;
		names = nn;
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	closedir(d);
	d = NULL;
	qsort(names, n, sizeof(*names), cmp);
	for (i = 0; i < n; i++) {
		if ((rc = apply_one(db, dir, names[i])) == -1)
			goto fail;
		applied += rc;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return applied;
fail:
	if (d != NULL)
		closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return -1;
}
