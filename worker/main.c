/*
 * main.c - gradient-worker: the one long-running daemon.
 *
 * It LISTENs for new evaluations, claims them (queue.c), and runs each in
 * a child process (evaluate.c), at most worker_slots at once.  NOTIFY wakes
 * it at once; a timer (a third of the lease, at most 5 s) is the safety
 * net, and it renews the leases of its running jobs every third of the
 * lease.  On SIGTERM it stops
 * claiming, stops its jobs, puts them back in the queue and exits.  When
 * the database goes away it reconnects and LISTENs again.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "src/buf.h"
#include "src/conf.h"
#include "src/crypto.h"
#include "src/db.h"
#include "src/log.h"
#include "src/proc.h"
#include "worker/worker.h"

#define MAXSLOTS	64

struct running {
	pid_t	 pid;
	char	 id[37];
	char	 token[192];	/* the claim's lease owner */
};

static volatile sig_atomic_t	 got_term;
static int			 wake[2] = { -1, -1 };
static struct running		 jobs[MAXSLOTS];
static int			 njobs;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: gradient-worker [-v] [-f file]\n");
	exit(1);
}

static void
on_signal(int sig)
{
	int	 saved = errno;

	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	(void)!write(wake[1], "x", 1);
	errno = saved;
}

/* In a job: stop what gr_proc_run() is running, then go. */
static void
job_signal(int sig)
{
	(void)sig;
	gr_proc_kill();
	_exit(2);
}

/*
 * state_dir: home/ and cache/ for nix, and the empty flake registry that
 * keeps nix from fetching the global one; written once here, read by
 * every job.
 */
static int
prepare_state_dir(const struct gr_config *cfg)
{
	static const char	*sub[] = { "", "/home", "/cache", "/repos",
				    "/direct", "/locks" };
	static const char	 reg[] = "{\"flakes\":[],\"version\":2}\n";
	char			 path[4096];
	size_t			 i;
	int			 fd;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", cfg->state_dir, sub[i]);
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/registry.json", cfg->state_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return -1;
	if (write(fd, reg, sizeof(reg) - 1) != (ssize_t)sizeof(reg) - 1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The running claims' tokens as a PostgreSQL array literal. */
static const char *
tokens(struct gr_buf *b)
{
	int	 i;

	gr_buf_reset(b);
	gr_buf_addc(b, '{');
	for (i = 0; i < njobs; i++)
		gr_buf_addf(b, "%s\"%s\"", i > 0 ? "," : "", jobs[i].token);
	gr_buf_addc(b, '}');
	return gr_buf_str(b);
}

static void
spawn(const struct gr_config *cfg, struct gr_db *db, const char *id,
    const char *owner)
{
	struct sigaction	 sa;
	sigset_t		 none;
	pid_t			 pid;

	if ((pid = fork()) == -1) {
		log_warn("fork");
		return;
	}
	if (pid == 0) {
		/* Not ours to close politely: the parent still uses it. */
		if (db->conn != NULL)
			close(PQsocket(db->conn));
		close(wake[0]);
		close(wake[1]);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = job_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sa.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(2);
		_exit(evaluate_run(cfg, id, owner));
	}
	jobs[njobs].pid = pid;
	snprintf(jobs[njobs].id, sizeof(jobs[njobs].id), "%s", id);
	snprintf(jobs[njobs].token, sizeof(jobs[njobs].token), "%s", owner);
	njobs++;
}

static void
reap(struct gr_db *db)
{
	pid_t	 pid;
	int	 status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < njobs; i++) {
			if (jobs[i].pid != pid)
				continue;
			if (WIFSIGNALED(status))
				log_warnx("evaluation %s: job killed by signal "
				    "%d", jobs[i].id, WTERMSIG(status));
			else if (WEXITSTATUS(status) == 2)
				log_info("evaluation %s: job stopped",
				    jobs[i].id);
			/* Unless it finished, it must not stay Evaluating. */
			if (db != NULL)
				(void)queue_ended(db, jobs[i].id,
				    jobs[i].token);
			jobs[i] = jobs[--njobs];
			break;
		}
	}
}

/* NOTIFY gradient_abort <id>: stop the job running it, if it is ours. */
static void
notifications(struct gr_db *db)
{
	PGnotify	*n;
	int		 i;

	if (db->conn == NULL || PQconsumeInput(db->conn) == 0)
		return;
	while ((n = PQnotifies(db->conn)) != NULL) {
		if (strcmp(n->relname, ABORT_CHANNEL) == 0)
			for (i = 0; i < njobs; i++)
				if (strcmp(jobs[i].id, n->extra) == 0) {
					log_info("evaluation %s: aborted, "
					    "stopping its job", jobs[i].id);
					kill(jobs[i].pid, SIGTERM);
				}
		PQfreemem(n);
	}
}

int
main(int argc, char *argv[])
{
	struct gr_config	 cfg;
	struct gr_db		*db;
	struct sigaction	 sa;
	struct pollfd		 pfd[2];
	const char		*file = NULL;
	char			 err[512], owner[160], host[64], id[37], buf[64];
	char			 token[192];
	unsigned long long	 claims = 0;
	struct gr_buf		 tb = GR_BUF_INIT;
	PGconn			*listening = NULL;
	double			 renewed, interval;
	int			 ch, verbose = 0, i, timeout_ms;

	log_init("gradient-worker", 0);
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
	if (optind != argc)
		usage();
	log_setverbose(verbose);
	if (gr_crypto_init() == -1)
		fatalx("cannot initialise libsodium");
	if (gr_config_load(&cfg, file, err, sizeof(err)) == -1 ||
	    gr_config_load_secrets(&cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (cfg.worker_slots > MAXSLOTS)
		cfg.worker_slots = MAXSLOTS;
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(owner, sizeof(owner), "%s:%ld:%08x", host, (long)getpid(),
	    randombytes_random());
	if (prepare_state_dir(&cfg) == -1)
		fatal("cannot prepare state_dir '%s'", cfg.state_dir);
	if ((db = gr_db_new(cfg.database_url)) == NULL)
		fatalx("out of memory");
	log_info("worker %s: %lld slots, lease %lld s", owner,
	    cfg.worker_slots, cfg.lease_seconds);
	interval = (double)cfg.lease_seconds / 3.0;
	renewed = now_s();
	while (!got_term) {
		/* (Re)connect, and LISTEN on every new connection. */
		if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK ||
		    db->conn != listening) {
			if (gr_db_connect(db) == 0 && queue_listen(db) == 0) {
				listening = db->conn;
				log_info("listening for evaluations");
			} else {
				listening = NULL;
				poll(NULL, 0, 1000);
				continue;
			}
		}
		for (;;) {
			if (got_term || njobs >= cfg.worker_slots)
				break;
			snprintf(token, sizeof(token), "%s/%llu", owner,
			    ++claims);
			if (queue_claim(db, token, cfg.lease_seconds, id) != 1)
				break;
			spawn(&cfg, db, id, token);
		}
		if (db->conn != listening)
			continue;
		timeout_ms = (int)(interval * 1000);
		if (timeout_ms > 5000)
			timeout_ms = 5000;
		pfd[0].fd = PQsocket(db->conn);
		pfd[0].events = POLLIN;
		pfd[1].fd = wake[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, timeout_ms) == -1 && errno != EINTR)
			log_warn("poll");
		while (read(wake[0], buf, sizeof(buf)) > 0)
			;
		reap(db);
		notifications(db);
		if (njobs > 0 && now_s() - renewed >= interval) {
			(void)queue_renew(db, tokens(&tb), cfg.lease_seconds);
			renewed = now_s();
		} else if (njobs == 0)
			renewed = now_s();
	}

	log_info("stopping: %d job%s running", njobs, njobs == 1 ? "" : "s");
	for (i = 0; i < njobs; i++)
		kill(jobs[i].pid, SIGTERM);
	/* Release first: the jobs' own last words must not requeue them. */
	(void)queue_release(db, tokens(&tb));
	for (i = 0; i < 100 && njobs > 0; i++) {
		poll(NULL, 0, 100);
		reap(NULL);
	}
	gr_buf_release(&tb);
	gr_db_free(db);
	gr_config_release(&cfg);
	return 0;
}
