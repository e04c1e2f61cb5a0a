/*
 * state.c - read, validate and apply the declarative state file (see
 * state.h and gradient-state(5)).
 *
 * Loading does all the checking that needs no database: the shape of the
 * file, unknown fields, the same validators and limits as the API, and the
 * secret files (passwords, organization SSH keys, cache signing keys).
 * Applying then runs in one transaction under an advisory lock: each named
 * object is found by its name and inserted, or updated with
 * "WHERE (columns) IS DISTINCT FROM (values)" so that an object that
 * already matches is not written at all.  Keys and passwords are compared
 * with what is stored (the sealed secret opened, the argon2 hash
 * verified) and replaced only when they differ.  Members and cache
 * subscriptions are added or changed, never removed.  The SQL lives here
 * rather than in the model files because the models each run their own
 * transaction and this one must be a single transaction.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "src/cachekey.h"
#include "src/conf.h"
#include "src/crypto.h"
#include "src/git.h"
#include "src/json.h"
#include "src/log.h"
#include "src/model_org.h"
#include "src/model_project.h"
#include "src/model_server.h"
#include "src/model_user.h"
#include "src/sshkey.h"
#include "src/state.h"

/* An arbitrary constant that names "gradient state apply". */
static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock(7242015)";

static const char SQL_USER_FIND[] =
    "SELECT id, password_hash FROM \"user\" WHERE username = $1 FOR UPDATE";
static const char SQL_USER_INSERT[] =
    "INSERT INTO \"user\" (username, name, email, password_hash, managed)"
    " VALUES ($1, $2, $3, $4, true) RETURNING id";
static const char SQL_USER_UPDATE[] =
    "UPDATE \"user\" SET name = $2::text, email = $3::text, managed = true"
    " WHERE id = $1::uuid AND (name, email, managed)"
    " IS DISTINCT FROM ($2::text, $3::text, true)";
static const char SQL_USER_PASSWORD[] =
    "UPDATE \"user\" SET password_hash = $2 WHERE id = $1::uuid";
static const char SQL_USER_ID[] =
    "SELECT id FROM \"user\" WHERE username = $1";

static const char SQL_ORG_FIND[] =
    "SELECT id, ssh_public_key, ssh_private_key FROM organization"
    " WHERE name = $1 FOR UPDATE";
static const char SQL_ORG_INSERT[] =
    "INSERT INTO organization (name, display_name, description,"
    " ssh_public_key, ssh_private_key, managed)"
    " VALUES ($1, $2, $3, $4, $5, true) RETURNING id";
static const char SQL_ORG_UPDATE[] =
    "UPDATE organization SET display_name = $2::text,"
    " description = $3::text, managed = true WHERE id = $1::uuid"
    " AND (display_name, description, managed)"
    " IS DISTINCT FROM ($2::text, $3::text, true)";
static const char SQL_ORG_KEY[] =
    "UPDATE organization SET ssh_public_key = $2, ssh_private_key = $3"
    " WHERE id = $1::uuid";
static const char SQL_ORG_ID[] =
    "SELECT id FROM organization WHERE name = $1";
static const char SQL_MEMBER_SET[] =
    "INSERT INTO organization_user (organization_id, user_id, role)"
    " VALUES ($1::uuid, $2::uuid, $3)"
    " ON CONFLICT (organization_id, user_id) DO UPDATE"
    " SET role = excluded.role"
    " WHERE organization_user.role IS DISTINCT FROM excluded.role";

static const char SQL_PROJECT_FIND[] =
    "SELECT id FROM project WHERE organization_id = $1::uuid AND name = $2"
    " FOR UPDATE";
static const char SQL_PROJECT_INSERT[] =
    "INSERT INTO project (organization_id, name, display_name, description,"
    " repository, branch, evaluation_wildcard, active, managed)"
    " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8::boolean, true)";
static const char SQL_PROJECT_UPDATE[] =
    "UPDATE project SET display_name = $2::text, description = $3::text,"
    " repository = $4::text, branch = $5::text,"
    " evaluation_wildcard = $6::text, active = $7::boolean, managed = true"
    " WHERE id = $1::uuid AND (display_name, description, repository,"
    " branch, evaluation_wildcard, active, managed) IS DISTINCT FROM"
    " ($2::text, $3::text, $4::text, $5::text, $6::text, $7::boolean, true)";

static const char SQL_SERVER_FIND[] =
    "SELECT id FROM server WHERE organization_id = $1::uuid AND name = $2"
    " FOR UPDATE";
static const char SQL_SERVER_INSERT[] =
    "INSERT INTO server (organization_id, name, display_name, host, port,"
    " username, architectures, features, max_jobs, active, managed)"
    " VALUES ($1::uuid, $2, $3, $4, $5::int, $6,"
    " ARRAY(SELECT json_array_elements_text($7::json)),"
    " ARRAY(SELECT json_array_elements_text($8::json)),"
    " $9::int, $10::boolean, true)";
/* As in model_server.c, a changed address forgets the pinned host key. */
static const char SQL_SERVER_UPDATE[] =
    "UPDATE server SET display_name = $2::text,"
    " host_key = CASE WHEN host <> $3::text OR port <> $4::int THEN NULL"
    " ELSE host_key END,"
    " host = $3::text, port = $4::int, username = $5::text,"
    " architectures = ARRAY(SELECT json_array_elements_text($6::json)),"
    " features = ARRAY(SELECT json_array_elements_text($7::json)),"
    " max_jobs = $8::int, active = $9::boolean, managed = true"
    " WHERE id = $1::uuid AND (display_name, host, port, username,"
    " architectures, features, max_jobs, active, managed)"
    " IS DISTINCT FROM ($2::text, $3::text, $4::int, $5::text,"
    " ARRAY(SELECT json_array_elements_text($6::json)),"
    " ARRAY(SELECT json_array_elements_text($7::json)),"
    " $8::int, $9::boolean, true)";

static const char SQL_CACHE_FIND[] =
    "SELECT id, public_key, secret_key FROM cache WHERE name = $1"
    " FOR UPDATE";
static const char SQL_CACHE_INSERT[] =
    "INSERT INTO cache (name, display_name, description, priority,"
    " public_key, secret_key, active, created_by, managed)"
    " VALUES ($1, $2, $3, $4::int, $5, $6, $7::boolean, $8::uuid, true)"
    " RETURNING id";
static const char SQL_CACHE_UPDATE[] =
    "UPDATE cache SET display_name = $2::text, description = $3::text,"
    " priority = $4::int, active = $5::boolean, managed = true"
    " WHERE id = $1::uuid AND (display_name, description, priority, active,"
    " managed) IS DISTINCT FROM ($2::text, $3::text, $4::int, $5::boolean,"
    " true)";
static const char SQL_CACHE_OWNER[] =
    "UPDATE cache SET created_by = $2::uuid WHERE id = $1::uuid"
    " AND created_by IS DISTINCT FROM $2::uuid";
static const char SQL_CACHE_KEY[] =
    "UPDATE cache SET public_key = $2, secret_key = $3 WHERE id = $1::uuid";
static const char SQL_SUBSCRIBE[] =
    "INSERT INTO organization_cache (organization_id, cache_id)"
    " VALUES ($1::uuid, $2::uuid) ON CONFLICT DO NOTHING";

#define WHERE_MAX	48	/* "organizations[N]"; nested paths add 48 */

struct st_user {
	char		 where[WHERE_MAX];
	const char	*username, *name, *email;
	char		*password;	/* NULL: none in the file */
	size_t		 passwordlen;
};

struct st_member {
	char		 where[WHERE_MAX + 48];
	const char	*username;
	enum gr_role	 role;
};

struct st_org {
	char		 where[WHERE_MAX];
	const char	*name, *display, *description;
	char		*pem;		/* NULL: made on create, then kept */
	size_t		 pemlen;
	char		*pub;		/* the public line of pem */
	struct st_member *members;
	size_t		 nmembers;
};

struct st_project {
	char		 where[WHERE_MAX];
	const char	*org, *name, *display, *description, *repository;
	const char	*branch, *wildcard;	/* branch NULL: none */
	int		 active;
};

struct st_server {
	char		 where[WHERE_MAX];
	const char	*org, *name, *display, *host, *username;
	long long	 port, max_jobs;
	char		*archs, *features;	/* JSON array texts */
	int		 active;
};

struct st_cache {
	char		 where[WHERE_MAX];
	const char	*name, *display, *description, *owner;
	long long	 priority;
	char		*sec;		/* NULL: made on create, then kept */
	size_t		 seclen;
	char		*pub;
	const char	**orgs;
	size_t		 norgs;
	int		 active;
};

/* Strings not owned here are borrowed from root. */
struct gr_state {
	struct json_object	*root;
	char			*basedir;
	struct st_user		*users;
	size_t			 nusers;
	struct st_org		*orgs;
	size_t			 norgs;
	struct st_project	*projects;
	size_t			 nprojects;
	struct st_server	*servers;
	size_t			 nservers;
	struct st_cache		*caches;
	size_t			 ncaches;
};

static int	 fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Write the message into err; returns -1 for "return fail(...)". */
static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

static void
wipe_free(char *p, size_t len)
{
	if (p == NULL)
		return;
	sodium_memzero(p, len);
	free(p);
}

/*
 * Turn an extractor's "field 'k': what" (json.h) into "where.k: what", so
 * every message names the object as well as the field.
 */
static int
field_fail(char *err, size_t errsz, const char *where, const char *key,
    const char *xerr)
{
	char	 pfx[128];
	size_t	 n;
	int	 len;

	len = snprintf(pfx, sizeof(pfx), "field '%s'", key);
	n = len > 0 ? (size_t)len : 0;
	if (n < sizeof(pfx) && strncmp(xerr, pfx, n) == 0) {
		if (strcmp(xerr + n, " is required") == 0)
			return fail(err, errsz, "%s.%s: required field is "
			    "missing", where, key);
		if (strncmp(xerr + n, ": ", 2) == 0)
			return fail(err, errsz, "%s.%s: %s", where, key,
			    xerr + n + 2);
	}
	return fail(err, errsz, "%s.%s: %s", where, key, xerr);
}

/* The extractors, with messages rewritten; 0 or -1.  Absent: *out NULL. */
static int
get_string(struct json_object *o, const char *where, const char *key,
    enum gr_field req, size_t min, size_t max, const char **out, char *err,
    size_t errsz)
{
	char	 x[256];

	if (gr_json_string(o, key, req, min, max, out, x, sizeof(x)) == -1)
		return field_fail(err, errsz, where, key, x);
	return 0;
}

static int
get_slug(struct json_object *o, const char *where, const char *key,
    enum gr_field req, const char **out, char *err, size_t errsz)
{
	if (get_string(o, where, key, req, 1, 64, out, err, errsz) == -1)
		return -1;
	if (*out != NULL && !gr_valid_slug(*out))
		return fail(err, errsz, "%s.%s: use 1 to 64 lowercase letters, "
		    "digits, '-' or '_'", where, key);
	return 0;
}

/* Text of at most max characters; required text must not be empty. */
static int
get_text(struct json_object *o, const char *where, const char *key,
    enum gr_field req, size_t max, const char **out, char *err, size_t errsz)
{
	if (get_string(o, where, key, req, 0, max * 4, out, err, errsz) == -1)
		return -1;
	if (*out == NULL)
		return 0;
	if (!gr_valid_text(*out, max))
		return fail(err, errsz, "%s.%s: expected text of at most %zu "
		    "characters without control characters", where, key, max);
	if (req == GR_FIELD_REQUIRED && **out == '\0')
		return fail(err, errsz, "%s.%s: must not be empty", where, key);
	return 0;
}

/* Optional boolean, def when absent. */
static int
get_bool(struct json_object *o, const char *where, const char *key, int def,
    int *out, char *err, size_t errsz)
{
	char	 x[256];

	*out = def;
	if (gr_json_bool(o, key, GR_FIELD_OPTIONAL, out, x, sizeof(x)) == -1)
		return field_fail(err, errsz, where, key, x);
	return 0;
}

/* Optional integer in [min, max], def when absent. */
static int
get_int(struct json_object *o, const char *where, const char *key,
    long long min, long long max, long long def, long long *out, char *err,
    size_t errsz)
{
	char	 x[256];

	*out = def;
	if (gr_json_int(o, key, GR_FIELD_OPTIONAL, min, max, out, x,
	    sizeof(x)) == -1)
		return field_fail(err, errsz, where, key, x);
	return 0;
}

/* Refuse any key of o not in allowed (NULL-terminated): typos must fail. */
static int
check_keys(struct json_object *o, const char *where,
    const char *const *allowed, char *err, size_t errsz)
{
	struct gr_buf	 list = GR_BUF_INIT;
	size_t		 i;

	json_object_object_foreach(o, k, v) {
		(void)v;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		for (i = 0; allowed[i] != NULL; i++)
			if (gr_buf_addf(&list, "%s%s", i > 0 ? ", " : "",
			    allowed[i]) == -1)
				break;
		if (where != NULL)
			fail(err, errsz, "%s.%.64s: unknown field (expected "
			    "%s)", where, k, gr_buf_str(&list));
		else
			fail(err, errsz, "%.64s: unknown top-level field "
			    "(expected %s)", k, gr_buf_str(&list));
		gr_buf_release(&list);
		return -1;
	}
	return 0;
}

/* The array under key (n = 0 when absent or null). */
static int
get_array(struct json_object *o, const char *where, const char *key,
    struct json_object **arr, size_t *n, char *err, size_t errsz)
{
	struct json_object	*v;

	*arr = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_array)) {
		if (where != NULL)
			return fail(err, errsz, "%s.%s: expected an array",
			    where, key);
		return fail(err, errsz, "%s: expected an array", key);
	}
	*arr = v;
	*n = json_object_array_length(v);
	return 0;
}

/*
 * An array of strings each passing valid(), min..max of them, borrowed
 * into *out (an array the caller frees).  Absent: *out NULL, *n 0.
 */
static int
get_names(struct json_object *o, const char *where, const char *key,
    enum gr_field req, int (*valid)(const char *), size_t min, size_t max,
    const char *what, const char ***out, size_t *n, char *err, size_t errsz)
{
	struct json_object	*arr, *e;
	size_t			 i, j;

	*out = NULL;
	if (get_array(o, where, key, &arr, n, err, errsz) == -1)
		return -1;
	if (arr == NULL) {
		if (req == GR_FIELD_REQUIRED)
			return fail(err, errsz, "%s.%s: required field is "
			    "missing", where, key);
		return 0;
	}
	if (*n < min || *n > max)
		return fail(err, errsz, "%s.%s: expected an array of %zu to "
		    "%zu entries", where, key, min, max);
	if ((*out = calloc(*n + 1, sizeof(**out))) == NULL)
		return fail(err, errsz, "out of memory");
	for (i = 0; i < *n; i++) {
		e = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(e, json_type_string) ||
		    !gr_valid_utf8(json_object_get_string(e),
		    (size_t)json_object_get_string_len(e)) ||
		    !valid(json_object_get_string(e))) {
			free(*out);
			*out = NULL;
			return fail(err, errsz, "%s.%s[%zu]: expected %s",
			    where, key, i, what);
		}
		(*out)[i] = json_object_get_string(e);
		for (j = 0; j < i; j++)
			if (strcmp((*out)[j], (*out)[i]) == 0) {
				free(*out);
				*out = NULL;
				return fail(err, errsz, "%s.%s[%zu]: duplicate "
				    "of %s[%zu]", where, key, i, key, j);
			}
	}
	return 0;
}

/* The same names as a JSON array text (caller frees). */
static char *
names_json(const char **names, size_t n)
{
	struct json_object	*arr;
	const char		*text;
	char			*out = NULL;
	size_t			 i;

	if ((arr = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_object_array_add(arr,
		    json_object_new_string(names[i])) != 0)
			goto out;
	if ((text = gr_json_text(arr, NULL)) != NULL)
		out = strdup(text);
out:
	json_object_put(arr);
	return out;
}

/*
 * Read a secret file named by field key of where: at most
 * GR_STATE_MAX_SECRET bytes, not empty, no NUL.  trim 1 drops one
 * trailing newline, 2 all trailing white space.  A relative path is taken
 * from the state file's directory.  *out is NUL-terminated; the caller
 * wipes and frees it.  Messages name the path, never the content.
 */
static int
read_secret(const struct gr_state *s, const char *where, const char *key,
    const char *path, int trim, char **out, size_t *lenp, char *err,
    size_t errsz)
{
	struct gr_buf	 full = GR_BUF_INIT;
	struct stat	 sb;
	char		*p = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd = -1, rc = -1;

	*out = NULL;
	*lenp = 0;
	if (path[0] != '/' && s->basedir != NULL) {
		if (gr_buf_addf(&full, "%s/%s", s->basedir, path) == -1)
			return fail(err, errsz, "out of memory");
	} else if (gr_buf_adds(&full, path) == -1)
		return fail(err, errsz, "out of memory");
	if ((fd = open(gr_buf_str(&full), O_RDONLY | O_CLOEXEC |
	    O_NOCTTY)) == -1 || fstat(fd, &sb) == -1) {
		fail(err, errsz, "%s.%s: %s: %s", where, key, gr_buf_str(&full),
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		fail(err, errsz, "%s.%s: %s: not a regular file", where, key,
		    gr_buf_str(&full));
		goto out;
	}
	/* One allocation up front: a realloc would leave copies behind. */
	if ((p = malloc(GR_STATE_MAX_SECRET + 1)) == NULL) {
		fail(err, errsz, "out of memory");
		goto out;
	}
	for (;;) {
		n = read(fd, p + len, GR_STATE_MAX_SECRET + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > GR_STATE_MAX_SECRET)
			break;
	}
	if (n == -1) {
		fail(err, errsz, "%s.%s: %s: %s", where, key, gr_buf_str(&full),
		    strerror(errno));
		goto out;
	}
	if (len > GR_STATE_MAX_SECRET) {
		fail(err, errsz, "%s.%s: %s: larger than %d bytes", where, key,
		    gr_buf_str(&full), GR_STATE_MAX_SECRET);
		goto out;
	}
	if (memchr(p, '\0', len) != NULL) {
		fail(err, errsz, "%s.%s: %s: contains a NUL byte", where, key,
		    gr_buf_str(&full));
		goto out;
	}
	if (trim == 1 && len > 0 && p[len - 1] == '\n')
		len--;
	while (trim == 2 && len > 0 && (p[len - 1] == '\n' ||
	    p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0) {
		fail(err, errsz, "%s.%s: %s: is empty", where, key,
		    gr_buf_str(&full));
		goto out;
	}
	p[len] = '\0';
	*out = p;
	*lenp = len;
	p = NULL;
	rc = 0;
out:
	wipe_free(p, GR_STATE_MAX_SECRET + 1);
	if (fd != -1)
		close(fd);
	gr_buf_release(&full);
	return rc;
}

/*
 * Check a Nix secret key text "NAME:BASE64" of 64 bytes and derive its
 * public text into *pub (caller frees).  A signature made with it must
 * verify under the public half it carries, so a key whose halves do not
 * belong together is refused too.
 */
static int
cachekey_check(const char *sec, char **pub)
{
	static const char	 probe[] = "gradient state";
	const char		*colon;
	char			 name[129], *sig = NULL;
	size_t			 n;
	int			 ok;

	*pub = NULL;
	if ((colon = strchr(sec, ':')) == NULL ||
	    (n = (size_t)(colon - sec)) == 0 || n >= sizeof(name))
		return -1;
	memcpy(name, sec, n);
	name[n] = '\0';
	if (!gr_cachekey_valid_name(name))
		return -1;
	if ((*pub = gr_cachekey_public(sec)) == NULL)
		return -1;
	sig = gr_cachekey_sign(sec, probe, sizeof(probe) - 1);
	ok = sig != NULL && gr_cachekey_verify(*pub, sig, probe,
	    sizeof(probe) - 1);
	free(sig);
	if (!ok) {
		free(*pub);
		*pub = NULL;
		return -1;
	}
	return 0;
}

static int
parse_user(struct gr_state *s, struct json_object *o, struct st_user *u,
    char *err, size_t errsz)
{
	static const char *const keys[] = { "username", "name", "email",
	    "password_file", NULL };
	const char	*pwfile;
	char		 msg[256];

	if (check_keys(o, u->where, keys, err, errsz) == -1 ||
	    get_string(o, u->where, "username", GR_FIELD_REQUIRED, 0, 1024,
	    &u->username, err, errsz) == -1)
		return -1;
	if (!gr_user_valid_username(u->username, msg, sizeof(msg)))
		return fail(err, errsz, "%s.username: %s", u->where, msg);
	if (get_string(o, u->where, "name", GR_FIELD_REQUIRED, 0, 4096,
	    &u->name, err, errsz) == -1)
		return -1;
	if (!gr_user_valid_name(u->name, msg, sizeof(msg)))
		return fail(err, errsz, "%s.name: %s", u->where, msg);
	if (get_string(o, u->where, "email", GR_FIELD_REQUIRED, 0, 4096,
	    &u->email, err, errsz) == -1)
		return -1;
	if (!gr_user_valid_email(u->email, msg, sizeof(msg)))
		return fail(err, errsz, "%s.email: %s", u->where, msg);
	if (get_string(o, u->where, "password_file", GR_FIELD_OPTIONAL, 1,
	    4096, &pwfile, err, errsz) == -1)
		return -1;
	if (pwfile == NULL)
		return 0;
	if (read_secret(s, u->where, "password_file", pwfile, 1, &u->password,
	    &u->passwordlen, err, errsz) == -1)
		return -1;
	if (!gr_user_valid_password(u->password, u->username, u->email, msg,
	    sizeof(msg)))
		return fail(err, errsz, "%s.password_file: %s", u->where, msg);
	return 0;
}

static int
parse_member(struct json_object *o, struct st_member *m, char *err,
    size_t errsz)
{
	static const char *const keys[] = { "username", "role", NULL };
	const char	*role;
	char		 msg[256];

	if (!json_object_is_type(o, json_type_object))
		return fail(err, errsz, "%s: expected an object", m->where);
	if (check_keys(o, m->where, keys, err, errsz) == -1 ||
	    get_string(o, m->where, "username", GR_FIELD_REQUIRED, 0, 1024,
	    &m->username, err, errsz) == -1)
		return -1;
	if (!gr_user_valid_username(m->username, msg, sizeof(msg)))
		return fail(err, errsz, "%s.username: %s", m->where, msg);
	if (get_string(o, m->where, "role", GR_FIELD_REQUIRED, 1, 16, &role,
	    err, errsz) == -1)
		return -1;
	if ((m->role = gr_role_parse(role)) == GR_ROLE_NONE)
		return fail(err, errsz, "%s.role: expected admin, write or "
		    "view", m->where);
	return 0;
}

static int
parse_org(struct gr_state *s, struct json_object *o, struct st_org *g,
    char *err, size_t errsz)
{
	static const char *const keys[] = { "name", "display_name",
	    "description", "private_key_file", "members", NULL };
	struct json_object	*arr;
	const char		*keyfile;
	char			 comment[96], kerr[256];
	size_t			 i, j;

	if (check_keys(o, g->where, keys, err, errsz) == -1 ||
	    get_slug(o, g->where, "name", GR_FIELD_REQUIRED, &g->name, err,
	    errsz) == -1 ||
	    get_text(o, g->where, "display_name", GR_FIELD_REQUIRED,
	    GR_DISPLAY_MAX, &g->display, err, errsz) == -1 ||
	    get_text(o, g->where, "description", GR_FIELD_OPTIONAL,
	    GR_DESCRIPTION_MAX, &g->description, err, errsz) == -1 ||
	    get_string(o, g->where, "private_key_file", GR_FIELD_OPTIONAL, 1,
	    4096, &keyfile, err, errsz) == -1)
		return -1;
	if (g->description == NULL)
		g->description = "";
	if (keyfile != NULL) {
		if (read_secret(s, g->where, "private_key_file", keyfile, 0,
		    &g->pem, &g->pemlen, err, errsz) == -1)
			return -1;
		snprintf(comment, sizeof(comment), "gradient@%s", g->name);
		kerr[0] = '\0';
		if (gr_sshkey_public_from_private(g->pem, comment, &g->pub,
		    kerr, sizeof(kerr)) == -1)
			return fail(err, errsz, "%s.private_key_file: %s: %s",
			    g->where, keyfile, kerr[0] != '\0' ? kerr :
			    "not an unencrypted OpenSSH ed25519 private key");
	}
	if (get_array(o, g->where, "members", &arr, &g->nmembers, err,
	    errsz) == -1)
		return -1;
	if (g->nmembers == 0)
		return 0;
	if ((g->members = calloc(g->nmembers, sizeof(*g->members))) == NULL)
		return fail(err, errsz, "out of memory");
	for (i = 0; i < g->nmembers; i++) {
		snprintf(g->members[i].where, sizeof(g->members[i].where),
		    "%s.members[%zu]", g->where, i);
		if (parse_member(json_object_array_get_idx(arr, i),
		    &g->members[i], err, errsz) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(g->members[j].username,
			    g->members[i].username) == 0)
				return fail(err, errsz, "%s.username: '%s' is "
				    "already listed in members[%zu]",
				    g->members[i].where,
				    g->members[i].username, j);
	}
	return 0;
}

static int
parse_project(struct json_object *o, struct st_project *p, char *err,
    size_t errsz)
{
	static const char *const keys[] = { "organization", "name",
	    "display_name", "description", "repository", "branch",
	    "evaluation_wildcard", "active", NULL };

	if (check_keys(o, p->where, keys, err, errsz) == -1 ||
	    get_slug(o, p->where, "organization", GR_FIELD_REQUIRED, &p->org,
	    err, errsz) == -1 ||
	    get_slug(o, p->where, "name", GR_FIELD_REQUIRED, &p->name, err,
	    errsz) == -1 ||
	    get_text(o, p->where, "display_name", GR_FIELD_REQUIRED,
	    GR_DISPLAY_MAX, &p->display, err, errsz) == -1 ||
	    get_text(o, p->where, "description", GR_FIELD_OPTIONAL,
	    GR_DESCRIPTION_MAX, &p->description, err, errsz) == -1 ||
	    get_string(o, p->where, "repository", GR_FIELD_REQUIRED, 1, 1024,
	    &p->repository, err, errsz) == -1 ||
	    get_string(o, p->where, "branch", GR_FIELD_OPTIONAL, 0,
	    GR_BRANCH_MAX, &p->branch, err, errsz) == -1 ||
	    get_string(o, p->where, "evaluation_wildcard", GR_FIELD_REQUIRED,
	    1, GR_WILDCARD_MAX, &p->wildcard, err, errsz) == -1 ||
	    get_bool(o, p->where, "active", 1, &p->active, err, errsz) == -1)
		return -1;
	if (p->description == NULL)
		p->description = "";
	if (!gr_git_url_valid(p->repository))
		return fail(err, errsz, "%s.repository: expected a git URL "
		    "(https://, http://, git://, ssh://, file:// or "
		    "user@host:path)", p->where);
	if (p->branch != NULL && *p->branch == '\0')
		p->branch = NULL;
	if (p->branch != NULL && !gr_branch_valid(p->branch))
		return fail(err, errsz, "%s.branch: not a valid branch name",
		    p->where);
	if (!gr_wildcard_valid(p->wildcard))
		return fail(err, errsz, "%s.evaluation_wildcard: expected "
		    "attribute paths separated by commas, with '*' for any "
		    "attribute (e.g. \"packages.x86_64-linux.*\")", p->where);
	return 0;
}

static int
parse_server(struct json_object *o, struct st_server *v, char *err,
    size_t errsz)
{
	static const char *const keys[] = { "organization", "name",
	    "display_name", "host", "port", "username", "architectures",
	    "features", "max_jobs", "active", NULL };
	const char	**names = NULL;
	size_t		 n;

	if (check_keys(o, v->where, keys, err, errsz) == -1 ||
	    get_slug(o, v->where, "organization", GR_FIELD_REQUIRED, &v->org,
	    err, errsz) == -1 ||
	    get_slug(o, v->where, "name", GR_FIELD_REQUIRED, &v->name, err,
	    errsz) == -1 ||
	    get_text(o, v->where, "display_name", GR_FIELD_REQUIRED,
	    GR_DISPLAY_MAX, &v->display, err, errsz) == -1 ||
	    get_string(o, v->where, "host", GR_FIELD_REQUIRED, 1, 253,
	    &v->host, err, errsz) == -1 ||
	    get_string(o, v->where, "username", GR_FIELD_REQUIRED, 1, 32,
	    &v->username, err, errsz) == -1 ||
	    get_int(o, v->where, "port", 1, 65535, 22, &v->port, err,
	    errsz) == -1 ||
	    get_int(o, v->where, "max_jobs", 1, 1024, 1, &v->max_jobs, err,
	    errsz) == -1 ||
	    get_bool(o, v->where, "active", 1, &v->active, err, errsz) == -1)
		return -1;
	if (!gr_host_valid(v->host))
		return fail(err, errsz, "%s.host: expected a host name or "
		    "address", v->where);
	if (!gr_username_valid(v->username))
		return fail(err, errsz, "%s.username: expected a user name of "
		    "lowercase letters, digits, '_' or '-'", v->where);
	if (get_names(o, v->where, "architectures", GR_FIELD_REQUIRED,
	    gr_system_valid, 1, 16, "a Nix system such as \"x86_64-linux\"",
	    &names, &n, err, errsz) == -1)
		return -1;
	v->archs = names_json(names, n);
	free(names);
	if (v->archs == NULL)
		return fail(err, errsz, "out of memory");
	if (get_names(o, v->where, "features", GR_FIELD_OPTIONAL,
	    gr_feature_valid, 0, 64, "a feature name such as \"kvm\"", &names,
	    &n, err, errsz) == -1)
		return -1;
	v->features = names_json(names, n);
	free(names);
	if (v->features == NULL)
		return fail(err, errsz, "out of memory");
	return 0;
}

static int
parse_cache(struct gr_state *s, struct json_object *o, struct st_cache *c,
    char *err, size_t errsz)
{
	static const char *const keys[] = { "name", "display_name",
	    "description", "priority", "signing_key_file", "owner",
	    "organizations", "active", NULL };
	const char	*keyfile;
	char		 msg[256];

	if (check_keys(o, c->where, keys, err, errsz) == -1 ||
	    get_slug(o, c->where, "name", GR_FIELD_REQUIRED, &c->name, err,
	    errsz) == -1 ||
	    get_text(o, c->where, "display_name", GR_FIELD_REQUIRED,
	    GR_DISPLAY_MAX, &c->display, err, errsz) == -1 ||
	    get_text(o, c->where, "description", GR_FIELD_OPTIONAL,
	    GR_DESCRIPTION_MAX, &c->description, err, errsz) == -1 ||
	    get_int(o, c->where, "priority", 0, 1000, 40, &c->priority, err,
	    errsz) == -1 ||
	    get_string(o, c->where, "signing_key_file", GR_FIELD_OPTIONAL, 1,
	    4096, &keyfile, err, errsz) == -1 ||
	    get_string(o, c->where, "owner", GR_FIELD_OPTIONAL, 0, 1024,
	    &c->owner, err, errsz) == -1 ||
	    get_bool(o, c->where, "active", 1, &c->active, err, errsz) == -1)
		return -1;
	if (c->description == NULL)
		c->description = "";
	if (c->owner != NULL && !gr_user_valid_username(c->owner, msg,
	    sizeof(msg)))
		return fail(err, errsz, "%s.owner: %s", c->where, msg);
	if (get_names(o, c->where, "organizations", GR_FIELD_OPTIONAL,
	    gr_valid_slug, 0, 1024, "an organization name", &c->orgs, &c->norgs,
	    err, errsz) == -1)
		return -1;
	if (keyfile == NULL)
		return 0;
	if (read_secret(s, c->where, "signing_key_file", keyfile, 2, &c->sec,
	    &c->seclen, err, errsz) == -1)
		return -1;
	if (cachekey_check(c->sec, &c->pub) == -1)
		return fail(err, errsz, "%s.signing_key_file: %s: not a Nix "
		    "secret key (NAME:BASE64 of 64 bytes, as written by "
		    "nix-store --generate-binary-cache-key)", c->where,
		    keyfile);
	return 0;
}

/* Allocate n objects of size sz for the top-level array key. */
static void *
objects(struct json_object *root, const char *key, size_t sz,
    struct json_object **arr, size_t *n, char *err, size_t errsz)
{
	void	*p;

	if (get_array(root, NULL, key, arr, n, err, errsz) == -1)
		return NULL;
	if ((p = calloc(*n + 1, sz)) == NULL)
		fail(err, errsz, "out of memory");
	return p;
}

/* Element i of arr, which must be an object; where is set. */
static struct json_object *
element(struct json_object *arr, const char *key, size_t i, char *where,
    char *err, size_t errsz)
{
	struct json_object	*o;

	snprintf(where, WHERE_MAX, "%s[%zu]", key, i);
	o = json_object_array_get_idx(arr, i);
	if (!json_object_is_type(o, json_type_object)) {
		fail(err, errsz, "%s: expected an object", where);
		return NULL;
	}
	return o;
}

static int
parse_all(struct gr_state *s, char *err, size_t errsz)
{
	static const char *const keys[] = { "users", "organizations",
	    "projects", "servers", "caches", NULL };
	struct json_object	*arr, *o;
	size_t			 i, j;

	if (check_keys(s->root, NULL, keys, err, errsz) == -1)
		return -1;

	if ((s->users = objects(s->root, "users", sizeof(*s->users), &arr,
	    &s->nusers, err, errsz)) == NULL)
		return -1;
	for (i = 0; i < s->nusers; i++) {
		struct st_user	*u = &s->users[i];

		if ((o = element(arr, "users", i, u->where, err,
		    errsz)) == NULL || parse_user(s, o, u, err, errsz) == -1)
			return -1;
		for (j = 0; j < i; j++) {
			if (strcmp(s->users[j].username, u->username) == 0)
				return fail(err, errsz, "%s.username: '%s' is "
				    "already defined by users[%zu]", u->where,
				    u->username, j);
			if (strcasecmp(s->users[j].email, u->email) == 0)
				return fail(err, errsz, "%s.email: already "
				    "used by users[%zu]", u->where, j);
		}
	}

	if ((s->orgs = objects(s->root, "organizations", sizeof(*s->orgs),
	    &arr, &s->norgs, err, errsz)) == NULL)
		return -1;
	for (i = 0; i < s->norgs; i++) {
		struct st_org	*g = &s->orgs[i];

		if ((o = element(arr, "organizations", i, g->where, err,
		    errsz)) == NULL || parse_org(s, o, g, err, errsz) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(s->orgs[j].name, g->name) == 0)
				return fail(err, errsz, "%s.name: '%s' is "
				    "already defined by organizations[%zu]",
				    g->where, g->name, j);
	}

	if ((s->projects = objects(s->root, "projects", sizeof(*s->projects),
	    &arr, &s->nprojects, err, errsz)) == NULL)
		return -1;
	for (i = 0; i < s->nprojects; i++) {
		struct st_project	*p = &s->projects[i];

		if ((o = element(arr, "projects", i, p->where, err,
		    errsz)) == NULL || parse_project(o, p, err, errsz) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(s->projects[j].org, p->org) == 0 &&
			    strcmp(s->projects[j].name, p->name) == 0)
				return fail(err, errsz, "%s.name: '%s/%s' is "
				    "already defined by projects[%zu]",
				    p->where, p->org, p->name, j);
	}

	if ((s->servers = objects(s->root, "servers", sizeof(*s->servers),
	    &arr, &s->nservers, err, errsz)) == NULL)
		return -1;
	for (i = 0; i < s->nservers; i++) {
		struct st_server	*v = &s->servers[i];

		if ((o = element(arr, "servers", i, v->where, err,
		    errsz)) == NULL || parse_server(o, v, err, errsz) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(s->servers[j].org, v->org) == 0 &&
			    strcmp(s->servers[j].name, v->name) == 0)
				return fail(err, errsz, "%s.name: '%s/%s' is "
				    "already defined by servers[%zu]",
				    v->where, v->org, v->name, j);
	}

	if ((s->caches = objects(s->root, "caches", sizeof(*s->caches),
	    &arr, &s->ncaches, err, errsz)) == NULL)
		return -1;
	for (i = 0; i < s->ncaches; i++) {
		struct st_cache	*c = &s->caches[i];

		if ((o = element(arr, "caches", i, c->where, err,
		    errsz)) == NULL || parse_cache(s, o, c, err, errsz) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(s->caches[j].name, c->name) == 0)
				return fail(err, errsz, "%s.name: '%s' is "
				    "already defined by caches[%zu]", c->where,
				    c->name, j);
	}
	return 0;
}

struct gr_state *
gr_state_parse(const char *text, size_t len, const char *basedir, char *err,
    size_t errsz)
{
	struct gr_state	*s;
	char		 jerr[256];
	const char	*m;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		fail(err, errsz, "out of memory");
		return NULL;
	}
	if (basedir != NULL && (s->basedir = strdup(basedir)) == NULL) {
		fail(err, errsz, "out of memory");
		goto fail;
	}
	if (len == 0) {
		fail(err, errsz, "empty file: expected a JSON object");
		goto fail;
	}
	if ((s->root = gr_json_parse_object(text, len, jerr,
	    sizeof(jerr))) == NULL) {
		/* json.c words its messages for request bodies. */
		m = jerr;
		if (strncmp(m, "request body is ", 16) == 0)
			m += 16;
		else if (strncmp(m, "request body ", 13) == 0)
			m += 13;
		fail(err, errsz, "%s", m);
		goto fail;
	}
	if (parse_all(s, err, errsz) == -1)
		goto fail;
	return s;
fail:
	gr_state_free(s);
	return NULL;
}

struct gr_state *
gr_state_load(const char *path, char *err, size_t errsz)
{
	struct gr_buf	 b = GR_BUF_INIT;
	struct gr_state	*s = NULL;
	char		 chunk[8192], *dir = NULL, *slash, perr[1024];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		fail(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	gr_buf_set_max(&b, GR_STATE_MAX_FILE);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (gr_buf_add(&b, chunk, (size_t)n) == -1) {
			fail(err, errsz, "%s: larger than %d bytes", path,
			    GR_STATE_MAX_FILE);
			goto out;
		}
	}
	if (n == -1) {
		fail(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((dir = strdup(path)) == NULL) {
		fail(err, errsz, "out of memory");
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((s = gr_state_parse(gr_buf_str(&b), b.len, dir, perr,
	    sizeof(perr))) == NULL)
		fail(err, errsz, "%s: %s", path, perr);
out:
	close(fd);
	free(dir);
	gr_buf_release(&b);
	return s;
}

void
gr_state_free(struct gr_state *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; s->users != NULL && i < s->nusers; i++)
		wipe_free(s->users[i].password, s->users[i].passwordlen);
	for (i = 0; s->orgs != NULL && i < s->norgs; i++) {
		wipe_free(s->orgs[i].pem, s->orgs[i].pemlen);
		free(s->orgs[i].pub);
		free(s->orgs[i].members);
	}
	for (i = 0; s->servers != NULL && i < s->nservers; i++) {
		free(s->servers[i].archs);
		free(s->servers[i].features);
	}
	for (i = 0; s->caches != NULL && i < s->ncaches; i++) {
		wipe_free(s->caches[i].sec, s->caches[i].seclen);
		free(s->caches[i].pub);
		free(s->caches[i].orgs);
	}
	free(s->users);
	free(s->orgs);
	free(s->projects);
	free(s->servers);
	free(s->caches);
	free(s->basedir);
	json_object_put(s->root);
	free(s);
}

/* -- applying ---------------------------------------------------------- */

struct apply {
	struct gr_db		*db;
	const struct gr_config	*cfg;
	int			 dry;
	struct gr_buf		*report;
	struct gr_state_counts	*counts;
	char			*err;
	size_t			 errsz;
	char			 parts[128];	/* what changed, to report */
};

/* The statement failed: say which object, and why when we know. */
static int
db_fail(struct apply *a, const char *where)
{
	if (gr_db_error_status(a->db) == GR_CONFLICT) {
		if (strcmp(a->db->constraint, "user_email_key") == 0)
			return fail(a->err, a->errsz, "%s.email: already used "
			    "by another account", where);
		return fail(a->err, a->errsz, "%s: conflicts with an existing "
		    "object (%s)", where, a->db->constraint);
	}
	return fail(a->err, a->errsz, "%s: database error (logged above)",
	    where);
}

static PGresult *
run(struct apply *a, const char *where, const char *sql, int n,
    const char *const *p)
{
	PGresult	*res;

	if ((res = gr_db_exec(a->db, sql, n, p)) == NULL)
		db_fail(a, where);
	return res;
}

/* Rows the statement changed, or -1. */
static long
change(struct apply *a, const char *where, const char *sql, int n,
    const char *const *p)
{
	PGresult	*res;
	long		 rows;

	if ((res = run(a, where, sql, n, p)) == NULL)
		return -1;
	rows = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return rows;
}

/* The id of the row named key (SQL_*_ID), 1 found, 0 not, -1 error. */
static int
find_id(struct apply *a, const char *where, const char *sql, const char *key,
    char id[37])
{
	const char	*p[1] = { key };
	PGresult	*res;
	int		 found;

	if ((res = run(a, where, sql, 1, p)) == NULL)
		return -1;
	if ((found = PQntuples(res) > 0))
		snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return found;
}

static void
part(struct apply *a, const char *what)
{
	size_t	 n = strlen(a->parts);

	snprintf(a->parts + n, sizeof(a->parts) - n, "%s%s", n > 0 ? ", " : "",
	    what);
}

/* Count the object and report it; parts says what changed. */
static int
done(struct apply *a, const char *kind, const char *label, int created)
{
	const char	*verb;
	int		 rc = 0;

	if (created) {
		a->counts->created++;
		verb = a->dry ? "would create" : "created";
		rc = gr_buf_addf(a->report, "%s %s '%s'\n", verb, kind, label);
	} else if (a->parts[0] != '\0') {
		a->counts->updated++;
		verb = a->dry ? "would update" : "updated";
		rc = gr_buf_addf(a->report, "%s %s '%s' (%s)\n", verb, kind,
		    label, a->parts);
	} else {
		a->counts->unchanged++;
		log_debug("%s '%s' is unchanged", kind, label);
	}
	a->parts[0] = '\0';
	if (rc == -1)
		return fail(a->err, a->errsz, "out of memory");
	return 0;
}

static char *
seal(struct apply *a, const void *p, size_t len)
{
	return gr_secret_seal(a->cfg->crypt_secret, a->cfg->crypt_secret_len,
	    p, len);
}

/* 1 if the sealed text opens to exactly plain (len bytes). */
static int
sealed_equal(struct apply *a, const char *sealed, const char *plain,
    size_t len)
{
	unsigned char	*open;
	size_t		 n = 0;
	int		 same;

	if ((open = gr_secret_open(a->cfg->crypt_secret,
	    a->cfg->crypt_secret_len, sealed, &n)) == NULL)
		return 0;	/* crypt secret changed: store it afresh */
	same = n == len && gr_ct_equal(open, plain, len);
	sodium_memzero(open, n);
	free(open);
	return same;
}

static int
apply_user(struct apply *a, const struct st_user *u)
{
	char		 hash[GR_PWHASH_LEN], id[37];
	const char	*p[4];
	PGresult	*res = NULL;
	long		 n;
	int		 rc = -1, created = 0, rehash;

	hash[0] = '\0';
	p[0] = u->username;
	if ((res = run(a, u->where, SQL_USER_FIND, 1, p)) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		PQclear(res);
		res = NULL;
		if (u->password != NULL && gr_password_hash(u->password,
		    u->passwordlen, hash) == -1) {
			fail(a->err, a->errsz, "%s: out of memory", u->where);
			goto out;
		}
		p[1] = u->name;
		p[2] = u->email;
		p[3] = u->password != NULL ? hash : NULL;
		if ((res = run(a, u->where, SQL_USER_INSERT, 4, p)) == NULL)
			goto out;
		created = 1;
	} else {
		snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
		/* Argon2 salts differ each time: rehash only a mismatch. */
		rehash = u->password != NULL && (PQgetisnull(res, 0, 1) ||
		    !gr_password_verify(PQgetvalue(res, 0, 1), u->password,
		    u->passwordlen));
		PQclear(res);
		res = NULL;
		p[0] = id;
		p[1] = u->name;
		p[2] = u->email;
		if ((n = change(a, u->where, SQL_USER_UPDATE, 3, p)) == -1)
			goto out;
		if (n > 0)
			part(a, "attributes");
		if (rehash) {
			if (gr_password_hash(u->password, u->passwordlen,
			    hash) == -1) {
				fail(a->err, a->errsz, "%s: out of memory",
				    u->where);
				goto out;
			}
			p[1] = hash;
			if (change(a, u->where, SQL_USER_PASSWORD, 2, p) == -1)
				goto out;
			part(a, "password");
		}
	}
	rc = done(a, "user", u->username, created);
out:
	sodium_memzero(hash, sizeof(hash));
	PQclear(res);
	return rc;
}

/* A new key pair for org: public line and sealed PEM (caller frees). */
static int
org_keypair(struct apply *a, const struct st_org *g, char **pub,
    char **sealed)
{
	struct gr_sshkey	 k;
	char			 comment[96];

	*pub = *sealed = NULL;
	if (g->pem != NULL) {
		*pub = strdup(g->pub);
		*sealed = seal(a, g->pem, g->pemlen);
	} else {
		snprintf(comment, sizeof(comment), "gradient@%s", g->name);
		memset(&k, 0, sizeof(k));
		if (gr_sshkey_generate(comment, &k) == -1)
			return fail(a->err, a->errsz, "%s: cannot generate an "
			    "SSH key", g->where);
		*pub = strdup(k.public_line);
		*sealed = seal(a, k.private_pem, strlen(k.private_pem));
		gr_sshkey_release(&k);
	}
	if (*pub == NULL || *sealed == NULL) {
		free(*pub);
		free(*sealed);
		*pub = *sealed = NULL;
		return fail(a->err, a->errsz, "%s: out of memory", g->where);
	}
	return 0;
}

static int
apply_org(struct apply *a, const struct st_org *g)
{
	const char	*p[5];
	char		 id[37], uid[37], *pub = NULL, *sealed = NULL;
	PGresult	*res = NULL;
	size_t		 i;
	long		 n, members = 0;
	int		 rc = -1, created = 0, found;

	p[0] = g->name;
	if ((res = run(a, g->where, SQL_ORG_FIND, 1, p)) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		PQclear(res);
		res = NULL;
		if (org_keypair(a, g, &pub, &sealed) == -1)
			goto out;
		p[1] = g->display;
		p[2] = g->description;
		p[3] = pub;
		p[4] = sealed;
		if ((res = run(a, g->where, SQL_ORG_INSERT, 5, p)) == NULL)
			goto out;
		snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
		created = 1;
	} else {
		snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
		/* Without a key file, the key the organization has is kept. */
		if (g->pem != NULL && (strcmp(PQgetvalue(res, 0, 1),
		    g->pub) != 0 || !sealed_equal(a, PQgetvalue(res, 0, 2),
		    g->pem, g->pemlen))) {
			if (org_keypair(a, g, &pub, &sealed) == -1)
				goto out;
			p[0] = id;
			p[1] = pub;
			p[2] = sealed;
			if (change(a, g->where, SQL_ORG_KEY, 3, p) == -1)
				goto out;
			part(a, "ssh key");
		}
		p[0] = id;
		p[1] = g->display;
		p[2] = g->description;
		if ((n = change(a, g->where, SQL_ORG_UPDATE, 3, p)) == -1)
			goto out;
		if (n > 0)
			part(a, "attributes");
	}
	PQclear(res);
	res = NULL;
	for (i = 0; i < g->nmembers; i++) {
		const struct st_member	*m = &g->members[i];

		if ((found = find_id(a, m->where, SQL_USER_ID, m->username,
		    uid)) == -1)
			goto out;
		if (!found) {
			fail(a->err, a->errsz, "%s.username: no user '%s' in "
			    "the file or the database", m->where, m->username);
			goto out;
		}
		p[0] = id;
		p[1] = uid;
		p[2] = gr_role_name(m->role);
		if ((n = change(a, m->where, SQL_MEMBER_SET, 3, p)) == -1)
			goto out;
		members += n;
	}
	if (members > 0 && !created)
		part(a, "members");
	rc = done(a, "organization", g->name, created);
out:
	PQclear(res);
	free(pub);
	free(sealed);
	return rc;
}

/* The id of organization name, which must exist by now. */
static int
org_id(struct apply *a, const char *where, const char *name, char id[37])
{
	int	 found;

	if ((found = find_id(a, where, SQL_ORG_ID, name, id)) == -1)
		return -1;
	if (!found)
		return fail(a->err, a->errsz, "%s.organization: no "
		    "organization '%s' in the file or the database", where,
		    name);
	return 0;
}

static int
apply_project(struct apply *a, const struct st_project *pr)
{
	const char	*p[8];
	char		 oid[37], id[37], label[140];
	PGresult	*res = NULL;
	long		 n;
	int		 created = 0;

	if (org_id(a, pr->where, pr->org, oid) == -1)
		return -1;
	p[0] = oid;
	p[1] = pr->name;
	if ((res = run(a, pr->where, SQL_PROJECT_FIND, 2, p)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		p[2] = pr->display;
		p[3] = pr->description;
		p[4] = pr->repository;
		p[5] = pr->branch;
		p[6] = pr->wildcard;
		p[7] = pr->active ? "true" : "false";
		n = change(a, pr->where, SQL_PROJECT_INSERT, 8, p);
		created = 1;
	} else {
		snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
		p[0] = id;
		p[1] = pr->display;
		p[2] = pr->description;
		p[3] = pr->repository;
		p[4] = pr->branch;
		p[5] = pr->wildcard;
		p[6] = pr->active ? "true" : "false";
		if ((n = change(a, pr->where, SQL_PROJECT_UPDATE, 7, p)) > 0)
			part(a, "attributes");
	}
	PQclear(res);
	if (n == -1)
		return -1;
	snprintf(label, sizeof(label), "%s/%s", pr->org, pr->name);
	return done(a, "project", label, created);
}

static int
apply_server(struct apply *a, const struct st_server *v)
{
	const char	*p[10];
	char		 oid[37], id[37], label[140], port[16], jobs[16];
	PGresult	*res = NULL;
	long		 n;
	int		 created = 0;

	if (org_id(a, v->where, v->org, oid) == -1)
		return -1;
	snprintf(port, sizeof(port), "%lld", v->port);
	snprintf(jobs, sizeof(jobs), "%lld", v->max_jobs);
	p[0] = oid;
	p[1] = v->name;
	if ((res = run(a, v->where, SQL_SERVER_FIND, 2, p)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		p[2] = v->display;
		p[3] = v->host;
		p[4] = port;
		p[5] = v->username;
		p[6] = v->archs;
		p[7] = v->features;
		p[8] = jobs;
		p[9] = v->active ? "true" : "false";
		n = change(a, v->where, SQL_SERVER_INSERT, 10, p);
		created = 1;
	} else {
		snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
		p[0] = id;
		p[1] = v->display;
		p[2] = v->host;
		p[3] = port;
		p[4] = v->username;
		p[5] = v->archs;
		p[6] = v->features;
		p[7] = jobs;
		p[8] = v->active ? "true" : "false";
		if ((n = change(a, v->where, SQL_SERVER_UPDATE, 9, p)) > 0)
			part(a, "attributes");
	}
	PQclear(res);
	if (n == -1)
		return -1;
	snprintf(label, sizeof(label), "%s/%s", v->org, v->name);
	return done(a, "server", label, created);
}

/* A key pair for cache c: public text and sealed secret (caller frees). */
static int
cache_keypair(struct apply *a, const struct st_cache *c, char **pub,
    char **sealed)
{
	char	 keyname[256], *sec = NULL;

	*pub = *sealed = NULL;
	if (c->sec != NULL) {
		*pub = strdup(c->pub);
		*sealed = seal(a, c->sec, c->seclen);
	} else {
		/* Nix's convention, as the API: named after host and cache. */
		snprintf(keyname, sizeof(keyname), "%s-%s",
		    a->cfg->server_name, c->name);
		if (!gr_cachekey_valid_name(keyname))
			return fail(a->err, a->errsz, "%s: server_name '%s' "
			    "makes an invalid key name; give a "
			    "signing_key_file", c->where, a->cfg->server_name);
		if (gr_cachekey_generate(keyname, pub, &sec) == -1)
			return fail(a->err, a->errsz, "%s: cannot generate a "
			    "signing key", c->where);
		*sealed = seal(a, sec, strlen(sec));
		wipe_free(sec, strlen(sec));
	}
	if (*pub == NULL || *sealed == NULL) {
		free(*pub);
		free(*sealed);
		*pub = *sealed = NULL;
		return fail(a->err, a->errsz, "%s: out of memory", c->where);
	}
	return 0;
}

static int
apply_cache(struct apply *a, const struct st_cache *c)
{
	const char	*p[8];
	char		 id[37], uid[37], oid[37], prio[16];
	char		 where[WHERE_MAX + 48];
	char		*pub = NULL, *sealed = NULL;
	PGresult	*res = NULL;
	size_t		 i;
	long		 n, subs = 0;
	int		 rc = -1, created = 0, found, owned = 0;

	snprintf(prio, sizeof(prio), "%lld", c->priority);
	if (c->owner != NULL) {
		snprintf(where, sizeof(where), "%s.owner", c->where);
		if ((found = find_id(a, where, SQL_USER_ID, c->owner,
		    uid)) == -1)
			goto out;
		if (!found) {
			fail(a->err, a->errsz, "%s: no user '%s' in the file "
			    "or the database", where, c->owner);
			goto out;
		}
		owned = 1;
	}
	p[0] = c->name;
	if ((res = run(a, c->where, SQL_CACHE_FIND, 1, p)) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		PQclear(res);
		res = NULL;
		if (cache_keypair(a, c, &pub, &sealed) == -1)
			goto out;
		p[1] = c->display;
		p[2] = c->description;
		p[3] = prio;
		p[4] = pub;
		p[5] = sealed;
		p[6] = c->active ? "true" : "false";
		p[7] = owned ? uid : NULL;
		if ((res = run(a, c->where, SQL_CACHE_INSERT, 8, p)) == NULL)
			goto out;
		snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
		created = 1;
	} else {
		snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
		/* Without a key file, the key the cache has is kept. */
		if (c->sec != NULL && (strcmp(PQgetvalue(res, 0, 1),
		    c->pub) != 0 || !sealed_equal(a, PQgetvalue(res, 0, 2),
		    c->sec, c->seclen))) {
			if (cache_keypair(a, c, &pub, &sealed) == -1)
				goto out;
			p[0] = id;
			p[1] = pub;
			p[2] = sealed;
			if (change(a, c->where, SQL_CACHE_KEY, 3, p) == -1)
				goto out;
			part(a, "signing key");
		}
		p[0] = id;
		p[1] = c->display;
		p[2] = c->description;
		p[3] = prio;
		p[4] = c->active ? "true" : "false";
		if ((n = change(a, c->where, SQL_CACHE_UPDATE, 5, p)) == -1)
			goto out;
		if (n > 0)
			part(a, "attributes");
		if (owned) {
			p[1] = uid;
			if ((n = change(a, c->where, SQL_CACHE_OWNER, 2,
			    p)) == -1)
				goto out;
			if (n > 0)
				part(a, "owner");
		}
	}
	PQclear(res);
	res = NULL;
	for (i = 0; i < c->norgs; i++) {
		snprintf(where, sizeof(where), "%s.organizations[%zu]",
		    c->where, i);
		if ((found = find_id(a, where, SQL_ORG_ID, c->orgs[i],
		    oid)) == -1)
			goto out;
		if (!found) {
			fail(a->err, a->errsz, "%s: no organization '%s' in "
			    "the file or the database", where, c->orgs[i]);
			goto out;
		}
		p[0] = oid;
		p[1] = id;
		if ((n = change(a, where, SQL_SUBSCRIBE, 2, p)) == -1)
			goto out;
		subs += n;
	}
	if (subs > 0 && !created)
		part(a, "subscriptions");
	rc = done(a, "cache", c->name, created);
out:
	PQclear(res);
	free(pub);
	free(sealed);
	return rc;
}

int
gr_state_apply(struct gr_db *db, const struct gr_config *cfg,
    const struct gr_state *s, int dry_run, struct gr_buf *report,
    struct gr_state_counts *counts, char *err, size_t errsz)
{
	struct apply	 a;
	PGresult	*res;
	size_t		 i, mark = report->len;
	int		 rc = -1;

	memset(&a, 0, sizeof(a));
	memset(counts, 0, sizeof(*counts));
	a.db = db;
	a.cfg = cfg;
	a.dry = dry_run;
	a.report = report;
	a.counts = counts;
	a.err = err;
	a.errsz = errsz;
	if (cfg->crypt_secret == NULL)
		return fail(err, errsz, "the crypt secret is not loaded");
	if (gr_db_begin(db) == -1)
		return fail(err, errsz, "cannot begin a transaction (logged "
		    "above)");
	/* Two concurrent applies would race on "find, then insert". */
	if ((res = run(&a, "state", SQL_LOCK, 0, NULL)) == NULL)
		goto out;
	PQclear(res);
	/* In dependency order: members need users, projects organizations. */
	for (i = 0; i < s->nusers; i++)
		if (apply_user(&a, &s->users[i]) == -1)
			goto out;
	for (i = 0; i < s->norgs; i++)
		if (apply_org(&a, &s->orgs[i]) == -1)
			goto out;
	for (i = 0; i < s->nprojects; i++)
		if (apply_project(&a, &s->projects[i]) == -1)
			goto out;
	for (i = 0; i < s->nservers; i++)
		if (apply_server(&a, &s->servers[i]) == -1)
			goto out;
	for (i = 0; i < s->ncaches; i++)
		if (apply_cache(&a, &s->caches[i]) == -1)
			goto out;
	rc = 0;
out:
	if (rc == 0 && !dry_run) {
		if (gr_db_commit(db) == -1)
			rc = fail(err, errsz, "commit failed (logged above)");
	} else
		gr_db_rollback(db);
	if (rc == -1) {
		/* Nothing was written: report nothing either. */
		report->len = mark;
		if (report->data != NULL)
			report->data[mark] = '\0';
		memset(counts, 0, sizeof(*counts));
	}
	return rc;
}
