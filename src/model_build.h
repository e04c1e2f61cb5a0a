/*
 * model_build.h - builds as the API shows them, their dependency graph,
 * and direct builds (files uploaded with POST /builds).
 *
 * A build is one derivation, shared by every evaluation that contains it.
 * A user may see it when a member (any role) of the organization of any
 * of those evaluations; otherwise it is GR_NOTFOUND, as if it did not
 * exist.
 */
#ifndef GRADIENT_MODEL_BUILD_H
#define GRADIENT_MODEL_BUILD_H

#include <stddef.h>

#include <json-c/json.h>

#include "src/db.h"
#include "src/http.h"

#define GR_GRAPH_MAX		500	/* nodes of GET /builds/{id}/graph */
#define GR_DIRECT_FILES_MAX	256	/* files of one direct build */
#define GR_DIRECT_RECENT	20

/*
 * GR_OK if user_id may see build id; evaluation (37 bytes, may be NULL)
 * gets the earliest evaluation containing it that the user may see.
 */
enum gr_status	 gr_build_access(struct gr_db *, const char *id,
		    const char *user_id, char *evaluation);
/*
 * The BuildWithOutputs object {id, evaluation, status, derivation_path,
 * architecture, server, output {name: path}, name, created_at,
 * updated_at}, if user_id may see the build.
 */
struct json_object *gr_build_json(struct gr_db *, const char *,
		    const char *, enum gr_status *);
/* [DependencyNode {id, name, path, status, created_at, updated_at}]. */
struct json_object *gr_build_dependencies(struct gr_db *, const char *,
		    enum gr_status *);
/*
 * BuildGraph {root, nodes, edges, truncated}: breadth first over
 * build_dependency from id, one query per level, at most max nodes.
 * truncated is true when a dependency was left out for the cap; edges
 * {source: dependency, target: dependent} join included nodes only.
 */
struct json_object *gr_build_graph(struct gr_db *, const char *, size_t,
		    enum gr_status *);

/*
 * Record a direct build of derivation in organization org with files (a
 * JSON object text {path: base64 content}) and queue its evaluation
 * (repository "direct:<direct build id>", wildcard derivation) in the
 * same transaction.  evaluation gets the evaluation's uuid.
 */
enum gr_status	 gr_direct_create(struct gr_db *, const char *org,
		    const char *derivation, const char *files,
		    const char *user_id, char *evaluation);
/*
 * The user's last GR_DIRECT_RECENT direct builds in organizations they
 * still belong to: [DirectBuildInfo {id, derivation, created_at
 * ("YYYY-MM-DD HH:MM:SS", UTC), evaluation_id, status}], newest first.
 */
struct json_object *gr_direct_recent(struct gr_db *, const char *,
		    enum gr_status *);

#endif /* GRADIENT_MODEL_BUILD_H */
