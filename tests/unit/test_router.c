#include <criterion/criterion.h>
Test(router, placeholder) { cr_assert(1); }
