/* A bdwgc program (libgc only, no libgt) that knows how many objects gt
 * run should count: it makes a fixed number through each call and prints
 * what a summary must say, e.g.
 *
 *   tracked 1234 freed 56 bypassed 789
 *
 * tracked: objects gt makes its own (GC_MALLOC, GC_MALLOC_ATOMIC, the
 * ignore_off_page calls, GC_STRDUP, GC_STRNDUP, GC_REALLOC(NULL, n), every
 * object of a GC_malloc_many list); GC_REALLOC of one of them makes none.
 * freed: those given to GC_FREE. bypassed: what gt passes to bdwgc and
 * counts (each uncollectable and aligned object, every object of a
 * GC_generic_malloc_many list of another kind).
 *
 * Single-threaded, so the lists' lengths are the only thing that differs
 * between runs; the program counts them as it walks them.
 *
 *   counts [--raise=SIG]   with --raise, kills itself with SIG at the end
 *                          (after its allocations, before exit) */
#include <gc.h>
#include <gc/gc_inline.h>
#include <gc/gc_mark.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 200

void *keep[N]; /* not static: the stores stay */

static unsigned long list_length(void *p) {
  unsigned long n = 0;
  for (; p; p = GC_NEXT(p))
    n++;
  return n;
}

int main(int argc, char **argv) {
  int sig =
      argc > 1 && strncmp(argv[1], "--raise=", 8) == 0 ? atoi(argv[1] + 8) : 0;
  GC_INIT();
  int kind = (int)GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 1, 1);
  unsigned long tracked = 0, freed = 0, bypassed = 0;
  for (int i = 0; i < N; i++) {
    keep[i] = GC_MALLOC(16 + (size_t)i);
    void *a = GC_MALLOC_ATOMIC(8 + (size_t)i);
    void *b = GC_malloc_ignore_off_page(5000);
    void *c = GC_malloc_atomic_ignore_off_page(6000);
    char *s = GC_STRDUP("a string");
    char *t = GC_STRNDUP("another string", 7);
    void *r = GC_REALLOC(NULL, 40);
    r = GC_REALLOC(r, 4000); /* still one object */
    tracked += 7;
    if (!a || !b || !c || !s || !t || !r) return 1;
    if (i % 4 == 0) {
      GC_FREE(a);
      GC_FREE(s);
      freed += 2;
    }
    void *many = GC_malloc_many(48);
    tracked += list_length(many);

    void *u = GC_MALLOC_UNCOLLECTABLE(32);
    void *au = GC_MALLOC_ATOMIC_UNCOLLECTABLE(32);
    void *m16 = GC_memalign(16, 100);
    void *m64 = GC_memalign(64, 100);
    void *pm = NULL;
    if (GC_posix_memalign(&pm, 256, 100) != 0 || !u || !au || !m16 || !m64)
      return 1;
    bypassed += 5;
    GC_FREE(u);
    GC_FREE(au);
    if (i % 10 == 0) {
      void *fl = NULL;
      GC_generic_malloc_many(64, kind, &fl);
      bypassed += list_length(fl);
    }
  }
  GC_gcollect();
  if (sig) raise(sig);
  printf("tracked %lu freed %lu bypassed %lu\n", tracked, freed, bypassed);
  return 0;
}
