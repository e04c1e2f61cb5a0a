/*
 * model_project.h - projects: a repository, a branch and the attribute
 * wildcard to evaluate, inside one organization.
 */
#ifndef GRADIENT_MODEL_PROJECT_H
#define GRADIENT_MODEL_PROJECT_H

#include <json-c/json.h>

#include "src/db.h"
#include "src/http.h"

#define GR_WILDCARD_MAX	1024
#define GR_BRANCH_MAX	255

struct gr_project {
	char	 id[37];
	int	 managed;
};

/*
 * 1 if s is an evaluation wildcard: comma-separated attribute paths
 * ("packages.x86_64-linux.*, checks.*.*") whose segments are Nix
 * identifiers or "*".
 */
int	 gr_wildcard_valid(const char *);
/* 1 if s is a usable git branch name. */
int	 gr_branch_valid(const char *);

/* The project named slug in organization org (an id). */
enum gr_status	 gr_project_find(struct gr_db *, const char *, const char *,
		    struct gr_project *);
struct json_object *gr_project_list(struct gr_db *, const char *,
		    enum gr_status *);
/* The Project object of the reference. */
struct json_object *gr_project_json(struct gr_db *, const char *,
		    enum gr_status *);
/* Create; branch may be NULL.  id gets the uuid. */
enum gr_status	 gr_project_create(struct gr_db *, const char *org,
		    const char *name, const char *display,
		    const char *description, const char *repository,
		    const char *branch, const char *wildcard,
		    const char *user_id, int managed, char *id);
/* Change the non-NULL fields. */
enum gr_status	 gr_project_update(struct gr_db *, const char *id,
		    const char *name, const char *display,
		    const char *description, const char *repository,
		    const char *branch, const char *wildcard);
enum gr_status	 gr_project_set_active(struct gr_db *, const char *, int);
enum gr_status	 gr_project_delete(struct gr_db *, const char *);
/* The repository URL (caller frees), or NULL. */
char		*gr_project_repository(struct gr_db *, const char *);
enum gr_status	 gr_project_checked(struct gr_db *, const char *);

/* The Commit object of the reference, if user_id may see it. */
struct json_object *gr_commit_json(struct gr_db *, const char *,
		    const char *, enum gr_status *);

#endif /* GRADIENT_MODEL_PROJECT_H */
