/*
 * commits.c - GET /commits/{id}: a commit evaluated for an organization,
 * visible to that organization's members only.
 */
#include "config.h"

#include "fcgi/handlers.h"
#include "src/model_project.h"

int
commits_get(struct gr_req *r)
{
	struct json_object	*o;
	enum gr_status		 st;

	if ((o = gr_commit_json(r->db, r->params[0], r->user->id,
	    &st)) == NULL)
		return gr_http_status(r, st, "Commit not found");
	return gr_http_ok(r, o);
}
