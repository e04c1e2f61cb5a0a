/*
 * test_buf.c - unit tests for src/buf.c, the growable byte buffer.
 *
 * The invariants under test are the ones buf.h promises: data[len] is
 * '\0' whenever cap > 0, a refused growth leaves the buffer as it was,
 * growth never overflows, and detach hands the memory to the caller.
 */
#include "config.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "src/buf.h"

/*
 * Make fresh heap memory non-zero, so that a missing terminator shows up
 * as garbage rather than passing by luck.  glibc fills new blocks with
 * ~perturb only when they come from its main allocator, not from the
 * per-thread cache of freed blocks, so first use up the cached blocks of
 * the size gr_buf allocates first (64 bytes).  ASan's allocator fills new
 * blocks with 0xbe by itself and ignores mallopt.  Call it in the test
 * body: Criterion allocates and frees between .init and the body.
 */
#define NHOLD	64
static void	*held[NHOLD];

static void
dirty_heap(void)
{
	size_t	 i;

	(void)mallopt(M_PERTURB, 0x55);
	for (i = 0; i < NHOLD; i++)
		held[i] = malloc(64);
}

static void
clean_heap(void)
{
	size_t	 i;

	for (i = 0; i < NHOLD; i++)
		free(held[i]);
}

TestSuite(buf, .fini = clean_heap);

Test(buf, init_is_empty_c_string)
{
	struct gr_buf	 b = GR_BUF_INIT;

	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	cr_assert_str_eq(gr_buf_str(&b), "");
}

Test(buf, add_appends_and_nul_terminates)
{
	struct gr_buf	 b = GR_BUF_INIT;

	cr_assert_eq(gr_buf_add(&b, "abc", 3), 0);
	cr_assert_eq(b.len, 3);
	cr_assert_gt(b.cap, b.len);
	cr_assert_eq(b.data[3], '\0');
	cr_assert_eq(gr_buf_add(&b, "de", 2), 0);
	cr_assert_eq(b.len, 5);
	cr_assert_str_eq(b.data, "abcde");
	cr_assert_eq(gr_buf_adds(&b, "fg"), 0);
	cr_assert_eq(gr_buf_addc(&b, 'h'), 0);
	cr_assert_eq(b.len, 8);
	cr_assert_str_eq(gr_buf_str(&b), "abcdefgh");
	gr_buf_release(&b);
}

Test(buf, add_zero_bytes_to_empty_buffer_gives_empty_string)
{
	struct gr_buf	 b = GR_BUF_INIT;

	cr_assert_eq(gr_buf_add(&b, "", 0), 0);
	cr_assert_not_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.data[0], '\0');
	gr_buf_release(&b);
}

Test(buf, add_keeps_binary_data_with_embedded_nul)
{
	struct gr_buf	 b = GR_BUF_INIT;

	cr_assert_eq(gr_buf_add(&b, "a\0b", 3), 0);
	cr_assert_eq(b.len, 3);
	cr_assert_eq(memcmp(b.data, "a\0b", 3), 0);
	cr_assert_eq(b.data[3], '\0');
	gr_buf_release(&b);
}

Test(buf, add_grows_across_many_reallocations)
{
	struct gr_buf	 b = GR_BUF_INIT;
	size_t		 i;

	for (i = 0; i < 10000; i++) {
		cr_assert_eq(gr_buf_addc(&b, (char)('a' + i % 26)), 0);
		cr_assert_eq(b.len, i + 1);
		cr_assert_gt(b.cap, b.len);
		cr_assert_eq(b.data[b.len], '\0');
	}
	for (i = 0; i < 10000; i++)
		cr_assert_eq(b.data[i], (char)('a' + i % 26), "byte %zu", i);
	cr_assert_eq(strlen(b.data), 10000);
	gr_buf_release(&b);
}

Test(buf, add_one_large_block)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*big;
	size_t		 n = 1 << 20;

	big = malloc(n);
	cr_assert_not_null(big);
	memset(big, 'z', n);
	cr_assert_eq(gr_buf_adds(&b, "<"), 0);
	cr_assert_eq(gr_buf_add(&b, big, n), 0);
	cr_assert_eq(b.len, n + 1);
	cr_assert_geq(b.cap, n + 2);
	cr_assert_eq(b.data[0], '<');
	cr_assert_eq(b.data[n], 'z');
	cr_assert_eq(b.data[n + 1], '\0');
	free(big);
	gr_buf_release(&b);
}

Test(buf, addf_formats_and_appends)
{
	struct gr_buf	 b = GR_BUF_INIT;

	cr_assert_eq(gr_buf_addf(&b, "%s=%d", "n", 42), 0);
	cr_assert_eq(gr_buf_addf(&b, ", %05.1f|%-3s|", 3.14159, "x"), 0);
	cr_assert_str_eq(b.data, "n=42, 003.1|x  |");
	cr_assert_eq(b.len, strlen("n=42, 003.1|x  |"));
	gr_buf_release(&b);
}

Test(buf, addf_grows_past_initial_capacity)
{
	struct gr_buf	 b = GR_BUF_INIT;
	size_t		 i;

	cr_assert_eq(gr_buf_adds(&b, "x"), 0);
	cr_assert_eq(gr_buf_addf(&b, "%0500d", 7), 0);
	cr_assert_eq(b.len, 501);
	cr_assert_eq(b.data[0], 'x');
	for (i = 1; i < 500; i++)
		cr_assert_eq(b.data[i], '0', "byte %zu", i);
	cr_assert_eq(b.data[500], '7');
	cr_assert_eq(b.data[501], '\0');
	gr_buf_release(&b);
}

Test(buf, addf_empty_result_on_empty_buffer_is_empty_string)
{
	struct gr_buf	 b = GR_BUF_INIT;

	cr_assert_eq(gr_buf_addf(&b, "%s", ""), 0);
	cr_assert_not_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.data[0], '\0');
	gr_buf_release(&b);
}

Test(buf, max_allows_exactly_max_bytes)
{
	struct gr_buf	 b = GR_BUF_INIT;

	gr_buf_set_max(&b, 10);
	cr_assert_eq(gr_buf_adds(&b, "0123456789"), 0);
	cr_assert_eq(b.len, 10);
	cr_assert_leq(b.cap, 11, "cap %zu exceeds max + 1", b.cap);
	cr_assert_str_eq(b.data, "0123456789");
	gr_buf_release(&b);
}

Test(buf, max_refuses_growth_and_leaves_buffer_unchanged)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*data;
	size_t		 cap;

	gr_buf_set_max(&b, 10);
	cr_assert_eq(gr_buf_adds(&b, "01234567"), 0);
	data = b.data;
	cap = b.cap;
	cr_assert_eq(gr_buf_adds(&b, "abc"), -1);
	cr_assert_eq(gr_buf_addf(&b, "%s", "abc"), -1);
	cr_assert_eq(gr_buf_reserve(&b, 3), -1);
	cr_assert_eq(b.len, 8);
	cr_assert_eq(b.data, data);
	cr_assert_eq(b.cap, cap);
	cr_assert_str_eq(b.data, "01234567");
	/* What still fits is still accepted. */
	cr_assert_eq(gr_buf_adds(&b, "89"), 0);
	cr_assert_str_eq(b.data, "0123456789");
	cr_assert_eq(gr_buf_addc(&b, 'x'), -1);
	cr_assert_str_eq(b.data, "0123456789");
	gr_buf_release(&b);
}

Test(buf, max_refuses_first_add_larger_than_max)
{
	struct gr_buf	 b = GR_BUF_INIT;

	gr_buf_set_max(&b, 4);
	cr_assert_eq(gr_buf_adds(&b, "hello"), -1);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	cr_assert_str_eq(gr_buf_str(&b), "");
}

Test(buf, reserve_size_max_overflows_and_is_refused)
{
	struct gr_buf	 b = GR_BUF_INIT;

	cr_assert_eq(gr_buf_reserve(&b, SIZE_MAX), -1);
	cr_assert_null(b.data);
	cr_assert_eq(gr_buf_adds(&b, "abcde"), 0);
	cr_assert_eq(gr_buf_reserve(&b, SIZE_MAX), -1);
	cr_assert_eq(gr_buf_reserve(&b, SIZE_MAX - 5), -1);
	cr_assert_eq(gr_buf_reserve(&b, SIZE_MAX - 6), -1);
	cr_assert_eq(gr_buf_add(&b, "x", SIZE_MAX), -1);
	cr_assert_eq(b.len, 5);
	cr_assert_str_eq(b.data, "abcde");
	gr_buf_release(&b);
}

Test(buf, reserve_makes_room_without_changing_content)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*data;

	cr_assert_eq(gr_buf_adds(&b, "abc"), 0);
	cr_assert_eq(gr_buf_reserve(&b, 1000), 0);
	cr_assert_geq(b.cap, 1004);
	cr_assert_eq(b.len, 3);
	cr_assert_str_eq(b.data, "abc");
	/* The reserved room is used without another reallocation. */
	data = b.data;
	cr_assert_eq(gr_buf_addf(&b, "%0997d", 0), 0);
	cr_assert_eq(b.data, data);
	cr_assert_eq(b.len, 1000);
	gr_buf_release(&b);
}

/*
 * buf.h: "While cap > 0, data[len] is '\0'".  Reserving on a fresh buffer
 * allocates (cap > 0) without writing the terminator.
 */
Test(buf, reserve_on_empty_buffer_keeps_nul_terminator)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		 c;

	dirty_heap();
	cr_assert_eq(gr_buf_reserve(&b, 10), 0);
	cr_assert_gt(b.cap, 0);
	cr_assert_eq(b.len, 0);
	c = b.data[b.len];
	gr_buf_release(&b);
	cr_assert_eq(c, '\0',
	    "data[len] is 0x%02x, not NUL, after reserve on an empty buffer",
	    (unsigned char)c);
}

Test(buf, detach_hands_ownership_to_caller)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*p;
	size_t		 len = 0;

	cr_assert_eq(gr_buf_adds(&b, "hello"), 0);
	p = gr_buf_detach(&b, &len);
	cr_assert_not_null(p);
	cr_assert_eq(len, 5);
	cr_assert_str_eq(p, "hello");
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	cr_assert_str_eq(gr_buf_str(&b), "");
	/* The buffer is usable again and does not share p. */
	cr_assert_eq(gr_buf_adds(&b, "x"), 0);
	cr_assert_neq(b.data, p);
	cr_assert_str_eq(p, "hello");
	free(p);
	gr_buf_release(&b);
}

Test(buf, detach_accepts_null_length)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*p;

	cr_assert_eq(gr_buf_adds(&b, "abc"), 0);
	p = gr_buf_detach(&b, NULL);
	cr_assert_str_eq(p, "abc");
	free(p);
}

/* Detaching a buffer that never held anything must give "", not garbage. */
Test(buf, detach_of_empty_buffer_is_empty_string)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*p, c;
	size_t		 len = 99;

	dirty_heap();
	p = gr_buf_detach(&b, &len);
	cr_assert_not_null(p);
	cr_assert_eq(len, 0);
	c = p[0];
	free(p);
	cr_assert_eq(c, '\0',
	    "detached empty buffer starts with 0x%02x, not NUL",
	    (unsigned char)c);
}

Test(buf, reset_empties_but_keeps_memory)
{
	struct gr_buf	 b = GR_BUF_INIT;
	char		*data;
	size_t		 cap;

	cr_assert_eq(gr_buf_adds(&b, "some text"), 0);
	data = b.data;
	cap = b.cap;
	gr_buf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.data, data);
	cr_assert_eq(b.cap, cap);
	cr_assert_str_eq(b.data, "");
	cr_assert_eq(gr_buf_adds(&b, "new"), 0);
	cr_assert_str_eq(b.data, "new");
	gr_buf_release(&b);
}

Test(buf, reset_of_unallocated_buffer_is_harmless)
{
	struct gr_buf	 b = GR_BUF_INIT;

	gr_buf_reset(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(gr_buf_str(&b), "");
}

Test(buf, release_frees_and_can_be_repeated)
{
	struct gr_buf	 b = GR_BUF_INIT;

	cr_assert_eq(gr_buf_adds(&b, "abc"), 0);
	gr_buf_release(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	gr_buf_release(&b);
	cr_assert_null(b.data);
	cr_assert_str_eq(gr_buf_str(&b), "");
}

Test(buf, decimal_digits_without_printf)
{
	static const unsigned long long	 v[] = { 0, 7, 10, 200, 413,
	    1234567890ULL, 18446744073709551615ULL };
	struct gr_buf			 b = GR_BUF_INIT;
	char				 out[GR_UTOA_LEN], want[32];
	size_t				 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(want, sizeof(want), "%llu", v[i]);
		cr_assert_eq(gr_utoa(v[i], out), strlen(want));
		cr_assert_str_eq(out, want);
		gr_buf_reset(&b);
		cr_assert_eq(gr_buf_adds(&b, "n="), 0);
		cr_assert_eq(gr_buf_addu(&b, v[i]), 0);
		cr_assert_eq(b.len, 2 + strlen(want));
		cr_assert_str_eq(gr_buf_str(&b) + 2, want);
	}
	gr_buf_release(&b);
}
