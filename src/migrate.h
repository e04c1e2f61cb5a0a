/*
 * migrate.h - apply sql/NNNN_name.sql files in order, each once.
 *
 * Each file runs in its own transaction together with its row in
 * schema_migrations, under an advisory lock, so two gradientctl runs
 * against one database never apply a file twice.
 */
#ifndef GRADIENT_MIGRATE_H
#define GRADIENT_MIGRATE_H

#include "src/db.h"

/* Apply what is missing from dir; returns the number applied, or -1. */
int	 gr_migrate(struct gr_db *, const char *);

#endif /* GRADIENT_MIGRATE_H */
