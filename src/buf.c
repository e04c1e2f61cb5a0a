/*
 * buf.c - growable byte buffer (see buf.h for the invariants).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/buf.h"

int
gr_buf_reserve(struct gr_buf *b, size_t extra)
{
	size_t	 need, ncap;
	char	*p;

	if (__builtin_add_overflow(b->len, extra, &need) ||
	    __builtin_add_overflow(need, 1, &need))
		return -1;
	if (b->max != 0 && need > b->max + 1)
		return -1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < need) {
		if (__builtin_mul_overflow(ncap, 2, &ncap))
			return -1;
	}
	if (b->max != 0 && ncap > b->max + 1)
		ncap = b->max + 1;
	if ((p = realloc(b->data, ncap)) == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	b->data[b->len] = '\0';	/* the invariant holds from the first byte */
	return 0;
}

int
gr_buf_add(struct gr_buf *b, const void *p, size_t n)
{
	if (gr_buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
gr_buf_adds(struct gr_buf *b, const char *s)
{
	return gr_buf_add(b, s, strlen(s));
}

size_t
gr_utoa(unsigned long long v, char *out)
{
	char	 digits[GR_UTOA_LEN], *p = digits + sizeof(digits);
	size_t	 n;

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	n = (size_t)(digits + sizeof(digits) - p);
	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

int
gr_buf_addu(struct gr_buf *b, unsigned long long v)
{
	char	 num[GR_UTOA_LEN];

	return gr_buf_add(b, num, gr_utoa(v, num));
}

int
gr_buf_addc(struct gr_buf *b, char c)
{
	return gr_buf_add(b, &c, 1);
}

int
gr_buf_vaddf(struct gr_buf *b, const char *fmt, va_list ap)
{
	va_list	 ap2;
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || gr_buf_reserve(b, (size_t)n) == -1)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
gr_buf_addf(struct gr_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = gr_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void
gr_buf_set_max(struct gr_buf *b, size_t max)
{
	b->max = max;
}

void
gr_buf_reset(struct gr_buf *b)
{
	b->len = 0;
	if (b->cap > 0)
		b->data[0] = '\0';
}

void
gr_buf_release(struct gr_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
gr_buf_detach(struct gr_buf *b, size_t *lenp)
{
	char	*p;

	if (b->data == NULL && gr_buf_reserve(b, 0) == -1)
		return NULL;
	p = b->data;
	if (lenp != NULL)
		*lenp = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *
gr_buf_str(const struct gr_buf *b)
{
	return b->data != NULL ? b->data : "";
}
