#include <criterion/criterion.h>
Test(json, placeholder) { cr_assert(1); }
