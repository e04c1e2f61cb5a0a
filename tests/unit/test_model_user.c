#include <criterion/criterion.h>
Test(model_user, placeholder) { cr_assert(1); }
