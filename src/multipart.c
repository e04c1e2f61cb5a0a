/*
 * multipart.c - a strict multipart/form-data parser (see multipart.h).
 *
 * The whole body is in memory (fcgi/main.c read at most max_body_size
 * bytes), so the parser works on one buffer: find the first delimiter,
 * then for each part read its header block, then search for the next
 * "CRLF--boundary".  Every length is checked against what is left of the
 * body before it is used.  Called by fcgi/builds.c for POST /builds.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/http.h"
#include "src/multipart.h"

#define HEADER_BLOCK_MAX	8192	/* bytes of one part's header block */

/* RFC 2046 bcharsnospace, plus the space allowed inside a boundary. */
static int
bchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c) != NULL;
}

/* RFC 7230 tchar. */
static int
tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *
skip_ws(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/*
 * A parameter value at *sp (before e): a quoted-string (quoted-pairs
 * undone) or a token.  Copies at most outsz - 1 bytes into out; -1 when
 * the value is malformed, too long or holds control characters.
 */
static int
param_value(const char **sp, const char *e, char *out, size_t outsz,
    size_t *outlen)
{
	const char	*s = *sp;
	size_t		 n = 0;

	if (s < e && *s == '"') {
		for (s++; s < e && *s != '"'; s++) {
			if (*s == '\\') {
				if (++s == e)
					return -1;
			}
			if ((unsigned char)*s < 0x20 || *s == 0x7f ||
			    n + 1 >= outsz)
				return -1;
			out[n++] = *s;
		}
		if (s == e)
			return -1;	/* unterminated */
		s++;
	} else {
		for (; s < e && *s != ';' && *s != ' ' && *s != '\t'; s++) {
			if ((unsigned char)*s < 0x20 || *s == 0x7f ||
			    n + 1 >= outsz)
				return -1;
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	*outlen = n;
	*sp = s;
	return 0;
}

/*
 * Walk the "; name=value" parameters of a header value from s to e,
 * calling fn for each; -1 when one is malformed or fn refuses it.
 */
static int
params(const char *s, const char *e, int (*fn)(void *, const char *, size_t,
    const char *, size_t), void *arg)
{
	char		 val[GR_MULTIPART_NAME_MAX + 1];
	const char	*name;
	size_t		 nlen, vlen;

	for (;;) {
		s = skip_ws(s, e);
		if (s == e)
			return 0;
		if (*s != ';')
			return -1;
		s = skip_ws(s + 1, e);
		if (s == e)
			return 0;	/* a trailing ';' is harmless */
		for (name = s; s < e && tchar(*s); s++)
			;
		if ((nlen = (size_t)(s - name)) == 0)
			return -1;
		s = skip_ws(s, e);
		if (s == e || *s != '=')
			return -1;
		s = skip_ws(s + 1, e);
		if (param_value(&s, e, val, sizeof(val), &vlen) == -1)
			return -1;
		if (fn(arg, name, nlen, val, vlen) == -1)
			return -1;
	}
}

struct ctype_params {
	char	*out;
	size_t	 outsz;
	int	 found;
	int	 bad;
};

static int
ctype_param(void *arg, const char *name, size_t nlen, const char *val,
    size_t vlen)
{
	struct ctype_params	*cp = arg;
	size_t			 i;

	if (nlen != 8 || strncasecmp(name, "boundary", 8) != 0)
		return 0;
	if (cp->found++ || vlen == 0 || vlen > GR_MULTIPART_BOUNDARY_MAX ||
	    vlen >= cp->outsz || val[vlen - 1] == ' ') {
		cp->bad = 1;
		return -1;
	}
	for (i = 0; i < vlen; i++)
		if (!bchar(val[i])) {
			cp->bad = 1;
			return -1;
		}
	memcpy(cp->out, val, vlen + 1);
	return 0;
}

int
gr_multipart_boundary(const char *ct, char *out, size_t outsz, char *err,
    size_t errsz)
{
	static const char	 type[] = "multipart/form-data";
	struct ctype_params	 cp = { out, outsz, 0, 0 };
	const char		*s, *e;

	if (outsz > 0)
		out[0] = '\0';
	if (ct == NULL) {
		snprintf(err, errsz, "expected Content-Type "
		    "multipart/form-data");
		return -1;
	}
	e = ct + strlen(ct);
	s = skip_ws(ct, e);
	if (strncasecmp(s, type, sizeof(type) - 1) != 0 ||
	    tchar(s[sizeof(type) - 1])) {
		snprintf(err, errsz, "expected Content-Type "
		    "multipart/form-data");
		return -1;
	}
	s += sizeof(type) - 1;
	if (params(s, e, ctype_param, &cp) == -1 || cp.found == 0) {
		snprintf(err, errsz, cp.found == 0 && !cp.bad ?
		    "Content-Type has no boundary" :
		    "Content-Type has an invalid boundary");
		return -1;
	}
	return 0;
}

struct disposition {
	char	*name;
	char	*filename;
	int	 dup;
};

static int
disposition_param(void *arg, const char *name, size_t nlen, const char *val,
    size_t vlen)
{
	struct disposition	*d = arg;
	char			**slot;

	if (nlen == 4 && strncasecmp(name, "name", 4) == 0)
		slot = &d->name;
	else if (nlen == 8 && strncasecmp(name, "filename", 8) == 0)
		slot = &d->filename;
	else
		return 0;	/* e.g. filename*, which we do not need */
	if (*slot != NULL) {
		d->dup = 1;
		return -1;
	}
	if (!gr_valid_utf8(val, vlen))
		return -1;
	if ((*slot = strndup(val, vlen)) == NULL)
		return -1;
	return 0;
}

/* Content-Disposition: form-data; name="..."[; filename="..."]. */
static int
disposition(const char *s, const char *e, struct gr_mpart *p, char *err,
    size_t errsz)
{
	static const char	 type[] = "form-data";
	struct disposition	 d = { NULL, NULL, 0 };

	s = skip_ws(s, e);
	if ((size_t)(e - s) < sizeof(type) - 1 ||
	    strncasecmp(s, type, sizeof(type) - 1) != 0 ||
	    (s + sizeof(type) - 1 < e && tchar(s[sizeof(type) - 1]))) {
		snprintf(err, errsz, "expected Content-Disposition "
		    "form-data");
		return -1;
	}
	if (params(s + sizeof(type) - 1, e, disposition_param, &d) == -1 ||
	    d.name == NULL || d.name[0] == '\0') {
		snprintf(err, errsz, d.dup ? "Content-Disposition repeats a "
		    "parameter" : "Content-Disposition needs a valid name");
		free(d.name);
		free(d.filename);
		return -1;
	}
	p->name = d.name;
	p->filename = d.filename;
	return 0;
}

/*
 * The header block of a part from *sp: lines up to an empty line.  Only
 * Content-Disposition is read; other headers (Content-Type) are checked
 * for form and skipped.
 */
static int
part_headers(const char **sp, const char *end, struct gr_mpart *p, char *err,
    size_t errsz)
{
	const char	*s = *sp, *eol, *colon, *c;
	int		 seen = 0;

	for (;;) {
		if ((size_t)(s - *sp) > HEADER_BLOCK_MAX) {
			snprintf(err, errsz, "part headers are longer than %d "
			    "bytes", HEADER_BLOCK_MAX);
			return -1;
		}
		eol = memmem(s, (size_t)(end - s), "\r\n", 2);
		if (eol == NULL) {
			snprintf(err, errsz, "body ends inside part headers");
			return -1;
		}
		if (eol == s)
			break;
		if (*s == ' ' || *s == '\t') {
			snprintf(err, errsz, "folded part headers are not "
			    "accepted");
			return -1;
		}
		for (c = s; c < eol; c++)
			if (((unsigned char)*c < 0x20 && *c != '\t') ||
			    *c == 0x7f) {
				snprintf(err, errsz, "control character in "
				    "part headers");
				return -1;
			}
		for (colon = s; colon < eol && tchar(*colon); colon++)
			;
		if (colon == s || colon == eol || *colon != ':') {
			snprintf(err, errsz, "malformed part header");
			return -1;
		}
		if (colon - s == 19 &&
		    strncasecmp(s, "Content-Disposition", 19) == 0) {
			if (seen++) {
				snprintf(err, errsz, "part has two "
				    "Content-Disposition headers");
				return -1;
			}
			if (disposition(colon + 1, eol, p, err, errsz) == -1)
				return -1;
		}
		s = eol + 2;
	}
	if (!seen) {
		snprintf(err, errsz, "part has no Content-Disposition");
		return -1;
	}
	*sp = s + 2;
	return 0;
}

void
gr_multipart_release(struct gr_multipart *mp)
{
	size_t	 i;

	for (i = 0; i < mp->nparts; i++) {
		free(mp->parts[i].name);
		free(mp->parts[i].filename);
	}
	free(mp->parts);
	mp->parts = NULL;
	mp->nparts = 0;
}

int
gr_multipart_parse(const char *body, size_t len, const char *boundary,
    size_t maxparts, struct gr_multipart *mp, char *err, size_t errsz)
{
	char		 delim[GR_MULTIPART_BOUNDARY_MAX + 5];
	const char	*end = body + len, *s, *next;
	struct gr_mpart	*p;
	size_t		 blen = strlen(boundary), dlen;

	mp->parts = NULL;
	mp->nparts = 0;
	if (blen == 0 || blen > GR_MULTIPART_BOUNDARY_MAX) {
		snprintf(err, errsz, "invalid boundary");
		return -1;
	}
	/* "\r\n--boundary": the delimiter inside the body. */
	dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
		s = body + dlen - 2;
	else if ((s = memmem(body, len, delim, dlen)) != NULL)
		s += dlen;	/* after a preamble */
	else {
		snprintf(err, errsz, "body does not contain the boundary");
		return -1;
	}
	if ((mp->parts = calloc(maxparts > 0 ? maxparts : 1,
	    sizeof(*mp->parts))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	for (;;) {
		/* s is just after a delimiter. */
		if (end - s >= 2 && s[0] == '-' && s[1] == '-')
			return 0;	/* close delimiter; epilogue ignored */
		s = skip_ws(s, end);
		if (end - s < 2 || s[0] != '\r' || s[1] != '\n') {
			snprintf(err, errsz, "malformed boundary line");
			goto fail;
		}
		s += 2;
		if (mp->nparts == maxparts) {
			snprintf(err, errsz, "more than %zu parts", maxparts);
			goto fail;
		}
		/* Counted at once, so that the names are freed on failure. */
		p = &mp->parts[mp->nparts++];
		if (part_headers(&s, end, p, err, errsz) == -1)
			goto fail;
		if ((next = memmem(s, (size_t)(end - s), delim,
		    dlen)) == NULL) {
			snprintf(err, errsz, "body ends before the closing "
			    "boundary");
			goto fail;
		}
		p->data = s;
		p->len = (size_t)(next - s);
		s = next + dlen;
	}
fail:
	gr_multipart_release(mp);
	return -1;
}
