/*
 * multipart.h - a strict multipart/form-data parser (RFC 7578, RFC 2046).
 *
 * gr_multipart_boundary() takes the boundary out of a Content-Type value;
 * gr_multipart_parse() splits a whole request body into its parts.  The
 * parser refuses what a browser or curl would never send: header folding,
 * a part without a Content-Disposition of form-data with a name, control
 * characters in names, a body that does not end with the close delimiter.
 * A part's data points into the body (borrowed for as long as the body
 * lives); names are copies that gr_multipart_release() frees.
 */
#ifndef GRADIENT_MULTIPART_H
#define GRADIENT_MULTIPART_H

#include <stddef.h>

#define GR_MULTIPART_BOUNDARY_MAX	70	/* RFC 2046 */
#define GR_MULTIPART_NAME_MAX		1024	/* bytes of a (file)name */

struct gr_mpart {
	char		*name;		/* the form field name */
	char		*filename;	/* NULL when the part has none */
	const char	*data;		/* borrowed from the body */
	size_t		 len;
};

struct gr_multipart {
	struct gr_mpart	*parts;
	size_t		 nparts;
};

/*
 * The boundary parameter of a multipart/form-data Content-Type value,
 * copied into out (at least GR_MULTIPART_BOUNDARY_MAX + 1 bytes).  0, or
 * -1 with a message in err when the type is not multipart/form-data or the
 * boundary is missing or invalid.
 */
int	 gr_multipart_boundary(const char *, char *, size_t, char *, size_t);
/*
 * Parse body (len bytes) delimited by boundary into mp, at most maxparts
 * parts.  0, or -1 with a message in err (mp is then empty).  The caller
 * releases mp with gr_multipart_release() either way.
 */
int	 gr_multipart_parse(const char *, size_t, const char *, size_t,
	    struct gr_multipart *, char *, size_t);
void	 gr_multipart_release(struct gr_multipart *);

#endif /* GRADIENT_MULTIPART_H */
