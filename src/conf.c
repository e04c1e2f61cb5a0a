/*
 * conf.c - configuration file, environment overrides and secret files.
 *
 * The keys[] table is the single list of settings.  Load order: defaults,
 * then the file, then GRADIENT_<KEY> variables, so an operator can change
 * one setting for one run without editing the file.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "src/buf.h"
#include "src/conf.h"

enum key_type { KEY_STRING, KEY_INT, KEY_BOOL };

static const struct key {
	const char	*name;
	enum key_type	 type;
	size_t		 off;
	const char	*def;
	long long	 min, max;
} keys[] = {
	{ "children", KEY_INT, offsetof(struct gr_config, children),
	    "4", 1, 256 },
	{ "crypt_secret_file", KEY_STRING,
	    offsetof(struct gr_config, crypt_secret_file),
	    SYSCONFDIR "/gradient/crypt_secret", 0, 0 },
	{ "database_url", KEY_STRING, offsetof(struct gr_config, database_url),
	    "dbname=gradient", 0, 0 },
	{ "eval_timeout", KEY_INT, offsetof(struct gr_config, eval_timeout),
	    "600", 10, 86400 },
	{ "git_timeout", KEY_INT, offsetof(struct gr_config, git_timeout),
	    "30", 1, 3600 },
	{ "jwt_lifetime", KEY_INT, offsetof(struct gr_config, jwt_lifetime),
	    "86400", 60, 31536000 },
	{ "jwt_remember_lifetime", KEY_INT,
	    offsetof(struct gr_config, jwt_remember_lifetime),
	    "2592000", 60, 31536000 },
	{ "jwt_secret_file", KEY_STRING,
	    offsetof(struct gr_config, jwt_secret_file),
	    SYSCONFDIR "/gradient/jwt_secret", 0, 0 },
	{ "listen", KEY_STRING, offsetof(struct gr_config, listen),
	    "/run/gradient/fcgi.sock", 0, 0 },
	{ "lease_seconds", KEY_INT, offsetof(struct gr_config, lease_seconds),
	    "30", 2, 3600 },
	{ "login_max_failures", KEY_INT,
	    offsetof(struct gr_config, login_max_failures), "10", 1, 1000000 },
	{ "login_window", KEY_INT, offsetof(struct gr_config, login_window),
	    "900", 1, 86400 * 30 },
	{ "max_body_size", KEY_INT, offsetof(struct gr_config, max_body_size),
	    "8388608", 1024, 1LL << 34 },
	{ "nix_bin", KEY_STRING, offsetof(struct gr_config, nix_bin),
	    "/usr/bin/nix", 0, 0 },
	{ "registration_disabled", KEY_BOOL,
	    offsetof(struct gr_config, registration_disabled), "false", 0, 1 },
	{ "server_name", KEY_STRING, offsetof(struct gr_config, server_name),
	    "gradient", 0, 0 },
	{ "sql_dir", KEY_STRING, offsetof(struct gr_config, sql_dir),
	    PKGDATADIR "/sql", 0, 0 },
	{ "ssh_timeout", KEY_INT, offsetof(struct gr_config, ssh_timeout),
	    "10", 1, 600 },
	{ "state_dir", KEY_STRING, offsetof(struct gr_config, state_dir),
	    "/var/lib/gradient", 0, 0 },
	{ "user", KEY_STRING, offsetof(struct gr_config, user), "", 0, 0 },
	{ "worker_slots", KEY_INT, offsetof(struct gr_config, worker_slots),
	    "2", 1, 64 },
};

static void
seterr(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

long long
gr_strtonum(const char *s, long long min, long long max, const char **errstr)
{
	char		*end;
	long long	 v;

	*errstr = NULL;
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
		*errstr = "invalid";
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		*errstr = "invalid";
		return 0;
	}
	if ((v == LLONG_MIN || v == LLONG_MAX) && errno == ERANGE) {
		*errstr = v < 0 ? "too small" : "too large";
		return 0;
	}
	if (v < min) {
		*errstr = "too small";
		return 0;
	}
	if (v > max) {
		*errstr = "too large";
		return 0;
	}
	return v;
}

int
gr_parse_bool(const char *s)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t	 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static const struct key *
key_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Store value for key k in c; "where" names the source for the error. */
static int
key_set(struct gr_config *c, const struct key *k, const char *value,
    const char *where, char *err, size_t errsz)
{
	char		**sp;
	long long	 *ip;
	const char	 *errstr;
	char		 *dup;
	int		  b;

	switch (k->type) {
	case KEY_STRING:
		sp = (char **)((char *)c + k->off);
		if ((dup = strdup(value)) == NULL) {
			seterr(err, errsz, "%s: out of memory", where);
			return -1;
		}
		free(*sp);
		*sp = dup;
		return 0;
	case KEY_INT:
		ip = (long long *)((char *)c + k->off);
		*ip = gr_strtonum(value, k->min, k->max, &errstr);
		if (errstr != NULL) {
			seterr(err, errsz, "%s: '%s' is %s (expected an integer"
			    " from %lld to %lld)", where, k->name, errstr,
			    k->min, k->max);
			return -1;
		}
		return 0;
	case KEY_BOOL:
		ip = (long long *)((char *)c + k->off);
		if ((b = gr_parse_bool(value)) == -1) {
			seterr(err, errsz, "%s: '%s' expects true or false",
			    where, k->name);
			return -1;
		}
		*ip = b;
		return 0;
	}
	return -1;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
load_file(struct gr_config *c, const char *path, int must_exist, char *err,
    size_t errsz)
{
	FILE			*fp;
	char			 line[4096], where[512];
	char			*p, *eq, *name, *value;
	const struct key	*k;
	int			 lineno = 0, rc = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		seterr(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			seterr(err, errsz, "%s: line too long", where);
			rc = -1;
			break;
		}
		p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			seterr(err, errsz, "%s: expected 'key = value'", where);
			rc = -1;
			break;
		}
		*eq = '\0';
		name = trim(p);
		value = trim(eq + 1);
		if ((k = key_find(name)) == NULL) {
			seterr(err, errsz, "%s: unknown key '%s'", where, name);
			rc = -1;
			break;
		}
		if (key_set(c, k, value, where, err, errsz) == -1) {
			rc = -1;
			break;
		}
	}
	fclose(fp);
	return rc;
}

int
gr_config_load(struct gr_config *c, const char *path, char *err, size_t errsz)
{
	char		 var[128], where[160];
	const char	*v;
	size_t		 i, j;
	int		 must_exist = 1;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (key_set(c, &keys[i], keys[i].def, "default", err,
		    errsz) == -1)
			return -1;
	if (path == NULL)
		path = getenv("GRADIENT_CONFIG");
	if (path == NULL) {
		path = GR_CONFIG_PATH;
		must_exist = 0;
	}
	if (load_file(c, path, must_exist, err, errsz) == -1)
		return -1;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(var, sizeof(var), "GRADIENT_%s", keys[i].name);
		for (j = 9; var[j] != '\0'; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		if ((v = getenv(var)) == NULL)
			continue;
		snprintf(where, sizeof(where), "environment %s", var);
		if (key_set(c, &keys[i], v, where, err, errsz) == -1)
			return -1;
	}
	return 0;
}

/* Read a whole secret file into sodium-guarded memory; trims one newline. */
static int
read_secret(const char *path, unsigned char **out, size_t *lenp, char *err,
    size_t errsz)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		 chunk[4096];
	ssize_t		 n;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	gr_buf_set_max(&b, 65536);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (gr_buf_add(&b, chunk, (size_t)n) == -1) {
			seterr(err, errsz, "%s: secret file too large", path);
			goto out;
		}
	if (n == -1) {
		seterr(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.len--;
	if ((*out = malloc(b.len + 1)) == NULL) {
		seterr(err, errsz, "%s: out of memory", path);
		goto out;
	}
	if (b.len > 0)
		memcpy(*out, b.data, b.len);
	*lenp = b.len;
	rc = 0;
out:
	sodium_memzero(chunk, sizeof(chunk));
	if (b.data != NULL)
		sodium_memzero(b.data, b.cap);
	gr_buf_release(&b);
	close(fd);
	return rc;
}

int
gr_config_load_secrets(struct gr_config *c, char *err, size_t errsz)
{
	if (read_secret(c->jwt_secret_file, &c->jwt_secret,
	    &c->jwt_secret_len, err, errsz) == -1)
		return -1;
	if (c->jwt_secret_len < 32) {
		seterr(err, errsz, "%s: secret must be at least 32 bytes",
		    c->jwt_secret_file);
		return -1;
	}
	if (read_secret(c->crypt_secret_file, &c->crypt_secret,
	    &c->crypt_secret_len, err, errsz) == -1)
		return -1;
	if (c->crypt_secret_len < 32) {
		seterr(err, errsz, "%s: secret must be at least 32 bytes",
		    c->crypt_secret_file);
		return -1;
	}
	return 0;
}

void
gr_config_release(struct gr_config *c)
{
	size_t	 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].type == KEY_STRING)
			free(*(char **)((char *)c + keys[i].off));
	if (c->jwt_secret != NULL)
		sodium_memzero(c->jwt_secret, c->jwt_secret_len);
	if (c->crypt_secret != NULL)
		sodium_memzero(c->crypt_secret, c->crypt_secret_len);
	free(c->jwt_secret);
	free(c->crypt_secret);
	memset(c, 0, sizeof(*c));
}
