/*
** run_rss.c — benchmark helper: runs a command and reports its wall time and
** peak RSS (wait4's ru_maxrss), for baselines that are command-line tools
** (curl -T). The command's own output passes through first; then one line
** "seconds=... maxrss_kb=..." on stdout. Exits with the command's status.
**
**   run_rss CMD [ARGS...]
*/
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double rr_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  struct rusage ru;
  pid_t pid;
  int status = 0;
  double t0;
  if (argc < 2) {
    fprintf(stderr, "usage: run_rss CMD [ARGS...]\n");
    return 2;
  }
  fflush(stdout);
  t0 = rr_now();
  pid = fork();
  if (pid < 0) {
    perror("run_rss: fork");
    return 2;
  }
  if (pid == 0) {
    execvp(argv[1], argv + 1);
    perror("run_rss: exec");
    _exit(127);
  }
  if (wait4(pid, &status, 0, &ru) != pid) {
    perror("run_rss: wait4");
    return 2;
  }
  printf("seconds=%.4f maxrss_kb=%ld\n", rr_now() - t0, ru.ru_maxrss);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
