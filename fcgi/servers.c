/*
 * servers.c - /servers/{org}[/{server}]: the organization's build servers.
 *
 * Members read; admins add, change, enable, disable, delete and check
 * them.  check-connection logs in over SSH with the organization's key
 * (libssh2), runs nix-store --version, and pins the host key on first use.
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
#include "src/model_org.h"
#include "src/model_server.h"
#include "src/ssh.h"

static int
server_request(struct gr_req *r, enum gr_role need, struct gr_org *org,
    struct gr_server *sv)
{
	enum gr_status	 st;

	if (req_org(r, r->params[0], need, org) == -1)
		return -1;
	if ((st = gr_server_find(r->db, org->id, r->params[1], sv)) != GR_OK) {
		gr_http_status(r, st, "Server not found");
		return -1;
	}
	return 0;
}

/*
 * An array of strings each passing valid(), min..max items, as JSON text
 * in *out (caller frees; NULL when absent).  -1 after answering 400.
 */
static int
string_array(struct gr_req *r, struct json_object *o, const char *key,
    enum gr_field req, int (*valid)(const char *), size_t min, size_t max,
    const char *what, char **out)
{
	struct json_object	*v, *e, *copy = NULL;
	const char		*text;
	size_t			 i, n;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		if (req == GR_FIELD_REQUIRED) {
			gr_http_errorf(r, 400, "field '%s' is required", key);
			return -1;
		}
		return 0;
	}
	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) < min || n > max)
		goto bad;
	if ((copy = json_object_new_array()) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) ||
		    !valid(json_object_get_string(e)))
			goto bad;
		json_object_array_add(copy, json_object_get(e));
	}
	if ((text = gr_json_text(copy, NULL)) == NULL ||
	    (*out = strdup(text)) == NULL) {
		json_object_put(copy);
		return -1;
	}
	json_object_put(copy);
	return 0;
bad:
	json_object_put(copy);
	gr_http_errorf(r, 400, "field '%s': expected an array of %zu to %zu "
	    "%s", key, min, max, what);
	return -1;
}

struct server_fields {
	const char	*name, *display, *host, *username;
	long long	 port, max_jobs;
	char		*archs, *features;
};

static int
server_fields(struct gr_req *r, struct json_object *o, enum gr_field req,
    struct server_fields *f)
{
	char	 err[256];

	memset(f, 0, sizeof(*f));
	if (req_slug(r, o, "name", req, &f->name) == -1 ||
	    req_text(r, o, "display_name", req, GR_DISPLAY_MAX,
	    &f->display) == -1)
		return -1;
	if (gr_json_string(o, "host", req, 1, 253, &f->host, err,
	    sizeof(err)) == -1 ||
	    gr_json_string(o, "username", req, 1, 32, &f->username, err,
	    sizeof(err)) == -1 ||
	    gr_json_int(o, "port", GR_FIELD_OPTIONAL, 1, 65535, &f->port, err,
	    sizeof(err)) == -1 ||
	    gr_json_int(o, "max_jobs", GR_FIELD_OPTIONAL, 1, 1024,
	    &f->max_jobs, err, sizeof(err)) == -1) {
		gr_http_error(r, 400, err);
		return -1;
	}
	if (f->display != NULL && *f->display == '\0') {
		gr_http_error(r, 400, "field 'display_name': must not be "
		    "empty");
		return -1;
	}
	if (f->host != NULL && !gr_host_valid(f->host)) {
		gr_http_error(r, 400, "field 'host': expected a host name or "
		    "address");
		return -1;
	}
	if (f->username != NULL && !gr_username_valid(f->username)) {
		gr_http_error(r, 400, "field 'username': expected a user name "
		    "of lowercase letters, digits, '_' or '-'");
		return -1;
	}
	if (string_array(r, o, "architectures", req, gr_system_valid, 1, 16,
	    "Nix systems such as \"x86_64-linux\"", &f->archs) == -1)
		return -1;
	if (string_array(r, o, "features", GR_FIELD_OPTIONAL,
	    gr_feature_valid, 0, 64, "feature names", &f->features) == -1) {
		free(f->archs);
		f->archs = NULL;
		return -1;
	}
	return 0;
}

int
servers_list(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*arr;
	enum gr_status		 st;

	if (req_org(r, r->params[0], GR_ROLE_VIEW, &org) == -1)
		return 0;
	if ((arr = gr_server_list(r->db, org.id, &st)) == NULL)
		return gr_http_status(r, st, NULL);
	return gr_http_ok(r, arr);
}

int
servers_create(struct gr_req *r)
{
	struct gr_org		 org;
	struct json_object	*o;
	struct server_fields	 f;
	char			 id[37];
	enum gr_status		 st;

	if (req_org(r, r->params[0], GR_ROLE_ADMIN, &org) == -1)
		return 0;
	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (server_fields(r, o, GR_FIELD_REQUIRED, &f) == -1)
		goto out;
	st = gr_server_create(r->db, org.id, f.name, f.display, f.host,
	    f.port > 0 ? (int)f.port : 22, f.username, f.archs,
	    f.features != NULL ? f.features : "[]",
	    f.max_jobs > 0 ? (int)f.max_jobs : 1, r->user->id, 0, id);
	if (st == GR_OK)
		gr_http_ok_str(r, id);
	else
		gr_http_status(r, st, st == GR_CONFLICT ?
		    "Server Name already exists" : NULL);
out:
	free(f.archs);
	free(f.features);
	json_object_put(o);
	return 0;
}

int
servers_get(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_server	 sv;
	struct json_object	*o;
	enum gr_status		 st;

	if (server_request(r, GR_ROLE_VIEW, &org, &sv) == -1)
		return 0;
	if ((o = gr_server_json(r->db, sv.id, &st)) == NULL)
		return gr_http_status(r, st, "Server not found");
	return gr_http_ok(r, o);
}

int
servers_patch(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_server	 sv;
	struct json_object	*o;
	struct server_fields	 f;
	enum gr_status		 st;

	memset(&f, 0, sizeof(f));
	if (server_request(r, GR_ROLE_ADMIN, &org, &sv) == -1)
		return 0;
	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (server_fields(r, o, GR_FIELD_OPTIONAL, &f) == -1)
		goto out;
	if (sv.managed) {
		req_managed(r, "server");
		goto out;
	}
	st = gr_server_update(r->db, sv.id, f.name, f.display, f.host,
	    (int)f.port, f.username, f.archs, f.features, (int)f.max_jobs);
	if (st == GR_OK)
		gr_http_ok_str(r, "Server updated");
	else
		gr_http_status(r, st, st == GR_CONFLICT ?
		    "Server Name already exists" : "Server not found");
out:
	free(f.archs);
	free(f.features);
	json_object_put(o);
	return 0;
}

int
servers_delete(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_server	 sv;
	enum gr_status		 st;

	if (server_request(r, GR_ROLE_ADMIN, &org, &sv) == -1)
		return 0;
	if (sv.managed)
		return req_managed(r, "server");
	if ((st = gr_server_delete(r->db, sv.id)) != GR_OK)
		return gr_http_status(r, st, "Server not found");
	return gr_http_ok_str(r, "Server deleted");
}

static int
set_active(struct gr_req *r, int active)
{
	struct gr_org		 org;
	struct gr_server	 sv;
	enum gr_status		 st;

	if (server_request(r, GR_ROLE_ADMIN, &org, &sv) == -1)
		return 0;
	if (sv.managed)
		return req_managed(r, "server");
	if ((st = gr_server_set_active(r->db, sv.id, active)) != GR_OK)
		return gr_http_status(r, st, "Server not found");
	return gr_http_ok_str(r, active ? "Server enabled" :
	    "Server disabled");
}

int
servers_enable(struct gr_req *r)
{
	return set_active(r, 1);
}

int
servers_disable(struct gr_req *r)
{
	return set_active(r, 0);
}

int
servers_check_connection(struct gr_req *r)
{
	struct gr_org		 org;
	struct gr_server	 sv;
	struct gr_server_target	 t;
	struct gr_ssh_target	 st;
	char			*sealed = NULL, *version = NULL;
	char			*hostkey = NULL, err[512];
	unsigned char		*pem = NULL;
	size_t			 pemlen = 0;
	int			 rc = -1;

	memset(&t, 0, sizeof(t));
	if (server_request(r, GR_ROLE_ADMIN, &org, &sv) == -1)
		return 0;
	if (gr_server_target(r->db, sv.id, &t) != GR_OK ||
	    (sealed = gr_org_ssh_sealed(r->db, org.id)) == NULL)
		goto out;
	if ((pem = gr_secret_open(r->cfg->crypt_secret,
	    r->cfg->crypt_secret_len, sealed, &pemlen)) == NULL) {
		log_warnx("request %s: cannot open the SSH key of "
		    "organization '%s' (crypt secret changed?)",
		    r->request_id != NULL ? r->request_id : "-", org.name);
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.host = t.host;
	st.port = t.port;
	st.user = t.username;
	st.private_pem = (const char *)pem;
	st.known_hostkey = t.host_key;
	st.timeout = (int)r->cfg->ssh_timeout;
	if (gr_ssh_check(&st, &version, &hostkey, err, sizeof(err)) == -1) {
		log_info("request %s: server '%s/%s': %s",
		    r->request_id != NULL ? r->request_id : "-", org.name,
		    r->params[1], err);
		gr_http_errorf(r, 504, "%s", err);
		rc = 0;
		goto out;
	}
	if (gr_server_connected(r->db, sv.id, hostkey) != GR_OK)
		goto out;
	snprintf(err, sizeof(err), "server connection established: %s",
	    version);
	gr_http_ok_str(r, err);
	rc = 0;
out:
	if (pem != NULL)
		sodium_memzero(pem, pemlen);
	free(pem);
	free(sealed);
	free(version);
	free(hostkey);
	gr_server_target_release(&t);
	return rc;
}
