/*
 * fuzz_nix_drv.c - libFuzzer driver for gr_drv_parse() (src/nix_drv.c).
 *
 * Not built by make.  From a configured build directory BUILD:
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -IBUILD \
 *	    tests/fuzz/fuzz_nix_drv.c src/nix_drv.c src/buf.c -o fuzz_nix_drv
 *	mkdir -p corpus && ./fuzz_nix_drv -max_total_time=300 corpus
 *
 * Seed the corpus with real .drv files (the NIX-NOTES §5.1 fixtures).  A
 * crash, a leak, a read past the input or a broken invariant of nix_drv.h
 * (an accepted struct with a NULL string, an invalid store path, an error
 * without "at byte ") is a finding.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/nix_drv.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gr_drv	 d;
	char		 err[128];
	size_t		 i, j;

	if (gr_drv_parse((const char *)data, size, &d, err, sizeof(err)) ==
	    -1) {
		if (strncmp(err, "at byte ", 8) != 0)
			abort();
		if (d.outputs != NULL || d.noutputs != 0 || d.env != NULL)
			abort();
		return 0;
	}
	for (i = 0; i < d.noutputs; i++) {
		if (d.outputs[i].name[0] == '\0' ||
		    (d.outputs[i].path[0] != '\0' &&
		    !gr_store_path_valid(d.outputs[i].path)) ||
		    d.outputs[i].hash_algo == NULL || d.outputs[i].hash == NULL)
			abort();
	}
	for (i = 0; i < d.ninputs; i++) {
		if (!gr_store_path_valid(d.inputs[i].path))
			abort();
		for (j = 0; j < d.inputs[i].noutputs; j++)
			if (d.inputs[i].outputs[j][0] == '\0')
				abort();
	}
	for (i = 0; i < d.nsrcs; i++)
		if (!gr_store_path_valid(d.srcs[i]))
			abort();
	if (d.platform == NULL || d.builder == NULL)
		abort();
	for (i = 0; i < d.nargs; i++)
		if (d.args[i] == NULL)
			abort();
	for (i = 0; i < d.nenv; i++)
		if (gr_drv_env_get(&d, d.env[i].key) == NULL)
			abort();
	(void)gr_drv_name(&d);
	gr_drv_release(&d);
	return 0;
}
