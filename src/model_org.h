/*
 * model_org.h - organizations, their members and roles, SSH keys and cache
 * subscriptions.
 *
 * Access is decided here once per request: gr_org_access() finds an
 * organization by name only for its members, so a stranger cannot tell
 * it from one that does not exist.  Roles are ordered: view < write <
 * admin.
 */
#ifndef GRADIENT_MODEL_ORG_H
#define GRADIENT_MODEL_ORG_H

#include <stddef.h>

#include <json-c/json.h>

#include "src/db.h"
#include "src/http.h"

#define GR_DISPLAY_MAX		128	/* characters */
#define GR_DESCRIPTION_MAX	4096	/* characters */

enum gr_role {
	GR_ROLE_NONE = 0,
	GR_ROLE_VIEW,
	GR_ROLE_WRITE,
	GR_ROLE_ADMIN,
	GR_ROLE__MAX
};

struct gr_org {
	char		 id[37];
	char		 name[65];
	enum gr_role	 role;		/* the requesting user's */
	int		 managed;
};

enum gr_role	 gr_role_parse(const char *);
const char	*gr_role_name(enum gr_role);

/* 1 if s is 0..max characters of text without control characters. */
int		 gr_valid_text(const char *, size_t);

/* The organization named slug, if user_id is a member (else NOTFOUND). */
enum gr_status	 gr_org_access(struct gr_db *, const char *, const char *,
		    struct gr_org *);
/* [{id, name}] of the user's organizations. */
struct json_object *gr_org_list(struct gr_db *, const char *);
/* The Organization object of the reference. */
struct json_object *gr_org_json(struct gr_db *, const char *,
		    enum gr_status *);
/*
 * Create an organization with its key pair and make user_id its admin, in
 * one transaction.  sealed is the sealed private key.  id gets the uuid.
 */
enum gr_status	 gr_org_create(struct gr_db *, const char *, const char *,
		    const char *, const char *, const char *, const char *,
		    int, char *);
/* Change the non-NULL fields. */
enum gr_status	 gr_org_update(struct gr_db *, const char *, const char *,
		    const char *, const char *);
enum gr_status	 gr_org_delete(struct gr_db *, const char *);

/* [{name, role}] of the members. */
struct json_object *gr_org_members(struct gr_db *, const char *,
		    enum gr_status *);
/*
 * Add username with role (add != 0: GR_CONFLICT if already a member) or
 * change an existing member's role (add == 0: GR_NOTFOUND if not one).
 * GR_NOTFOUND too when there is no such user.  Demoting the last admin
 * is GR_INVALID.
 */
enum gr_status	 gr_org_member_set(struct gr_db *, const char *,
		    const char *, enum gr_role, int);
/* Remove a member; removing the last admin is GR_INVALID. */
enum gr_status	 gr_org_member_remove(struct gr_db *, const char *,
		    const char *);

/* The public key line; the sealed private key (caller frees both). */
char		*gr_org_ssh_public(struct gr_db *, const char *);
char		*gr_org_ssh_sealed(struct gr_db *, const char *);
enum gr_status	 gr_org_ssh_set(struct gr_db *, const char *, const char *,
		    const char *);
/* The known_hosts text used for git over SSH (caller frees). */
char		*gr_org_known_hosts(struct gr_db *, const char *);
/* Replace the known_hosts text, if it is still old (else GR_NOTFOUND). */
enum gr_status	 gr_org_known_hosts_set(struct gr_db *, const char *,
		    const char *, const char *);

/* [{id, name}] of the caches the organization is subscribed to. */
struct json_object *gr_org_caches(struct gr_db *, const char *,
		    enum gr_status *);
enum gr_status	 gr_org_subscribe(struct gr_db *, const char *, const char *);
enum gr_status	 gr_org_unsubscribe(struct gr_db *, const char *,
		    const char *);

#endif /* GRADIENT_MODEL_ORG_H */
