/*
 * git.c - repository URLs and "git ls-remote" (see git.h).
 *
 * git is run through gr_proc_run() in a fresh mkdtemp directory that is
 * also its HOME and working directory, with GIT_CEILING_DIRECTORIES set to
 * the directory above, so no configuration but git's built-in defaults
 * applies: not the system's, not the worker user's, not a repository that
 * happens to contain the working directory.  For SSH, ssh(1) reads no
 * configuration file either (-F /dev/null; Debian's hashes known_hosts
 * entries and its home comes from the password database, not HOME), offers
 * only the deploy key, trusts only the given known_hosts, and appends a
 * first-seen host key there, from where the caller can store it.
 *
 * Nothing here logs what a remote said: a failure to reach a repository is
 * the user's business and goes back to the caller in err.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/buf.h"
#include "src/git.h"
#include "src/log.h"
#include "src/proc.h"

#define ERR_MAX		400		/* bytes of stderr passed on */
#define OUT_CAP		(8 * 1024 * 1024) /* per stream; a ref: ~60 bytes */
#define KNOWN_HOSTS_MAX	(1024 * 1024)
#define TMP_MAX_LEN	200		/* longest TMPDIR we use */

static const char *const url_schemes[] = {
	"https://", "http://", "git://", "ssh://", "file://"
};

/* git's is_urlschemechar(): the characters of "<transport>::". */
static int
scheme_char(int first, int c)
{
	return isalpha(c) || (!first && (isdigit(c) || c == '+' ||
	    c == '-' || c == '.'));
}

/* 1 if url starts with "<transport>::", git's remote-helper syntax. */
static int
helper_syntax(const char *url)
{
	const char	*p;

	for (p = url; *p != '\0' && scheme_char(p == url, (unsigned char)*p);
	    p++)
		;
	return p != url && strncmp(p, "::", 2) == 0;
}

static int
user_char(int c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-';
}

/*
 * A host at s: a name or IPv4 address, or an IPv6 address in brackets,
 * never starting with '-'.  Returns its length, 0 if there is none.
 */
static size_t
host_len(const char *s)
{
	size_t	 n = 0;

	if (s[0] == '[') {
		for (n = 1; isxdigit((unsigned char)s[n]) || s[n] == ':' ||
		    s[n] == '.'; n++)
			;
		return n > 1 && s[n] == ']' ? n + 1 : 0;
	}
	if (s[0] == '-')
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '.' || s[n] == '-' ||
	    s[n] == '_')
		n++;
	return n;
}

/* The authority and path after "scheme://". */
static int
authority_ok(const char *s, int file)
{
	const char	*at, *slash, *p;
	size_t		 n;

	if (file)
		return s[0] == '/' && s[1] != '\0';
	slash = strchr(s, '/');
	if ((at = strchr(s, '@')) != NULL && (slash == NULL || at < slash)) {
		if (at == s || s[0] == '-')
			return 0;
		for (p = s; p < at; p++)
			if (*p == ' ')
				return 0;
		s = at + 1;
	}
	if ((n = host_len(s)) == 0)
		return 0;
	s += n;
	if (*s == ':') {
		for (s++, n = 0; isdigit((unsigned char)*s); s++, n++)
			;
		if (n == 0 || n > 5)
			return 0;
	}
	return *s == '\0' || *s == '/';
}

/* user@host:path, with the ':' before any '/'. */
static int
scp_like(const char *url)
{
	const char	*p = url;
	size_t		 n;

	if (!user_char((unsigned char)*p) || *p == '-')
		return 0;
	while (user_char((unsigned char)*p))
		p++;
	if (*p++ != '@')
		return 0;
	if ((n = host_len(p)) == 0)
		return 0;
	p += n;
	if (*p++ != ':')
		return 0;
	return *p != '\0' && *p != '-';
}

int
gr_git_url_valid(const char *url)
{
	size_t	 i, len, n;

	if (url == NULL || (len = strlen(url)) == 0 || len > GR_GIT_URL_MAX ||
	    url[0] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)url[i] < 0x20 || url[i] == 0x7f)
			return 0;
	if (strcasestr(url, "ext::") != NULL ||
	    strcasestr(url, "fd::") != NULL || helper_syntax(url))
		return 0;
	for (i = 0; i < sizeof(url_schemes) / sizeof(url_schemes[0]); i++) {
		n = strlen(url_schemes[i]);
		if (strncmp(url, url_schemes[i], n) == 0)
			return authority_ok(url + n,
			    strcmp(url_schemes[i], "file://") == 0);
	}
	return scp_like(url);
}

int
gr_git_url_is_ssh(const char *url)
{
	if (url == NULL)
		return 0;
	return strncmp(url, "ssh://", 6) == 0 || scp_like(url);
}

/* Create path (mode 0600) holding text; with strip_cr, drop '\r'. */
static int
write_file(const char *path, const char *text, int strip_cr)
{
	struct gr_buf	 b = GR_BUF_INIT;
	const char	*p;
	size_t		 off;
	ssize_t		 w;
	int		 fd = -1, rc = -1;

	for (p = text != NULL ? text : ""; *p != '\0'; p++)
		if ((!strip_cr || *p != '\r') && gr_buf_addc(&b, *p) == -1)
			goto out;
	/* OpenSSH wants the last line of a key terminated. */
	if (b.len > 0 && b.data[b.len - 1] != '\n' &&
	    gr_buf_addc(&b, '\n') == -1)
		goto out;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		goto out;
	for (off = 0; off < b.len; off += (size_t)w)
		if ((w = write(fd, b.data + off, b.len - off)) == -1) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			goto out;
		}
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (b.data != NULL)
		memset(b.data, 0, b.cap);	/* it may have held a key */
	gr_buf_release(&b);
	return rc;
}

/* The content of path, at most max bytes, as a string the caller frees. */
static char *
read_file(const char *path, size_t max)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		 chunk[4096];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			errno = EFBIG;
			goto fail;
		}
		if (gr_buf_add(&b, chunk, (size_t)n) == -1)
			goto fail;
	}
	close(fd);
	return gr_buf_detach(&b, NULL);
fail:
	close(fd);
	gr_buf_release(&b);
	return NULL;
}

/* Remove at/name and what is in it, never following a symbolic link. */
static int
rm_tree_at(int at, const char *name, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 fd, rc = 0;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(at, name, 0);
	if (depth > 16)
		return -1;
	if ((fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_tree_at(dirfd(d), de->d_name, depth + 1) == -1)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) == -1)
		rc = -1;
	return rc;
}

/*
 * The directory to make ours in: TMPDIR when it is absolute and made of
 * characters that need no quoting in GIT_SSH_COMMAND nor in an ssh option
 * (which splits on white space and expands '%' and '~'), otherwise /tmp.
 */
static const char *
tmp_base(void)
{
	const char	*t, *p;

	if ((t = getenv("TMPDIR")) == NULL || t[0] != '/' ||
	    strlen(t) > TMP_MAX_LEN)
		return "/tmp";
	for (p = t; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/._-", *p) == NULL)
			return "/tmp";
	return t;
}

/* Append s to b with every occurrence of from replaced by to. */
static int
add_replacing(struct gr_buf *b, const char *s, size_t len, const char *from,
    const char *to)
{
	const char	*end = s + len, *hit;
	size_t		 flen = strlen(from);

	while (s < end) {
		hit = flen > 0 ? memmem(s, (size_t)(end - s), from, flen) :
		    NULL;
		if (hit == NULL)
			return gr_buf_add(b, s, (size_t)(end - s));
		if (gr_buf_add(b, s, (size_t)(hit - s)) == -1 ||
		    gr_buf_adds(b, to) == -1)
			return -1;
		s = hit + flen;
	}
	return 0;
}

/* Lines of ssh's and git's that say nothing about this failure. */
static int
noise(const char *line, size_t len)
{
	static const char *const prefixes[] = {
		"Warning: Permanently added ",
		"Please make sure you have the correct access rights",
		"and the repository exists.",
		"Please contact your system administrator.",
		"Add correct host key in ",
		"remove with:",
		"ssh-keygen -f ",
	};
	size_t	 i, n;

	for (i = 0; i < len && line[i] == '@'; i++)
		;
	if (i == len)
		return 1;		/* the "@@@@" rule of ssh's banner */
	if (line[0] == '@' && line[len - 1] == '@')
		return 1;		/* and its framed title */
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		n = strlen(prefixes[i]);
		if (len >= n && strncmp(line, prefixes[i], n) == 0)
			return 1;
	}
	return 0;
}

/*
 * Put into err the last meaningful lines of git's stderr, at most ERR_MAX
 * bytes, one per line, printable ASCII only, with our temporary paths
 * replaced by what they stand for.
 */
static void
summarize(const char *text, size_t len, const char *dir, int status,
    char *err, size_t errsz)
{
	struct gr_buf	 a = GR_BUF_INIT, b = GR_BUF_INIT;
	char		 key[PATH_MAX + 8], kh[PATH_MAX + 16];
	const char	*s, *e, *ls, *t, *lines[64];
	size_t		 lens[64], nl = 0, total = 0, i, l;
	unsigned char	 c;

	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(kh, sizeof(kh), "%s/known_hosts", dir);
	if (add_replacing(&a, text, len, key, "(deploy key)") == -1 ||
	    add_replacing(&b, gr_buf_str(&a), a.len, kh,
	    "(known_hosts)") == -1)
		goto out;
	gr_buf_reset(&a);
	if (add_replacing(&a, gr_buf_str(&b), b.len, dir, "(tmp)") == -1)
		goto out;

	/* Walk back from the end, taking lines while they fit. */
	s = gr_buf_str(&a);
	e = s + a.len;
	while (e > s && nl < sizeof(lines) / sizeof(lines[0])) {
		for (ls = e; ls > s && ls[-1] != '\n' && ls[-1] != '\r'; ls--)
			;
		for (t = ls, l = (size_t)(e - ls); l > 0 &&
		    isspace((unsigned char)*t); t++, l--)
			;
		while (l > 0 && isspace((unsigned char)t[l - 1]))
			l--;
		if (l > 0 && !noise(t, l)) {
			if (nl > 0 && total + l + 1 > ERR_MAX)
				break;
			lines[nl] = t;
			lens[nl++] = l;
			total += l + 1;
		}
		for (e = ls; e > s && (e[-1] == '\n' || e[-1] == '\r'); e--)
			;
	}
	gr_buf_reset(&b);
	for (i = nl; i > 0; i--) {
		l = lens[i - 1] > ERR_MAX ? ERR_MAX : lens[i - 1];
		if ((i < nl && gr_buf_addc(&b, '\n') == -1) ||
		    gr_buf_add(&b, lines[i - 1], l) == -1)
			goto out;
	}
	for (i = 0; i < b.len; i++) {
		c = (unsigned char)b.data[i];
		if (c == '\t')
			b.data[i] = ' ';
		else if (c != '\n' && (c < 0x20 || c > 0x7e))
			b.data[i] = '?';
	}
out:
	if (b.len > 0)
		snprintf(err, errsz, "%s", b.data);
	else
		snprintf(err, errsz, "git ls-remote failed with exit status %d",
		    status);
	gr_buf_release(&a);
	gr_buf_release(&b);
}

/* Refs in ls-remote output: one per line, peeled tags ("^{}") aside. */
static int
count_refs(const char *s, size_t len)
{
	const char	*end = s + len, *nl;
	int		 n = 0;

	while (s < end) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		if (nl > s && !(nl - s >= 3 && strncmp(nl - 3, "^{}", 3) == 0))
			n++;
		s = nl + 1;
	}
	return n;
}

int
gr_git_run(const char *const *args, const char *cwd, int ssh,
    const char *private_pem, const char *known_hosts, int timeout,
    char **known_hosts_out, struct gr_proc *result, char *err, size_t errsz)
{
	struct gr_proc	 pr;
	struct gr_buf	 sshcmd = GR_BUF_INIT;
	const char	*argv[GR_GIT_MAXARGS + 2];
	const char	*envp[12], *base;
	char		 dir[TMP_MAX_LEN + 32], keypath[TMP_MAX_LEN + 64];
	char		 khpath[TMP_MAX_LEN + 64], home[TMP_MAX_LEN + 64];
	char		 ceiling[TMP_MAX_LEN + 64];
	char		*kh = NULL;
	size_t		 ne = 0, na;
	int		 made = 0, ran = 0, rc = -1;
	char		 dummy[1];

	memset(&pr, 0, sizeof(pr));
	if (err == NULL || errsz == 0) {
		err = dummy;
		errsz = sizeof(dummy);
	}
	err[0] = '\0';
	if (known_hosts_out != NULL)
		*known_hosts_out = NULL;
	argv[0] = "git";
	for (na = 0; args[na] != NULL; na++) {
		if (na == GR_GIT_MAXARGS) {
			snprintf(err, errsz, "too many arguments");
			return -1;
		}
		argv[na + 1] = args[na];
	}
	argv[na + 1] = NULL;

	base = tmp_base();
	if ((size_t)snprintf(dir, sizeof(dir), "%s/gradient-git.XXXXXX",
	    base) >= sizeof(dir) || mkdtemp(dir) == NULL) {
		log_warn("mkdtemp %s", dir);
		snprintf(err, errsz, "cannot make a temporary directory");
		return -1;
	}
	made = 1;
	snprintf(keypath, sizeof(keypath), "%s/key", dir);
	snprintf(khpath, sizeof(khpath), "%s/known_hosts", dir);
	snprintf(home, sizeof(home), "HOME=%s", dir);
	snprintf(ceiling, sizeof(ceiling), "GIT_CEILING_DIRECTORIES=%s", base);

	envp[ne++] = "PATH=/usr/bin:/bin";
	envp[ne++] = home;
	envp[ne++] = "GIT_TERMINAL_PROMPT=0";
	envp[ne++] = "GIT_ALLOW_PROTOCOL=file:git:http:https:ssh";
	envp[ne++] = "GIT_CONFIG_NOSYSTEM=1";
	envp[ne++] = ceiling;
	envp[ne++] = "LC_ALL=C";
	if (ssh) {
		if (private_pem != NULL &&
		    write_file(keypath, private_pem, 1) == -1) {
			log_warn("%s", keypath);
			snprintf(err, errsz, "cannot write the deploy key");
			goto out;
		}
		if (write_file(khpath, known_hosts, 0) == -1) {
			log_warn("%s", khpath);
			snprintf(err, errsz, "cannot write known_hosts");
			goto out;
		}
		if (gr_buf_addf(&sshcmd, "GIT_SSH_COMMAND=ssh -F /dev/null") ==
		    -1 || (private_pem != NULL ?
		    gr_buf_addf(&sshcmd, " -i %s", keypath) :
		    gr_buf_adds(&sshcmd, " -o IdentityFile=none")) == -1 ||
		    gr_buf_addf(&sshcmd, " -o IdentitiesOnly=yes"
		    " -o BatchMode=yes -o StrictHostKeyChecking=accept-new"
		    " -o UserKnownHostsFile=%s"
		    " -o GlobalKnownHostsFile=/dev/null -o HashKnownHosts=no",
		    khpath) == -1 || (timeout > 0 &&
		    gr_buf_addf(&sshcmd, " -o ConnectTimeout=%d", timeout) ==
		    -1)) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
		envp[ne++] = sshcmd.data;
		envp[ne++] = "GIT_SSH_VARIANT=ssh";
	}
	envp[ne] = NULL;

	if (gr_proc_run(argv, envp, cwd != NULL ? cwd : dir, timeout, OUT_CAP,
	    &pr) == -1) {
		snprintf(err, errsz, "cannot run git: %s", strerror(errno));
		goto out;
	}
	ran = 1;
	if (pr.timed_out) {
		snprintf(err, errsz, "timed out after %d s", timeout);
		goto out;
	}
	if (pr.status != 0) {
		summarize(gr_buf_str(&pr.err), pr.err.len, dir, pr.status,
		    err, errsz);
		goto out;
	}
	if (known_hosts_out != NULL) {
		if (ssh)
			kh = read_file(khpath, KNOWN_HOSTS_MAX);
		else
			kh = strdup(known_hosts != NULL ? known_hosts : "");
		if (kh == NULL) {
			log_warn("%s", khpath);
			snprintf(err, errsz, "cannot read known_hosts");
			goto out;
		}
		*known_hosts_out = kh;
	}
	rc = 0;
out:
	if (ran) {
		if (rc == 0 && result != NULL) {
			*result = pr;	/* the caller releases it */
			ran = 0;
		} else
			gr_proc_release(&pr);
	}
	gr_buf_release(&sshcmd);
	if (made && rm_tree_at(AT_FDCWD, dir, 0) == -1)
		log_warn("cannot remove %s", dir);
	return rc;
}

int
gr_git_ls_remote(const char *url, const char *private_pem,
    const char *known_hosts, int timeout, char **known_hosts_out,
    int *refs, char *err, size_t errsz)
{
	const char	*args[] = { "ls-remote", "--heads", "--tags", "--", url,
			    NULL };
	struct gr_proc	 pr;

	if (refs != NULL)
		*refs = 0;
	if (known_hosts_out != NULL)
		*known_hosts_out = NULL;
	if (!gr_git_url_valid(url)) {
		if (err != NULL && errsz > 0)
			snprintf(err, errsz, "invalid repository URL");
		return -1;
	}
	if (gr_git_run(args, NULL, gr_git_url_is_ssh(url), private_pem,
	    known_hosts, timeout, known_hosts_out, &pr, err, errsz) == -1)
		return -1;
	if (refs != NULL)
		*refs = count_refs(gr_buf_str(&pr.out), pr.out.len);
	gr_proc_release(&pr);
	return 0;
}
