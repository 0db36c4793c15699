/* The unit tests' one main() (check_main.c) runs the suite its test file defines here. */
#ifndef CROWCAST_CHECK_MAIN_H
#define CROWCAST_CHECK_MAIN_H

#include <check.h>

Suite *crow_test_suite(void);

#endif
