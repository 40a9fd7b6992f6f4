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
#include <sys/socket.h>
#include <sys/stat.h>
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
  int want_stdin = 0, stdin_done = 0, last_signal = 0;
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
      case '1': write_all(1, frame, len); break;
      case '2': write_all(2, frame, len); break;
      case 'i': want_stdin = 1; break;
      case 'X': {
        int n = 0;
        if (sscanf(frame, "exit %d", &n) == 1) return n & 0xff;
        if (sscanf(frame, "signal %d", &n) == 1) return 128 + n;
        return 1;
      }
      default: break;   /* unknown frames are for newer clients */
      }
    }
  }
}
