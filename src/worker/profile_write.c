/* Writing death profiles: gt.profile's path (made absolute at gt_init, as
 * the program may chdir; "%p" becomes the process id when written, so that
 * each process gt run attaches writes its own), gzip (pprof reads both,
 * and a profile of repeated names shrinks several times), and an atomic
 * replace: a temporary file beside it renamed over it, so a reader (or a
 * profile of the next gt_collect) never sees half of one. Not fsync'd: a
 * profile is a report for a person, not data to keep through a power cut.
 * One lock serialises writers (concurrent gt_collect calls, gt_shutdown)
 * and guards the settings. */
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
static char *path; /* NULL: no profile */
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

/* "%p": this process's id; "%%": "%". False when it does not fit. */
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

/* Warns now if the directory cannot take the profile, rather than at
 * exit when nothing can be done about it. */
static void check_dir(const char *p) {
  char dir[PATH_MAX];
  if (!expand(p, dir, sizeof dir)) {
    gt__warn("gt.profile: %s: the path is too long", p);
    return;
  }
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, sizeof dir, "."); /* getcwd failed: relative */
  else
    slash[slash == dir ? 1 : 0] = '\0'; /* "/x" is in "/" */
  if (access(dir, W_OK | X_OK) != 0)
    gt__warn("gt.profile: cannot write in %s (%s); no profile will be "
             "written there",
             dir, strerror(errno));
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
  if (err) gt__warn("gt.profile: cannot write %s: %s", target, strerror(err));
}

void gt__profile_start(const gt_config *cfg) {
  pthread_mutex_lock(&lock);
  free(path);
  path = NULL;
  if (cfg->profile && *cfg->profile) {
    if (!(path = absolute(cfg->profile)))
      gt__warn("gt.profile: out of memory; no profile will be written");
    else
      check_dir(path);
  }
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

void gt__profile_fork(enum gt_fork_phase phase) {
  if (phase == GT_FORK_PREPARE) {
    pthread_mutex_lock(&lock);
    return;
  }
  if (phase == GT_FORK_CHILD) {
    free(path);
    path = NULL;
  }
  pthread_mutex_unlock(&lock);
}
