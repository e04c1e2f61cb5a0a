/*
 * gradientctl.c - the administration tool: schema migrations now; state
 * files, users and key rotation as those land.  Only calls the library.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/conf.h"
#include "src/db.h"
#include "src/log.h"
#include "src/migrate.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: gradientctl [-v] [-f file] migrate\n"
	    "       gradientctl version\n");
	exit(1);
}

static int
cmd_migrate(struct gr_config *cfg)
{
	struct gr_db	*db;
	int		 n;

	if ((db = gr_db_new(cfg->database_url)) == NULL)
		fatalx("out of memory");
	if (gr_db_connect(db) == -1) {
		gr_db_free(db);
		return 1;
	}
	n = gr_migrate(db, cfg->sql_dir);
	gr_db_free(db);
	if (n == -1) {
		log_warnx("migration failed");
		return 1;
	}
	printf("%d migration%s applied\n", n, n == 1 ? "" : "s");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct gr_config	 cfg;
	const char		*file = NULL;
	char			 err[512];
	int			 ch, verbose = 0, rc;

	log_init("gradientctl", 0);
	while ((ch = getopt(argc, argv, "f:v")) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	log_setverbose(verbose);
	if (strcmp(argv[0], "version") == 0) {
		printf("gradientctl %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (gr_config_load(&cfg, file, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (strcmp(argv[0], "migrate") == 0 && argc == 1)
		rc = cmd_migrate(&cfg);
	else
		usage();
	gr_config_release(&cfg);
	return rc;
}
