/*
 * tsbuild-client: the thin client of `tsbuild daemon` (builder/daemon/). bin/tsbuild execs it, only when the daemon's
 * socket exists, as `tsbuild-client SOCKET BIN_TSBUILD ARGS...`. It hands the command line, cwd, environ, umask and
 * terminal state to a warm tsbuild process the daemon started ahead of time, then relays stdout/stderr, stdin (only
 * when the command asks for it), signals and window sizes until that process reports its exit status.
 *
 * Whatever goes wrong before the request is sent (no daemon, a socket or directory not owned by us or writable by
 * others, another mount namespace or euid on the other side) it falls back to running the command directly:
 * exec BIN_TSBUILD with TSBUILD_DAEMON=0. The frames are described in builder/daemon/protocol.ts.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

static char **fallback_argv;
static int sigpipe_fds[2] = { -1, -1 };

/* Runs the command without the daemon; never returns. */
static void fallback(const char *why) {
  if (getenv("TSBUILD_DAEMON_DEBUG")) fprintf(stderr, "tsbuild-client: not using the daemon: %s\n", why);
  setenv("TSBUILD_DAEMON", "0", 1);
  execv(fallback_argv[0], fallback_argv);
  fprintf(stderr, "tsbuild: cannot run %s: %s\n", fallback_argv[0], strerror(errno));
  _exit(127);
}

/* A path we may trust: owned by our euid and writable by nobody else. */
static int owned_private(const char *path, int want_socket) {
  struct stat st;
  if (lstat(path, &st) != 0) return 0;
  if (st.st_uid != geteuid()) return 0;
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return 0;
  if (want_socket ? !S_ISSOCK(st.st_mode) : !S_ISDIR(st.st_mode)) return 0;
  return 1;
}

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* One frame: type byte, payload length (uint32, little-endian), payload. */
static int send_frame(int fd, char type, const void *payload, uint32_t len) {
  unsigned char head[5] = { (unsigned char)type, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, (len >> 24) & 0xff };
  if (write_all(fd, head, sizeof head) != 0) return -1;
  return len == 0 ? 0 : write_all(fd, payload, len);
}

/* A growing buffer of NUL-terminated strings: the request's payload. */
struct buf { char *data; size_t len, cap; };

static void put(struct buf *b, const char *s) {
  size_t n = strlen(s) + 1;
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->data = realloc(b->data, b->cap);
    if (!b->data) { perror("tsbuild-client: realloc"); _exit(1); }
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

static void putl(struct buf *b, long n) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%ld", n);
  put(b, tmp);
}

/* "COLS ROWS" of each of fds 0, 1, 2 (0 0 when not a terminal). */
static void window_sizes(char *out, size_t cap) {
  size_t off = 0;
  for (int fd = 0; fd < 3; fd++) {
    struct winsize ws = { 0 };
    if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) != 0) ws.ws_col = ws.ws_row = 0;
    off += (size_t)snprintf(out + off, cap - off, "%s%u %u", fd ? " " : "", ws.ws_col, ws.ws_row);
  }
}

/* The whole of a small /proc file, NUL-terminated (*len without the NUL); NULL when it cannot be read. */
static char *read_proc(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, n = 0;
  char *data = malloc(cap);
  for (;;) {
    if (!data) { close(fd); return NULL; }
    if (n + 1 >= cap) {
      if (cap >= (1u << 22)) { free(data); close(fd); return NULL; }
      char *bigger = realloc(data, cap *= 2);
      if (!bigger) { free(data); close(fd); return NULL; }
      data = bigger;
    }
    ssize_t r = read(fd, data + n, cap - n - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { free(data); close(fd); return NULL; }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  data[n] = 0;
  if (len) *len = n;
  return data;
}

/*
 * What node reads once, at its start, from the environment: the warm process started with the daemon's values, so a
 * command whose values differ runs directly. (Everything else in the environment is read when used, and the warm
 * process takes the request's environ before the command runs.)
 */
static const char *const START_ENV[] = {
  "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS", "NODE_ICU_DATA", "NODE_NO_WARNINGS", "NODE_PENDING_DEPRECATION",
  "NODE_REDIRECT_WARNINGS", "NODE_V8_COVERAGE", "NODE_PRESERVE_SYMLINKS", "NODE_COMPILE_CACHE", "UV_THREADPOOL_SIZE",
  "UV_USE_IO_URING", "OPENSSL_CONF", "OPENSSL_MODULES", "SSL_CERT_FILE", "SSL_CERT_DIR",
  "GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",   /* glibc's, read at exec (bin/tsbuild sets the two) */
};

static const char *environ_value(const char *env, size_t len, const char *name) {
  size_t nlen = strlen(name);
  for (const char *e = env; e < env + len; e += strlen(e) + 1) {
    if (strncmp(e, name, nlen) == 0 && e[nlen] == '=') return e + nlen + 1;
  }
  return NULL;
}

/*
 * GLIBC_TUNABLES is compared through bin/tsbuild's copy of it (TSBUILD_START_GLIBC_TUNABLES): glibc 2.36 rewrites the
 * string a process was started with in place, and /proc/PID/environ then shows it cut after its first tunable while
 * getenv() gives the whole value, so two tunables never compared equal and every such command ran directly.
 */
static const char *compared_name(const char *name) {
  return strcmp(name, "GLIBC_TUNABLES") == 0 ? "TSBUILD_START_GLIBC_TUNABLES" : name;
}

static void same_start_env(long pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/environ", pid);
  size_t len = 0;
  char *env = read_proc(path, &len);
  if (!env) fallback("cannot read the warm process's environment");
  for (size_t i = 0; i < sizeof START_ENV / sizeof *START_ENV; i++) {
    const char *key = compared_name(START_ENV[i]);
    const char *ours = getenv(key), *theirs = environ_value(env, len, key);
    if ((ours == NULL) != (theirs == NULL) || (ours && strcmp(ours, theirs) != 0)) {
      static char why[128];
      snprintf(why, sizeof why, "%s differs from the daemon's (node reads it at start)", START_ENV[i]);
      fallback(why);
    }
  }
  free(env);
}

static int cmp_gid(const void *a, const void *b) {
  gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
  return x < y ? -1 : x > y;
}

/* Supplementary groups cannot be given to another process: other groups than the warm process's mean a direct run. */
static void same_groups(long pid) {
  gid_t ours[1024], theirs[1024];
  int n = getgroups(1024, ours);
  if (n < 0) fallback("getgroups");
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  char *status = read_proc(path, NULL);
  if (!status) fallback("cannot read the warm process's status");
  char *line = strstr(status, "\nGroups:");
  int m = 0;
  if (line) {
    char *p = line + 8, *end;
    for (;;) {
      unsigned long g = strtoul(p, &end, 10);
      if (end == p || m == 1024) break;
      theirs[m++] = (gid_t)g;
      p = end;
    }
  }
  free(status);
  qsort(ours, (size_t)n, sizeof *ours, cmp_gid);
  qsort(theirs, (size_t)m, sizeof *theirs, cmp_gid);
  if (n != m || memcmp(ours, theirs, (size_t)n * sizeof *ours) != 0) fallback("other supplementary groups than the daemon's");
}

/* The mount point of the cgroup hierarchy a /proc/PID/cgroup line names ("ID:CONTROLLERS:PATH"), from mountinfo. */
static int hierarchy_mount(const char *mountinfo, const char *controllers, char *out, size_t cap) {
  for (const char *line = mountinfo; *line; ) {
    const char *eol = strchr(line, '\n');
    size_t ll = eol ? (size_t)(eol - line) : strlen(line);
    char buf[1024];
    if (ll < sizeof buf) {
      memcpy(buf, line, ll);
      buf[ll] = 0;
      char root[512], point[512], fstype[32], opts[512];
      /* ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER */
      const char *dash = strstr(buf, " - ");
      if (dash && sscanf(buf, "%*s %*s %*s %511s %511s", root, point) == 2 && sscanf(dash + 3, "%31s %*s %511s", fstype, opts) == 2) {
        int match = 0;
        if (*controllers == 0) match = strcmp(fstype, "cgroup2") == 0;
        else if (strcmp(fstype, "cgroup") == 0) {
          /* Every controller of the line is among the mount's super options. */
          match = 1;
          char want[256];
          snprintf(want, sizeof want, "%s", controllers);
          for (char *save = NULL, *c = strtok_r(want, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
            int found = 0;
            char have[512];
            snprintf(have, sizeof have, "%s", opts);
            for (char *s2 = NULL, *o = strtok_r(have, ",", &s2); o; o = strtok_r(NULL, ",", &s2)) if (strcmp(o, c) == 0) found = 1;
            if (!found) { match = 0; break; }
          }
        }
        /* Only a mount of the hierarchy's root: below it, /proc/PID/cgroup paths do not map onto the mount. */
        if (match && strcmp(root, "/") == 0 && strlen(point) < cap) { strcpy(out, point); return 1; }
      }
    }
    if (!eol) break;
    line = eol + 1;
  }
  return 0;
}

/*
 * The warm process joins each of our cgroups where it is in another (a CI job's memory or pids limit, a systemd
 * unit's accounting): the command and every process it starts are counted and limited where a direct run would be.
 */
static void join_our_cgroups(long pid, const long *all, size_t count) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/cgroup", pid);
  char *ours = read_proc("/proc/self/cgroup", NULL), *theirs = read_proc(path, NULL);
  if (!ours || !theirs) fallback("cannot read cgroups");
  if (strcmp(ours, theirs) == 0) { free(ours); free(theirs); return; }
  char *mountinfo = read_proc("/proc/self/mountinfo", NULL);
  if (!mountinfo) fallback("cannot read mountinfo");
  /* Their lines, each between newlines, so that one line of ours is found whole: "\nID:CONTROLLERS:PATH\n". */
  size_t tl = strlen(theirs);
  char *padded = malloc(tl + 3);
  if (!padded) fallback("malloc");
  sprintf(padded, "\n%s%s", theirs, tl > 0 && theirs[tl - 1] == '\n' ? "" : "\n");
  for (char *save = NULL, *line = strtok_r(ours, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    /* Already there for this hierarchy: nothing to move. */
    char needle[1024];
    snprintf(needle, sizeof needle, "\n%s\n", line);
    if (strstr(padded, needle) != NULL) continue;
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) fallback("cannot parse /proc/self/cgroup");
    *c2 = 0;
    char point[512], procs[2048];
    if (!hierarchy_mount(mountinfo, c1 + 1, point, sizeof point)) fallback("a cgroup hierarchy without a mount of its root");
    snprintf(procs, sizeof procs, "%s%s/cgroup.procs", point, c2 + 1);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0) fallback("cannot move the warm process into our cgroup");
    for (size_t i = 0; i < count; i++) {
      char pidtext[32];
      int n = snprintf(pidtext, sizeof pidtext, "%ld", all[i]);
      /* One write per pid (the kernel takes one a write); a process that ended meanwhile (ESRCH) is no matter. */
      if (write(fd, pidtext, (size_t)n) != n && !(errno == ESRCH && all[i] != pid)) fallback("cannot move the warm process into our cgroup");
    }
    close(fd);
  }
  free(padded);
  free(mountinfo);
  free(ours);
  free(theirs);
}

/* The thread ids of process `pid` (from /proc/PID/task), at most `cap`; -1 when the process is gone. */
static int thread_ids(long pid, long *out, int cap) {
  char tasks[64];
  snprintf(tasks, sizeof tasks, "/proc/%ld/task", pid);
  DIR *dir = opendir(tasks);
  if (!dir) return -1;
  int n = 0;
  for (struct dirent *d; n < cap && (d = readdir(dir)) != NULL; ) {
    if (d->d_name[0] >= '0' && d->d_name[0] <= '9') out[n++] = strtol(d->d_name, NULL, 10);
  }
  closedir(dir);
  return n;
}

/*
 * The warm process and the processes it has started (the warm-up build's xattr reader, kept for the command as a
 * direct run keeps it after first use), depth first; at most `cap`.
 */
static size_t process_tree(long pid, long *out, size_t cap) {
  size_t n = 0;
  if (cap == 0) return 0;
  out[n++] = pid;
  for (size_t i = 0; i < n; i++) {
    long tids[1024];
    int t = thread_ids(out[i], tids, 1024);   /* -1: ended meanwhile */
    for (int k = 0; k < t; k++) {
      char path[96];
      snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", out[i], tids[k]);
      char *children = read_proc(path, NULL);
      if (!children) continue;
      for (char *p = children, *end; n < cap; p = end) {
        long child = strtol(p, &end, 10);
        if (end == p) break;
        out[n++] = child;
      }
      free(children);
    }
  }
  return n;
}

/* Resource limits and nice value: the process takes ours (as root it may raise its hard limits to them). */
static void give_limits(long pid, int must) {
  for (int r = 0; r < RLIM_NLIMITS; r++) {
    struct rlimit lim;
    if (getrlimit(r, &lim) != 0) continue;   /* a limit this kernel does not know */
    if (prlimit((pid_t)pid, r, &lim, NULL) != 0) {
      if (!must && errno == ESRCH) return;   /* a helper of the warm process that ended meanwhile */
      fallback("cannot give the warm process our resource limits");
    }
  }
  /* Nice is per thread on Linux: every thread of the warm process gets ours (those it starts later inherit it). */
  errno = 0;
  int prio = getpriority(PRIO_PROCESS, 0);
  if (errno != 0) fallback("getpriority");
  long tids[1024];
  int t = thread_ids(pid, tids, 1024);
  if (t < 0) {
    if (!must) return;
    fallback("cannot list the warm process's threads");
  }
  for (int k = 0; k < t; k++) {
    id_t tid = (id_t)tids[k];
    /* A thread that ended meanwhile (ESRCH) needs no nice value. */
    if (getpriority(PRIO_PROCESS, tid) != prio && setpriority(PRIO_PROCESS, tid, prio) != 0 && errno != ESRCH) fallback("cannot give the warm process our nice value");
  }
}

static void on_signal(int sig) {
  unsigned char s = (unsigned char)sig;
  int saved = errno;
  if (write(sigpipe_fds[1], &s, 1) < 0) { /* the pipe is full: the signal is already pending there */ }
  errno = saved;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: tsbuild-client SOCKET BIN_TSBUILD [ARGS...]\n");
    return 2;
  }
  const char *sock_path = argv[1];
  fallback_argv = argv + 2;

  /* A socket someone else planted must never receive our environment. */
  char dir_copy[sizeof(((struct sockaddr_un *)0)->sun_path)];
  if (strlen(sock_path) >= sizeof dir_copy) fallback("socket path too long");
  strcpy(dir_copy, sock_path);
  if (!owned_private(dirname(dir_copy), 0)) fallback("the socket's directory is not ours alone");
  if (!owned_private(sock_path, 1)) fallback("the socket is not ours alone");

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fallback("socket");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  strcpy(addr.sun_path, sock_path);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) fallback("connect");

  /* Hello from the warm process: "ok|fallback MNTNS_INODE EUID PID". */
  unsigned char head[5];
  if (read_all(fd, head, 5) != 0 || head[0] != 'H') fallback("no hello");
  uint32_t hlen = head[1] | head[2] << 8 | head[3] << 16 | (uint32_t)head[4] << 24;
  char hello[256];
  if (hlen >= sizeof hello || read_all(fd, hello, hlen) != 0) fallback("bad hello");
  hello[hlen] = 0;
  char mode[16];
  unsigned long long ns = 0;
  unsigned long euid = 0;
  long pid = 0;
  if (sscanf(hello, "%15s %llu %lu %ld", mode, &ns, &euid, &pid) != 4) fallback("bad hello");
  if (strcmp(mode, "ok") != 0) fallback("the warm process cannot run this user's commands");
  struct stat mnt;
  if (stat("/proc/self/ns/mnt", &mnt) != 0 || (unsigned long long)mnt.st_ino != ns) fallback("another mount namespace");
  if (euid != (unsigned long)geteuid()) fallback("another euid");
  /* The process state a direct run would inherit: carried over, or the command runs directly. */
  same_start_env(pid);
  same_groups(pid);
  long tree[64];
  size_t count = process_tree(pid, tree, sizeof tree / sizeof *tree);
  for (size_t i = 0; i < count; i++) give_limits(tree[i], tree[i] == pid);
  join_our_cgroups(pid, tree, count);

  /* Signals and resizes from now on reach the loop below through a pipe. */
  if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) fallback("pipe");
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset(&sa.sa_mask);
  int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaction(forwarded[i], &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* The request: version, pid, umask, cwd, isatty of 0 1 2, window sizes, argc, args, envc, environ. */
  struct buf req = { 0 };
  put(&req, "1");
  putl(&req, (long)getpid());
  mode_t mask = umask(0);
  umask(mask);
  putl(&req, (long)mask);
  char *cwd = getcwd(NULL, 0);
  if (!cwd) fallback("getcwd");
  put(&req, cwd);
  char ttys[8];
  snprintf(ttys, sizeof ttys, "%d %d %d", isatty(0), isatty(1), isatty(2));
  put(&req, ttys);
  char sizes[96];
  window_sizes(sizes, sizeof sizes);
  put(&req, sizes);
  putl(&req, (long)(argc - 3));
  for (int i = 3; i < argc; i++) put(&req, argv[i]);
  long envc = 0;
  for (char **e = environ; *e; e++) envc++;
  putl(&req, envc);
  for (char **e = environ; *e; e++) put(&req, *e);
  if (send_frame(fd, 'R', req.data, (uint32_t)req.len) != 0) fallback("the warm process went away");
  free(req.data);

  /* From here on the command runs there: no fallback any more (it may already have done something). */
  int want_stdin = 0, stdin_done = 0, last_signal = 0, output_closed = 0;
  char *frame = NULL;
  size_t frame_cap = 0;
  for (;;) {
    struct pollfd p[3] = {
      { .fd = fd, .events = POLLIN },
      { .fd = sigpipe_fds[0], .events = POLLIN },
      { .fd = (want_stdin && !stdin_done) ? 0 : -1, .events = POLLIN },
    };
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      perror("tsbuild-client: poll");
      return 1;
    }
    if (p[1].revents & POLLIN) {
      unsigned char s;
      while (read(sigpipe_fds[0], &s, 1) == 1) {
        if (s == SIGWINCH) {
          window_sizes(sizes, sizeof sizes);
          send_frame(fd, 'W', sizes, (uint32_t)strlen(sizes));
        } else {
          last_signal = s;
          send_frame(fd, 'S', &s, 1);
        }
      }
    }
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      char data[65536];
      ssize_t n = read(0, data, sizeof data);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        stdin_done = 1;
        send_frame(fd, 'I', NULL, 0);
      } else {
        send_frame(fd, 'I', data, (uint32_t)n);
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (read_all(fd, head, 5) != 0) {
        /* Gone without a status: killed (by the signal we forwarded, if any). */
        if (output_closed) return 141;
        if (last_signal) return 128 + last_signal;
        fprintf(stderr, "tsbuild: the daemon's process ended without an exit status\n");
        return 1;
      }
      uint32_t len = head[1] | head[2] << 8 | head[3] << 16 | (uint32_t)head[4] << 24;
      if (len + 1 > frame_cap) {
        frame_cap = len + 1;
        frame = realloc(frame, frame_cap);
        if (!frame) { perror("tsbuild-client: realloc"); return 1; }
      }
      if (read_all(fd, frame, len) != 0) {
        fprintf(stderr, "tsbuild: the daemon's process ended mid-frame\n");
        return 1;
      }
      frame[len] = 0;
      switch (head[0]) {
      case '1':
      case '2':
        /* The reader of our output went away (`tsbuild ... | head`): the command stops as a direct run stops
           (builder/closed-output.ts: as on Ctrl-C, at its next write), and we end with its status, 141. */
        if (write_all(head[0] - '0', frame, len) != 0 && errno == EPIPE && !output_closed) {
          unsigned char s = SIGTERM;
          output_closed = 1;
          send_frame(fd, 'S', &s, 1);
        }
        break;
      case 'i': want_stdin = 1; break;
      case 'X': {
        int n = 0;
        if (output_closed) return 141;
        if (sscanf(frame, "exit %d", &n) == 1) return n & 0xff;
        if (sscanf(frame, "signal %d", &n) == 1) return 128 + n;
        return 1;
      }
      default: break;   /* unknown frames are for newer clients */
      }
    }
  }
}
