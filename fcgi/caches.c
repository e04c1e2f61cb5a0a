/*
 * caches.c - /caches: binary caches and their signing keys.
 *
 * A cache belongs to the user who made it.  Its owner and members of the
 * organizations subscribed to it can read it; only the owner changes it.
 * The signing key is made here, its secret half sealed before it is
 * stored, and only the public half ever leaves: GET /caches/{cache}/key.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fcgi/handlers.h"
#include "src/cachekey.h"
#include "src/conf.h"
#include "src/crypto.h"
#include "src/json.h"
#include "src/log.h"
#include "src/model_cache.h"
#include "src/model_org.h"

/* The cache of the path, which the user may see (and own, if need). */
static int
cache_request(struct gr_req *r, int need_owner, struct gr_cache *c)
{
	enum gr_status	 st;

	st = gr_cache_access(r->db, r->params[0], r->user->id, c);
	if (st != GR_OK) {
		gr_http_status(r, st, "Cache not found");
		return -1;
	}
	if (need_owner && !c->owner) {
		gr_http_error(r, 403, "Forbidden: only the cache's owner can "
		    "change it");
		return -1;
	}
	return 0;
}

static int
cache_fields(struct gr_req *r, struct json_object *o, enum gr_field req,
    const char **name, const char **display, const char **description,
    long long *priority)
{
	char	 err[256];

	*priority = -1;
	if (req_slug(r, o, "name", req, name) == -1 ||
	    req_text(r, o, "display_name", req, GR_DISPLAY_MAX,
	    display) == -1 ||
	    req_text(r, o, "description", GR_FIELD_OPTIONAL,
	    GR_DESCRIPTION_MAX, description) == -1)
		return -1;
	if (gr_json_int(o, "priority", GR_FIELD_OPTIONAL, 0, 1000, priority,
	    err, sizeof(err)) == -1) {
		gr_http_error(r, 400, err);
		return -1;
	}
	if (*display != NULL && **display == '\0') {
		gr_http_error(r, 400, "field 'display_name': must not be "
		    "empty");
		return -1;
	}
	return 0;
}

int
caches_list(struct gr_req *r)
{
	struct json_object	*arr;
	enum gr_status		 st;

	if ((arr = gr_cache_list(r->db, r->user->id, &st)) == NULL)
		return gr_http_status(r, st, NULL);
	return gr_http_ok(r, arr);
}

int
caches_create(struct gr_req *r)
{
	struct json_object	*o;
	const char		*name, *display, *description;
	char			 keyname[256], id[37];
	char			*pub = NULL, *sec = NULL, *sealed = NULL;
	long long		 priority;
	enum gr_status		 st;
	int			 rc = 0;

	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (cache_fields(r, o, GR_FIELD_REQUIRED, &name, &display,
	    &description, &priority) == -1)
		goto out;
	/* Nix's convention: the key is named after the host and cache. */
	snprintf(keyname, sizeof(keyname), "%s-%s", r->cfg->server_name, name);
	if (!gr_cachekey_valid_name(keyname)) {
		log_warnx("server_name '%s' makes an invalid key name",
		    r->cfg->server_name);
		rc = -1;
		goto out;
	}
	if (gr_cachekey_generate(keyname, &pub, &sec) == -1 ||
	    (sealed = gr_secret_seal(r->cfg->crypt_secret,
	    r->cfg->crypt_secret_len, sec, strlen(sec))) == NULL) {
		rc = -1;
		goto out;
	}
	st = gr_cache_create(r->db, name, display, description != NULL ?
	    description : "", priority >= 0 ? (int)priority : 40, pub, sealed,
	    r->user->id, 0, id);
	if (st == GR_OK)
		gr_http_ok_str(r, id);
	else
		gr_http_status(r, st, st == GR_CONFLICT ?
		    "Cache name already exists" : NULL);
out:
	if (sec != NULL)
		sodium_memzero(sec, strlen(sec));
	free(sec);
	free(pub);
	free(sealed);
	json_object_put(o);
	return rc;
}

int
caches_get(struct gr_req *r)
{
	struct gr_cache		 c;
	struct json_object	*o;
	enum gr_status		 st;

	if (cache_request(r, 0, &c) == -1)
		return 0;
	if ((o = gr_cache_json(r->db, c.id, &st)) == NULL)
		return gr_http_status(r, st, "Cache not found");
	return gr_http_ok(r, o);
}

int
caches_patch(struct gr_req *r)
{
	struct gr_cache		 c;
	struct json_object	*o;
	const char		*name, *display, *description;
	long long		 priority;
	enum gr_status		 st;

	if (cache_request(r, 1, &c) == -1)
		return 0;
	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (cache_fields(r, o, GR_FIELD_OPTIONAL, &name, &display,
	    &description, &priority) == -1)
		goto out;
	if (c.managed) {
		req_managed(r, "cache");
		goto out;
	}
	st = gr_cache_update(r->db, c.id, name, display, description,
	    (int)priority);
	if (st == GR_OK)
		gr_http_ok_str(r, "Cache updated");
	else
		gr_http_status(r, st, st == GR_CONFLICT ?
		    "Cache name already exists" : "Cache not found");
out:
	json_object_put(o);
	return 0;
}

int
caches_delete(struct gr_req *r)
{
	struct gr_cache	 c;
	enum gr_status	 st;

	if (cache_request(r, 1, &c) == -1)
		return 0;
	if (c.managed)
		return req_managed(r, "cache");
	if ((st = gr_cache_delete(r->db, c.id)) != GR_OK)
		return gr_http_status(r, st, "Cache not found");
	return gr_http_ok_str(r, "Cache deleted");
}

static int
set_active(struct gr_req *r, int active)
{
	struct gr_cache	 c;
	enum gr_status	 st;

	if (cache_request(r, 1, &c) == -1)
		return 0;
	if (c.managed)
		return req_managed(r, "cache");
	if ((st = gr_cache_set_active(r->db, c.id, active)) != GR_OK)
		return gr_http_status(r, st, "Cache not found");
	return gr_http_ok_str(r, active ? "Cache enabled" : "Cache disabled");
}

int
caches_enable(struct gr_req *r)
{
	return set_active(r, 1);
}

int
caches_disable(struct gr_req *r)
{
	return set_active(r, 0);
}

int
caches_key(struct gr_req *r)
{
	struct gr_cache	 c;
	char		*pub;

	if (cache_request(r, 0, &c) == -1)
		return 0;
	if ((pub = gr_cache_public_key(r->db, c.id)) == NULL)
		return -1;
	gr_http_ok_str(r, pub);
	free(pub);
	return 0;
}
