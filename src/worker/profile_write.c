/* Writing death profiles: gt.profile's path (made absolute at gt_init, as
 * the program may chdir; "%p" becomes the process id when written, so that
 * each process gt run attaches writes its own), gzip (pprof reads both,
 * and a profile of repeated names shrinks several times), and an atomic
 * replace: a temporary file beside it renamed over it, so a reader (or a
 * profile of the next gt_collect) never sees half of one. Not fsync'd: a
 * profile is a report for a person, not data to keep through a power cut.
 * One lock serialises writers (concurrent gt_collect calls, gt_shutdown)
 * and guards the settings. A path no profile could go to fails gt_init
 * (gt__profile_check); a write that fails later is a warning. Profiles
 * are written by the thread calling gt_collect or gt_shutdown, never in
 * the collector's context (they allocate, lock and write files). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "worker/profile.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *path;             /* NULL: no profile */
static char written[PATH_MAX]; /* the last profile written, or "" */
static bool on_collect;
static int64_t start_ns;
static uint64_t period;

static int64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* value, relative to the current directory unless absolute. */
static char *absolute(const char *value) {
  char cwd[PATH_MAX];
  if (value[0] == '/' || !getcwd(cwd, sizeof cwd)) return strdup(value);
  size_t n = strlen(cwd) + strlen(value) + 2;
  char *out = malloc(n);
  if (out) snprintf(out, n, "%s/%s", cwd, value);
  return out;
}

/* "%p": this process's id; "%%": "%". False when it does not fit. Any
 * other '%' was refused by gt__profile_check. */
static bool expand(const char *tmpl, char *out, size_t n) {
  size_t o = 0;
  for (const char *p = tmpl; *p; p++) {
    char piece[16] = {*p, '\0'};
    if (p[0] == '%' && p[1] == 'p')
      snprintf(piece, sizeof piece, "%d", (int)getpid()), p++;
    else if (p[0] == '%' && p[1] == '%')
      p++;
    size_t w = strlen(piece);
    if (o + w >= n) return false;
    memcpy(out + o, piece, w);
    o += w;
  }
  out[o] = '\0';
  return true;
}

/* The '%' escape gt does not expand, or NULL. */
static const char *bad_escape(const char *tmpl) {
  for (const char *p = tmpl; (p = strchr(p, '%')); p += 2)
    if (p[1] != 'p' && p[1] != '%') return p;
  return NULL;
}

/* Why no profile could go to the absolute path p, or NULL. The directory
 * is checked now, at gt_init, rather than at exit, when nothing can be
 * done about it; what goes wrong later is a warning. */
static const char *unusable(const char *p, char *why, size_t n) {
  char file[PATH_MAX], dir[PATH_MAX];
  if (!expand(p, file, sizeof file)) return "the path is too long";
  snprintf(dir, sizeof dir, "%s", file);
  char *slash = strrchr(dir, '/');    /* p is absolute: there is one */
  slash[slash == dir ? 1 : 0] = '\0'; /* "/x" is in "/" */
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
      access(dir, W_OK | X_OK) != 0) {
    snprintf(why, n, "cannot write in %s: %s", dir,
             strerror(errno ? errno : ENOTDIR));
    return why;
  }
  if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) return "it is a directory";
  return NULL;
}

int gt__profile_check(const gt_config *cfg) {
  const char *v = cfg->profile, *esc;
  if (!v || !*v) return 0;
  if ((esc = bad_escape(v)))
    return gt__fail(GT_EINVAL,
                    "gt.profile: '%s': unknown escape '%%%.1s' (only %%p, the "
                    "process id, and %%%% are expanded)",
                    v, esc + 1);
  char *abs = absolute(v), why[PATH_MAX + 128];
  if (!abs) return gt__fail(GT_ENOMEM, "out of memory");
  errno = 0;
  const char *bad = unusable(abs, why, sizeof why);
  int rc = bad ? gt__fail(GT_EINVAL, "gt.profile: '%s': %s", v, bad) : 0;
  free(abs);
  return rc;
}

/* buf gzipped into a temporary file beside target (mode 0644), renamed
 * over target; 0 or an errno value. */
static int write_gzip(const char *target, const uint8_t *buf, size_t len) {
  char tmp[PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.XXXXXX", target);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) return errno;
  int err = fchmod(fd, 0644) ? errno : 0;
  gzFile gz = err ? NULL : gzdopen(fd, "wb");
  if (!gz) {
    err = err ? err : ENOMEM; /* gzdopen only fails for memory here */
    close(fd);
  }
  for (size_t at = 0; gz && !err && at < len;) {
    unsigned chunk = len - at > (1u << 30) ? 1u << 30 : (unsigned)(len - at);
    errno = 0;
    int w = gzwrite(gz, buf + at, chunk);
    if (w <= 0) err = errno ? errno : EIO;
    at += w > 0 ? (size_t)w : 0;
  }
  if (gz) {
    errno = 0;
    int rc = gzclose(gz); /* closes fd */
    if (rc != Z_OK && !err) err = errno ? errno : EIO;
  }
  if (!err && rename(tmp, target) != 0) err = errno;
  if (err) unlink(tmp);
  return err;
}

/* Under lock. */
static void write_profile(bool final) {
  char target[PATH_MAX];
  if (!expand(path, target, sizeof target)) {
    gt__warn("gt.profile: %s: the path is too long", path);
    return;
  }
  uint8_t *buf;
  size_t len;
  if (gt__profile_encode(start_ns, period, final, &buf, &len) != 0) {
    gt__warn("gt.profile: %s: out of memory building the profile", target);
    return;
  }
  int err = write_gzip(target, buf, len);
  free(buf);
  if (err)
    gt__warn("gt.profile: cannot write %s: %s", target, strerror(err));
  else
    snprintf(written, sizeof written, "%s", target);
}

void gt__profile_start(const gt_config *cfg) {
  pthread_mutex_lock(&lock);
  free(path);
  path = NULL;
  if (cfg->profile && *cfg->profile) {
    if (!(path = absolute(cfg->profile)))
      gt__warn("gt.profile: out of memory; no profile will be written");
  }
  written[0] = '\0';
  on_collect = cfg->profile_on_collect;
  period = cfg->alloc_sample_every;
  start_ns = monotonic_ns();
  pthread_mutex_unlock(&lock);
}

void gt__profile_collected(void) {
  pthread_mutex_lock(&lock);
  if (path && on_collect) write_profile(false);
  pthread_mutex_unlock(&lock);
}

void gt__profile_stop(void) {
  pthread_mutex_lock(&lock);
  if (path) write_profile(true);
  free(path);
  path = NULL;
  pthread_mutex_unlock(&lock);
}

bool gt__profile_written(char *buf, size_t n) {
  pthread_mutex_lock(&lock);
  snprintf(buf, n, "%s", written);
  pthread_mutex_unlock(&lock);
  return buf[0] != '\0';
}

void gt__profile_fork(enum gt_fork_phase phase) {
  if (phase == GT_FORK_PREPARE) {
    pthread_mutex_lock(&lock);
    return;
  }
  if (phase == GT_FORK_CHILD) {
    free(path);
    path = NULL;
    written[0] = '\0';
  }
  pthread_mutex_unlock(&lock);
}
