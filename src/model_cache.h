/*
 * model_cache.h - binary caches: owned by the user who made them, serving
 * the organizations subscribed to them, each with its signing key.
 *
 * A user sees a cache they own or one that an organization of theirs is
 * subscribed to; only the owner may change it.
 */
#ifndef GRADIENT_MODEL_CACHE_H
#define GRADIENT_MODEL_CACHE_H

#include <json-c/json.h>

#include "src/db.h"
#include "src/http.h"

struct gr_cache {
	char	 id[37];
	int	 owner;		/* the requesting user owns it */
	int	 managed;
};

/* The cache named slug if user_id may see it. */
enum gr_status	 gr_cache_access(struct gr_db *, const char *, const char *,
		    struct gr_cache *);
struct json_object *gr_cache_list(struct gr_db *, const char *,
		    enum gr_status *);
struct json_object *gr_cache_json(struct gr_db *, const char *,
		    enum gr_status *);
/* Create with the key pair (public text, sealed secret); id gets uuid. */
enum gr_status	 gr_cache_create(struct gr_db *, const char *name,
		    const char *display, const char *description, int priority,
		    const char *pub, const char *sealed, const char *user_id,
		    int managed, char *id);
/* Change the non-NULL fields; priority < 0 leaves it. */
enum gr_status	 gr_cache_update(struct gr_db *, const char *id,
		    const char *name, const char *display,
		    const char *description, int priority);
enum gr_status	 gr_cache_set_active(struct gr_db *, const char *, int);
enum gr_status	 gr_cache_delete(struct gr_db *, const char *);
/* The public key text "NAME:BASE64" (caller frees), or NULL. */
char		*gr_cache_public_key(struct gr_db *, const char *);

#endif /* GRADIENT_MODEL_CACHE_H */
