/* Cold load of the BPE encodings: a fresh process per run (fork + exec of
 * this program), which makes a tokenizer and counts one short text.
 *
 * usage: bench_cold [RUNS]   (default 30; prints a table)
 *        bench_cold --child ENCODING
 *
 * Per encoding, over RUNS processes, median and 10th-90th percentiles of:
 *   - process: CPU time (user + system, from wait4) of the whole process,
 *     from exec to exit, and its wall time;
 *   - new: CPU time of tkn_tokenizer_new_encoding alone, inside the child;
 *   - first count: CPU time of the first count of a short sentence;
 *   - RSS: the child's peak resident set, what making the tokenizer and
 *     counting added to it, and the private part of that (from
 *     /proc/self/statm before and after; the rest is pages of the library
 *     file mapped in, which the page cache shares between processes).
 * The baseline is the same process without making a tokenizer ("none"): what
 * starting the program and loading the library cost anyway. */
#define _DEFAULT_SOURCE /* wait4 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tokenomy/tokenizer.h"

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Resident KB, and of it the private part (not backed by a file: memory
 * this process alone holds, unlike mapped pages of the library file, which
 * the page cache shares between processes and can drop). */
static long rss_kb(long *private_kb) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = 0, shared = 0;
  *private_kb = 0;
  if (!f) return 0;
  if (fscanf(f, "%ld %ld %ld", &size, &res, &shared) != 3) res = shared = 0;
  fclose(f);
  long page = sysconf(_SC_PAGESIZE) / 1024;
  *private_kb = (res - shared) * page;
  return res * page;
}

/* The child: make the tokenizer, count once; print "new_ms count_ms
 * rss_added_kb private_added_kb count". */
static int child(const char *enc) {
  static const char text[] = "The quick brown fox jumps over the lazy dog, twice.";
  long priv0 = 0, priv1 = 0, rss0 = rss_kb(&priv0);
  double t0 = cpu_now();
  tkn_tokenizer *tok = NULL;
  if (strcmp(enc, "none") != 0 && tkn_tokenizer_new_encoding(&tok, enc, strlen(enc)) != TKN_OK) {
    fprintf(stderr, "bench_cold: %s: %s\n", enc, tkn_error_last()->message);
    return 1;
  }
  double t1 = cpu_now();
  int64_t n = 0;
  if (tok && tkn_tokenizer_count(tok, text, sizeof text - 1, &n) != TKN_OK) return 1;
  double t2 = cpu_now();
  long rss1 = rss_kb(&priv1);
  printf("%.4f %.4f %ld %ld %lld\n", t1 - t0, t2 - t1, rss1 - rss0, priv1 - priv0,
         (long long)n);
  tkn_tokenizer_free(tok);
  return 0;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void stats(double *v, int n, char *out, size_t cap, const char *fmt) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  char a[32], b[32], c[32];
  snprintf(a, sizeof a, fmt, v[n / 2]);
  snprintf(b, sizeof b, fmt, v[n / 10]);
  snprintf(c, sizeof c, fmt, v[(n * 9) / 10]);
  snprintf(out, cap, "%s (%s-%s)", a, b, c);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(argv[2]);
  int runs = argc > 1 ? atoi(argv[1]) : 30;
  if (runs < 3 || runs > 100000) {
    fprintf(stderr, "usage: bench_cold [RUNS >= 3]\n");
    return 2;
  }
  static const char *encs[] = {"none", "cl100k_base", "o200k_base"};
  printf("cold load, %d fresh processes each: median (10th-90th percentile)\n", runs);
  printf("%-12s %-20s %-20s %-22s %-20s %-16s %-16s %-14s\n", "encoding", "process CPU ms",
         "process wall ms", "new CPU ms", "1st count CPU ms", "RSS added KB", "private added KB",
         "peak RSS KB");
  double *pc = malloc(sizeof(double) * 7 * (size_t)runs);
  if (!pc) return 1;
  double *pw = pc + runs, *nw = pw + runs, *fc = nw + runs, *ra = fc + runs, *pk = ra + runs;
  double *pa = pk + runs;
  for (size_t e = 0; e < sizeof encs / sizeof encs[0]; e++) {
    for (int i = 0; i < runs; i++) {
      int fd[2];
      if (pipe(fd)) return 1;
      double w0 = wall_now();
      pid_t pid = fork();
      if (pid < 0) return 1;
      if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl("/proc/self/exe", argv[0], "--child", encs[e], (char *)NULL);
        _exit(127);
      }
      close(fd[1]);
      char buf[256] = {0};
      ssize_t got = read(fd[0], buf, sizeof buf - 1);
      close(fd[0]);
      int status = 0;
      struct rusage ru;
      if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) ||
          got <= 0) {
        fprintf(stderr, "bench_cold: the child for %s failed\n", encs[e]);
        return 1;
      }
      pw[i] = wall_now() - w0;
      pc[i] = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
              (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
      pk[i] = (double)ru.ru_maxrss;
      long long cnt = 0;
      if (sscanf(buf, "%lf %lf %lf %lf %lld", &nw[i], &fc[i], &ra[i], &pa[i], &cnt) != 5)
        return 1;
    }
    char s[7][128];
    stats(pc, runs, s[0], sizeof s[0], "%.2f");
    stats(pw, runs, s[1], sizeof s[1], "%.2f");
    stats(nw, runs, s[2], sizeof s[2], "%.3f");
    stats(fc, runs, s[3], sizeof s[3], "%.3f");
    stats(ra, runs, s[4], sizeof s[4], "%.0f");
    stats(pk, runs, s[5], sizeof s[5], "%.0f");
    stats(pa, runs, s[6], sizeof s[6], "%.0f");
    printf("%-12s %-20s %-20s %-22s %-20s %-16s %-16s %-14s\n", encs[e], s[0], s[1], s[2], s[3],
           s[4], s[6], s[5]);
  }
  free(pc);
  return 0;
}
