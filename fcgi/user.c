/*
 * user.c - the authenticated user's own account: profile, settings, API
 * keys and deletion.  r->user is set by the router before any of these
 * run.  A managed user (from the declarative state file) cannot be
 * changed or deleted here.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "fcgi/handlers.h"
#include "src/crypto.h"
#include "src/json.h"
#include "src/log.h"

static int
managed(struct gr_req *r)
{
	return gr_http_error(r, 403, "Cannot modify state-managed user.");
}

/* The busiest authenticated answer, written without json-c objects. */
int
user_get(struct gr_req *r)
{
	struct gr_buf	 b = GR_BUF_INIT;
	int		 rc;

	if (gr_buf_adds(&b, "{\"id\":") == -1 ||
	    gr_json_quote(&b, r->user->id) == -1 ||
	    gr_buf_adds(&b, ",\"username\":") == -1 ||
	    gr_json_quote(&b, r->user->username) == -1 ||
	    gr_buf_adds(&b, ",\"name\":") == -1 ||
	    gr_json_quote(&b, r->user->name) == -1 ||
	    gr_buf_adds(&b, ",\"email\":") == -1 ||
	    gr_json_quote(&b, r->user->email) == -1 ||
	    gr_buf_addc(&b, '}') == -1)
		rc = gr_http_ok_json(r, NULL, 0);
	else
		rc = gr_http_ok_json(r, b.data, b.len);
	gr_buf_release(&b);
	return rc;
}

int
user_delete(struct gr_req *r)
{
	enum gr_status	 st;
	char		 org[65];

	if (r->user->managed)
		return managed(r);
	st = gr_user_delete(r->db, r->user->id, org, sizeof(org));
	if (st == GR_CONFLICT)
		return gr_http_errorf(r, 409, "You are the last admin of "
		    "organization '%s': make another member admin or delete "
		    "the organization first", org);
	if (st != GR_OK)
		return gr_http_status(r, st, "User not found");
	log_info("request %s: user '%s' deleted",
	    r->request_id != NULL ? r->request_id : "-", r->user->username);
	return gr_http_ok_str(r, "User deleted");
}

int
user_keys_list(struct gr_req *r)
{
	struct json_object	*arr;

	if ((arr = gr_apikey_list(r->db, r->user->id)) == NULL)
		return -1;
	return gr_http_ok(r, arr);
}

/* The "name" field of an API key request, or NULL after answering 400. */
static struct json_object *
key_request(struct gr_req *r, const char **name)
{
	struct json_object	*o;
	char			 err[256];
	size_t			 i;

	if ((o = req_json_object(r)) == NULL)
		return NULL;
	if (gr_json_string(o, "name", GR_FIELD_REQUIRED, 1, GR_KEYNAME_MAX,
	    name, err, sizeof(err)) == -1) {
		gr_http_error(r, 400, err);
		json_object_put(o);
		return NULL;
	}
	for (i = 0; (*name)[i] != '\0'; i++)
		if ((unsigned char)(*name)[i] < 0x20 || (*name)[i] == 0x7f) {
			gr_http_error(r, 400, "field 'name': control "
			    "characters are not allowed");
			json_object_put(o);
			return NULL;
		}
	return o;
}

int
user_keys_create(struct gr_req *r)
{
	struct json_object	*o;
	const char		*name;
	char			 key[GR_APIKEY_LEN + 1], digest[65];
	enum gr_status		 st;

	if ((o = key_request(r, &name)) == NULL)
		return 0;
	gr_apikey_new(key);
	gr_sha256_hex(key, GR_APIKEY_LEN, digest);
	st = gr_apikey_create(r->db, r->user->id, name, digest);
	if (st == GR_OK)
		gr_http_ok_str(r, key);
	else
		gr_http_status(r, st, st == GR_CONFLICT ?
		    "API key name already exists" : NULL);
	sodium_memzero(key, sizeof(key));
	json_object_put(o);
	return 0;
}

int
user_keys_delete(struct gr_req *r)
{
	struct json_object	*o;
	const char		*name;
	enum gr_status		 st;

	if ((o = key_request(r, &name)) == NULL)
		return 0;
	st = gr_apikey_delete(r->db, r->user->id, name);
	if (st == GR_OK)
		gr_http_ok_str(r, "API key deleted");
	else
		gr_http_status(r, st, "API key not found");
	json_object_put(o);
	return 0;
}

int
user_settings_get(struct gr_req *r)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(o, "username",
	    json_object_new_string(r->user->username));
	json_object_object_add(o, "name",
	    json_object_new_string(r->user->name));
	json_object_object_add(o, "email",
	    json_object_new_string(r->user->email));
	return gr_http_ok(r, o);
}

int
user_settings_patch(struct gr_req *r)
{
	struct json_object	*o;
	const char		*username, *name, *email;
	char			 err[256];
	enum gr_status		 st;

	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (gr_json_string(o, "username", GR_FIELD_OPTIONAL, 0, 1024,
	    &username, err, sizeof(err)) == -1 ||
	    gr_json_string(o, "name", GR_FIELD_OPTIONAL, 0, 4096, &name, err,
	    sizeof(err)) == -1 ||
	    gr_json_string(o, "email", GR_FIELD_OPTIONAL, 0, 4096, &email, err,
	    sizeof(err)) == -1) {
		gr_http_error(r, 400, err);
		goto out;
	}
	if ((username != NULL && !gr_user_valid_username(username, err,
	    sizeof(err))) ||
	    (name != NULL && !gr_user_valid_name(name, err, sizeof(err))) ||
	    (email != NULL && !gr_user_valid_email(email, err, sizeof(err)))) {
		gr_http_error(r, 400, err);
		goto out;
	}
	if (username == NULL && name == NULL && email == NULL) {
		gr_http_error(r, 400, "Nothing to change: give username, name "
		    "or email");
		goto out;
	}
	if (r->user->managed) {
		managed(r);
		goto out;
	}
	st = gr_user_update(r->db, r->user->id, username, name, email, err,
	    sizeof(err));
	if (st == GR_OK)
		gr_http_ok_str(r, "Settings updated");
	else
		gr_http_status(r, st, st == GR_CONFLICT ? err : NULL);
out:
	json_object_put(o);
	return 0;
}
