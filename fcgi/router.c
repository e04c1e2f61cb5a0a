/*
 * router.c - map /api/v1 requests to handler functions.
 *
 * Every route is one row of routes[]: method, path pattern, handler and
 * whether a bearer token is required.  "{}" in a pattern captures one
 * path segment into req->params.  A path that matches with the wrong
 * method is answered 405 with an Allow header here; handlers never see
 * it.  Whatever a handler does, the client gets an envelope.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fcgi/handlers.h"
#include "src/conf.h"
#include "src/json.h"
#include "src/log.h"

#define R_AUTH	0x01	/* needs a bearer token */

static const struct route {
	const char	*method;
	const char	*pattern;
	int		(*fn)(struct gr_req *);
	int		 flags;
} routes[] = {
	{ "GET",	"/health",		general_health,		0 },
	{ "GET",	"/config",		general_config,		0 },
	{ "POST",	"/auth/basic/register",	auth_register,		0 },
	{ "POST",	"/auth/basic/login",	auth_login,		0 },
	{ "POST",	"/auth/check-username",	auth_check_username,	0 },
	{ "POST",	"/auth/logout",		auth_logout,		R_AUTH },
	{ "GET",	"/user",		user_get,		R_AUTH },
	{ "DELETE",	"/user",		user_delete,		R_AUTH },
	{ "GET",	"/user/keys",		user_keys_list,		R_AUTH },
	{ "POST",	"/user/keys",		user_keys_create,	R_AUTH },
	{ "DELETE",	"/user/keys",		user_keys_delete,	R_AUTH },
	{ "GET",	"/user/settings",	user_settings_get,	R_AUTH },
	{ "PATCH",	"/user/settings",	user_settings_patch,	R_AUTH },

	{ "GET",	"/orgs",		orgs_list,		R_AUTH },
	{ "PUT",	"/orgs",		orgs_create,		R_AUTH },
	{ "GET",	"/orgs/{}",		orgs_get,		R_AUTH },
	{ "PATCH",	"/orgs/{}",		orgs_patch,		R_AUTH },
	{ "DELETE",	"/orgs/{}",		orgs_delete,		R_AUTH },
	{ "GET",	"/orgs/{}/users",	orgs_users_list,	R_AUTH },
	{ "POST",	"/orgs/{}/users",	orgs_users_add,		R_AUTH },
	{ "PATCH",	"/orgs/{}/users",	orgs_users_patch,	R_AUTH },
	{ "DELETE",	"/orgs/{}/users",	orgs_users_remove,	R_AUTH },
	{ "GET",	"/orgs/{}/ssh",		orgs_ssh_get,		R_AUTH },
	{ "POST",	"/orgs/{}/ssh",		orgs_ssh_regenerate,	R_AUTH },
	{ "GET",	"/orgs/{}/subscribe",	orgs_subscriptions,	R_AUTH },
	{ "POST",	"/orgs/{}/subscribe/{}", orgs_subscribe,	R_AUTH },
	{ "DELETE",	"/orgs/{}/subscribe/{}", orgs_unsubscribe,	R_AUTH },

	{ "GET",	"/projects/{}",		projects_list,		R_AUTH },
	{ "PUT",	"/projects/{}",		projects_create,	R_AUTH },
	{ "GET",	"/projects/{}/{}",	projects_get,		R_AUTH },
	{ "PATCH",	"/projects/{}/{}",	projects_patch,		R_AUTH },
	{ "DELETE",	"/projects/{}/{}",	projects_delete,	R_AUTH },
	{ "GET",	"/projects/{}/{}/details", projects_details,	R_AUTH },
	{ "GET",	"/projects/{}/{}/entry-points",
	    projects_entry_points, R_AUTH },
	{ "POST",	"/projects/{}/{}/check-repository",
	    projects_check_repository, R_AUTH },
	{ "POST",	"/projects/{}/{}/active", projects_enable,	R_AUTH },
	{ "DELETE",	"/projects/{}/{}/active", projects_disable,	R_AUTH },
	{ "POST",	"/projects/{}/{}/evaluate", projects_evaluate,	R_AUTH },

	{ "GET",	"/evals/{}",		evals_get,		R_AUTH },
	{ "POST",	"/evals/{}",		evals_post,		R_AUTH },
	{ "GET",	"/evals/{}/builds",	evals_builds,		R_AUTH },
	{ "POST",	"/evals/{}/builds",	evals_stream,		R_AUTH },

	{ "POST",	"/builds",		builds_direct,		R_AUTH },
	{ "GET",	"/builds/direct/recent", builds_direct_recent,	R_AUTH },
	{ "GET",	"/builds/{}",		builds_get,		R_AUTH },
	{ "GET",	"/builds/{}/dependencies", builds_dependencies,	R_AUTH },
	{ "GET",	"/builds/{}/graph",	builds_graph,		R_AUTH },

	{ "GET",	"/servers/{}",		servers_list,		R_AUTH },
	{ "PUT",	"/servers/{}",		servers_create,		R_AUTH },
	{ "GET",	"/servers/{}/{}",	servers_get,		R_AUTH },
	{ "PATCH",	"/servers/{}/{}",	servers_patch,		R_AUTH },
	{ "DELETE",	"/servers/{}/{}",	servers_delete,		R_AUTH },
	{ "POST",	"/servers/{}/{}/check-connection",
	    servers_check_connection, R_AUTH },
	{ "POST",	"/servers/{}/{}/active", servers_enable,	R_AUTH },
	{ "DELETE",	"/servers/{}/{}/active", servers_disable,	R_AUTH },

	{ "GET",	"/caches",		caches_list,		R_AUTH },
	{ "PUT",	"/caches",		caches_create,		R_AUTH },
	{ "GET",	"/caches/{}",		caches_get,		R_AUTH },
	{ "PATCH",	"/caches/{}",		caches_patch,		R_AUTH },
	{ "DELETE",	"/caches/{}",		caches_delete,		R_AUTH },
	{ "POST",	"/caches/{}/active",	caches_enable,		R_AUTH },
	{ "DELETE",	"/caches/{}/active",	caches_disable,		R_AUTH },
	{ "GET",	"/caches/{}/key",	caches_key,		R_AUTH },

	{ "GET",	"/commits/{}",		commits_get,		R_AUTH },
};

#define NROUTES	(sizeof(routes) / sizeof(routes[0]))
#define MAXSEG	256

/*
 * Match path against pattern; on success the captured segments are
 * copied into segbuf and pointed to by req->params.
 */
static int
match(const char *pattern, const char *path, struct gr_req *r, char *segbuf,
    size_t segsz)
{
	const char	*p = pattern, *q = path, *e;
	size_t		 used = 0, n;

	r->nparams = 0;
	while (*p != '\0' && *q != '\0') {
		if (*p != '/' || *q != '/')
			return 0;
		p++;
		q++;
		e = strchr(q, '/');
		n = e != NULL ? (size_t)(e - q) : strlen(q);
		if (strncmp(p, "{}", 2) == 0 && (p[2] == '/' || p[2] == '\0')) {
			if (n == 0 || r->nparams == sizeof(r->params) /
			    sizeof(r->params[0]) || used + n + 1 > segsz)
				return 0;
			memcpy(segbuf + used, q, n);
			segbuf[used + n] = '\0';
			r->params[r->nparams++] = segbuf + used;
			used += n + 1;
			p += 2;
		} else {
			if (strncmp(p, q, n) != 0 ||
			    (p[n] != '/' && p[n] != '\0'))
				return 0;
			p += n;
		}
		q += n;
	}
	return *p == '\0' && *q == '\0';
}

int
router_body_length(const char *cl, long long max, size_t *len)
{
	const char	*errstr;
	long long	 n;

	*len = 0;
	if (cl == NULL || *cl == '\0')
		return 0;
	n = gr_strtonum(cl, 0, (1LL << 62), &errstr);
	if (errstr != NULL)
		return strcmp(errstr, "too large") == 0 ? 413 : 400;
	if (n > max)
		return 413;
	*len = (size_t)n;
	return 0;
}

struct json_object *
req_json_object(struct gr_req *r)
{
	struct json_object	*o;
	char			 err[256];

	if ((o = gr_json_parse_object(r->body, r->body_len, err,
	    sizeof(err))) == NULL)
		gr_http_error(r, 400, err);
	return o;
}

int
router_dispatch(struct gr_req *r)
{
	const struct route	*rt = NULL;
	struct gr_buf		 allow = GR_BUF_INIT;
	struct gr_user		 u;
	char			 segbuf[MAXSEG * 2];
	const char		*path, *method;
	size_t			 i, plen = strlen(API_PREFIX);
	int			 rc;

	if (strncmp(r->path, API_PREFIX, plen) != 0 ||
	    (r->path[plen] != '/' && r->path[plen] != '\0'))
		return gr_http_error(r, 404, "Not Found");
	path = r->path + plen;
	if (strlen(path) >= MAXSEG)
		return gr_http_error(r, 404, "Not Found");
	/* HEAD is answered as GET; nginx sends the head only. */
	method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
	for (i = 0; i < NROUTES; i++) {
		if (!match(routes[i].pattern, path, r, segbuf, sizeof(segbuf)))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			rt = &routes[i];
			break;
		}
		if (allow.len > 0)
			gr_buf_adds(&allow, ", ");
		gr_buf_adds(&allow, routes[i].method);
	}
	if (rt == NULL) {
		if (allow.len == 0)
			rc = gr_http_error(r, 404, "Not Found");
		else {
			gr_http_header(r, "Allow", allow.data);
			rc = gr_http_errorf(r, 405, "Method %s is not allowed "
			    "here; use %s", r->method, allow.data);
		}
		gr_buf_release(&allow);
		return rc;
	}
	gr_buf_release(&allow);
	/* r->params point into segbuf, which lives until we return. */
	if (rt->flags & R_AUTH) {
		if (auth_authenticate(r, &u) == -1)
			return 0;	/* answered 401 or 500 */
		r->user = &u;
	}
	rc = rt->fn(r);
	r->user = NULL;
	if (rc == -1 || !r->answered) {
		log_warnx("request %s: %s %s: handler failed",
		    r->request_id != NULL ? r->request_id : "-", r->method,
		    r->path);
		gr_http_error(r, 500, "Internal Server Error");
	}
	return 0;
}
