#include <criterion/criterion.h>
Test(buf, placeholder) { cr_assert(1); }
