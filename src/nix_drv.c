/*
 * nix_drv.c - parse Nix derivations (".drv" files, ATerm) and check store
 * paths.
 *
 * The worker walks whole dependency graphs with this (NIX-NOTES §5.2), so
 * a file is read into one buffer and parsed in one pass over it: the only
 * allocations are the result strings and the arrays that hold them.  The
 * bytes are untrusted and the parser stays fuzzable
 * (tests/fuzz/fuzz_nix_drv.c): it never recurses (the grammar is flat),
 * never reads past len nor relies on a terminating NUL, and turns every
 * malformed input into -1 and a message naming the byte offset.  It must
 * never log: the caller knows which file and job the error belongs to.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/buf.h"
#include "src/nix_drv.h"

#define STORE_DIR	"/nix/store/"
#define STORE_DIR_LEN	(sizeof(STORE_DIR) - 1)
#define HASH_LEN	32
#define NAME_MAX_LEN	211
/* Where the name starts in a store path. */
#define NAME_OFFSET	(STORE_DIR_LEN + HASH_LEN + 1)
/*
 * gr_drv_read() refuses files of this size or more.  Real .drv files are
 * kilobytes, a few megabytes with big env values; this only keeps a
 * hostile file from taking the worker's memory.
 */
#define DRV_MAX_SIZE	((size_t)256 << 20)

/* What a string must look like, checked once it is decoded. */
enum str_kind {
	STR_ANY,
	STR_OUTPUT_NAME,	/* 1.. characters of a store path name */
	STR_OUTPUT_PATH,	/* a store path, or "" (CA, deferred) */
	STR_DRV_PATH,		/* a store path ending in ".drv" */
	STR_STORE_PATH
};

struct parser {
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	const char	*path;	/* the file, for messages; NULL */
	char		*err;
	size_t		 errsz;
};

/* Large enough to append a zeroed element of any of our arrays. */
static const union {
	struct gr_drv_output	 o;
	struct gr_drv_input	 i;
	struct gr_drv_env	 e;
	char			*s;
} zero;

static int	 fail(struct parser *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Fill p->err with "[cannot parse 'path': ]at byte N: ..."; returns -1. */
static int
fail(struct parser *p, size_t at, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (p->err == NULL || p->errsz == 0)
		return -1;
	if (p->path != NULL)
		n = snprintf(p->err, p->errsz, "cannot parse '%s': at byte %zu: ",
		    p->path, at);
	else
		n = snprintf(p->err, p->errsz, "at byte %zu: ", at);
	if (n >= 0 && (size_t)n < p->errsz) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Report that what was wanted is not at p->pos. */
static int
unexpected(struct parser *p, const char *what)
{
	if (p->pos >= p->len)
		return fail(p, p->pos, "expected %s, found end of input",
		    what);
	return fail(p, p->pos, "expected %s", what);
}

static int
expect(struct parser *p, char c)
{
	char	 what[4] = { '\'', c, '\'', '\0' };

	if (p->pos < p->len && p->buf[p->pos] == c) {
		p->pos++;
		return 0;
	}
	return unexpected(p, what);
}

/* The literal word, byte by byte so that the offset is exact. */
static int
expect_word(struct parser *p, const char *word)
{
	size_t	 i;

	for (i = 0; word[i] != '\0'; i++) {
		if (p->pos >= p->len || p->buf[p->pos] != word[i]) {
			if (p->pos >= p->len)
				return fail(p, p->pos, "expected '%s', found "
				    "end of input", word);
			return fail(p, p->pos, "expected '%s'", word);
		}
		p->pos++;
	}
	return 0;
}

/* '[', then 1 if the list is empty (its ']' eaten), 0 if not, or -1. */
static int
list_open(struct parser *p)
{
	if (expect(p, '[') == -1)
		return -1;
	if (p->pos < p->len && p->buf[p->pos] == ']') {
		p->pos++;
		return 1;
	}
	return 0;
}

/* After an element: 0 if another follows (',' eaten), 1 at ']', or -1. */
static int
list_next(struct parser *p)
{
	if (p->pos < p->len) {
		if (p->buf[p->pos] == ',') {
			p->pos++;
			return 0;
		}
		if (p->buf[p->pos] == ']') {
			p->pos++;
			return 1;
		}
	}
	return unexpected(p, "',' or ']'");
}

/*
 * Append a zeroed element of size bytes to the array growing in b and
 * return it (NULL when memory runs out, b unchanged).  The caller stores
 * b->data in the struct right away, which owns it from then on, so the
 * error path frees everything with gr_drv_release().
 */
static void *
push(struct parser *p, struct gr_buf *b, size_t size)
{
	if (gr_buf_add(b, &zero, size) == -1) {
		fail(p, p->pos, "out of memory");
		return NULL;
	}
	return b->data + b->len - size;
}

static int
is_nix32(char c)
{
	return (c >= '0' && c <= '9') ||
	    (c >= 'a' && c <= 'z' && c != 'e' && c != 'o' && c != 'u' &&
	    c != 't');
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' ||
	    c == '_' || c == '?' || c == '=';
}

int
gr_store_path_valid(const char *s)
{
	size_t	 i;

	if (s == NULL || strncmp(s, STORE_DIR, STORE_DIR_LEN) != 0)
		return 0;
	s += STORE_DIR_LEN;
	for (i = 0; i < HASH_LEN; i++)
		if (!is_nix32(s[i]))	/* also stops at the NUL */
			return 0;
	if (s[HASH_LEN] != '-')
		return 0;
	s += HASH_LEN + 1;
	for (i = 0; s[i] != '\0'; i++)
		if (i == NAME_MAX_LEN || !is_name_char(s[i]))
			return 0;
	return i > 0;
}

static int
output_name_valid(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!is_name_char(s[i]))
			return 0;
	return i > 0;
}

/* Check a decoded string that began (at its '"') at byte at. */
static int
check_kind(struct parser *p, size_t at, const char *s, size_t n,
    enum str_kind kind)
{
	switch (kind) {
	case STR_ANY:
		return 0;
	case STR_OUTPUT_NAME:
		if (output_name_valid(s))
			return 0;
		return fail(p, at, "invalid output name");
	case STR_OUTPUT_PATH:
		if (n == 0 || gr_store_path_valid(s))
			return 0;
		return fail(p, at, "output path is not a store path");
	case STR_DRV_PATH:
		if (gr_store_path_valid(s) && n > NAME_OFFSET + 4 &&
		    memcmp(s + n - 4, ".drv", 4) == 0)
			return 0;
		return fail(p, at, "input derivation is not a store path "
		    "ending in '.drv'");
	case STR_STORE_PATH:
		if (gr_store_path_valid(s))
			return 0;
		return fail(p, at, "input source is not a store path");
	}
	return fail(p, at, "unknown string kind");
}

/*
 * A quoted string into *out (a fresh, decoded, NUL-terminated copy).
 * First find the closing quote and count the escapes, then allocate the
 * exact size once and copy (memcpy when there was nothing to unescape).
 * A NUL byte, raw or escaped, would cut the C string short: refused.
 */
static int
parse_str(struct parser *p, char **out, enum str_kind kind)
{
	const char	*b = p->buf;
	size_t		 quote = p->pos, start, i, j, n, nesc = 0;
	char		*s, c;

	if (expect(p, '"') == -1)
		return -1;
	start = p->pos;
	for (i = start; i < p->len; i++) {
		if (b[i] == '"')
			break;
		if (b[i] == '\0')
			return fail(p, i, "NUL byte in string");
		if (b[i] == '\\') {
			if (++i == p->len)
				break;
			if (b[i] == '\0')
				return fail(p, i, "NUL byte in string");
			nesc++;
		}
	}
	if (i >= p->len)
		return fail(p, p->len, "unterminated string (opened at byte "
		    "%zu)", quote);
	p->pos = i + 1;
	n = i - start - nesc;
	if ((s = malloc(n + 1)) == NULL)
		return fail(p, quote, "out of memory");
	if (nesc == 0)
		memcpy(s, b + start, n);
	else {
		for (i = start, j = 0; j < n; i++) {
			if ((c = b[i]) == '\\') {
				switch ((c = b[++i])) {
				case 'n':
					c = '\n';
					break;
				case 'r':
					c = '\r';
					break;
				case 't':
					c = '\t';
					break;
				default:	/* stands for itself */
					break;
				}
			}
			s[j++] = c;
		}
	}
	s[n] = '\0';
	if (check_kind(p, quote, s, n, kind) == -1) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* A list of strings, e.g. ["a","b"], into *arr and *narr. */
static int
parse_strs(struct parser *p, char ***arr, size_t *narr, enum str_kind kind)
{
	struct gr_buf	 b = GR_BUF_INIT;	/* its data is *arr's */
	char		**s;
	int		 r;

	if ((r = list_open(p)) == -1)
		return -1;
	while (r == 0) {
		if ((s = push(p, &b, sizeof(*s))) == NULL)
			return -1;
		*arr = (char **)b.data;
		(*narr)++;
		if (parse_str(p, s, kind) == -1)
			return -1;
		if ((r = list_next(p)) == -1)
			return -1;
	}
	return 0;
}

/* [("name","path","hashAlgo","hash"),...] */
static int
parse_outputs(struct parser *p, struct gr_drv *d)
{
	struct gr_buf		 b = GR_BUF_INIT;	/* its data is d's */
	struct gr_drv_output	*o;
	int			 r;

	if ((r = list_open(p)) == -1)
		return -1;
	while (r == 0) {
		if ((o = push(p, &b, sizeof(*o))) == NULL)
			return -1;
		d->outputs = (struct gr_drv_output *)b.data;
		d->noutputs++;
		if (expect(p, '(') == -1 ||
		    parse_str(p, &o->name, STR_OUTPUT_NAME) == -1 ||
		    expect(p, ',') == -1 ||
		    parse_str(p, &o->path, STR_OUTPUT_PATH) == -1 ||
		    expect(p, ',') == -1 ||
		    parse_str(p, &o->hash_algo, STR_ANY) == -1 ||
		    expect(p, ',') == -1 ||
		    parse_str(p, &o->hash, STR_ANY) == -1 ||
		    expect(p, ')') == -1)
			return -1;
		if ((r = list_next(p)) == -1)
			return -1;
	}
	return 0;
}

/* [("drvPath",["out",...]),...] */
static int
parse_inputs(struct parser *p, struct gr_drv *d)
{
	struct gr_buf		 b = GR_BUF_INIT;	/* its data is d's */
	struct gr_drv_input	*in;
	int			 r;

	if ((r = list_open(p)) == -1)
		return -1;
	while (r == 0) {
		if ((in = push(p, &b, sizeof(*in))) == NULL)
			return -1;
		d->inputs = (struct gr_drv_input *)b.data;
		d->ninputs++;
		if (expect(p, '(') == -1 ||
		    parse_str(p, &in->path, STR_DRV_PATH) == -1 ||
		    expect(p, ',') == -1 ||
		    parse_strs(p, &in->outputs, &in->noutputs,
		    STR_OUTPUT_NAME) == -1 ||
		    expect(p, ')') == -1)
			return -1;
		if ((r = list_next(p)) == -1)
			return -1;
	}
	return 0;
}

/* [("key","value"),...] */
static int
parse_env(struct parser *p, struct gr_drv *d)
{
	struct gr_buf		 b = GR_BUF_INIT;	/* its data is d's */
	struct gr_drv_env	*e;
	int			 r;

	if ((r = list_open(p)) == -1)
		return -1;
	while (r == 0) {
		if ((e = push(p, &b, sizeof(*e))) == NULL)
			return -1;
		d->env = (struct gr_drv_env *)b.data;
		d->nenv++;
		if (expect(p, '(') == -1 ||
		    parse_str(p, &e->key, STR_ANY) == -1 ||
		    expect(p, ',') == -1 ||
		    parse_str(p, &e->value, STR_ANY) == -1 ||
		    expect(p, ')') == -1)
			return -1;
		if ((r = list_next(p)) == -1)
			return -1;
	}
	return 0;
}

static int
parse(struct parser *p, struct gr_drv *d)
{
	int	 rc = -1;

	memset(d, 0, sizeof(*d));
	if (p->err != NULL && p->errsz > 0)
		p->err[0] = '\0';
	if (p->buf == NULL && p->len > 0) {
		fail(p, 0, "no buffer");
		goto out;
	}
	if (expect_word(p, "Derive") == -1 || expect(p, '(') == -1 ||
	    parse_outputs(p, d) == -1 || expect(p, ',') == -1 ||
	    parse_inputs(p, d) == -1 || expect(p, ',') == -1 ||
	    parse_strs(p, &d->srcs, &d->nsrcs, STR_STORE_PATH) == -1 ||
	    expect(p, ',') == -1 ||
	    parse_str(p, &d->platform, STR_ANY) == -1 ||
	    expect(p, ',') == -1 ||
	    parse_str(p, &d->builder, STR_ANY) == -1 ||
	    expect(p, ',') == -1 ||
	    parse_strs(p, &d->args, &d->nargs, STR_ANY) == -1 ||
	    expect(p, ',') == -1 ||
	    parse_env(p, d) == -1 || expect(p, ')') == -1)
		goto out;
	if (p->pos != p->len) {
		fail(p, p->pos, "trailing data after the derivation");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		gr_drv_release(d);
	return rc;
}

int
gr_drv_parse(const char *buf, size_t len, struct gr_drv *d, char *err,
    size_t errsz)
{
	struct parser	 p = { buf, len, 0, NULL, err, errsz };

	return parse(&p, d);
}

int
gr_drv_read(const char *path, struct gr_drv *d, char *err, size_t errsz)
{
	struct parser	 p = { NULL, 0, 0, path, err, errsz };
	struct gr_buf	 b = GR_BUF_INIT;
	struct stat	 st;
	ssize_t		 n;
	size_t		 want = 4096;
	int		 fd = -1, rc = -1;

	memset(d, 0, sizeof(*d));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (err != NULL && errsz > 0)
			snprintf(err, errsz, "cannot open '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	/* The size is a hint: read until EOF whatever it says. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		if ((unsigned long long)st.st_size >= DRV_MAX_SIZE)
			goto toobig;
		want = (size_t)st.st_size + 1;	/* + 1: EOF shows at once */
	}
	gr_buf_set_max(&b, DRV_MAX_SIZE);
	for (;;) {
		if (b.cap - (b.cap > 0) <= b.len &&
		    gr_buf_reserve(&b, want) == -1) {
			if (b.len + want >= DRV_MAX_SIZE)
				goto toobig;
			if (err != NULL && errsz > 0)
				snprintf(err, errsz, "cannot read '%s': out "
				    "of memory", path);
			goto out;
		}
		n = read(fd, b.data + b.len, b.cap - 1 - b.len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			if (err != NULL && errsz > 0)
				snprintf(err, errsz, "cannot read '%s': %s",
				    path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		b.data[b.len] = '\0';	/* keep gr_buf's invariant */
		want = b.len;		/* if it grew after all: double */
	}
	p.buf = b.data;
	p.len = b.len;
	rc = parse(&p, d);
	goto out;
toobig:
	if (err != NULL && errsz > 0)
		snprintf(err, errsz, "cannot read '%s': file too large (limit "
		    "%zu bytes)", path, DRV_MAX_SIZE - 1);
out:
	if (fd != -1)
		close(fd);
	gr_buf_release(&b);
	return rc;
}

const char *
gr_drv_env_get(const struct gr_drv *d, const char *key)
{
	size_t	 lo = 0, hi = d->nenv, mid, i;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(key, d->env[mid].key)) == 0)
			return d->env[mid].value;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* Missed: absent, or the env is not sorted after all. */
	for (i = 0; i < d->nenv; i++)
		if (strcmp(key, d->env[i].key) == 0)
			return d->env[i].value;
	return NULL;
}

const char *
gr_drv_name(const struct gr_drv *d)
{
	const char	*s;
	size_t		 i;

	if ((s = gr_drv_env_get(d, "name")) != NULL && s[0] != '\0')
		return s;
	/* The "out" path's name is the derivation's; others add "-doc". */
	for (i = 0; i < d->noutputs; i++)
		if (strcmp(d->outputs[i].name, "out") == 0 &&
		    gr_store_path_valid(d->outputs[i].path))
			return d->outputs[i].path + NAME_OFFSET;
	for (i = 0; i < d->noutputs; i++)
		if (gr_store_path_valid(d->outputs[i].path))
			return d->outputs[i].path + NAME_OFFSET;
	return NULL;
}

void
gr_drv_release(struct gr_drv *d)
{
	size_t	 i, j;

	if (d == NULL)
		return;
	for (i = 0; i < d->noutputs; i++) {
		free(d->outputs[i].name);
		free(d->outputs[i].path);
		free(d->outputs[i].hash_algo);
		free(d->outputs[i].hash);
	}
	free(d->outputs);
	for (i = 0; i < d->ninputs; i++) {
		free(d->inputs[i].path);
		for (j = 0; j < d->inputs[i].noutputs; j++)
			free(d->inputs[i].outputs[j]);
		free(d->inputs[i].outputs);
	}
	free(d->inputs);
	for (i = 0; i < d->nsrcs; i++)
		free(d->srcs[i]);
	free(d->srcs);
	free(d->platform);
	free(d->builder);
	for (i = 0; i < d->nargs; i++)
		free(d->args[i]);
	free(d->args);
	for (i = 0; i < d->nenv; i++) {
		free(d->env[i].key);
		free(d->env[i].value);
	}
	free(d->env);
	memset(d, 0, sizeof(*d));
}
