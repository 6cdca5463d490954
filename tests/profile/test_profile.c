/* Death profiles (gt.profile, docs/profiles.md) read back with the
 * protobuf-c code generated from proto/profile.proto: the values add up
 * to gt_get_stats exactly, the tables are well formed (string 0 is "",
 * every id points at something), gt_malloc sites carry their name and
 * file:line, stack sites their frames. pprof itself reads them in
 * pprof_check.sh. Each test runs in its own process. */
#include <dirent.h>
#include <elf.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

#include "../integration/helpers.h"
#include "intern.h"
#include "profile.pb-c.h"
#include "worker/symbols.h"

/* after criterion.h: it defines the assertions redirect.h uses */
#include <criterion/redirect.h>

/* Frames that stay themselves: not inlined, and not cloned under another
 * name (GCC's deep_leaf.isra.0). */
#ifdef __clang__
#define FRAME __attribute__((noinline))
#else
#define FRAME __attribute__((noinline, noclone))
#endif

typedef Gt__Pprof__Profile profile;
enum {
  RECLAIMED,
  RECLAIMED_BYTES,
  FREED,
  LIVE,
  LIVE_BYTES,
  UNRELEASED,
  UNRELEASED_BYTES,
  NVALUES
};

static char dir[64], path[128];
static int drop_line, keep_line, free_line;
#define KEPT 40
static void *volatile kept[KEPT]; /* a root; volatile: never read */

/* Each test's directory goes when it ends (.fini). */
static void remove_dir(void) {
  DIR *d = dir[0] ? opendir(dir) : NULL;
  for (struct dirent *e; d && (e = readdir(d));) {
    char p[sizeof dir + 256 + 2];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (e->d_name[0] != '.') unlink(p);
  }
  if (d) closedir(d);
  if (dir[0]) rmdir(dir);
}

static void start(const char *const *kv) {
  snprintf(dir, sizeof dir, "/tmp/gt-profile-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/p.pb.gz", dir);
  const char *all[16] = {"gt.profile", path};
  for (int i = 2; kv && *kv && i < 14; i++)
    all[i] = *kv++;
  gt_test_start(all);
}

static __attribute__((noinline)) void drop(int n) {
  for (int i = 0; i < n; i++) {
    drop_line = __LINE__ + 1;
    void *p = GT_MALLOC(32, "Dropped");
    __asm__ volatile("" : : "r"(p) : "memory");
  }
}

static __attribute__((noinline)) void keep(void) {
  for (int i = 0; i < KEPT; i++) {
    keep_line = __LINE__ + 1;
    kept[i] = GT_MALLOC(48, "Kept");
  }
}

static __attribute__((noinline)) void make_and_free(int n) {
  for (int i = 0; i < n; i++) {
    free_line = __LINE__ + 1;
    gt_free(GT_MALLOC(16, "Freed"));
  }
}

/* Reads and decodes a gzipped profile (it must be gzip). */
static profile *read_profile(const char *p) {
  FILE *f = fopen(p, "rb");
  cr_assert_not_null(f, "no profile at %s", p);
  unsigned char magic[2] = {0};
  cr_assert_eq(fread(magic, 1, 2, f), 2);
  fclose(f);
  cr_assert(magic[0] == 0x1f && magic[1] == 0x8b, "not gzip");
  gzFile gz = gzopen(p, "rb");
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  int r;
  while ((r = gzread(gz, buf + n, (unsigned)(cap - n))) > 0)
    if ((n += (size_t)r) == cap) buf = realloc(buf, cap *= 2);
  cr_assert_eq(r, 0, "gzread");
  gzclose(gz);
  profile *prof = gt__pprof__profile__unpack(NULL, n, buf);
  free(buf);
  cr_assert_not_null(prof, "profile.proto does not decode");
  return prof;
}

static const char *s_of(const profile *p, int64_t i) {
  cr_assert(i >= 0 && (size_t)i < p->n_string_table, "string %ld", (long)i);
  return p->string_table[i];
}

static Gt__Pprof__Location *location(const profile *p, uint64_t id) {
  for (size_t i = 0; i < p->n_location; i++)
    if (p->location[i]->id == id) return p->location[i];
  cr_assert_fail("no location %lu", (unsigned long)id);
  return NULL;
}

static Gt__Pprof__Function *function(const profile *p, uint64_t id) {
  for (size_t i = 0; i < p->n_function; i++)
    if (p->function[i]->id == id) return p->function[i];
  cr_assert_fail("no function %lu", (unsigned long)id);
  return NULL;
}

static bool has_mapping(const profile *p, uint64_t id) {
  for (size_t i = 0; i < p->n_mapping; i++)
    if (p->mapping[i]->id == id) return true;
  return false;
}

/* The tables: string 0 is "" and no string comes twice; every id used
 * is defined; the value types are gt's five, reclaimed_objects first. */
static void check_tables(const profile *p) {
  cr_assert_gt(p->n_string_table, 1);
  cr_assert_str_eq(p->string_table[0], "");
  for (size_t i = 1; i < p->n_string_table; i++) {
    cr_assert_neq(p->string_table[i][0], '\0', "string %zu is empty", i);
    for (size_t j = 1; j < i; j++)
      cr_assert_str_neq(p->string_table[i], p->string_table[j]);
  }
  static const char *types[NVALUES][2] = {
      {"reclaimed_objects", "count"}, {"reclaimed_space", "bytes"},
      {"freed_objects", "count"},     {"live_objects", "count"},
      {"live_space", "bytes"},        {"unreleased_objects", "count"},
      {"unreleased_space", "bytes"}};
  cr_assert_eq(p->n_sample_type, NVALUES);
  for (int i = 0; i < NVALUES; i++) {
    cr_assert_str_eq(s_of(p, p->sample_type[i]->type), types[i][0]);
    cr_assert_str_eq(s_of(p, p->sample_type[i]->unit), types[i][1]);
  }
  cr_assert_str_eq(s_of(p, p->default_sample_type), "reclaimed_objects");
  cr_assert_gt(p->time_nanos, 0);
  cr_assert_gt(p->duration_nanos, 0);
  for (size_t i = 0; i < p->n_mapping; i++) {
    cr_assert_eq(p->mapping[i]->id, i + 1);
    cr_assert_lt(p->mapping[i]->memory_start, p->mapping[i]->memory_limit);
    cr_assert_str_neq(s_of(p, p->mapping[i]->filename), "");
  }
  for (size_t i = 0; i < p->n_location; i++) {
    Gt__Pprof__Location *l = p->location[i];
    cr_assert_neq(l->id, 0);
    cr_assert(!l->mapping_id || has_mapping(p, l->mapping_id),
              "location %lu: no mapping %lu", (unsigned long)l->id,
              (unsigned long)l->mapping_id);
    cr_assert_eq(l->n_line, 1);
    Gt__Pprof__Function *f = function(p, l->line[0]->function_id);
    cr_assert_str_neq(s_of(p, f->name), "");
    s_of(p, f->filename);
  }
  for (size_t i = 0; i < p->n_sample; i++) {
    cr_assert_eq(p->sample[i]->n_value, NVALUES);
    cr_assert_geq(p->sample[i]->n_location_id, 1);
    for (size_t j = 0; j < p->sample[i]->n_location_id; j++)
      location(p, p->sample[i]->location_id[j]);
  }
}

static int64_t total(const profile *p, int v) {
  int64_t sum = 0;
  for (size_t i = 0; i < p->n_sample; i++)
    sum += p->sample[i]->value[v];
  return sum;
}

/* Totals equal gt's statistics, and the live bytes the sites' own. */
static void check_totals(const profile *p) {
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(total(p, RECLAIMED), (int64_t)st.collected);
  cr_assert_eq(total(p, RECLAIMED_BYTES), (int64_t)st.bytes);
  cr_assert_eq(total(p, FREED), (int64_t)st.freed);
  cr_assert_eq(total(p, LIVE), (int64_t)st.live);
  int64_t live_bytes = 0;
  for (uint32_t id = 1; id <= gt__site_count(); id++)
    live_bytes += (int64_t)atomic_load(&gt__site(id)->live_bytes);
  cr_assert_eq(total(p, LIVE_BYTES), live_bytes);
  cr_assert_eq(total(p, UNRELEASED), (int64_t)st.unreleased);
}

/* The sample whose leaf function is named `fn`. */
static const Gt__Pprof__Sample *by_leaf(const profile *p, const char *fn) {
  for (size_t i = 0; i < p->n_sample; i++) {
    Gt__Pprof__Location *l = location(p, p->sample[i]->location_id[0]);
    if (!strcmp(s_of(p, function(p, l->line[0]->function_id)->name), fn))
      return p->sample[i];
  }
  cr_assert_fail("no sample at %s", fn);
  return NULL;
}

static void check_site(const profile *p, const char *name, int line,
                       int64_t reclaimed, int64_t freed, int64_t live) {
  const Gt__Pprof__Sample *s = by_leaf(p, name);
  cr_assert_eq(s->n_location_id, 1, "%s: one location", name);
  Gt__Pprof__Location *l = location(p, s->location_id[0]);
  Gt__Pprof__Function *f = function(p, l->line[0]->function_id);
  cr_assert_eq(l->mapping_id, 0);
  cr_assert_str_eq(s_of(p, f->filename), __FILE__);
  cr_assert_eq(l->line[0]->line, line, "%s: line", name);
  cr_assert_eq(s->value[RECLAIMED], reclaimed, "%s: reclaimed", name);
  cr_assert_eq(s->value[FREED], freed, "%s: freed", name);
  cr_assert_eq(s->value[LIVE], live, "%s: live", name);
  cr_assert_eq(s->n_label, 1);
  cr_assert_str_eq(s_of(p, s->label[0]->key), "name");
  cr_assert_str_eq(s_of(p, s->label[0]->str), name);
}

Test(profile, gt_malloc_sites_add_up_to_the_statistics, .fini = remove_dir) {
  start(NULL);
  drop(500);
  keep();
  make_and_free(7);
  gt_collect();
  struct stat before;
  cr_assert_neq(stat(path, &before), 0, "no profile before gt_shutdown");
  cr_assert_eq(gt_shutdown(5000), 0, "%s", gt_last_error());
  profile *p = read_profile(path);
  check_tables(p);
  check_totals(p);
  check_site(p, "Dropped", drop_line, 500, 0, 0);
  check_site(p, "Kept", keep_line, 0, 0, KEPT);
  check_site(p, "Freed", free_line, 0, 7, 0);
  cr_assert_eq(by_leaf(p, "Dropped")->value[RECLAIMED_BYTES], 500 * 32);
  cr_assert_eq(by_leaf(p, "Kept")->value[LIVE_BYTES], KEPT * 48);
  char *exe = realpath("/proc/self/exe", NULL);
  cr_assert_str_eq(s_of(p, p->mapping[0]->filename), exe, "mapping[0]");
  free(exe);
  gt__pprof__profile__free_unpacked(p, NULL);
}

static FRAME void *deep_leaf(void) {
  void *p = gt_malloc(64, "Deep");
  __asm__ volatile("" : : "r"(p) : "memory"); /* not a tail call */
  return p;
}

static FRAME void deep_middle(int n) {
  for (int i = 0; i < n; i++)
    deep_leaf();
  __asm__ volatile("" ::: "memory");
}

/* With gt.stack_depth = 4 a site is its call stack: the leaf is the
 * function that called gt_malloc, its caller next, each in the
 * executable's mapping with the function's name and, from the debug
 * information, its file. */
Test(profile, stack_sites_have_their_frames, .fini = remove_dir) {
  const char *kv[] = {"gt.stack_depth", "4", NULL};
  start(kv);
  deep_middle(300);
  gt_collect();
  cr_assert_eq(gt_shutdown(5000), 0, "%s", gt_last_error());
  profile *p = read_profile(path);
  check_tables(p);
  check_totals(p);
  const Gt__Pprof__Sample *s = by_leaf(p, "deep_leaf");
  cr_assert_geq(s->n_location_id, 2);
  cr_assert_eq(s->value[RECLAIMED], 300);
  cr_assert_eq(s->value[RECLAIMED_BYTES], 300 * 64);
  Gt__Pprof__Location *leaf = location(p, s->location_id[0]);
  Gt__Pprof__Location *caller = location(p, s->location_id[1]);
  Gt__Pprof__Function *f = function(p, caller->line[0]->function_id);
  cr_assert_str_eq(s_of(p, f->name), "deep_middle");
  cr_assert(strstr(s_of(p, f->filename), "test_profile.c"), "file: %s",
            s_of(p, f->filename));
  cr_assert_gt(caller->line[0]->line, 0);
  cr_assert_eq(leaf->mapping_id, 1, "the executable's mapping");
  /* each location is the call: the site's return address minus one */
  for (uint32_t id = 1; id <= gt__site_count(); id++) {
    const gt_site *site = gt__site(id);
    if (site->npcs < 2 || strcmp(site->name, "Deep") != 0) continue;
    cr_assert_eq(leaf->address, site->pcs[0] - 1);
    cr_assert_eq(caller->address, site->pcs[1] - 1);
  }
  Gt__Pprof__Mapping *m = p->mapping[0];
  cr_assert(leaf->address >= m->memory_start &&
            leaf->address < m->memory_limit);
  cr_assert(m->has_functions && m->has_filenames);
  cr_assert_str_eq(s_of(p, s->label[0]->str), "Deep");
  gt__pprof__profile__free_unpacked(p, NULL);
}

/* Frames in the C library keep their function but get no file:line even
 * when its debug information is installed (Debian's valgrind pulls in
 * libc6-dbg, as on this project's machines): opening it cost 50 ms at
 * every exit. A frame of the program still gets its line (above). */
Test(profile, c_library_frames_are_named_without_lines) {
  /* as a return address; a function no sanitizer intercepts */
  uintptr_t in_libc = (uintptr_t)(void *)gnu_get_libc_version + 1;
  const gt_frame *f = gt__symbolize(in_libc, true);
  cr_assert_not_null(f);
  cr_assert_not_null(f->module);
  cr_assert(strncmp(f->module, "libc.so.", 8) == 0, "module %s", f->module);
  cr_expect_not_null(f->function);
  cr_expect_null(f->file, "%s:%d", f->file, f->line);
  cr_expect(f->line_known);
}

/* gt.profile_on_collect: each gt_collect writes one, live values 0 (they
 * are counted at exit); gt_shutdown writes the last, with them. */
Test(profile, on_collect_each_gt_collect_writes_one, .fini = remove_dir) {
  const char *kv[] = {"gt.profile_on_collect", "true", NULL};
  start(kv);
  drop(100);
  keep();
  gt_collect();
  profile *p = read_profile(path);
  check_tables(p);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(total(p, RECLAIMED), (int64_t)st.collected);
  cr_assert_eq(total(p, LIVE), 0);
  cr_assert_eq(by_leaf(p, "Dropped")->value[RECLAIMED], 100);
  gt__pprof__profile__free_unpacked(p, NULL);
  drop(50);
  gt_collect();
  p = read_profile(path);
  cr_assert_eq(by_leaf(p, "Dropped")->value[RECLAIMED], 150);
  gt__pprof__profile__free_unpacked(p, NULL);
  cr_assert_eq(gt_shutdown(5000), 0);
  p = read_profile(path);
  check_totals(p);
  cr_assert_eq(total(p, LIVE), KEPT);
  gt__pprof__profile__free_unpacked(p, NULL);
}

/* Written by rename: mode 0644, no temporary file left beside it; "%p"
 * is the process id. */
Test(profile, written_atomically_with_the_pid_in_its_name, .fini = remove_dir) {
  const char *kv[] = {"gt.profile", NULL, NULL};
  char tmpl[160], want[160];
  snprintf(dir, sizeof dir, "/tmp/gt-profile-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(tmpl, sizeof tmpl, "%s/gt.%%p.%%%%.pb.gz", dir);
  snprintf(want, sizeof want, "%s/gt.%d.%%.pb.gz", dir, (int)getpid());
  kv[1] = tmpl;
  gt_test_start(kv);
  drop(10);
  cr_assert_eq(gt_shutdown(5000), 0);
  struct stat st;
  cr_assert_eq(stat(want, &st), 0, "no %s", want);
  cr_assert_eq(st.st_mode & 0777, 0644);
  DIR *d = opendir(dir);
  int files = 0;
  for (struct dirent *e; (e = readdir(d));)
    files += e->d_name[0] != '.';
  closedir(d);
  cr_assert_eq(files, 1, "a temporary file was left");
  gt__pprof__profile__free_unpacked(read_profile(want), NULL);
}

/* gt_init with gt.profile = value: its error code, the message in msg. */
static int init_with_profile(const char *value, char *msg, size_t n) {
  GC_INIT();
  gt_options *o = gt_options_new();
  gt_options_set(o, "log.path", "-");
  gt_options_set(o, "gt.spool_dir", dir);
  cr_assert_eq(gt_options_set(o, "gt.profile", value), 0);
  int rc = gt_init(o);
  gt_options_free(o);
  snprintf(msg, n, "%s", rc ? gt_last_error() : "");
  if (!rc) gt_shutdown(1000);
  return rc;
}

/* A path no profile could be written to fails gt_init, saying why: not
 * at exit, when nothing can be done about it. */
Test(profile, a_bad_path_fails_gt_init, .fini = remove_dir) {
  snprintf(dir, sizeof dir, "/tmp/gt-profile-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  char msg[1024], p[256];
  cr_assert_eq(
      init_with_profile("/nonexistent-gt-dir/p.pb.gz", msg, sizeof msg),
      GT_EINVAL);
  cr_assert_str_eq(msg, "gt.profile: '/nonexistent-gt-dir/p.pb.gz': cannot "
                        "write in /nonexistent-gt-dir: No such file or "
                        "directory");
  snprintf(p, sizeof p, "%s/p.%%d.pb.gz", dir);
  cr_assert_eq(init_with_profile(p, msg, sizeof msg), GT_EINVAL);
  cr_assert(strstr(msg, "unknown escape '%d' (only %p, the process id, and "
                        "%% are expanded)"),
            "%s", msg);
  cr_assert_eq(init_with_profile(dir, msg, sizeof msg), GT_EINVAL);
  cr_assert(strstr(msg, "it is a directory"), "%s", msg);
  snprintf(p, sizeof p, "%s/p.pb.gz", dir);
  cr_assert_eq(init_with_profile(p, msg, sizeof msg), 0, "%s", msg);
}

/* A write that fails after gt_init (its directory removed since) is a
 * warning, never a failure of gt_shutdown. */
Test(profile, a_later_failure_warns_and_shutdown_succeeds, .fini = remove_dir) {
  cr_redirect_stderr();
  start(NULL);
  drop(10);
  cr_assert_eq(rmdir(dir), 0);
  cr_assert_eq(gt_shutdown(5000), 0, "%s", gt_last_error());
  fflush(stderr);
  FILE *f = cr_get_redirected_stderr();
  char text[4096] = "";
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  char want[256];
  snprintf(want, sizeof want, "gt.profile: cannot write %s: No such file",
           path);
  cr_assert(strstr(text, want), "%s", text);
}

/* gt.alloc_sample_every: values count the tracked objects, as gt's
 * statistics do; the period says how many allocations each stands for. */
Test(profile, sampled_values_are_the_tracked_ones, .fini = remove_dir) {
  const char *kv[] = {"gt.alloc_sample_every", "10", NULL};
  start(kv);
  drop(1000);
  keep();
  make_and_free(200);
  gt_collect();
  cr_assert_eq(gt_shutdown(5000), 0, "%s", gt_last_error());
  profile *p = read_profile(path);
  check_tables(p);
  check_totals(p);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, 100, "one in 10 tracked");
  cr_assert_eq(st.freed, 20);
  cr_assert_eq(total(p, RECLAIMED) * 10, (int64_t)st.estimated);
  cr_assert_eq(total(p, RECLAIMED_BYTES) * 10, (int64_t)st.estimated_bytes);
  cr_assert_eq(p->period, 10);
  cr_assert_str_eq(s_of(p, p->period_type->type), "tracked_allocations");
  gt__pprof__profile__free_unpacked(p, NULL);
}

static __attribute__((noinline)) void leak(int n, bool release) {
  for (int i = 0; i < n; i++) {
    void *p = GT_MALLOC(40, release ? "Released" : "Leaked");
    cr_assert_eq(gt_expect_release(p), 0, "%s", gt_last_error());
    if (release) cr_assert_eq(gt_release(p), 0, "%s", gt_last_error());
  }
}

/* Leak mode: the objects reclaimed while still expecting release are a
 * sample type of their own, under their site, with their bytes. */
Test(profile, unreleased_objects_have_their_values, .fini = remove_dir) {
  start(NULL);
  leak(120, false);
  leak(80, true);
  gt_collect();
  cr_assert_eq(gt_shutdown(5000), 0, "%s", gt_last_error());
  profile *p = read_profile(path);
  check_tables(p);
  check_totals(p);
  cr_assert_eq(total(p, UNRELEASED), 120);
  cr_assert_eq(total(p, UNRELEASED_BYTES), 120 * 40);
  for (size_t i = 0; i < p->n_sample; i++) {
    const Gt__Pprof__Sample *sm = p->sample[i];
    const char *name = sm->n_label ? s_of(p, sm->label[0]->str) : "";
    if (strcmp(name, "Released") == 0) {
      cr_expect_eq(sm->value[UNRELEASED], 0);
      cr_expect_eq(sm->value[RECLAIMED], 80);
    } else if (strcmp(name, "Leaked") == 0) {
      cr_expect_eq(sm->value[UNRELEASED], 120);
      cr_expect_eq(sm->value[RECLAIMED], 120);
    }
  }
  gt__pprof__profile__free_unpacked(p, NULL);
}

/* The GNU build id of the executable, from its own note (PT_NOTE). */
static int exe_note(struct dl_phdr_info *info, size_t size, void *out) {
  (void)size;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const char *at = (const char *)(info->dlpi_addr + ph->p_vaddr);
    const char *end = at + ph->p_memsz;
    while (at + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *nh = (const void *)at;
      const unsigned char *desc =
          (const unsigned char *)(nh + 1) + ((nh->n_namesz + 3) & ~3u);
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4) {
        char *hex = out;
        for (unsigned j = 0; j < nh->n_descsz; j++)
          sprintf(hex + 2 * j, "%02x", desc[j]);
        return 1;
      }
      at = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
    }
  }
  return 1; /* the first object is the executable */
}

/* The executable's mapping names its build id, as its note says, when
 * gt_malloc sites alone (no frame in it) made it: mapping[0]. */
Test(profile, the_executable_has_its_build_id, .fini = remove_dir) {
  start(NULL);
  drop(50);
  gt_collect();
  cr_assert_eq(gt_shutdown(5000), 0, "%s", gt_last_error());
  profile *p = read_profile(path);
  check_tables(p);
  char want[128] = "";
  dl_iterate_phdr(exe_note, want);
  cr_assert_eq(strlen(want), 40, "the test has no build id");
  cr_assert_str_eq(s_of(p, p->mapping[0]->build_id), want);
  gt__pprof__profile__free_unpacked(p, NULL);
}

/* Every mapping a stack passes through (the executable, libc's start)
 * names its file's build id. */
Test(profile, stack_mappings_carry_build_ids, .fini = remove_dir) {
  const char *kv[] = {"gt.stack_depth", "8", NULL};
  start(kv);
  deep_middle(50);
  gt_collect();
  cr_assert_eq(gt_shutdown(5000), 0, "%s", gt_last_error());
  profile *p = read_profile(path);
  check_tables(p);
  cr_assert_gt(p->n_mapping, 1, "the executable, libc: %zu mappings",
               p->n_mapping);
  for (size_t i = 0; i < p->n_mapping; i++) {
    const char *id = s_of(p, p->mapping[i]->build_id);
    cr_assert(strlen(id) == 40 && strspn(id, "0123456789abcdef") == 40,
              "%s: build id '%s'", s_of(p, p->mapping[i]->filename), id);
  }
  gt__pprof__profile__free_unpacked(p, NULL);
}

/* Unset (the default) or empty: no profile. */
Test(profile, empty_means_none, .fini = remove_dir) {
  const char *kv[] = {"gt.profile", "", NULL};
  snprintf(dir, sizeof dir, "/tmp/gt-profile-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_eq(chdir(dir), 0);
  gt_test_start(kv);
  drop(10);
  cr_assert_eq(gt_shutdown(5000), 0);
  DIR *d = opendir(dir);
  int files = 0;
  for (struct dirent *e; (e = readdir(d));)
    files += e->d_name[0] != '.';
  closedir(d);
  cr_assert_eq(files, 0);
}
