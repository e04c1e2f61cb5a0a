/*
 * floor.c - the architectural floor for bench/api.sh: the least that a
 * pre-forking libfcgi + libpq responder can do for one request.
 *
 * usage: floor socket conninfo children
 *
 * Binds the Unix socket and forks the children.  Each child keeps one
 * PostgreSQL connection, prepares one single-row query once, and for every
 * request, whatever its path, runs it and answers a fixed JSON envelope.
 * A broken connection is reset and the query prepared again; nothing is
 * opened per request.  Not installed: bench/api.sh builds and runs it.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <err.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

static const char ANSWER[] = "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n\r\n"
    "{\"error\":false,\"message\":\"ok\"}";

static void
prepare(PGconn *conn)
{
	PQclear(PQprepare(conn, "q", "SELECT id FROM \"user\" LIMIT 1", 0,
	    NULL));
}

static void __attribute__((noreturn))
child(int lfd, const char *conninfo)
{
	FCGX_Request	 fr;
	PGconn		*conn;
	PGresult	*res;
	int		 ok;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	if (PQstatus(conn = PQconnectdb(conninfo)) != CONNECTION_OK ||
	    FCGX_InitRequest(&fr, lfd, 0) != 0)
		_exit(1);
	prepare(conn);
	while (FCGX_Accept_r(&fr) >= 0) {
		res = PQexecPrepared(conn, "q", 0, NULL, NULL, NULL, 0);
		ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1;
		PQclear(res);
		if (ok)
			FCGX_PutStr(ANSWER, sizeof(ANSWER) - 1, fr.out);
		else
			FCGX_PutS("Status: 500 Internal Server Error\r\n\r\n",
			    fr.out);
		FCGX_Finish_r(&fr);
		if (!ok && PQstatus(conn) != CONNECTION_OK) {
			PQreset(conn);
			prepare(conn);
		}
	}
	_exit(0);
}

int
main(int argc, char *argv[])
{
	char	*end = NULL;
	long	 n = 0;
	int	 lfd, i;

	if (argc == 4)
		n = strtol(argv[3], &end, 10);
	if (n < 1 || n > 256 || *end != '\0')
		errx(1, "usage: floor socket conninfo children");
	if (FCGX_Init() != 0 || (lfd = FCGX_OpenSocket(argv[1], 1024)) == -1)
		errx(1, "cannot listen on '%s'", argv[1]);
	for (i = 0; i < n; i++)
		if (fork() == 0)
			child(lfd, argv[2]);
	/* SIGTERM ends us, and PR_SET_PDEATHSIG then ends the children. */
	while (wait(NULL) > 0)
		;
	return 0;
}
