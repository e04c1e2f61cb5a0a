/*
 * evaluate.c - one evaluation, from a repository URL to rows of builds.
 *
 * Runs in a child of gradient-worker with a database connection of its
 * own.  Steps: fetch the commit into a clone the worker keeps (with the
 * organization's key for SSH), record the commit, evaluate the wildcard
 * with one "nix eval" subprocess, read the .drv files of the whole closure
 * ourselves, and insert builds, edges, outputs and entry points in one
 * transaction that also moves the evaluation on.  Every final write checks
 * that this worker still holds the lease.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>

#include "src/buf.h"
#include "src/crypto.h"
#include "src/db.h"
#include "src/git.h"
#include "src/json.h"
#include "src/log.h"
#include "src/nix_drv.h"
#include "src/proc.h"
#include "worker/worker.h"

#define ERROR_MAX	(64 * 1024)	/* of nix's stderr kept on the row */
#define NIX_OUT_MAX	(256 * 1024 * 1024)

static const char SQL_LOAD[] =
    "SELECT e.repository, e.branch, e.requested_rev, e.wildcard,"
    " e.organization_id, o.ssh_private_key, o.known_hosts"
    " FROM evaluation e JOIN organization o ON o.id = e.organization_id"
    " WHERE e.id = $1::uuid AND e.lease_owner = $2"
    " AND e.status = 'Evaluating'";
static const char SQL_DIRECT_FILES[] =
    "SELECT f.key, f.value FROM direct_build d,"
    " jsonb_each_text(d.files) f WHERE d.id = $1::uuid";
static const char SQL_COMMIT[] =
    "WITH c AS (INSERT INTO \"commit\" (organization_id, hash, message,"
    " author_name, author_email, committed_at)"
    " VALUES ($2::uuid, $3, $4, $5, $6, to_timestamp($7::bigint))"
    " ON CONFLICT (organization_id, hash) DO UPDATE SET message ="
    " EXCLUDED.message RETURNING id)"
    " UPDATE evaluation SET commit_id = (SELECT id FROM c),"
    " updated_at = now() WHERE id = $1::uuid AND lease_owner = $8"
    " AND status = 'Evaluating'";
static const char SQL_FAIL[] =
    "WITH e AS (UPDATE evaluation SET status = 'Failed', error = $3,"
    " finished_at = now(), updated_at = now(), lease_owner = NULL,"
    " lease_until = NULL WHERE id = $1::uuid AND lease_owner = $2"
    " AND status = 'Evaluating' RETURNING id, organization_id)"
    " INSERT INTO event (kind, subject, organization_id)"
    " SELECT 'evaluation.failed', id, organization_id FROM e RETURNING id";
/*
 * The store transaction (see store()).  The link tables carry no foreign
 * keys (sql/0005_graph_links.sql): this transaction locks what it links.
 */
static const char SQL_LOCK_EVAL[] =
    "SELECT 1 FROM evaluation WHERE id = $1::uuid AND lease_owner = $2"
    " AND status = 'Evaluating' FOR NO KEY UPDATE";
/* Builds: one row per derivation, whoever asked first. */
static const char SQL_BUILDS[] =
    "INSERT INTO build (id, derivation_path, name, system,"
    " required_features) SELECT i, d, n, s, string_to_array(f, ' ')"
    " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[],"
    " $5::text[]) AS t(i, d, n, s, f)"
    " ON CONFLICT (derivation_path) DO NOTHING RETURNING derivation_path";
/*
 * The builds we already had, kept from deletion until we commit.  A build
 * aborted with an earlier evaluation is wanted again.
 */
static const char SQL_KNOWN[] =
    "WITH k AS (SELECT id, derivation_path, status FROM build"
    " WHERE derivation_path = ANY($1::text[]) FOR KEY SHARE),"
    " q AS (UPDATE build b SET status = 'Queued', updated_at = now()"
    " FROM k WHERE b.id = k.id AND k.status = 'Aborted')"
    " SELECT id, derivation_path FROM k";
/*
 * Outputs and edges come with a new build, never later, and each once
 * (graph_walk() drops repeated inputs; output names are unique).
 */
static const char SQL_OUTPUTS[] =
    "INSERT INTO build_output (build_id, name, path)"
    " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])";
static const char SQL_EDGES[] =
    "INSERT INTO build_dependency (build_id, dependency_id)"
    " SELECT * FROM unnest($1::uuid[], $2::uuid[])";
static const char SQL_MEMBERS[] =
    "INSERT INTO evaluation_build (evaluation_id, build_id)"
    " SELECT $1::uuid, i FROM unnest($2::uuid[]) AS i";
static const char SQL_ENTRIES[] =
    "INSERT INTO entry_point (evaluation_id, attr, build_id)"
    " SELECT $1::uuid, a, i FROM unnest($2::text[], $3::uuid[]) AS t(a, i)"
    " ON CONFLICT DO NOTHING";
/* Building if anything is left to build, else Completed. */
static const char SQL_DONE[] =
    "WITH p AS (SELECT EXISTS (SELECT 1 FROM evaluation_build eb"
    " JOIN build b ON b.id = eb.build_id WHERE eb.evaluation_id = $1::uuid"
    " AND b.status NOT IN ('Succeeded', 'Substituted')) AS pending),"
    " e AS (UPDATE evaluation SET status = CASE WHEN p.pending"
    " THEN 'Building' ELSE 'Completed' END, error = $3,"
    " finished_at = CASE WHEN p.pending THEN NULL ELSE now() END,"
    " updated_at = now(), lease_owner = NULL, lease_until = NULL FROM p"
    " WHERE id = $1::uuid AND lease_owner = $2 AND status = 'Evaluating'"
    " RETURNING id, organization_id, status)"
    " INSERT INTO event (kind, subject, organization_id)"
    " SELECT 'evaluation.' || lower(status), id, organization_id FROM e"
    " RETURNING kind, pg_notify('gradient_build', subject::text)";

struct job {
	const struct gr_config	*cfg;
	struct gr_db		*db;
	const char		*id;
	const char		*owner;
	char			*repository, *branch, *rev, *wildcard, *org;
	char			*sealed, *known_hosts;
	char			 dir[PATH_MAX];
	char			 sha[41];
	struct gr_buf		 error;		/* what the evaluation says */
	double			 t[4];		/* start, nix done, read, stored */
};

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the graph: a set of .drv paths, each with its parsed facts ------- */

struct node {
	char	*path;
	char	 id[GR_UUID_LEN + 1];	/* of its build row, once stored */
	int	 fresh;			/* inserted by this evaluation */
	size_t	 seen_by;		/* 1 + the last node that listed it */
	char	*name, *system, *features;
	char	**onames, **opaths;	size_t nout;
	size_t	*deps;			size_t ndeps;	/* node indexes */
};

struct graph {
	struct node	*nodes;
	size_t		 n, cap;
	size_t		*slots;		/* open addressing: index + 1, 0 empty */
	size_t		 nslots;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The index of path in g, or SIZE_MAX. */
static size_t
graph_find(const struct graph *g, const char *path)
{
	size_t	 i;

	if (g->nslots == 0)
		return SIZE_MAX;
	for (i = hash_str(path) & (g->nslots - 1); g->slots[i] != 0;
	    i = (i + 1) & (g->nslots - 1))
		if (strcmp(g->nodes[g->slots[i] - 1].path, path) == 0)
			return g->slots[i] - 1;
	return SIZE_MAX;
}

static int
graph_rehash(struct graph *g, size_t nslots)
{
	size_t	*slots, i, j;

	if ((slots = calloc(nslots, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < g->n; i++) {
		for (j = hash_str(g->nodes[i].path) & (nslots - 1);
		    slots[j] != 0; j = (j + 1) & (nslots - 1))
			;
		slots[j] = i + 1;
	}
	free(g->slots);
	g->slots = slots;
	g->nslots = nslots;
	return 0;
}

/* Add path (copied) if new; its index, or SIZE_MAX when out of memory. */
static size_t
graph_add(struct graph *g, const char *path)
{
	struct node	*nn;
	size_t		 i;

	if ((i = graph_find(g, path)) != SIZE_MAX)
		return i;
	if ((g->n + 1) * 2 > g->nslots &&
	    graph_rehash(g, g->nslots == 0 ? 1024 : g->nslots * 2) == -1)
		return SIZE_MAX;
	if (g->n == g->cap) {
		if ((nn = reallocarray(g->nodes, g->cap == 0 ? 256 : g->cap * 2,
		    sizeof(*nn))) == NULL)
			return SIZE_MAX;
		g->nodes = nn;
		g->cap = g->cap == 0 ? 256 : g->cap * 2;
	}
	memset(&g->nodes[g->n], 0, sizeof(g->nodes[g->n]));
	if ((g->nodes[g->n].path = strdup(path)) == NULL)
		return SIZE_MAX;
	for (i = hash_str(path) & (g->nslots - 1); g->slots[i] != 0;
	    i = (i + 1) & (g->nslots - 1))
		;
	g->slots[i] = g->n + 1;
	return g->n++;
}

static void
graph_release(struct graph *g)
{
	size_t	 i, j;

	for (i = 0; i < g->n; i++) {
		struct node *d = &g->nodes[i];

		free(d->path);
		free(d->name);
		free(d->system);
		free(d->features);
		for (j = 0; j < d->nout; j++) {
			free(d->onames[j]);
			free(d->opaths[j]);
		}
		free(d->onames);
		free(d->opaths);
		free(d->deps);
	}
	free(g->nodes);
	free(g->slots);
	memset(g, 0, sizeof(*g));
}

/* Copy what we keep of a parsed .drv into node i. */
static int
node_fill(struct node *d, const struct gr_drv *drv)
{
	const char	*f;
	size_t		 j, k;

	d->name = strdup(gr_drv_name(drv) != NULL ? gr_drv_name(drv) : "");
	d->system = strdup(drv->platform);
	f = gr_drv_env_get(drv, "requiredSystemFeatures");
	d->features = strdup(f != NULL ? f : "");
	if (d->name == NULL || d->system == NULL || d->features == NULL)
		return -1;
	if (drv->noutputs > 0) {
		d->onames = calloc(drv->noutputs, sizeof(char *));
		d->opaths = calloc(drv->noutputs, sizeof(char *));
		if (d->onames == NULL || d->opaths == NULL)
			return -1;
		for (j = 0; j < drv->noutputs; j++) {
			/* A name listed twice is one output, the first. */
			for (k = 0; k < d->nout; k++)
				if (strcmp(d->onames[k],
				    drv->outputs[j].name) == 0)
					break;
			if (k < d->nout)
				continue;
			if ((d->onames[k] = strdup(drv->outputs[j].name)) ==
			    NULL)
				return -1;
			d->nout++;
			if ((d->opaths[k] = strdup(drv->outputs[j].path)) ==
			    NULL)
				return -1;
		}
	}
	if (drv->ninputs > 0 &&
	    (d->deps = calloc(drv->ninputs, sizeof(size_t))) == NULL)
		return -1;
	return 0;
}

/*
 * Breadth first from the roots already in g: read each .drv, follow its
 * inputDrvs.  Nodes are appended as they are found, so one pass over the
 * array visits the whole closure.
 */
static int
graph_walk(struct graph *g, struct gr_buf *error)
{
	struct gr_drv	 drv;
	char		 err[512];
	size_t		 i, j, k;

	for (i = 0; i < g->n; i++) {
		if (gr_drv_read(g->nodes[i].path, &drv, err,
		    sizeof(err)) == -1) {
			gr_buf_addf(error, "cannot read derivation: %s\n", err);
			return -1;
		}
		if (node_fill(&g->nodes[i], &drv) == -1) {
			gr_drv_release(&drv);
			return -1;
		}
		/*
		 * graph_add() may move the nodes: index, never point.  An
		 * input listed twice is one edge.
		 */
		for (j = 0; j < drv.ninputs; j++) {
			if ((k = graph_add(g, drv.inputs[j].path)) == SIZE_MAX) {
				gr_drv_release(&drv);
				return -1;
			}
			if (g->nodes[k].seen_by == i + 1)
				continue;
			g->nodes[k].seen_by = i + 1;
			g->nodes[i].deps[g->nodes[i].ndeps++] = k;
		}
		gr_drv_release(&drv);
	}
	return 0;
}

/* --- PostgreSQL array literals ----------------------------------------- */

static int
array_add(struct gr_buf *b, const char *s)
{
	size_t	 n;

	if (gr_buf_addc(b, b->len == 0 ? '{' : ',') == -1 ||
	    gr_buf_addc(b, '"') == -1)
		return -1;
	/* Runs without '"' or '\\' in one piece, each of those escaped. */
	for (;;) {
		n = strcspn(s, "\"\\");
		if (gr_buf_add(b, s, n) == -1)
			return -1;
		if (s[n] == '\0')
			break;
		if (gr_buf_addc(b, '\\') == -1 || gr_buf_addc(b, s[n]) == -1)
			return -1;
		s += n + 1;
	}
	return gr_buf_addc(b, '"');
}

static const char *
array_end(struct gr_buf *b)
{
	if (b->len == 0)
		gr_buf_adds(b, "{}");
	else
		gr_buf_addc(b, '}');
	return gr_buf_str(b);
}

/* --- steps --------------------------------------------------------------- */

static int
load(struct job *j)
{
	const char	*p[2] = { j->id, j->owner };
	PGresult	*res;

	if ((res = gr_db_exec(j->db, SQL_LOAD, 2, p)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		log_warnx("evaluation %s: no longer ours", j->id);
		return -1;
	}
	j->repository = gr_db_strdup(res, 0, 0);
	j->branch = gr_db_strdup(res, 0, 1);
	j->rev = gr_db_strdup(res, 0, 2);
	j->wildcard = gr_db_strdup(res, 0, 3);
	j->org = gr_db_strdup(res, 0, 4);
	j->sealed = gr_db_strdup(res, 0, 5);
	j->known_hosts = gr_db_strdup(res, 0, 6);
	PQclear(res);
	return j->repository != NULL && j->wildcard != NULL ? 0 : -1;
}

static int
mkdirs(const char *path)
{
	char	 tmp[PATH_MAX], *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) == -1 && errno != EEXIST ? -1 : 0;
}

/* git in the clone, with the organization's key for SSH. */
static int
git(struct job *j, const char *const *args, struct gr_proc *out)
{
	unsigned char	*pem = NULL;
	size_t		 pemlen = 0;
	char		 err[512];
	int		 ssh, rc;

	ssh = gr_git_url_is_ssh(j->repository);
	if (ssh && j->sealed != NULL && (pem = gr_secret_open(
	    j->cfg->crypt_secret, j->cfg->crypt_secret_len, j->sealed,
	    &pemlen)) == NULL) {
		gr_buf_adds(&j->error, "cannot open the organization's SSH "
		    "key\n");
		return -1;
	}
	rc = gr_git_run(args, j->dir, ssh, (const char *)pem, j->known_hosts,
	    (int)j->cfg->git_timeout, NULL, out, err, sizeof(err));
	if (pem != NULL)
		sodium_memzero(pem, pemlen);
	free(pem);
	if (rc == -1)
		gr_buf_addf(&j->error, "git %s: %s\n", args[0], err);
	return rc;
}

/* 1 if name is relative and no component of it is empty, "." or "..". */
static int
relative_path(const char *name)
{
	const char	*c = name;
	size_t		 n;

	if (*name == '\0' || *name == '/')
		return 0;
	for (;;) {
		n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (c[n] == '\0')
			return 1;
		c += n + 1;
	}
}

/* Write the uploaded files of a direct build and commit them. */
static int
direct_files(struct job *j, const char *direct_id)
{
	const char	*p[1] = { direct_id };
	const char	*init[] = { "init", "-q", NULL };
	const char	*add[] = { "add", "-A", NULL };
	const char	*commit[] = { "-c", "user.name=gradient", "-c",
			    "user.email=gradient@localhost", "commit", "-q",
			    "--allow-empty", "-m", "direct build", NULL };
	char		 path[PATH_MAX], *slash;
	unsigned char	*data;
	size_t		 n;
	PGresult	*res;
	int		 i, fd, rc = -1;

	if ((res = gr_db_exec(j->db, SQL_DIRECT_FILES, 1, p)) == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		const char *b64 = PQgetvalue(res, i, 1);

		/* The API checked the names; check again, cheaply. */
		if (!relative_path(name) || snprintf(path, sizeof(path),
		    "%s/%s", j->dir, name) >= (int)sizeof(path))
			goto out;
		if ((slash = strrchr(path, '/')) != NULL) {
			*slash = '\0';
			if (mkdirs(path) == -1)
				goto out;
			*slash = '/';
		}
		if ((data = gr_b64_decode(b64, strlen(b64), &n)) == NULL)
			goto out;
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd == -1 || write(fd, data, n) != (ssize_t)n) {
			if (fd != -1)
				close(fd);
			free(data);
			goto out;
		}
		close(fd);
		free(data);
	}
	if (git(j, init, NULL) == -1 || git(j, add, NULL) == -1 ||
	    git(j, commit, NULL) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1 && j->error.len == 0)
		gr_buf_adds(&j->error, "cannot write the direct build's files\n");
	PQclear(res);
	return rc;
}

/* Fetch the branch (or HEAD) and settle on the commit to evaluate. */
static int
fetch(struct job *j)
{
	char		 refspec[512], digest[65];
	const char	*init[] = { "init", "-q", NULL };
	const char	*fetch[] = { "fetch", "-q", "--force", "--no-tags", "--",
			    j->repository, refspec, NULL };
	const char	*parse[] = { "rev-parse", "--verify", "-q", NULL, NULL };
	const char	*checkout[] = { "-c", "advice.detachedHead=false",
			    "checkout", "-q", "--force", "--detach", NULL, NULL };
	struct gr_proc	 pr;
	char		 want[128];

	if (strncmp(j->repository, "direct:", 7) == 0) {
		snprintf(j->dir, sizeof(j->dir), "%s/direct/%s",
		    j->cfg->state_dir, j->repository + 7);
		if (mkdirs(j->dir) == -1 || direct_files(j,
		    j->repository + 7) == -1)
			return -1;
		snprintf(want, sizeof(want), "HEAD");
	} else {
		gr_sha256_hex(j->repository, strlen(j->repository), digest);
		snprintf(j->dir, sizeof(j->dir), "%s/repos/%.32s",
		    j->cfg->state_dir, digest);
		if (mkdirs(j->dir) == -1) {
			gr_buf_addf(&j->error, "cannot create %s\n", j->dir);
			return -1;
		}
		if (git(j, init, NULL) == -1)	/* harmless when it exists */
			return -1;
		if (j->branch != NULL && j->branch[0] != '\0')
			snprintf(refspec, sizeof(refspec),
			    "+refs/heads/%s:refs/gradient/head", j->branch);
		else
			snprintf(refspec, sizeof(refspec),
			    "+HEAD:refs/gradient/head");
		if (git(j, fetch, NULL) == -1)
			return -1;
		snprintf(want, sizeof(want), "%s^{commit}", j->rev != NULL ?
		    j->rev : "refs/gradient/head");
	}
	parse[3] = want;
	if (git(j, parse, &pr) == -1) {
		gr_buf_addf(&j->error, "commit '%s' not found in the "
		    "repository\n", j->rev != NULL ? j->rev : "HEAD");
		return -1;
	}
	snprintf(j->sha, sizeof(j->sha), "%.40s", gr_buf_str(&pr.out));
	gr_proc_release(&pr);
	checkout[6] = j->sha;
	return git(j, checkout, NULL);
}

static int
record_commit(struct job *j)
{
	const char	*args[] = { "log", "-1", "--format=%an%x00%ae%x00%ct%x00%B",
			    j->sha, "--", NULL };
	const char	*p[8];
	struct gr_proc	 pr;
	const char	*f[4] = { "", "", "0", "" };
	char		*s, *end;
	PGresult	*res;
	int		 i;

	if (git(j, args, &pr) == -1)
		return -1;
	s = pr.out.data != NULL ? pr.out.data : (char *)"";
	end = s + pr.out.len;
	for (i = 0; i < 4 && s < end; i++) {
		f[i] = s;
		s += strlen(s) + 1;
	}
	/* %B and git's own separator both end in newlines: trim them all. */
	if (f[3][0] != '\0') {
		char *m = (char *)f[3];
		size_t ml = strlen(m);

		while (ml > 0 && m[ml - 1] == '\n')
			m[--ml] = '\0';
	}
	p[0] = j->id;
	p[1] = j->org;
	p[2] = j->sha;
	p[3] = f[3];
	p[4] = f[0];
	p[5] = f[1];
	p[6] = f[2][0] != '\0' ? f[2] : NULL;	/* unknown: NULL */
	p[7] = j->owner;
	res = gr_db_exec(j->db, SQL_COMMIT, 8, p);
	gr_proc_release(&pr);
	if (res == NULL)
		return -1;
	PQclear(res);
	log_info("evaluation %s: commit %s", j->id, j->sha);
	return 0;
}

/* Write s into a Nix string literal. */
static int
nix_string(struct gr_buf *b, const char *s)
{
	if (gr_buf_addc(b, '"') == -1)
		return -1;
	for (; *s != '\0'; s++) {
		if ((*s == '"' || *s == '\\' || (*s == '$' && s[1] == '{')) &&
		    gr_buf_addc(b, '\\') == -1)
			return -1;
		if (gr_buf_addc(b, *s) == -1)
			return -1;
	}
	return gr_buf_addc(b, '"');
}

/*
 * The expression: expand the wildcard level by level over the flake's
 * outputs (attrNames never forces a value) and describe each derivation
 * found, catching what tryEval can catch per attribute.
 */
static int
nix_expr(struct job *j, struct gr_buf *e)
{
	struct gr_buf	 ref = GR_BUF_INIT, pats = GR_BUF_INIT;
	const char	*s;
	int		 rc = -1;

	if (gr_buf_addf(&ref, "git+file://%s?rev=%s", j->dir, j->sha) == -1)
		goto out;
	/*
	 * [ [ "packages" "x86_64-linux" "*" ] [ "checks" ] ]: one list per
	 * comma-separated path.  gr_wildcard_valid() admitted only
	 * identifiers and '*', so no segment needs escaping.
	 */
	gr_buf_adds(&pats, "[ [");
	for (s = j->wildcard; *s != '\0';) {
		size_t n = strcspn(s, ".,");
		size_t b = 0;

		while (b < n && s[b] == ' ')
			b++;
		while (n > b && s[n - 1] == ' ')
			n--;
		gr_buf_adds(&pats, " \"");
		gr_buf_add(&pats, s + b, n - b);
		gr_buf_addc(&pats, '"');
		s += strcspn(s, ".,");
		if (*s == ',')
			gr_buf_adds(&pats, " ] [");
		if (*s != '\0')
			s++;
	}
	gr_buf_adds(&pats, " ] ]");
	if (gr_buf_adds(e, "let flake = builtins.getFlake ") == -1 ||
	    nix_string(e, gr_buf_str(&ref)) == -1 ||
	    gr_buf_addf(e, "; patterns = %s;", gr_buf_str(&pats)) == -1 ||
	    gr_buf_adds(e,
	    " ok = x: let r = builtins.tryEval x; in r.success && r.value;"
	    " leaf = path: v: let r = builtins.tryEval (if builtins.isAttrs v"
	    " && (v.type or null) == \"derivation\" then { drvPath = v.drvPath;"
	    " name = v.name; system = v.system; } else null); in"
	    " if r.success then (if r.value == null then [] else"
	    " [ (r.value // { attr = path; }) ]) else"
	    " [ { attr = path; error = \"evaluation failed\"; } ];"
	    " go = path: v: pat: if pat == [] then leaf path v else"
	    " let seg = builtins.head pat; rest = builtins.tail pat;"
	    " names = if !(ok (builtins.isAttrs v)) then [] else"
	    " if seg == \"*\" then builtins.attrNames v else"
	    " if builtins.hasAttr seg v then [ seg ] else [];"
	    " in builtins.concatMap (n: go (path ++ [ n ])"
	    " (builtins.getAttr n v) rest) names;"
	    " in builtins.concatMap (p: go [] flake p) patterns") == -1)
		goto out;
	rc = 0;
out:
	gr_buf_release(&ref);
	gr_buf_release(&pats);
	return rc;
}

/* The attribute path as text, quoting names that hold a dot. */
static void
attr_text(struct json_object *a, struct gr_buf *b)
{
	size_t	 i, n = json_object_array_length(a);

	for (i = 0; i < n; i++) {
		const char *s = json_object_get_string(
		    json_object_array_get_idx(a, i));

		if (i > 0)
			gr_buf_addc(b, '.');
		if (s != NULL && strchr(s, '.') != NULL)
			gr_buf_addf(b, "\"%s\"", s);
		else
			gr_buf_adds(b, s != NULL ? s : "");
	}
}

/*
 * Run nix; the graph gets the selected derivations.  attrs gets their
 * attribute paths as an array literal, roots (as size_t values) their
 * node indexes, in the same order.
 */
static int
nix_eval(struct job *j, struct graph *g, struct gr_buf *attrs,
    struct gr_buf *roots)
{
	struct gr_buf		 expr = GR_BUF_INIT, cfg = GR_BUF_INIT;
	struct gr_buf		 home = GR_BUF_INIT, cache = GR_BUF_INIT;
	struct gr_buf		 reg = GR_BUF_INIT, a = GR_BUF_INIT;
	struct json_object	*o = NULL, *e, *v;
	struct gr_proc		 pr;
	const char		*argv[] = { j->cfg->nix_bin, "eval", "--json",
				    "--no-write-lock-file", "--expr", NULL,
				    NULL };
	const char		*envp[8];
	char			 err[256];
	size_t			 i, k, n, nerr = 0;
	int			 rc = -1, ran = 0;

	/* The worker wrote the empty registry at start (main.c). */
	gr_buf_addf(&reg, "%s/registry.json", j->cfg->state_dir);
	gr_buf_addf(&cfg, "NIX_CONFIG=experimental-features = nix-command "
	    "flakes\nflake-registry = %s\nallow-import-from-derivation = "
	    "false\naccept-flake-config = false\nwarn-dirty = false",
	    reg.data);
	gr_buf_addf(&home, "HOME=%s/home", j->cfg->state_dir);
	gr_buf_addf(&cache, "XDG_CACHE_HOME=%s/cache", j->cfg->state_dir);
	envp[0] = "PATH=/usr/bin:/bin";
	envp[1] = cfg.data;
	envp[2] = home.data;
	envp[3] = cache.data;
	envp[4] = "LC_ALL=C";
	/* Keep the evaluator's heap in bounds on a shared machine. */
	envp[5] = "GC_INITIAL_HEAP_SIZE=64M";
	envp[6] = NULL;
	if (nix_expr(j, &expr) == -1)
		goto out;
	argv[5] = expr.data;
	j->t[0] = now_s();
	if (gr_proc_run(argv, envp, j->dir, (int)j->cfg->eval_timeout,
	    NIX_OUT_MAX, &pr) == -1) {
		gr_buf_addf(&j->error, "cannot run %s\n", j->cfg->nix_bin);
		goto out;
	}
	ran = 1;
	j->t[1] = now_s();
	if (pr.timed_out) {
		gr_buf_addf(&j->error, "nix eval timed out after %lld s\n",
		    j->cfg->eval_timeout);
		goto out;
	}
	if (pr.status != 0) {
		/* Nix's own words, verbatim. */
		gr_buf_add(&j->error, pr.err.data != NULL ? pr.err.data : "",
		    pr.err.len > ERROR_MAX ? ERROR_MAX : pr.err.len);
		goto out;
	}
	if ((o = gr_json_parse(pr.out.data, pr.out.len, err,
	    sizeof(err))) == NULL || !json_object_is_type(o,
	    json_type_array)) {
		gr_buf_addf(&j->error, "cannot read nix's answer: %s\n", err);
		goto out;
	}
	n = json_object_array_length(o);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(o, i);
		gr_buf_reset(&a);
		if (json_object_object_get_ex(e, "attr", &v))
			attr_text(v, &a);
		if (json_object_object_get_ex(e, "error", &v)) {
			gr_buf_addf(&j->error, "%s: %s\n", gr_buf_str(&a),
			    json_object_get_string(v));
			nerr++;
			continue;
		}
		if (!json_object_object_get_ex(e, "drvPath", &v) ||
		    !gr_store_path_valid(json_object_get_string(v)))
			continue;
		if ((k = graph_add(g, json_object_get_string(v))) ==
		    SIZE_MAX || array_add(attrs, gr_buf_str(&a)) == -1 ||
		    gr_buf_add(roots, &k, sizeof(k)) == -1)
			goto out;
	}
	if (g->n == 0 && nerr > 0)
		goto out;	/* nothing but errors */
	if (g->n == 0) {
		gr_buf_addf(&j->error, "the wildcard '%s' matched no "
		    "derivation\n", j->wildcard);
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	if (ran)
		gr_proc_release(&pr);
	gr_buf_release(&expr);
	gr_buf_release(&cfg);
	gr_buf_release(&home);
	gr_buf_release(&cache);
	gr_buf_release(&reg);
	gr_buf_release(&a);
	return rc;
}

static int
by_path(const void *a, const void *b, void *arg)
{
	const struct graph	*g = arg;

	return strcmp(g->nodes[*(const size_t *)a].path,
	    g->nodes[*(const size_t *)b].path);
}

/* One INSERT of the store transaction; 0, or -1 on failure. */
static int
insert(struct job *j, const char *sql, int n, const char **p)
{
	enum gr_status	 st = gr_db_change(j->db, sql, n, p);

	return st == GR_OK || st == GR_NOTFOUND ? 0 : -1;
}

/*
 * Store the graph in one transaction.  The evaluation row is locked first:
 * a lost lease stops here, and a DELETE of the evaluation waits until we
 * are done (its trigger then removes what we linked).  New builds get ids
 * made here, so every later statement takes uuid arrays and none looks a
 * path up again.  They are inserted in path order: two evaluations that
 * share derivations take the index entries in the same order and never
 * deadlock.  Builds another evaluation made first are looked up and kept
 * FOR KEY SHARE; their outputs and edges came with them.
 */
static int
store(struct job *j, struct graph *g, struct gr_buf *attrs,
    const size_t *roots, size_t nroots)
{
	struct gr_buf	 bi = GR_BUF_INIT, d = GR_BUF_INIT, n = GR_BUF_INIT;
	struct gr_buf	 s = GR_BUF_INIT, f = GR_BUF_INIT, oi = GR_BUF_INIT;
	struct gr_buf	 on = GR_BUF_INIT, op = GR_BUF_INIT, es = GR_BUF_INIT;
	struct gr_buf	 ed = GR_BUF_INIT, known = GR_BUF_INIT;
	struct gr_buf	 ids = GR_BUF_INIT, eids = GR_BUF_INIT;
	const char	*p[5];
	PGresult	*res = NULL;
	size_t		*order = NULL, i, k, at, nknown = 0;
	int		 rc = -1, r, building;

	j->t[2] = now_s();
	if ((order = calloc(g->n, sizeof(*order))) == NULL)
		goto out;
	for (i = 0; i < g->n; i++) {
		order[i] = i;
		gr_uuid7(g->nodes[i].id);
		g->nodes[i].fresh = 0;
	}
	qsort_r(order, g->n, sizeof(*order), by_path, g);
	for (i = 0; i < g->n; i++) {
		struct node *x = &g->nodes[order[i]];

		if (array_add(&bi, x->id) == -1 ||
		    array_add(&d, x->path) == -1 ||
		    array_add(&n, x->name) == -1 ||
		    array_add(&s, x->system) == -1 ||
		    array_add(&f, x->features) == -1)
			goto out;
	}
	if (gr_db_begin(j->db) == -1)
		goto out;
	p[0] = j->id;
	p[1] = j->owner;
	if ((res = gr_db_exec(j->db, SQL_LOCK_EVAL, 2, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		log_warnx("evaluation %s: the lease was lost; not stored",
		    j->id);
		goto out;
	}
	PQclear(res);
	res = NULL;
	p[0] = array_end(&bi);
	p[1] = array_end(&d);
	p[2] = array_end(&n);
	p[3] = array_end(&s);
	p[4] = array_end(&f);
	if ((res = gr_db_exec(j->db, SQL_BUILDS, 5, p)) == NULL)
		goto out;
	for (r = 0; r < PQntuples(res); r++)
		if ((at = graph_find(g, PQgetvalue(res, r, 0))) != SIZE_MAX)
			g->nodes[at].fresh = 1;
	PQclear(res);
	res = NULL;
	for (i = 0; i < g->n; i++)
		if (!g->nodes[i].fresh) {
			if (array_add(&known, g->nodes[i].path) == -1)
				goto out;
			nknown++;
		}
	if (nknown > 0) {
		p[0] = array_end(&known);
		if ((res = gr_db_exec(j->db, SQL_KNOWN, 1, p)) == NULL)
			goto out;
		if ((size_t)PQntuples(res) != nknown) {
			gr_buf_addf(&j->error, "%zu builds vanished while "
			    "being stored\n", nknown - (size_t)PQntuples(res));
			goto out;
		}
		for (r = 0; r < PQntuples(res); r++) {
			if ((at = graph_find(g, PQgetvalue(res, r, 1))) ==
			    SIZE_MAX || g->nodes[at].fresh)
				continue;
			gr_db_copy(res, r, 0, g->nodes[at].id,
			    sizeof(g->nodes[at].id));
		}
		PQclear(res);
		res = NULL;
	}
	for (i = 0; i < g->n; i++) {
		struct node *x = &g->nodes[i];

		if (array_add(&ids, x->id) == -1)
			goto out;
		if (!x->fresh)
			continue;
		for (k = 0; k < x->nout; k++)
			if (array_add(&oi, x->id) == -1 ||
			    array_add(&on, x->onames[k]) == -1 ||
			    array_add(&op, x->opaths[k]) == -1)
				goto out;
		for (k = 0; k < x->ndeps; k++)
			if (array_add(&es, x->id) == -1 ||
			    array_add(&ed, g->nodes[x->deps[k]].id) == -1)
				goto out;
	}
	for (i = 0; i < nroots; i++)
		if (array_add(&eids, g->nodes[roots[i]].id) == -1)
			goto out;
	if (oi.len > 0) {
		p[0] = array_end(&oi);
		p[1] = array_end(&on);
		p[2] = array_end(&op);
		if (insert(j, SQL_OUTPUTS, 3, p) == -1)
			goto out;
	}
	if (es.len > 0) {
		p[0] = array_end(&es);
		p[1] = array_end(&ed);
		if (insert(j, SQL_EDGES, 2, p) == -1)
			goto out;
	}
	p[0] = j->id;
	p[1] = array_end(&ids);
	if (insert(j, SQL_MEMBERS, 2, p) == -1)
		goto out;
	p[1] = array_end(attrs);
	p[2] = array_end(&eids);
	if (insert(j, SQL_ENTRIES, 3, p) == -1)
		goto out;
	p[1] = j->owner;
	p[2] = j->error.len > 0 ? gr_buf_str(&j->error) : NULL;
	if ((res = gr_db_exec(j->db, SQL_DONE, 3, p)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		log_warnx("evaluation %s: the lease was lost; not stored",
		    j->id);
		goto out;
	}
	building = strcmp(PQgetvalue(res, 0, 0), "evaluation.building") == 0;
	PQclear(res);
	res = NULL;
	if (gr_db_commit(j->db) == -1)
		goto out;
	j->t[3] = now_s();
	log_info("evaluation %s: Evaluating -> %s (%zu derivations, %zu new;"
	    " nix %.2f s, read %.2f s, store %.2f s)", j->id, building ?
	    "Building" : "Completed", g->n, g->n - nknown, j->t[1] - j->t[0],
	    j->t[2] - j->t[1], j->t[3] - j->t[2]);
	rc = 0;
out:
	PQclear(res);
	if (rc == -1)
		gr_db_rollback(j->db);
	free(order);
	gr_buf_release(&bi);
	gr_buf_release(&d);
	gr_buf_release(&n);
	gr_buf_release(&s);
	gr_buf_release(&f);
	gr_buf_release(&oi);
	gr_buf_release(&on);
	gr_buf_release(&op);
	gr_buf_release(&es);
	gr_buf_release(&ed);
	gr_buf_release(&known);
	gr_buf_release(&ids);
	gr_buf_release(&eids);
	return rc;
}

static void
fail(struct job *j)
{
	const char	*p[3] = { j->id, j->owner, NULL };
	PGresult	*res;

	if (j->error.len == 0)
		gr_buf_adds(&j->error, "internal error (see the worker's log)");
	p[2] = gr_buf_str(&j->error);
	if ((res = gr_db_exec(j->db, SQL_FAIL, 3, p)) == NULL)
		return;
	if (PQntuples(res) == 1)
		log_info("evaluation %s: Evaluating -> Failed", j->id);
	PQclear(res);
}

int
evaluate_run(const struct gr_config *cfg, const char *id, const char *owner)
{
	struct job	 j;
	struct graph	 g;
	struct gr_buf	 attrs = GR_BUF_INIT, roots = GR_BUF_INIT;
	char		 lock[PATH_MAX], digest[65];
	int		 lfd = -1, rc = 1;

	memset(&j, 0, sizeof(j));
	memset(&g, 0, sizeof(g));
	j.cfg = cfg;
	j.id = id;
	j.owner = owner;
	gr_buf_set_max(&j.error, ERROR_MAX + 4096);
	if ((j.db = gr_db_new(cfg->database_url)) == NULL ||
	    gr_db_connect(j.db) == -1)
		goto out;
	if (load(&j) == -1)
		goto out;
	/* One evaluation at a time in a clone: fetch, checkout, eval. */
	snprintf(lock, sizeof(lock), "%s/locks", cfg->state_dir);
	(void)mkdirs(lock);
	gr_sha256_hex(j.repository, strlen(j.repository), digest);
	snprintf(lock, sizeof(lock), "%s/locks/%.32s", cfg->state_dir, digest);
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    flock(lfd, LOCK_EX) == -1) {
		gr_buf_addf(&j.error, "cannot lock %s\n", lock);
		fail(&j);
		goto out;
	}
	if (fetch(&j) == -1 || record_commit(&j) == -1 ||
	    nix_eval(&j, &g, &attrs, &roots) == -1 ||
	    graph_walk(&g, &j.error) == -1) {
		fail(&j);
		goto out;
	}
	if (lfd != -1) {
		close(lfd);
		lfd = -1;
	}
	if (store(&j, &g, &attrs, (const size_t *)(void *)roots.data,
	    roots.len / sizeof(size_t)) == -1) {
		fail(&j);
		goto out;
	}
	rc = 0;
out:
	if (lfd != -1)
		close(lfd);
	graph_release(&g);
	gr_buf_release(&attrs);
	gr_buf_release(&roots);
	gr_buf_release(&j.error);
	free(j.repository);
	free(j.branch);
	free(j.rev);
	free(j.wildcard);
	free(j.org);
	if (j.sealed != NULL)
		sodium_memzero(j.sealed, strlen(j.sealed));
	free(j.sealed);
	free(j.known_hosts);
	gr_db_free(j.db);
	return rc;
}
