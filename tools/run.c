/* gt run: runs a program that calls bdwgc with gt attached, unchanged.
 * The program gets libgt-attach.so preloaded (src/gc/preload.c) and the
 * configuration in GT_RUN_* variables (src/attach/start.c); gt run waits
 * for it, prints each attached process's summary to stderr, and exits as
 * it did. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "options.h"
#include "run.h"
#include "worker/profile.h"

#ifndef GT_ATTACH_DIR
#define GT_ATTACH_DIR "/usr/local/lib/gt"
#endif

/* What gt run sets unless the configuration says otherwise: JSON lines
 * to a file, one per 10,000 objects with per-site groups and ten samples,
 * sites from the allocation's call stack (docs/attach.md has the costs).
 * defaults() adds the paths: log.path, and gt.profile beside it. */
#define RUN_DEFAULTS(X)                                                        \
  X("gt.backend", "log")                                                       \
  X("log.format", "json")                                                      \
  X("gt.group_by", "site")                                                     \
  X("gt.batch_max", "10000")                                                   \
  X("gt.batch_window_ms", "1000")                                              \
  X("gt.sample_every", "1000")                                                 \
  X("gt.stack_depth", GT_RUN_STACK_DEPTH)                                      \
  X("gt.stack_sample_every", GT_RUN_STACK_SAMPLE_EVERY)

#define GT_RUN_STACK_DEPTH "4"
#define GT_RUN_STACK_SAMPLE_EVERY "64"

const char gt_run_usage[] =
    "gt run [-c FILE] [-o KEY=VALUE]... [-q] [--] PROGRAM [ARGS...]\n"
    "  runs PROGRAM with gt attached to its bdwgc allocations; its output\n"
    "  and exit status are its own. Then prints, per attached process, what\n"
    "  was reclaimed and still live, by allocation site (-q: not), and\n"
    "  where the events are (JSON lines, gt-run.PROGRAM.PID.jsonl) and its\n"
    "  pprof profile (gt-run.PROGRAM.PID.pb.gz: go tool pprof -top FILE).\n";

typedef struct run_args {
  const char *config; /* -c, absolute */
  char options[8192]; /* -o lines */
  bool quiet;
  char **argv; /* the program and its arguments */
} run_args;

static int usage_error(const char *what) {
  fprintf(stderr, "gt run: %s\nusage: %s", what, gt_run_usage);
  return GT_RUN_USAGE;
}

static int parse(int argc, char **argv, run_args *a) {
  static char config[PATH_MAX];
  int i = 0;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *o = argv[i];
    if (strcmp(o, "--") == 0) {
      i++;
      break;
    } else if (strcmp(o, "-q") == 0) {
      a->quiet = true;
    } else if ((strcmp(o, "-c") == 0 || strcmp(o, "-o") == 0) && i + 1 < argc) {
      const char *v = argv[++i];
      if (o[1] == 'c' && !realpath(v, config))
        return fprintf(stderr, "gt run: -c %s: %s\n", v, strerror(errno)),
               GT_RUN_USAGE;
      if (o[1] == 'c') a->config = config;
      size_t n = strlen(a->options);
      if (o[1] == 'o' && (!strchr(v, '=') || strchr(v, '\n') ||
                          n + strlen(v) + 2 > sizeof a->options))
        return usage_error("-o needs KEY=VALUE (one line)");
      if (o[1] == 'o')
        snprintf(a->options + n, sizeof a->options - n, "%s\n", v);
    } else {
      return usage_error("unknown option, or an option without its value");
    }
  }
  if (i >= argc) return usage_error("no program to run");
  a->argv = argv + i;
  return 0;
}

/* The defaults as key=value lines, with the log's and the profile's
 * paths. */
static void defaults(char *buf, size_t n, const char *log_path,
                     const char *profile_path) {
  size_t at = 0;
#define LINE(k, v) at += (size_t)snprintf(buf + at, n - at, "%s=%s\n", k, v);
  RUN_DEFAULTS(LINE)
#undef LINE
  snprintf(buf + at, n - at, "log.path=%s\ngt.profile=%s\n", log_path,
           profile_path);
}

/* gt_init's checks, before the program starts: a bad key fails here. */
static int check(const run_args *a, const char *defs) {
  gt_options *o = gt_options_new();
  int rc = o ? 0 : GT_ENOMEM;
  char lines[16384];
  snprintf(lines, sizeof lines, "%s", defs);
  for (char *save, *l = strtok_r(lines, "\n", &save); l && !rc;
       l = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(l, '=');
    *eq = '\0';
    rc = gt__options_set_default(o, l, eq + 1, "gt run's default");
  }
  if (!rc && a->config) rc = gt_options_load_file(o, a->config);
  snprintf(lines, sizeof lines, "%s", a->options);
  for (char *save, *l = strtok_r(lines, "\n", &save); l && !rc;
       l = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(l, '=');
    *eq = '\0';
    rc = gt_options_set(o, l, eq + 1);
  }
  gt_config cfg;
  if (!rc && !(rc = gt__options_build(o, &cfg))) {
    rc = gt__profile_check(&cfg);
    gt__config_free(&cfg);
  }
  gt_options_free(o);
  if (rc) fprintf(stderr, "gt run: %s\n", gt_last_error());
  return rc ? GT_RUN_USAGE : 0;
}

/* libgt-attach.so: $GT_ATTACH_LIB, beside this gt (a build tree), or where
 * it is installed. */
static const char *attach_lib(char *buf, size_t n) {
  const char *env = getenv("GT_ATTACH_LIB");
  if (env && *env) return env;
  char self[PATH_MAX];
  ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
  if (k > 0) {
    self[k] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) {
      snprintf(buf, n, "%.*s/libgt-attach.so", (int)(slash - self), self);
      if (access(buf, R_OK) == 0) return buf;
    }
  }
  snprintf(buf, n, "%s/libgt-attach.so", GT_ATTACH_DIR);
  return buf;
}

/* Can a file be made in dir? (access() says yes to root everywhere.) */
static bool writable(const char *dir) {
  char probe[PATH_MAX + 16];
  snprintf(probe, sizeof probe, "%s/.gt-run.XXXXXX", dir);
  int fd = mkstemp(probe);
  if (fd < 0) return false;
  close(fd);
  unlink(probe);
  return true;
}

/* The log (ext ".jsonl") and the profile (".pb.gz") go to the current
 * directory, like heaptrack's files, or to $TMPDIR if no file can be
 * made there; absolute, since the program may chdir. pid NULL: "%p", which
 * libgt makes the id of the process writing the profile, so that a child
 * the program starts writes its own (a '%' of the directory's is then
 * written "%%", to stay itself). */
static void out_path(char *buf, size_t n, const char *prog, const char *pid,
                     const char *ext) {
  char dir[PATH_MAX], head[PATH_MAX + 64];
  const char *tmp = getenv("TMPDIR");
  if (!getcwd(dir, sizeof dir) || !writable(dir))
    snprintf(dir, sizeof dir, "%s", tmp && *tmp ? tmp : "/tmp");
  const char *base = strrchr(prog, '/');
  snprintf(head, sizeof head, "%s/gt-run.%s.", dir, base ? base + 1 : prog);
  if (pid) {
    snprintf(buf, n, "%s%s%s", head, pid, ext);
    return;
  }
  size_t o = 0;
  for (const char *c = head; *c && o + 2 < n; c++) {
    if (*c == '%') buf[o++] = '%';
    buf[o++] = *c;
  }
  snprintf(buf + o, n - o, "%%p%s", ext);
}

static void log_path(char *buf, size_t n, const char *prog, pid_t pid) {
  char id[16];
  snprintf(id, sizeof id, "%d", (int)pid);
  out_path(buf, n, prog, id, ".jsonl");
}

static void setenv_preload(const char *lib) {
  const char *old = getenv("LD_PRELOAD");
  char buf[8192];
  snprintf(buf, sizeof buf, "%s%s%s", lib, old && *old ? ":" : "",
           old ? old : "");
  setenv("LD_PRELOAD", buf, 1);
}

static _Noreturn void exec_child(const run_args *a, const char *lib,
                                 const char *summary_dir) {
  char log[PATH_MAX + 64], profile[PATH_MAX + 64], defs[4096];
  log_path(log, sizeof log, a->argv[0], getpid());
  out_path(profile, sizeof profile, a->argv[0], NULL, ".pb.gz");
  defaults(defs, sizeof defs, log, profile);
  setenv_preload(lib);
  setenv("GT_RUN_DEFAULTS", defs, 1);
  setenv("GT_RUN_OPTIONS", a->options, 1);
  setenv("GT_RUN_SUMMARY", summary_dir, 1);
  if (a->config)
    setenv("GT_RUN_CONFIG", a->config, 1);
  else
    unsetenv("GT_RUN_CONFIG");
  execvp(a->argv[0], a->argv);
  int e = errno;
  fprintf(stderr, "gt run: cannot run %s: %s\n", a->argv[0], strerror(e));
  _exit(e == ENOENT ? 127 : 126);
}

static int by_name(const struct dirent **x, const struct dirent **y) {
  return strverscmp((*x)->d_name, (*y)->d_name);
}

/* Each attached process's summary (which names its profile and its
 * events' file), then the directory is removed. */
static void summaries(const char *dir, bool print) {
  struct dirent **names;
  int n = scandir(dir, &names, NULL, by_name);
  for (int i = 0; i < n; i++) {
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
    FILE *f = names[i]->d_name[0] != '.' ? fopen(path, "re") : NULL;
    for (int c; f && print && (c = getc(f)) != EOF;)
      fputc(c, stderr);
    if (f) {
      fclose(f);
      unlink(path);
    }
    free(names[i]);
  }
  if (n >= 0) free(names);
  rmdir(dir);
}

/* The program's status as ours: its code, or its signal raised again. */
static int pass_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  int sig = WTERMSIG(status);
  signal(sig, SIG_DFL);
  raise(sig);
  return 128 + sig;
}

int gt_run(int argc, char **argv) {
  run_args a = {0};
  int rc = parse(argc, argv, &a);
  char defs[4096], log[PATH_MAX + 64], profile[PATH_MAX + 64], lib[PATH_MAX],
      dir[PATH_MAX];
  log_path(log, sizeof log, a.argv ? a.argv[0] : "x", 0);
  out_path(profile, sizeof profile, a.argv ? a.argv[0] : "x", NULL, ".pb.gz");
  defaults(defs, sizeof defs, log, profile);
  if (rc || (rc = check(&a, defs))) return rc;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/gt-run.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir))
    return fprintf(stderr, "gt run: %s: %s\n", dir, strerror(errno)), 1;
  attach_lib(lib, sizeof lib);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) exec_child(&a, lib, dir);
  if (pid < 0) return fprintf(stderr, "gt run: fork: %s\n", strerror(errno)), 1;
  /* Like a shell's foreground job: the terminal's signals are for it. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  /* A closed stderr (`gt run -- prog 2>&1 | head`) must not stop the
   * clean-up after the summaries. */
  signal(SIGPIPE, SIG_IGN);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  summaries(dir, !a.quiet);
  return pass_status(status);
}
