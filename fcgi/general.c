/*
 * general.c - GET /health and GET /config: no authentication, no database.
 */
#include "config.h"

#include "fcgi/handlers.h"
#include "src/conf.h"

int
general_health(struct gr_req *r)
{
	return gr_http_ok_str(r, "200 ALIVE");
}

int
general_config(struct gr_req *r)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(o, "oidc_enabled", json_object_new_boolean(0));
	json_object_object_add(o, "registration_disabled",
	    json_object_new_boolean(r->cfg->registration_disabled != 0));
	json_object_object_add(o, "email_verification_enabled",
	    json_object_new_boolean(0));
	return gr_http_ok(r, o);
}
