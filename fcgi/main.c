/*
 * main.c - gradient-fcgi: the pre-forking FastCGI responder pool.
 *
 * The supervisor binds the socket (or takes a listening socket on fd 0),
 * reads the configuration and secrets, drops privileges to "user" and
 * forks "children" responders.  It restarts a child that dies, replaces
 * all children with ones running the new configuration on SIGHUP, and on
 * SIGTERM or SIGINT stops them and exits.  Each child keeps one database
 * connection and answers one request at a time; no request state survives
 * FCGX_Finish_r.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi/handlers.h"
#include "src/conf.h"
#include "src/crypto.h"
#include "src/db.h"
#include "src/log.h"

#define MAXCHILDREN	256

static volatile sig_atomic_t	 got_term, got_hup, got_chld;
static volatile sig_atomic_t	 child_stop;

static struct gr_config		 cfg;
static pid_t			 children[MAXCHILDREN];
static time_t			 started[MAXCHILDREN];
static int			 nchildren;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: gradient-fcgi [-v] [-f file] [-n children] "
	    "[-s socket]\n");
	exit(1);
}

static void
sup_signal(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		got_term = 1;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	case SIGCHLD:
		got_chld = 1;
		break;
	}
}

/*
 * A child stops between requests, never inside one.  SIGTERM stays
 * blocked except inside the ppoll() that waits for a connection, so it
 * can neither interrupt libfcgi halfway through reading a request nor
 * arrive unnoticed between the check of child_stop and the wait.  The
 * listening socket is non-blocking: when another child takes the
 * connection first, accept() fails at once and the child waits again.
 */
static void
child_signal(int sig)
{
	(void)sig;
	child_stop = 1;
}

/* Bind "listen": a path for a Unix socket, or host:port for TCP. */
static int
open_listener(const char *spec)
{
	struct sockaddr_un	 sun;
	struct addrinfo		 hints, *ai = NULL, *a;
	char			 host[256], *colon;
	int			 fd = -1, on = 1, gai;

	if (spec[0] == '/') {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(spec) >= sizeof(sun.sun_path))
			fatalx("socket path '%s' is too long", spec);
		strcpy(sun.sun_path, spec);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			fatal("socket");
		if (unlink(spec) == -1 && errno != ENOENT)
			fatal("cannot remove stale socket '%s'", spec);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			fatal("cannot bind '%s'", spec);
		/* Access is governed by the directory; nginx must connect. */
		if (chmod(spec, 0666) == -1)
			fatal("chmod '%s'", spec);
	} else {
		snprintf(host, sizeof(host), "%s", spec);
		if ((colon = strrchr(host, ':')) == NULL)
			fatalx("listen '%s': expected a path or host:port",
			    spec);
		*colon = '\0';
		/* "[::1]:9000": an IPv6 address in brackets. */
		if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
			colon[-1] = '\0';
			/* The port after colon is left where it was. */
			memmove(host, host + 1, strlen(host + 1) + 1);
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		if ((gai = getaddrinfo(host[0] != '\0' ? host : NULL,
		    colon + 1, &hints, &ai)) != 0)
			fatalx("listen '%s': %s", spec, gai_strerror(gai));
		for (a = ai; a != NULL; a = a->ai_next) {
			fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
			if (fd == -1)
				continue;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
			    sizeof(on));
			if (bind(fd, a->ai_addr, a->ai_addrlen) == 0)
				break;
			close(fd);
			fd = -1;
		}
		freeaddrinfo(ai);
		if (fd == -1)
			fatal("cannot bind '%s'", spec);
	}
	if (listen(fd, 1024) == -1)
		fatal("listen");
	/* Children wait in ppoll(), then accept without blocking. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("fcntl");
	return fd;
}

/* 1 if fd 0 is a listening socket handed to us (spawn-fcgi, systemd). */
static int
inherited_listener(void)
{
	int		 v = 0;
	socklen_t	 len = sizeof(v);

	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 &&
	    v != 0;
}

static void
drop_privileges(const char *user, const char *sockpath)
{
	struct passwd	*pw;

	if (geteuid() != 0) {
		if (user[0] != '\0')
			log_info("not root: ignoring user '%s'", user);
		return;
	}
	if (user[0] == '\0') {
		log_warnx("running as root: set 'user' in gradient.conf");
		return;
	}
	if ((pw = getpwnam(user)) == NULL)
		fatalx("unknown user '%s'", user);
	if (sockpath != NULL && chown(sockpath, pw->pw_uid, pw->pw_gid) == -1)
		fatal("chown '%s'", sockpath);
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot drop privileges to '%s'", user);
	if (setuid(0) != -1)
		fatalx("privileges were not dropped");
}

/*
 * Write the buffered answer as a CGI response.  The head is put together
 * by hand (this runs for every request; libfcgi's own printf knows no
 * %zu anyway) and written with FCGX_PutStr.
 */
static void
respond(FCGX_Request *fr, struct gr_req *r, struct gr_buf *head)
{
	gr_buf_reset(head);
	if (gr_buf_adds(head, "Status: ") == -1 ||
	    gr_buf_addu(head, (unsigned long long)r->status) == -1 ||
	    gr_buf_addc(head, ' ') == -1 ||
	    gr_buf_adds(head, gr_http_reason(r->status)) == -1 ||
	    gr_buf_adds(head, "\r\nContent-Type: application/json\r\n"
	    "Content-Length: ") == -1 ||
	    gr_buf_addu(head, r->out.len) == -1 ||
	    gr_buf_adds(head, "\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n") == -1 ||
	    gr_buf_add(head, r->headers.data, r->headers.len) == -1 ||
	    gr_buf_adds(head, "\r\n") == -1)
		return;
	FCGX_PutStr(head->data, (int)head->len, fr->out);
	if (r->out.len > 0)
		FCGX_PutStr(r->out.data, (int)r->out.len, fr->out);
}

/*
 * gr_req's stream hook: with p NULL, the head of a streamed answer (no
 * Content-Length; X-Accel-Buffering tells nginx to pass each chunk on at
 * once), otherwise one chunk; both flushed to nginx at once.
 */
static int
stream_write(struct gr_req *r, const char *p, size_t n)
{
	FCGX_Request	*fr = r->stream_ctx;
	struct gr_buf	 head = GR_BUF_INIT;
	int		 chunk, rc = 0;

	if (p == NULL) {
		if (gr_buf_addf(&head, "Status: 200 OK\r\n"
		    "Content-Type: %s\r\n"
		    "Cache-Control: no-store\r\n"
		    "X-Content-Type-Options: nosniff\r\n"
		    "X-Accel-Buffering: no\r\n"
		    "%s\r\n", r->stream_type, gr_buf_str(&r->headers)) == -1)
			return -1;
		p = head.data;
		n = head.len;
	}
	while (n > 0 && rc == 0) {
		chunk = n > (1 << 20) ? (1 << 20) : (int)n;
		if (FCGX_PutStr(p, chunk, fr->out) != chunk)
			rc = -1;
		p += chunk;
		n -= (size_t)chunk;
	}
	if (rc == 0 && FCGX_FFlush(fr->out) == -1)
		rc = -1;
	gr_buf_release(&head);
	return rc;
}

/* Read exactly len body bytes; -1 if the client sent fewer. */
static int
read_body(FCGX_Request *fr, struct gr_buf *b, size_t len)
{
	int	 n;

	gr_buf_reset(b);
	if (len == 0)
		return 0;
	if (gr_buf_reserve(b, len) == -1)
		return -1;
	while (b->len < len) {
		n = FCGX_GetStr(b->data + b->len, (int)(len - b->len), fr->in);
		if (n <= 0)
			return -1;
		b->len += (size_t)n;
	}
	b->data[b->len] = '\0';
	return 0;
}

/* The value if env is "name=value", else NULL. */
static const char *
param(const char *env, const char *name, size_t len)
{
	return strncmp(env, name, len) == 0 && env[len] == '=' ?
	    env + len + 1 : NULL;
}

#define PARAM(env, lit)	param((env), (lit), sizeof(lit) - 1)

/*
 * The parameters a request needs, in one pass over the environment
 * (FCGX_GetParam would scan it once per name).  The first of a name
 * counts, as with FCGX_GetParam.
 */
static void
params(FCGX_ParamArray envp, struct gr_req *r, const char **uri,
    const char **script, const char **length)
{
	const char	*v;

	for (; envp != NULL && *envp != NULL; envp++) {
		switch ((*envp)[0]) {
		case 'C':
			if (r->content_type == NULL &&
			    (v = PARAM(*envp, "CONTENT_TYPE")) != NULL)
				r->content_type = v;
			else if (*length == NULL &&
			    (v = PARAM(*envp, "CONTENT_LENGTH")) != NULL)
				*length = v;
			break;
		case 'D':
			if (*uri == NULL &&
			    (v = PARAM(*envp, "DOCUMENT_URI")) != NULL)
				*uri = v;
			break;
		case 'H':
			if (r->authorization == NULL &&
			    (v = PARAM(*envp, "HTTP_AUTHORIZATION")) != NULL)
				r->authorization = v;
			break;
		case 'Q':
			if (r->query == NULL &&
			    (v = PARAM(*envp, "QUERY_STRING")) != NULL)
				r->query = v;
			break;
		case 'R':
			if (r->method == NULL &&
			    (v = PARAM(*envp, "REQUEST_METHOD")) != NULL)
				r->method = v;
			else if (r->request_id == NULL &&
			    (v = PARAM(*envp, "REQUEST_ID")) != NULL)
				r->request_id = v;
			break;
		case 'S':
			if (*script == NULL &&
			    (v = PARAM(*envp, "SCRIPT_NAME")) != NULL)
				*script = v;
			break;
		}
	}
}

static void
handle(FCGX_Request *fr, struct gr_req *r, struct gr_buf *body)
{
	const char	*uri = NULL, *script = NULL, *length = NULL;
	size_t		 len;
	int		 code;

	r->method = r->query = r->content_type = NULL;
	r->authorization = r->request_id = NULL;
	params(fr->envp, r, &uri, &script, &length);
	if (uri == NULL)
		uri = script;
	r->path = uri != NULL ? uri : "/";
	if (r->method == NULL)
		r->method = "GET";
	code = router_body_length(length, cfg.max_body_size, &len);
	if (code == 413) {
		gr_http_errorf(r, 413, "Request body is larger than %lld "
		    "bytes", cfg.max_body_size);
		return;
	}
	if (code != 0) {
		gr_http_error(r, 400, "Invalid Content-Length");
		return;
	}
	if (read_body(fr, body, len) == -1) {
		gr_http_error(r, 400, "Request body is shorter than "
		    "Content-Length");
		return;
	}
	r->body = gr_buf_str(body);
	r->body_len = body->len;
	router_dispatch(r);
}

static void __attribute__((noreturn))
child_main(int lfd)
{
	struct sigaction	 sa;
	FCGX_Request		 fr;
	struct gr_req		 r;
	struct gr_buf		 body = GR_BUF_INIT, head = GR_BUF_INIT;
	struct gr_db		*db;
	struct pollfd		 pfd;
	sigset_t		 stop, waiting;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	/* The supervisor forks with its signals blocked; keep only these. */
	sigprocmask(SIG_SETMASK, &stop, NULL);
	if (getppid() == 1)
		_exit(0);

	if ((db = gr_db_new(cfg.database_url)) == NULL)
		fatalx("out of memory");
	(void)gr_db_connect(db);	/* or on the first request */
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, lfd, 0) != 0)
		fatalx("cannot initialise FastCGI");
	gr_req_init(&r);
	sigemptyset(&waiting);
	for (;;) {
		if (child_stop)
			break;
		pfd.fd = lfd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* The only place a stop request is delivered. */
		if (ppoll(&pfd, 1, NULL, &waiting) == -1 || child_stop ||
		    (pfd.revents & POLLIN) == 0)
			continue;
		if (FCGX_Accept_r(&fr) < 0)
			continue;	/* another child was quicker */
		r.cfg = &cfg;
		r.db = db;
		r.stream = stream_write;
		r.stream_ctx = &fr;
		handle(&fr, &r, &body);
		if (!r.streamed)
			respond(&fr, &r, &head);
		FCGX_Finish_r(&fr);
		gr_req_reset(&r);
		if (body.cap > 1 << 20)
			gr_buf_release(&body);
	}
	gr_req_release(&r);
	gr_buf_release(&body);
	gr_buf_release(&head);
	gr_db_free(db);
	_exit(0);
}

static void
spawn(int slot, int lfd)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_warn("fork");
		children[slot] = 0;
		return;
	}
	if (pid == 0)
		child_main(lfd);
	children[slot] = pid;
	started[slot] = time(NULL);
}

/* Reap dead children and start replacements (unless stopping). */
static void
reap(int lfd, int respawn)
{
	pid_t	 pid;
	int	 status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < nchildren; i++) {
			if (children[i] != pid)
				continue;
			children[i] = 0;
			if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
				log_warnx("child %ld killed by signal %d",
				    (long)pid, WTERMSIG(status));
			else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
				log_warnx("child %ld exited with status %d",
				    (long)pid, WEXITSTATUS(status));
			if (!respawn)
				break;
			/* A child that dies at once should not spin us. */
			if (time(NULL) - started[i] < 1)
				sleep(1);
			spawn(i, lfd);
			break;
		}
	}
}

static void
stop_children(int lfd)
{
	struct timespec	 ts = { 0, 50 * 1000 * 1000 };
	long long	 grace, tries;
	int		 i, alive;

	/*
	 * A child may be inside check-repository or check-connection: give
	 * it the longest of those before SIGKILL, so that its subprocess
	 * and temporary key are cleaned up by the child itself.
	 */
	grace = 10;
	if (cfg.git_timeout + 5 > grace)
		grace = cfg.git_timeout + 5;
	if (cfg.ssh_timeout * 4 + 5 > grace)
		grace = cfg.ssh_timeout * 4 + 5;
	for (tries = 0; tries < grace * 20; tries++) {
		/*
		 * Again every half second: a child that took the signal just
		 * before blocking in accept() is woken by the next one.
		 */
		if (tries % 10 == 0)
			for (i = 0; i < nchildren; i++)
				if (children[i] > 0)
					kill(children[i], SIGTERM);
		reap(lfd, 0);
		for (alive = 0, i = 0; i < nchildren; i++)
			alive += children[i] > 0;
		if (alive == 0)
			return;
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < nchildren; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
	reap(lfd, 0);
}

static void
reload(const char *file, long long nflag, int lfd)
{
	struct gr_config	 ncfg;
	char			 err[512];
	int			 i;

	if (gr_config_load(&ncfg, file, err, sizeof(err)) == -1 ||
	    gr_config_load_secrets(&ncfg, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		gr_config_release(&ncfg);
		return;
	}
	if (nflag > 0)
		ncfg.children = nflag;
	/* The socket stays the one bound at start (it may come from -s). */
	free(ncfg.listen);
	if ((ncfg.listen = strdup(cfg.listen)) == NULL) {
		log_warn("reload failed");
		gr_config_release(&ncfg);
		return;
	}
	stop_children(lfd);
	gr_config_release(&cfg);
	cfg = ncfg;
	nchildren = (int)cfg.children;
	for (i = 0; i < nchildren; i++)
		spawn(i, lfd);
	log_info("reloaded: %d children", nchildren);
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;
	sigset_t		 block, empty;
	const char		*file = NULL, *sock = NULL, *errstr;
	char			 err[512];
	long long		 nflag = 0;
	int			 ch, verbose = 0, lfd, i;

	log_init("gradient-fcgi", 0);
	while ((ch = getopt(argc, argv, "f:n:s:v")) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'n':
			nflag = gr_strtonum(optarg, 1, MAXCHILDREN, &errstr);
			if (errstr != NULL)
				fatalx("-n %s: %s", optarg, errstr);
			break;
		case 's':
			sock = optarg;
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
	if (gr_config_load(&cfg, file, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (sock != NULL) {
		free(cfg.listen);
		if ((cfg.listen = strdup(sock)) == NULL)
			fatal("strdup");
	}
	if (nflag > 0)
		cfg.children = nflag;
	if (cfg.children > MAXCHILDREN)
		cfg.children = MAXCHILDREN;
	if (gr_config_load_secrets(&cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);

	if (inherited_listener()) {
		lfd = 0;
		if (fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK) == -1)
			fatal("fcntl");
		drop_privileges(cfg.user, NULL);
	} else {
		lfd = open_listener(cfg.listen);
		drop_privileges(cfg.user, cfg.listen[0] == '/' ?
		    cfg.listen : NULL);
	}

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sup_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	nchildren = (int)cfg.children;
	log_info("listening on %s with %d children", lfd == 0 ? "fd 0" :
	    cfg.listen, nchildren);
	for (i = 0; i < nchildren; i++)
		spawn(i, lfd);
	sigemptyset(&empty);
	while (!got_term) {
		sigsuspend(&empty);
		if (got_chld) {
			got_chld = 0;
			reap(lfd, 1);
		}
		if (got_hup && !got_term) {
			got_hup = 0;
			reload(file, nflag, lfd);
		}
	}
	log_info("stopping");
	stop_children(lfd);
	if (lfd != 0 && cfg.listen[0] == '/')
		(void)unlink(cfg.listen);
	gr_config_release(&cfg);
	return 0;
}
