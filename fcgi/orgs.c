/*
 * orgs.c - /orgs: organizations, members, the SSH key, cache subscriptions;
 * and the request helpers every organization-scoped handler uses.
 *
 * Roles: view reads; write changes projects; admin manages the
 * organization itself, its members, servers, key and subscriptions.  An
 * organization the user is not a member of is answered 404, as if it did
 * not exist; a member whose role is too low gets 403.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fcgi/handlers.h"
#include "src/conf.h"
#include "src/crypto.h"
#include "src/json.h"
#include "src/log.h"
#include "src/model_cache.h"
#include "src/model_org.h"
#include "src/sshkey.h"

int
req_org(struct gr_req *r, const char *slug, enum gr_role need,
    struct gr_org *o)
{
	enum gr_status	 st;

	st = gr_org_access(r->db, slug, r->user->id, o);
	if (st == GR_NOTFOUND) {
		gr_http_error(r, 404, "Organization not found");
		return -1;
	}
	if (st != GR_OK) {
		gr_http_status(r, st, NULL);
		return -1;
	}
	if (o->role < need) {
		gr_http_errorf(r, 403, "Forbidden: this needs the %s role in "
		    "organization '%s'", gr_role_name(need), o->name);
		return -1;
	}
	return 0;
}

int
req_managed(struct gr_req *r, const char *what)
{
	return gr_http_errorf(r, 403, "Cannot modify state-managed %s.", what);
}

int
req_text(struct gr_req *r, struct json_object *o, const char *key,
    enum gr_field req, size_t max, const char **out)
{
	char	 err[256];

	/* Type and presence here; the limit is in characters, below. */
	if (gr_json_string(o, key, req, 0, (size_t)-1, out, err,
	    sizeof(err)) == -1) {
		gr_http_error(r, 400, err);
		return -1;
	}
	if (*out != NULL && !gr_valid_text(*out, max)) {
		gr_http_errorf(r, 400, "field '%s': expected text of at most "
		    "%zu characters without control characters", key, max);
		return -1;
	}
	if (*out != NULL && req == GR_FIELD_REQUIRED && **out == '\0') {
		gr_http_errorf(r, 400, "field '%s': must not be empty", key);
		return -1;
	}
	return 0;
}

int
req_slug(struct gr_req *r, struct json_object *o, const char *key,
    enum gr_field req, const char **out)
{
	char	 err[256];

	if (gr_json_string(o, key, req, 1, 64, out, err, sizeof(err)) == -1) {
		gr_http_error(r, 400, err);
		return -1;
	}
	if (*out != NULL && !gr_valid_slug(*out)) {
		gr_http_errorf(r, 400, "field '%s': use 1 to 64 lowercase "
		    "letters, digits, '-' or '_'", key);
		return -1;
	}
	return 0;
}

/* A new key pair: public line and sealed private key (caller frees). */
static int
new_keypair(struct gr_req *r, const char *org, char **pub, char **sealed)
{
	struct gr_sshkey	 k;
	char			 comment[96];

	*pub = *sealed = NULL;
	snprintf(comment, sizeof(comment), "gradient@%s", org);
	if (gr_sshkey_generate(comment, &k) == -1)
		return -1;
	*sealed = gr_secret_seal(r->cfg->crypt_secret, r->cfg->crypt_secret_len,
	    k.private_pem, strlen(k.private_pem));
	*pub = strdup(k.public_line);
	gr_sshkey_release(&k);
	if (*pub == NULL || *sealed == NULL) {
		free(*pub);
		free(*sealed);
		*pub = *sealed = NULL;
		return -1;
	}
	return 0;
}

int
orgs_list(struct gr_req *r)
{
	struct json_object	*arr;

	if ((arr = gr_org_list(r->db, r->user->id)) == NULL)
		return -1;
	return gr_http_ok(r, arr);
}

int
orgs_create(struct gr_req *r)
{
	struct json_object	*o;
	const char		*name, *display, *description;
	char			*pub = NULL, *sealed = NULL, id[37];
	enum gr_status		 st;
	int			 rc = 0;

	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (req_slug(r, o, "name", GR_FIELD_REQUIRED, &name) == -1 ||
	    req_text(r, o, "display_name", GR_FIELD_REQUIRED, GR_DISPLAY_MAX,
	    &display) == -1 ||
	    req_text(r, o, "description", GR_FIELD_OPTIONAL,
	    GR_DESCRIPTION_MAX, &description) == -1)
		goto out;
	if (new_keypair(r, name, &pub, &sealed) == -1) {
		rc = -1;
		goto out;
	}
	st = gr_org_create(r->db, name, display, description != NULL ?
	    description : "", pub, sealed, r->user->id, 0, id);
	if (st == GR_OK) {
		log_info("request %s: organization '%s' created by '%s'",
		    r->request_id != NULL ? r->request_id : "-", name,
		    r->user->username);
		gr_http_ok_str(r, id);
	} else
		gr_http_status(r, st, st == GR_CONFLICT ?
		    "Organization name already exists" : NULL);
out:
	free(pub);
	free(sealed);
	json_object_put(o);
	return rc;
}

int
orgs_get(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*o;
	enum gr_status		 st;

	if (req_org(r, r->params[0], GR_ROLE_VIEW, &org) == -1)
		return 0;
	if ((o = gr_org_json(r->db, org.id, &st)) == NULL)
		return gr_http_status(r, st, "Organization not found");
	json_object_object_add(o, "role",
	    json_object_new_string(gr_role_name(org.role)));
	return gr_http_ok(r, o);
}

int
orgs_patch(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*o;
	const char		*name, *display, *description;
	enum gr_status		 st;

	if (req_org(r, r->params[0], GR_ROLE_ADMIN, &org) == -1)
		return 0;
	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (req_slug(r, o, "name", GR_FIELD_OPTIONAL, &name) == -1 ||
	    req_text(r, o, "display_name", GR_FIELD_OPTIONAL, GR_DISPLAY_MAX,
	    &display) == -1 ||
	    req_text(r, o, "description", GR_FIELD_OPTIONAL,
	    GR_DESCRIPTION_MAX, &description) == -1)
		goto out;
	if (org.managed) {
		req_managed(r, "organization");
		goto out;
	}
	if (display != NULL && *display == '\0') {
		gr_http_error(r, 400, "field 'display_name': must not be "
		    "empty");
		goto out;
	}
	st = gr_org_update(r->db, org.id, name, display, description);
	if (st == GR_OK)
		gr_http_ok_str(r, "Organization updated");
	else
		gr_http_status(r, st, st == GR_CONFLICT ?
		    "Organization name already exists" : NULL);
out:
	json_object_put(o);
	return 0;
}

int
orgs_delete(struct gr_req *r)
{
	struct gr_org	 org;
	enum gr_status	 st;

	if (req_org(r, r->params[0], GR_ROLE_ADMIN, &org) == -1)
		return 0;
	if (org.managed)
		return req_managed(r, "organization");
	if ((st = gr_org_delete(r->db, org.id)) != GR_OK)
		return gr_http_status(r, st, "Organization not found");
	log_info("request %s: organization '%s' deleted by '%s'",
	    r->request_id != NULL ? r->request_id : "-", org.name,
	    r->user->username);
	return gr_http_ok_str(r, "Organization deleted");
}

int
orgs_users_list(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*arr;
	enum gr_status		 st;

	if (req_org(r, r->params[0], GR_ROLE_VIEW, &org) == -1)
		return 0;
	if ((arr = gr_org_members(r->db, org.id, &st)) == NULL)
		return gr_http_status(r, st, NULL);
	return gr_http_ok(r, arr);
}

/* The member request: username (and role when wanted). */
static struct json_object *
member_request(struct gr_req *r, struct gr_org *org, int want_role,
    int role_required, const char **username, enum gr_role *role)
{
	struct json_object	*o;
	const char		*rs = NULL;
	char			 err[256];

	if (req_org(r, r->params[0], GR_ROLE_ADMIN, org) == -1)
		return NULL;
	if ((o = req_json_object(r)) == NULL)
		return NULL;
	if (gr_json_string(o, "username", GR_FIELD_REQUIRED, 1, 64, username,
	    err, sizeof(err)) == -1 ||
	    (want_role && gr_json_string(o, "role", role_required ?
	    GR_FIELD_REQUIRED : GR_FIELD_OPTIONAL, 1, 16, &rs, err,
	    sizeof(err)) == -1)) {
		gr_http_error(r, 400, err);
		goto fail;
	}
	*role = rs != NULL ? gr_role_parse(rs) : GR_ROLE_VIEW;
	if (*role == GR_ROLE_NONE) {
		gr_http_error(r, 400, "field 'role': expected admin, write or "
		    "view");
		goto fail;
	}
	if (org->managed) {
		req_managed(r, "organization");
		goto fail;
	}
	return o;
fail:
	json_object_put(o);
	return NULL;
}

int
orgs_users_add(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*o;
	const char		*username;
	enum gr_role		 role;
	enum gr_status		 st;

	if ((o = member_request(r, &org, 1, 0, &username, &role)) == NULL)
		return 0;
	st = gr_org_member_set(r->db, org.id, username, role, 1);
	if (st == GR_OK)
		gr_http_ok_str(r, "User added");
	else if (st == GR_NOTFOUND)
		gr_http_error(r, 404, "User not found");
	else
		gr_http_status(r, st, st == GR_CONFLICT ?
		    "User is already a member" : NULL);
	json_object_put(o);
	return 0;
}

int
orgs_users_patch(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*o;
	const char		*username;
	enum gr_role		 role;
	enum gr_status		 st;

	if ((o = member_request(r, &org, 1, 1, &username, &role)) == NULL)
		return 0;
	st = gr_org_member_set(r->db, org.id, username, role, 0);
	if (st == GR_OK)
		gr_http_ok_str(r, "Role updated");
	else if (st == GR_NOTFOUND)
		gr_http_error(r, 404, "User is not a member");
	else
		gr_http_status(r, st, st == GR_INVALID ?
		    "An organization keeps at least one admin" : NULL);
	json_object_put(o);
	return 0;
}

int
orgs_users_remove(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*o;
	const char		*username;
	enum gr_role		 role;
	enum gr_status		 st;

	if ((o = member_request(r, &org, 0, 0, &username, &role)) == NULL)
		return 0;
	st = gr_org_member_remove(r->db, org.id, username);
	if (st == GR_OK)
		gr_http_ok_str(r, "User removed");
	else if (st == GR_NOTFOUND)
		gr_http_error(r, 404, "User is not a member");
	else
		gr_http_status(r, st, st == GR_INVALID ?
		    "An organization keeps at least one admin" : NULL);
	json_object_put(o);
	return 0;
}

int
orgs_ssh_get(struct gr_req *r)
{
	struct gr_org	 org;
	char		*pub;

	if (req_org(r, r->params[0], GR_ROLE_VIEW, &org) == -1)
		return 0;
	if ((pub = gr_org_ssh_public(r->db, org.id)) == NULL)
		return -1;
	gr_http_ok_str(r, pub);
	free(pub);
	return 0;
}

int
orgs_ssh_regenerate(struct gr_req *r)
{
	struct gr_org	 org;
	char		*pub = NULL, *sealed = NULL;
	enum gr_status	 st;

	if (req_org(r, r->params[0], GR_ROLE_ADMIN, &org) == -1)
		return 0;
	if (org.managed)
		return req_managed(r, "organization");
	if (new_keypair(r, org.name, &pub, &sealed) == -1)
		return -1;
	st = gr_org_ssh_set(r->db, org.id, pub, sealed);
	if (st == GR_OK) {
		log_info("request %s: SSH key of organization '%s' "
		    "regenerated by '%s'", r->request_id != NULL ?
		    r->request_id : "-", org.name, r->user->username);
		gr_http_ok_str(r, pub);
	} else
		gr_http_status(r, st, NULL);
	free(pub);
	free(sealed);
	return 0;
}

int
orgs_subscriptions(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*arr;
	enum gr_status		 st;

	if (req_org(r, r->params[0], GR_ROLE_VIEW, &org) == -1)
		return 0;
	if ((arr = gr_org_caches(r->db, org.id, &st)) == NULL)
		return gr_http_status(r, st, NULL);
	return gr_http_ok(r, arr);
}

/* Organization (admin, unmanaged) and a cache the user may see. */
static int
subscription_request(struct gr_req *r, struct gr_org *org,
    struct gr_cache *c)
{
	enum gr_status	 st;

	if (req_org(r, r->params[0], GR_ROLE_ADMIN, org) == -1)
		return -1;
	if (org->managed) {
		req_managed(r, "organization");
		return -1;
	}
	st = gr_cache_access(r->db, r->params[1], r->user->id, c);
	if (st != GR_OK) {
		gr_http_status(r, st, "Cache not found");
		return -1;
	}
	if (c->managed) {
		req_managed(r, "cache");
		return -1;
	}
	return 0;
}

int
orgs_subscribe(struct gr_req *r)
{
	struct gr_org	 org;
	struct gr_cache	 c;
	enum gr_status	 st;

	if (subscription_request(r, &org, &c) == -1)
		return 0;
	st = gr_org_subscribe(r->db, org.id, c.id);
	if (st == GR_OK)
		return gr_http_ok_str(r, "Subscribed");
	return gr_http_status(r, st, st == GR_CONFLICT ?
	    "Already subscribed" : NULL);
}

int
orgs_unsubscribe(struct gr_req *r)
{
	struct gr_org	 org;
	struct gr_cache	 c;
	enum gr_status	 st;

	if (subscription_request(r, &org, &c) == -1)
		return 0;
	st = gr_org_unsubscribe(r->db, org.id, c.id);
	if (st == GR_OK)
		return gr_http_ok_str(r, "Unsubscribed");
	return gr_http_status(r, st, "Not subscribed");
}
