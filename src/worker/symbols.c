/* Names for return addresses, off the allocation path: the worker names a
 * stack site once, before counting it. elfutils' libdwfl reads the
 * process's modules (/proc/self/maps) and gives, per address:
 *   - the symbol (symtab, else dynsym — what dladdr would), demangled when
 *     the program has a C++ runtime loaded;
 *   - else the function's start from the call frame information
 *     (.eh_frame survives stripping; libunwind finds its entry):
 * "module!fn@0x9bf80", an address stable for one build of the module (its build
 * id);
 *   - file:line when debug information is installed, except in the C
 *     runtime, the collector and gt (is_runtime).
 * Results are cached per address. One lock: the worker and gt_shutdown's
 * profile writer may both ask. */
#include <dlfcn.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/symbols.h"

#define CACHE_BITS 12

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Dwfl *dwfl;
/* Separate debug information is looked up by build id only, on this
 * machine (/usr/lib/debug/.build-id, where Debian's -dbgsym packages put
 * it). Not dwfl_standard_find_debuginfo: when DEBUGINFOD_URLS is set it
 * asks debuginfod servers over the network, from gt's worker, with
 * libcurl and OpenSSL that the program's exit may already have torn down
 * (w3m under gt run died of that at exit). */
static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_build_id_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};
typedef struct entry {
  uintptr_t pc;
  gt_frame frame;
  struct entry *next;
} entry;
static entry *cache[1u << CACHE_BITS];

/* A C++ runtime's demangler, if the program has one loaded. */
typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

static char *demangle(const char *sym) {
  if (strncmp(sym, "_Z", 2) != 0) return NULL;
  demangle_fn fn = (demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
  int status = -1;
  char *out = fn ? fn(sym, NULL, NULL, &status) : NULL;
  if (status != 0) {
    free(out);
    return NULL;
  }
  return out;
}

static bool report(void) {
  if (!dwfl && !(dwfl = dwfl_begin(&callbacks))) return false;
  dwfl_report_begin(dwfl);
  int rc = dwfl_linux_proc_report(dwfl, getpid());
  dwfl_report_end(dwfl, NULL, NULL);
  return rc == 0;
}

static const char *base_name(const char *path) {
  const char *b = path ? strrchr(path, '/') : NULL;
  return b ? b + 1 : path ? path : "?";
}

/* The start of the function holding pc: the start of its FDE in the
 * module's .eh_frame (which survives stripping), found by libunwind
 * through .eh_frame_hdr. (libdw's CFI frames start at each rule change,
 * not at the function.) */
static bool cfi_start(uintptr_t pc, uintptr_t *start) {
  unw_proc_info_t pi;
  if (unw_get_proc_info_by_ip(unw_local_addr_space, (unw_word_t)pc, &pi,
                              NULL) != 0 ||
      !pi.start_ip)
    return false;
  *start = (uintptr_t)pi.start_ip;
  return true;
}

/* The module's GNU build id in hex. libdwfl knows it only once it has
 * found the module's ELF file: before that (the first address looked up
 * in a module) it answers "none". */
static void build_id(Dwfl_Module *m, gt_frame *f) {
  const unsigned char *bits;
  GElf_Addr vaddr, bias;
  if (!dwfl_module_getelf(m, &bias)) return;
  int n = dwfl_module_build_id(m, &bits, &vaddr);
  if (n <= 0) return;
  char *hex = malloc((size_t)n * 2 + 1);
  if (!hex) return;
  for (int i = 0; i < n; i++)
    sprintf(hex + 2 * i, "%02x", bits[i]);
  f->build_id = hex;
}

static void fill(Dwfl_Module *m, uintptr_t pc, gt_frame *f) {
  Dwarf_Addr lo, hi;
  const char *path =
      dwfl_module_info(m, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
  f->module = strdup(base_name(path));
  f->module_path = path ? strdup(path) : NULL;
  f->module_start = (uintptr_t)lo;
  f->module_end = (uintptr_t)hi;
  build_id(m, f);
  GElf_Off off = 0;
  GElf_Sym sym;
  const char *name = dwfl_module_addrinfo(m, pc, &off, &sym, NULL, NULL, NULL);
  if (name) {
    char *d = demangle(name);
    f->function = d ? d : strndup(name, strcspn(name, "@")); /* no @@VERSION */
    f->start = pc - off;
  } else if (cfi_start(pc, &f->start)) {
    char buf[64];
    snprintf(buf, sizeof buf, "fn@0x%lx",
             (unsigned long)(f->start - f->module_start));
    f->function = strdup(buf);
    f->anonymous = true;
  }
}

/* Modules whose lines are not the program's: the C library and the
 * dynamic loader (the bottom frames of every stack), the collector and gt.
 * Their frames keep their function names. Debian's valgrind pulls in
 * libc6-dbg, whose compressed DWARF took 50 ms to open at every exit. */
static const char *const runtime[] = {"libc.so.", "ld-linux", "libgc.so.",
                                      "libgt"};

static bool is_runtime(const char *module) {
  for (size_t i = 0; module && i < sizeof runtime / sizeof *runtime; i++)
    if (strncmp(module, runtime[i], strlen(runtime[i])) == 0) return true;
  return false;
}

/* file:line, when the module's debug information is installed. Asked
 * only for the frames shown with it: the first look into a module's
 * DWARF decompresses it (tens of milliseconds for libc's). */
static void find_line(gt_frame *f) {
  f->line_known = true;
  if (is_runtime(f->module)) return;
  Dwfl_Module *m = dwfl ? dwfl_addrmodule(dwfl, f->pc) : NULL;
  Dwfl_Line *line = m ? dwfl_module_getsrc(m, f->pc) : NULL;
  int lineno = 0;
  const char *file =
      line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
  if (file) {
    f->file = strdup(file);
    f->line = lineno;
  }
}

static bool resolve(uintptr_t pc, gt_frame *f) {
  memset(f, 0, sizeof *f);
  f->pc = pc;
  if (!dwfl && !report()) return false;
  Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
  if (!m && report()) /* loaded since (dlopen) */
    m = dwfl_addrmodule(dwfl, pc);
  if (!m) return false;
  fill(m, pc, f);
  return true;
}

const gt_frame *gt__symbolize(uintptr_t pc, bool with_line) {
  /* A return address points after its call: look up the call itself. */
  uintptr_t at = pc ? pc - 1 : pc;
  size_t i = (at >> 4 ^ at >> 16) & ((1u << CACHE_BITS) - 1);
  pthread_mutex_lock(&lock);
  entry *e = cache[i];
  while (e && e->pc != at)
    e = e->next;
  if (!e && (e = calloc(1, sizeof *e))) {
    e->pc = at;
    resolve(at, &e->frame);
    e->next = cache[i];
    cache[i] = e;
  }
  if (e && with_line && !e->frame.line_known) find_line(&e->frame);
  pthread_mutex_unlock(&lock);
  return e ? &e->frame : NULL;
}

const char *gt__frame_label(const gt_frame *f, char *buf, size_t n) {
  if (!f || !f->module) {
    snprintf(buf, n, "0x%lx", f ? (unsigned long)f->pc : 0ul);
  } else if (f->file) {
    snprintf(buf, n, "%s:%d", base_name(f->file), f->line);
  } else if (f->function) {
    snprintf(buf, n, "%s!%s+0x%lx", f->module, f->function,
             (unsigned long)(f->pc + 1 - f->start));
  } else {
    snprintf(buf, n, "%s+0x%lx", f->module,
             (unsigned long)(f->pc - f->module_start));
  }
  return buf;
}

const char *gt__frame_name(const gt_frame *f, char *buf, size_t n) {
  if (f && f->function && !f->anonymous)
    snprintf(buf, n, "%s", f->function);
  else if (f && f->function)
    snprintf(buf, n, "%s!%s", f->module, f->function);
  else if (f && f->module)
    snprintf(buf, n, "%s+0x%lx", f->module,
             (unsigned long)(f->pc - f->module_start));
  else
    snprintf(buf, n, "0x%lx", f ? (unsigned long)f->pc : 0ul);
  return buf;
}
