/* gt-bench child: what a run measures besides time (bench_now_s): CPU of
 * all threads (getrusage: gt's worker and bdwgc's marker included), peak
 * and current RSS, bdwgc's peak heap (it keeps none: its resize hook does)
 * and its warnings (counted, not printed: ordered finalization prints one
 * line per object caught in a cycle, millions on `graph`).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef GC_THREADS
#define GC_THREADS
#endif
#include <gc/gc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "child.h"

static _Atomic uint64_t g_heap_peak;
static _Atomic uint64_t g_gc_warnings;

void bench_cpu_now(bench_cpu *c) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  c->user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
  c->sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

long bench_maxrss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

long bench_rss_kb(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void GC_CALLBACK on_heap_resize(GC_word size) {
  uint64_t cur = atomic_load_explicit(&g_heap_peak, memory_order_relaxed);
  while (size > cur && !atomic_compare_exchange_weak_explicit(
                           &g_heap_peak, &cur, size, memory_order_relaxed,
                           memory_order_relaxed)) {
  }
}

static void GC_CALLBACK count_warning(char *msg, GC_word arg) {
  (void)msg;
  (void)arg;
  atomic_fetch_add_explicit(&g_gc_warnings, 1, memory_order_relaxed);
}

void bench_gc_start(void) {
  GC_set_warn_proc(count_warning);
  GC_INIT();
  GC_set_on_heap_resize(on_heap_resize);
  on_heap_resize(GC_get_heap_size());
}

void bench_heap_sample(void) {
  on_heap_resize(GC_get_heap_size());
}

uint64_t bench_heap_peak(void) {
  return atomic_load(&g_heap_peak);
}

uint64_t bench_gc_warnings(void) {
  return atomic_load(&g_gc_warnings);
}

/* Clears stale pointers left on the stack by the workload so that the final
 * collections are not fooled by conservative stack scanning. */
void bench_scrub_stack(void) {
  volatile char buf[256 * 1024];
  memset((char *)buf, 0, sizeof buf);
}

_Noreturn void bench_die(const char *what) {
  fprintf(stderr, "gt-bench child: %s\n", what);
  exit(2);
}
