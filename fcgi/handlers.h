/*
 * handlers.h - every API handler and the router that calls them.
 *
 * A handler answers through the gr_http_* functions and returns 0; it
 * returns -1 only when it could not answer, and the router then sends a
 * generic 500 envelope.  Handlers never build SQL: they call src/model_*.
 */
#ifndef GRADIENT_FCGI_HANDLERS_H
#define GRADIENT_FCGI_HANDLERS_H

#include <stddef.h>

#include <json-c/json.h>

#include "src/http.h"
#include "src/json.h"
#include "src/model_org.h"
#include "src/model_user.h"

#define API_PREFIX	"/api/v1"

/* router.c */
int	 router_dispatch(struct gr_req *);
/*
 * Check a CONTENT_LENGTH value against max before anything is read:
 * 0 with *len set, or the HTTP status to answer (400 or 413).
 */
int	 router_body_length(const char *, long long, size_t *);
/* The request body as a JSON object, or NULL after answering 400. */
struct json_object *req_json_object(struct gr_req *);

/* orgs.c: helpers for organization-scoped handlers; each answers and
 * returns -1 when the request cannot go on. */
struct gr_org;
enum gr_role;
int	 req_org(struct gr_req *, const char *, enum gr_role,
	    struct gr_org *);
/* Answers 403 "Cannot modify state-managed <what>."; returns 0. */
int	 req_managed(struct gr_req *, const char *);
/* A text field of at most max characters, no control characters. */
int	 req_text(struct gr_req *, struct json_object *, const char *,
	    enum gr_field, size_t, const char **);
/* A slug field: 1..64 of [a-z0-9_-]. */
int	 req_slug(struct gr_req *, struct json_object *, const char *,
	    enum gr_field, const char **);

/* general.c */
int	 general_health(struct gr_req *);
int	 general_config(struct gr_req *);

/* auth.c */
int	 auth_authenticate(struct gr_req *, struct gr_user *);
int	 auth_register(struct gr_req *);
int	 auth_login(struct gr_req *);
int	 auth_check_username(struct gr_req *);
int	 auth_logout(struct gr_req *);

/* user.c */
int	 user_get(struct gr_req *);
int	 user_delete(struct gr_req *);
int	 user_keys_list(struct gr_req *);
int	 user_keys_create(struct gr_req *);
int	 user_keys_delete(struct gr_req *);
int	 user_settings_get(struct gr_req *);
int	 user_settings_patch(struct gr_req *);

/* orgs.c */
int	 orgs_list(struct gr_req *);
int	 orgs_create(struct gr_req *);
int	 orgs_get(struct gr_req *);
int	 orgs_patch(struct gr_req *);
int	 orgs_delete(struct gr_req *);
int	 orgs_users_list(struct gr_req *);
int	 orgs_users_add(struct gr_req *);
int	 orgs_users_patch(struct gr_req *);
int	 orgs_users_remove(struct gr_req *);
int	 orgs_ssh_get(struct gr_req *);
int	 orgs_ssh_regenerate(struct gr_req *);
int	 orgs_subscriptions(struct gr_req *);
int	 orgs_subscribe(struct gr_req *);
int	 orgs_unsubscribe(struct gr_req *);

/* projects.c */
int	 projects_list(struct gr_req *);
int	 projects_create(struct gr_req *);
int	 projects_get(struct gr_req *);
int	 projects_patch(struct gr_req *);
int	 projects_delete(struct gr_req *);
int	 projects_enable(struct gr_req *);
int	 projects_disable(struct gr_req *);
int	 projects_details(struct gr_req *);
int	 projects_entry_points(struct gr_req *);
int	 projects_check_repository(struct gr_req *);
int	 projects_evaluate(struct gr_req *);

/* evals.c */
int	 evals_get(struct gr_req *);
int	 evals_post(struct gr_req *);
int	 evals_builds(struct gr_req *);
int	 evals_stream(struct gr_req *);

/* builds.c */
int	 builds_direct(struct gr_req *);
int	 builds_direct_recent(struct gr_req *);
int	 builds_get(struct gr_req *);
int	 builds_dependencies(struct gr_req *);
int	 builds_graph(struct gr_req *);

/* servers.c */
int	 servers_list(struct gr_req *);
int	 servers_create(struct gr_req *);
int	 servers_get(struct gr_req *);
int	 servers_patch(struct gr_req *);
int	 servers_delete(struct gr_req *);
int	 servers_enable(struct gr_req *);
int	 servers_disable(struct gr_req *);
int	 servers_check_connection(struct gr_req *);

/* caches.c */
int	 caches_list(struct gr_req *);
int	 caches_create(struct gr_req *);
int	 caches_get(struct gr_req *);
int	 caches_patch(struct gr_req *);
int	 caches_delete(struct gr_req *);
int	 caches_enable(struct gr_req *);
int	 caches_disable(struct gr_req *);
int	 caches_key(struct gr_req *);

/* commits.c */
int	 commits_get(struct gr_req *);

#endif /* GRADIENT_FCGI_HANDLERS_H */
