/*
 * projects.c - /projects/{org}[/{project}]: projects of an organization.
 *
 * Members read; writers create, change, enable, disable, check and
 * evaluate them; admins delete them.  details and entry-points show the
 * project's evaluations.  check-repository really contacts the
 * repository with the organization's key (git ls-remote in a subprocess).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fcgi/handlers.h"
#include "src/conf.h"
#include "src/crypto.h"
#include "src/git.h"
#include "src/json.h"
#include "src/log.h"
#include "src/model_eval.h"
#include "src/model_org.h"
#include "src/model_project.h"

/* The organization (with role need) and the project of the path. */
static int
project_request(struct gr_req *r, enum gr_role need, struct gr_org *org,
    struct gr_project *p)
{
	enum gr_status	 st;

	if (req_org(r, r->params[0], need, org) == -1)
		return -1;
	if ((st = gr_project_find(r->db, org->id, r->params[1], p)) != GR_OK) {
		gr_http_status(r, st, "Project not found");
		return -1;
	}
	return 0;
}

/* Validate the project fields present in o; -1 after answering 400. */
static int
project_fields(struct gr_req *r, struct json_object *o, enum gr_field req,
    const char **name, const char **display, const char **description,
    const char **repository, const char **branch, const char **wildcard)
{
	char	 err[256];

	if (req_slug(r, o, "name", req, name) == -1 ||
	    req_text(r, o, "display_name", req, GR_DISPLAY_MAX,
	    display) == -1 ||
	    req_text(r, o, "description", GR_FIELD_OPTIONAL,
	    GR_DESCRIPTION_MAX, description) == -1)
		return -1;
	if (gr_json_string(o, "repository", req, 1, 1024, repository, err,
	    sizeof(err)) == -1 ||
	    gr_json_string(o, "branch", GR_FIELD_OPTIONAL, 0, GR_BRANCH_MAX,
	    branch, err, sizeof(err)) == -1 ||
	    gr_json_string(o, "evaluation_wildcard", req, 1, GR_WILDCARD_MAX,
	    wildcard, err, sizeof(err)) == -1) {
		gr_http_error(r, 400, err);
		return -1;
	}
	if (*display != NULL && **display == '\0') {
		gr_http_error(r, 400, "field 'display_name': must not be "
		    "empty");
		return -1;
	}
	if (*repository != NULL && !gr_git_url_valid(*repository)) {
		gr_http_error(r, 400, "field 'repository': expected a git URL "
		    "(https://, http://, git://, ssh://, file:// or "
		    "user@host:path)");
		return -1;
	}
	if (*branch != NULL && **branch != '\0' && !gr_branch_valid(*branch)) {
		gr_http_error(r, 400, "field 'branch': not a valid branch "
		    "name");
		return -1;
	}
	if (*wildcard != NULL && !gr_wildcard_valid(*wildcard)) {
		gr_http_error(r, 400, "field 'evaluation_wildcard': expected "
		    "attribute paths separated by commas, with '*' for any "
		    "attribute (e.g. \"packages.x86_64-linux.*\")");
		return -1;
	}
	return 0;
}

int
projects_list(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*arr;
	enum gr_status		 st;

	if (req_org(r, r->params[0], GR_ROLE_VIEW, &org) == -1)
		return 0;
	if ((arr = gr_project_list(r->db, org.id, &st)) == NULL)
		return gr_http_status(r, st, NULL);
	return gr_http_ok(r, arr);
}

int
projects_create(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*o;
	const char		*name, *display, *description, *repository;
	const char		*branch, *wildcard;
	char			 id[37];
	enum gr_status		 st;

	if (req_org(r, r->params[0], GR_ROLE_WRITE, &org) == -1)
		return 0;
	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (project_fields(r, o, GR_FIELD_REQUIRED, &name, &display,
	    &description, &repository, &branch, &wildcard) == -1)
		goto out;
	st = gr_project_create(r->db, org.id, name, display,
	    description != NULL ? description : "", repository,
	    branch != NULL && *branch != '\0' ? branch : NULL, wildcard,
	    r->user->id, 0, id);
	if (st == GR_OK)
		gr_http_ok_str(r, id);
	else
		gr_http_status(r, st, st == GR_CONFLICT ?
		    "Project name already exists" : NULL);
out:
	json_object_put(o);
	return 0;
}

int
projects_get(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_project	 p;
	struct json_object	*o;
	enum gr_status		 st;

	if (project_request(r, GR_ROLE_VIEW, &org, &p) == -1)
		return 0;
	if ((o = gr_project_json(r->db, p.id, &st)) == NULL)
		return gr_http_status(r, st, "Project not found");
	return gr_http_ok(r, o);
}

int
projects_patch(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_project	 p;
	struct json_object	*o;
	const char		*name, *display, *description, *repository;
	const char		*branch, *wildcard;
	enum gr_status		 st;

	if (project_request(r, GR_ROLE_WRITE, &org, &p) == -1)
		return 0;
	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (project_fields(r, o, GR_FIELD_OPTIONAL, &name, &display,
	    &description, &repository, &branch, &wildcard) == -1)
		goto out;
	if (p.managed) {
		req_managed(r, "project");
		goto out;
	}
	st = gr_project_update(r->db, p.id, name, display, description,
	    repository, branch, wildcard);
	if (st == GR_OK)
		gr_http_ok_str(r, "Project updated");
	else
		gr_http_status(r, st, st == GR_CONFLICT ?
		    "Project name already exists" : "Project not found");
out:
	json_object_put(o);
	return 0;
}

int
projects_delete(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_project	 p;
	enum gr_status		 st;

	if (project_request(r, GR_ROLE_ADMIN, &org, &p) == -1)
		return 0;
	if (p.managed)
		return req_managed(r, "project");
	if ((st = gr_project_delete(r->db, p.id)) != GR_OK)
		return gr_http_status(r, st, "Project not found");
	return gr_http_ok_str(r, "Project deleted");
}

static int
set_active(struct gr_req *r, int active)
{
	struct gr_org		 org;
	struct gr_project	 p;
	enum gr_status		 st;

	if (project_request(r, GR_ROLE_WRITE, &org, &p) == -1)
		return 0;
	if (p.managed)
		return req_managed(r, "project");
	if ((st = gr_project_set_active(r->db, p.id, active)) != GR_OK)
		return gr_http_status(r, st, "Project not found");
	return gr_http_ok_str(r, active ? "Project enabled" :
	    "Project disabled");
}

int
projects_enable(struct gr_req *r)
{
	return set_active(r, 1);
}

int
projects_disable(struct gr_req *r)
{
	return set_active(r, 0);
}

int
projects_details(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_project	 p;
	struct json_object	*o, *recent, *entry;
	enum gr_status		 st;

	if (project_request(r, GR_ROLE_VIEW, &org, &p) == -1)
		return 0;
	if ((recent = gr_eval_project_recent(r->db, p.id, &st)) == NULL)
		return gr_http_status(r, st, NULL);
	if ((entry = gr_eval_project_entry_points(r->db, p.id,
	    &st)) == NULL) {
		json_object_put(recent);
		return gr_http_status(r, st, NULL);
	}
	if ((o = json_object_new_object()) == NULL) {
		json_object_put(recent);
		json_object_put(entry);
		return -1;
	}
	/* The newest of the recent ones, shared by both keys. */
	json_object_object_add(o, "latest_evaluation",
	    json_object_get(json_object_array_get_idx(recent, 0)));
	json_object_object_add(o, "recent_evaluations", recent);
	json_object_object_add(o, "entry_points", entry);
	return gr_http_ok(r, o);
}

int
projects_entry_points(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_project	 p;
	struct json_object	*arr;
	enum gr_status		 st;

	if (project_request(r, GR_ROLE_VIEW, &org, &p) == -1)
		return 0;
	if ((arr = gr_eval_project_entry_points(r->db, p.id, &st)) == NULL)
		return gr_http_status(r, st, NULL);
	return gr_http_ok(r, arr);
}

/* 1 if s is a full commit hash: 40 hexadecimal digits. */
static int
valid_commit(const char *s)
{
	size_t	 i;

	for (i = 0; i < 40; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return s[40] == '\0';
}

int
projects_evaluate(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_project	 p;
	struct json_object	*o = NULL;
	const char		*commit = NULL;
	char			 rev[41], id[37], err[256];
	enum gr_status		 st;
	size_t			 i;

	/* Managed projects may be evaluated: that changes no state. */
	if (project_request(r, GR_ROLE_WRITE, &org, &p) == -1)
		return 0;
	/* The body is optional: {"commit": "<40 hex>"}. */
	if (r->body_len > 0) {
		if ((o = req_json_object(r)) == NULL)
			return 0;
		if (gr_json_string(o, "commit", GR_FIELD_OPTIONAL, 40, 40,
		    &commit, err, sizeof(err)) == -1 ||
		    (commit != NULL && !valid_commit(commit))) {
			gr_http_error(r, 400, "field 'commit': expected a "
			    "commit hash of 40 hexadecimal digits");
			goto out;
		}
	}
	if (commit != NULL) {
		for (i = 0; i < 40; i++)
			rev[i] = (char)tolower((unsigned char)commit[i]);
		rev[40] = '\0';
	}
	st = gr_eval_enqueue_project(r->db, p.id, commit != NULL ? rev : NULL,
	    r->user->id, id);
	if (st == GR_OK) {
		log_info("request %s: evaluation %s of '%s/%s' queued by '%s'",
		    r->request_id != NULL ? r->request_id : "-", id, org.name,
		    r->params[1], r->user->username);
		gr_http_ok_str(r, id);
	} else if (st == GR_INVALID)
		gr_http_error(r, 400, "Project is disabled");
	else
		gr_http_status(r, st, "Project not found");
out:
	json_object_put(o);
	return 0;
}

int
projects_check_repository(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_project	 p;
	char			*url = NULL, *sealed = NULL, *known = NULL;
	char			*known_out = NULL, err[512];
	unsigned char		*pem = NULL;
	size_t			 pemlen = 0;
	int			 refs = 0, rc = -1;

	if (project_request(r, GR_ROLE_WRITE, &org, &p) == -1)
		return 0;
	if ((url = gr_project_repository(r->db, p.id)) == NULL ||
	    (known = gr_org_known_hosts(r->db, org.id)) == NULL)
		goto out;
	if (gr_git_url_is_ssh(url)) {
		if ((sealed = gr_org_ssh_sealed(r->db, org.id)) == NULL)
			goto out;
		pem = gr_secret_open(r->cfg->crypt_secret,
		    r->cfg->crypt_secret_len, sealed, &pemlen);
		if (pem == NULL) {
			log_warnx("request %s: cannot open the SSH key of "
			    "organization '%s' (crypt secret changed?)",
			    r->request_id != NULL ? r->request_id : "-",
			    org.name);
			goto out;
		}
	}
	if (gr_git_ls_remote(url, (const char *)pem, known,
	    (int)r->cfg->git_timeout, &known_out, &refs, err,
	    sizeof(err)) == -1) {
		gr_http_errorf(r, 400, "Repository check failed: %s", err);
		rc = 0;
		goto out;
	}
	if (known_out != NULL && strcmp(known_out, known) != 0)
		(void)gr_org_known_hosts_set(r->db, org.id, known, known_out);
	(void)gr_project_checked(r->db, p.id);
	snprintf(err, sizeof(err), "Repository is accessible (%d ref%s)",
	    refs, refs == 1 ? "" : "s");
	gr_http_ok_str(r, err);
	rc = 0;
out:
	if (pem != NULL)
		sodium_memzero(pem, pemlen);
	free(pem);
	free(url);
	free(sealed);
	free(known);
	free(known_out);
	return rc;
}
