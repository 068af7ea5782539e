/*
** mc_tests.h — shared by the C unit tests of the core (one binary,
** mc_core_tests): each test file adds to the pass/fail counts of main().
*/
#ifndef MC_TESTS_H
#define MC_TESTS_H

/* test_http1.c: HTTP/1.1 framing (mc_http1_*) and the header list. */
void mc_test_http1(int *passed, int *failed);

#endif
