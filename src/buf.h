/*
 * buf.h - growable byte buffer; the only one in the project.
 *
 * The struct belongs to whoever declared it.  While cap > 0, data[len] is
 * '\0', so a buffer of text is always a C string.  gr_buf_release() frees
 * data; gr_buf_detach() hands data to the caller, who free(3)s it.  Growth
 * is overflow-checked and may be capped with gr_buf_set_max().
 */
#ifndef GRADIENT_BUF_H
#define GRADIENT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct gr_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* 0: no limit */
};
#define GR_BUF_INIT	{ NULL, 0, 0, 0 }

/* All return 0, or -1 when memory or the cap runs out (buffer unchanged). */
int	 gr_buf_add(struct gr_buf *, const void *, size_t);
int	 gr_buf_adds(struct gr_buf *, const char *);
int	 gr_buf_addc(struct gr_buf *, char);
/* The decimal digits of v, without printf (for hot paths). */
int	 gr_buf_addu(struct gr_buf *, unsigned long long);
int	 gr_buf_addf(struct gr_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 gr_buf_vaddf(struct gr_buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
int	 gr_buf_reserve(struct gr_buf *, size_t);
void	 gr_buf_set_max(struct gr_buf *, size_t);
void	 gr_buf_reset(struct gr_buf *);
void	 gr_buf_release(struct gr_buf *);
char	*gr_buf_detach(struct gr_buf *, size_t *);
/* A C string even when empty; borrowed until the next change. */
const char *gr_buf_str(const struct gr_buf *);

/*
 * The decimal digits of v into out, NUL-terminated; returns their count.
 * out has room for GR_UTOA_LEN bytes.
 */
#define GR_UTOA_LEN	21
size_t	 gr_utoa(unsigned long long, char *);

#endif /* GRADIENT_BUF_H */
