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

#endif /* GRADIENT_FCGI_HANDLERS_H */
