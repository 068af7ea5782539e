/*
** mc_tests.h — shared by the C unit tests of the core (one binary,
** mc_core_tests): one pass/fail count for the whole binary (defined in
** test_core.c), the CHECK macro every test file uses, and each file's entry point.
*/
#ifndef MC_TESTS_H
#define MC_TESTS_H

#include <stdio.h>

extern int mc_tests_passed, mc_tests_failed;

/* Count cond as a pass, or as a failure reported with its file and line. */
#define CHECK(cond)                                                     \
  do {                                                                  \
    if (cond) mc_tests_passed++;                                        \
    else {                                                              \
      mc_tests_failed++;                                                \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
    }                                                                   \
  } while (0)

void mc_test_http1(void);        /* test_http1.c: HTTP/1.1 framing (mc_http1_*), header list */
void mc_test_imgurl(void);       /* test_imgurl.c: image URLs and JWTs */
void mc_test_sparevideos(void);  /* test_sparevideos.c: PHP JSON writer and signer */
void mc_test_tus(void);          /* test_tus.c: tus state machine, wire helpers, fingerprints */
void mc_test_json(void);          /* test_json.c: the JSON parser (events, limits, cJSON compatibility) */
void mc_test_hardening(void);    /* test_hardening.c: regressions from sanitizers and fuzzing */

#endif
