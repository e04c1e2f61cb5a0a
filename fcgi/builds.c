/*
 * builds.c - /builds: a build, its dependencies and graph, and direct
 * builds (POST /builds, GET /builds/direct/recent).
 *
 * A build is visible to the members of the organization of any
 * evaluation containing it; anyone else, and any id that is not a strict
 * UUID, gets 404 "Build not found".  A direct build is a multipart upload
 * of a flake's files, stored with the build and evaluated by the worker
 * like a project; it needs the write role in its organization.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/handlers.h"
#include "src/crypto.h"
#include "src/json.h"
#include "src/log.h"
#include "src/model_build.h"
#include "src/model_project.h"
#include "src/multipart.h"

#define FILE_PREFIX	"file:"
#define PATH_MAX_BYTES	1024

/* The build of the path, if visible; -1 once answered. */
static int
build_request(struct gr_req *r)
{
	enum gr_status	 st;

	st = gr_build_access(r->db, r->params[0], r->user->id, NULL);
	if (st != GR_OK) {
		gr_http_status(r, st, "Build not found");
		return -1;
	}
	return 0;
}

int
builds_get(struct gr_req *r)
{
	struct json_object	*o;
	enum gr_status		 st;

	if ((o = gr_build_json(r->db, r->params[0], r->user->id,
	    &st)) == NULL)
		return gr_http_status(r, st, "Build not found");
	return gr_http_ok(r, o);
}

int
builds_dependencies(struct gr_req *r)
{
	struct json_object	*arr;
	enum gr_status		 st;

	if (build_request(r) == -1)
		return 0;
	if ((arr = gr_build_dependencies(r->db, r->params[0], &st)) == NULL)
		return gr_http_status(r, st, NULL);
	return gr_http_ok(r, arr);
}

int
builds_graph(struct gr_req *r)
{
	struct json_object	*g;
	enum gr_status		 st;

	if (build_request(r) == -1)
		return 0;
	if ((g = gr_build_graph(r->db, r->params[0], GR_GRAPH_MAX,
	    &st)) == NULL)
		return gr_http_status(r, st, "Build not found");
	return gr_http_ok(r, g);
}

int
builds_direct_recent(struct gr_req *r)
{
	struct json_object	*arr;
	enum gr_status		 st;

	if ((arr = gr_direct_recent(r->db, r->user->id, &st)) == NULL)
		return gr_http_status(r, st, NULL);
	return gr_http_ok(r, arr);
}

/*
 * A relative path inside the uploaded tree: components separated by '/',
 * none empty, "." or "..", no backslash (names are already valid UTF-8
 * without control characters).
 */
static int
valid_path(const char *s)
{
	const char	*c;
	size_t		 n, len = strlen(s);

	if (len == 0 || len > PATH_MAX_BYTES || strchr(s, '\\') != NULL)
		return 0;
	for (;;) {
		c = strchr(s, '/');
		n = c != NULL ? (size_t)(c - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		if (c == NULL)
			return 1;
		s = c + 1;
	}
}

/*
 * A text part into out (outsz bytes with the NUL): no NUL inside, valid
 * UTF-8.  -1 after answering 400.
 */
static int
part_text(struct gr_req *r, const struct gr_mpart *p, char *out,
    size_t outsz)
{
	if (p->len == 0 || p->len >= outsz ||
	    memchr(p->data, '\0', p->len) != NULL ||
	    !gr_valid_utf8(p->data, p->len)) {
		gr_http_errorf(r, 400, "field '%s': expected text of 1 to %zu "
		    "bytes", p->name, outsz - 1);
		return -1;
	}
	memcpy(out, p->data, p->len);
	out[p->len] = '\0';
	return 0;
}

/* Add the file parts to files as {path: base64}; -1 after answering. */
static int
direct_files(struct gr_req *r, const struct gr_multipart *mp,
    struct json_object *files)
{
	const struct gr_mpart	*p;
	const char		*path;
	char			*b64;
	size_t			 i, n = 0;

	for (i = 0; i < mp->nparts; i++) {
		p = &mp->parts[i];
		if (strncmp(p->name, FILE_PREFIX, strlen(FILE_PREFIX)) != 0)
			continue;
		path = p->name + strlen(FILE_PREFIX);
		if (!valid_path(path)) {
			gr_http_errorf(r, 400, "field '%s': expected a "
			    "relative path without '.' or '..' components",
			    p->name);
			return -1;
		}
		if (json_object_object_get_ex(files, path, NULL)) {
			gr_http_errorf(r, 400, "field '%s' is given twice",
			    p->name);
			return -1;
		}
		if (++n > GR_DIRECT_FILES_MAX) {
			gr_http_errorf(r, 400, "A direct build takes at most "
			    "%d files", GR_DIRECT_FILES_MAX);
			return -1;
		}
		if ((b64 = gr_b64_encode((const unsigned char *)p->data,
		    p->len)) == NULL)
			return -1;
		json_object_object_add(files, path,
		    json_object_new_string(b64));
		free(b64);
	}
	if (n == 0) {
		gr_http_error(r, 400, "A direct build needs at least one "
		    "'file:<path>' field");
		return -1;
	}
	return 0;
}

int
builds_direct(struct gr_req *r)
{
	struct gr_multipart	 mp = { NULL, 0 };
	struct gr_org		 org;
	struct json_object	*files = NULL;
	const struct gr_mpart	*p, *orgp = NULL, *drvp = NULL, **slot;
	const char		*text;
	char			 boundary[GR_MULTIPART_BOUNDARY_MAX + 1];
	char			 slug[65], drv[GR_WILDCARD_MAX + 1];
	char			 err[256], eval[37];
	enum gr_status		 st;
	size_t			 i, len;
	int			 rc = 0;

	if (gr_multipart_boundary(r->content_type, boundary,
	    sizeof(boundary), err, sizeof(err)) == -1 ||
	    gr_multipart_parse(r->body, r->body_len, boundary,
	    GR_DIRECT_FILES_MAX + 3, &mp, err, sizeof(err)) == -1) {
		gr_http_errorf(r, 400, "Invalid multipart body: %s", err);
		goto out;
	}
	for (i = 0; i < mp.nparts; i++) {
		p = &mp.parts[i];
		if (strcmp(p->name, "organization") == 0)
			slot = &orgp;
		else if (strcmp(p->name, "derivation") == 0)
			slot = &drvp;
		else if (strncmp(p->name, FILE_PREFIX,
		    strlen(FILE_PREFIX)) == 0)
			continue;	/* checked by direct_files() */
		else {
			gr_http_errorf(r, 400, "unexpected field '%s'",
			    p->name);
			goto out;
		}
		if (*slot != NULL) {
			gr_http_errorf(r, 400, "field '%s' is given twice",
			    p->name);
			goto out;
		}
		*slot = p;
	}
	if (orgp == NULL || drvp == NULL) {
		gr_http_errorf(r, 400, "field '%s' is required",
		    orgp == NULL ? "organization" : "derivation");
		goto out;
	}
	if (part_text(r, orgp, slug, sizeof(slug)) == -1 ||
	    part_text(r, drvp, drv, sizeof(drv)) == -1)
		goto out;
	if (!gr_valid_slug(slug)) {
		gr_http_error(r, 400, "field 'organization': use 1 to 64 "
		    "lowercase letters, digits, '-' or '_'");
		goto out;
	}
	if (!gr_wildcard_valid(drv) || strpbrk(drv, "*,") != NULL) {
		gr_http_error(r, 400, "field 'derivation': expected one "
		    "attribute path without '*' (e.g. "
		    "\"packages.x86_64-linux.hello\")");
		goto out;
	}
	if (req_org(r, slug, GR_ROLE_WRITE, &org) == -1)
		goto out;
	if ((files = json_object_new_object()) == NULL) {
		rc = -1;
		goto out;
	}
	if (direct_files(r, &mp, files) == -1) {
		rc = r->answered ? 0 : -1;
		goto out;
	}
	if ((text = gr_json_text(files, &len)) == NULL) {
		rc = -1;
		goto out;
	}
	st = gr_direct_create(r->db, org.id, drv, text, r->user->id, eval);
	if (st != GR_OK) {
		gr_http_status(r, st, NULL);
		goto out;
	}
	log_info("request %s: direct build of '%s' in '%s' by '%s': "
	    "evaluation %s", r->request_id != NULL ? r->request_id : "-",
	    drv, org.name, r->user->username, eval);
	gr_http_ok_str(r, eval);
out:
	json_object_put(files);
	gr_multipart_release(&mp);
	return rc;
}
