// tsbuild-run entry point. The outer process reads the spec, takes the cache locks, unshares a pid namespace and
// forks; the child becomes pid 1 of that namespace, builds the container around itself and execs the step's
// process. The outer process waits and exits with the child's status (128+signal when killed), so killing pid 1
// (which makes the kernel kill everything else in the namespace) is all cancellation needs.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tsbuild-run.h"

static volatile sig_atomic_t child_pid = 0;
static volatile sig_atomic_t stopping = 0;
static int alive_read = -1;

static void on_stop(int sig) {
  (void)sig;
  stopping = 1;
  if (child_pid > 0) kill(child_pid, SIGKILL);
}

/** Exits when the outer process is gone (its end of the liveness pipe closed): closes the PDEATHSIG races. */
void check_parent(void) {
  struct pollfd p = { .fd = alive_read, .events = POLLIN, .revents = 0 };
  if (poll(&p, 1, 0) < 0) fail("poll", "liveness pipe", errno);
  if (p.revents & (POLLHUP | POLLERR)) _exit(EXIT_SETUP);
}

/*
 * The step's stdout and stderr are pipes, as BuildKit's are (runc is handed os.Pipe ends): the driver gives this
 * process socket pairs (what node's 'pipe' stdio is), and a socket cannot be opened again through /proc/self/fd, so
 * `echo x > /dev/stdout` or `tee /dev/stderr` in a RUN failed with ENXIO. This process copies what the step writes
 * into its pipes to its own stdout and stderr, until both end: when pid 1 of the step's namespace exits, the kernel
 * kills the rest of it, so nothing the step started keeps them open after it.
 *
 * `tsbuild debug` adds an input: what arrives on TERMINAL_FD (a person's terminal or stdin) goes to `in` (the step's
 * stdin pipe, or its pseudo-terminal's master, then also `out`), written only as `in` takes it, so a step that reads
 * no input never stalls its output. The step never holds TERMINAL_FD itself: through /proc/self/fd a process can
 * open the file behind an fd again, with the rights of root in the container, and a terminal takes ioctls.
 */
static volatile sig_atomic_t winched = 0;
static void on_winch(int sig) { (void)sig; winched = 1; }

static void copy_winsize(int to) {
  struct winsize ws;
  if (ioctl(TERMINAL_FD, TIOCGWINSZ, &ws) == 0) ioctl(to, TIOCSWINSZ, &ws);
}

static void write_all(int fd, const char *buf, ssize_t n) {
  // What the driver no longer reads (it went away) is dropped: the step is killed through PDEATHSIG anyway.
  for (ssize_t done = 0; done < n;) {
    ssize_t w = write(fd, buf + done, (size_t)(n - done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += w;
  }
}

static void relay(int out, int err, int in, bool tty) {
  enum { OUT, ERR, SRC, DST };
  struct pollfd fds[4] = {
    { .fd = out, .events = POLLIN, .revents = 0 }, { .fd = err, .events = POLLIN, .revents = 0 },
    { .fd = in >= 0 ? TERMINAL_FD : -1, .events = POLLIN, .revents = 0 }, { .fd = -1, .events = POLLOUT, .revents = 0 },
  };
  static char buf[1 << 16];
  static char pending[1 << 12];
  ssize_t npending = 0, sent = 0;
  bool src_open = in >= 0;
  int open_ends = (out >= 0) + (err >= 0);
  while (open_ends > 0) {
    if (tty && winched) { winched = 0; copy_winsize(in); }
    // Input is read only once the last of it is written: TERMINAL_FD is not polled while `in` is full.
    fds[SRC].fd = src_open && npending == 0 ? TERMINAL_FD : -1;
    fds[DST].fd = npending > 0 ? in : -1;
    if (poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      fail("poll", "stdio relay", errno);
    }
    for (int i = OUT; i <= ERR; i++) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      // A pseudo-terminal's master reads EIO once the step's last process has closed the other side.
      if (n <= 0) {
        if (!tty || i != OUT) close(fds[i].fd);
        fds[i].fd = -1;
        open_ends--;
        continue;
      }
      write_all(i == OUT ? STDOUT_FILENO : STDERR_FILENO, buf, n);
    }
    if (fds[SRC].fd >= 0 && (fds[SRC].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t n = read(TERMINAL_FD, pending, sizeof pending);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        // The person's input ended: the step's stdin ends too (a pseudo-terminal has no end of its own to give).
        src_open = false;
        if (!tty) { close(in); in = -1; }
      } else {
        npending = n;
        sent = 0;
      }
    }
    if (fds[DST].fd >= 0 && (fds[DST].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t w = write(in, pending + sent, (size_t)(npending - sent));
      if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (w <= 0) { npending = 0; src_open = false; continue; }   // the step closed its stdin: no more input
      sent += w;
      if (sent == npending) npending = 0;
    }
  }
}

/** Hands `fd` to the process at the other end of the unix socket `sock` (SCM_RIGHTS). */
static void send_fd(int sock, int fd) {
  char byte = 0;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) fail("sendmsg", "pty master", errno);
}

/** The fd send_fd sent on `sock`, or -1 when the other end closed without sending one (it failed; it says why). */
static int recv_fd(int sock) {
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0)
    if (errno != EINTR) fail("recvmsg", "pty master", errno);
  struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

/*
 * `tsbuild debug` with a terminal: the step's pseudo-terminal comes from the devpts instance mounted for the step, as
 * runc makes a `-t` container's console, so the step holds nothing of the host's devpts and `tty` names /dev/pts/0.
 * Opened through the root before the step's own mounts (a RUN mount could cover /dev/pts), the other side through
 * TIOCGPTPEER rather than by its name. It becomes the step's stdio and controlling terminal (a shell gets job control;
 * Ctrl-C reaches the step's foreground process, never tsbuild); the master goes to the outer process over `console`,
 * which relays the person's terminal into it. The size is copied here, before the shell can ask for it.
 */
static void take_terminal(int rootfd, int console) {
  int master = open_in_root(rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY);
  if (master < 0) fail("openat2", "/dev/pts/ptmx", errno);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) != 0) fail("ioctl", "TIOCSPTLCK", errno);
  int pty = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (pty < 0) fail("ioctl", "TIOCGPTPEER", errno);
  copy_winsize(pty);
  if (dup2(pty, STDIN_FILENO) < 0 || dup2(pty, STDOUT_FILENO) < 0 || dup2(pty, STDERR_FILENO) < 0) fail("dup2", "pty", errno);
  close(pty);
  if (ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0) fail("ioctl", "TIOCSCTTY", errno);
  send_fd(console, master);
  close(master);
  close(console);
}

static _Noreturn void container(struct spec *s, int alive_write, int console) {
  close(alive_write);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("prctl", "PR_SET_PDEATHSIG", errno);
  check_parent();
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  sigaction(SIGTERM, &dfl, NULL);
  sigaction(SIGINT, &dfl, NULL);
  sigaction(SIGQUIT, &dfl, NULL);
  sigaction(SIGHUP, &dfl, NULL);
  // A session of its own: the step loses the caller's controlling terminal, so it can neither open /dev/tty
  // (ENXIO) nor push input into the caller's terminal with TIOCSTI. Docker's containers never share one either.
  if (setsid() < 0) fail("setsid", "", errno);
  // Join the cgroups before unsharing the cgroup namespace, so the container sees its own cgroup as its root.
  join_cgroups(s);
  // The build's network namespace (prepared by the driver, lo up, a user-mode stack behind tap0) is joined before
  // anything is mounted: sysfs shows the network namespace current at its mount.
  if (s->netns != NULL) join_netns(s->netns, s->netns_inode);
  bool new_net = s->isolate_net && s->netns == NULL;
  int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP | (new_net ? CLONE_NEWNET : 0);
  if (unshare(flags) != 0) fail("unshare", "mnt,uts,ipc,cgroup,net", errno);
  if (new_net) loopback_up();
  // Nothing we mount may propagate back to the host, and nothing the host mounts later may appear in here.
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("mount", "/ (make private)", errno);
  mount_scratch(s);
  mount_layers(s);
  int rootfd = open(s->rootfs.dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fail("open", s->rootfs.dst, errno);
  mount_system(rootfd, s->rootfs.dst, s);
  if (console >= 0) take_terminal(rootfd, console);
  for (size_t i = 0; i < s->nmounts; i++) mount_entry(rootfd, s->rootfs.dst, &s->mounts[i], s->scratch_fd, i);
  if (!s->privileged) mask_paths(rootfd);
  struct stat st;
  if (fstat(rootfd, &st) != 0) fail("fstat", s->rootfs.dst, errno);
  status_settled(&st.st_mtim);
  close(rootfd);
  if (s->scratch_fd >= 0) close(s->scratch_fd);
  enter_root(s->rootfs.dst);
  exec_process(s);
}

static void take_locks(const struct spec *s) {
  // Held (by this outer process) until it exits: flock locks die with their last fd, crash or not.
  for (size_t i = 0; i < s->nlocks; i++) {
    int fd = open(s->locks[i], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) fail("open", s->locks[i], errno);
    while (flock(fd, LOCK_EX) != 0)
      if (errno != EINTR) fail("flock", s->locks[i], errno);
  }
}

int main(int argc, char **argv) {
  // `tsbuild-run --export-seccomp`: Docker's default seccomp profile for Docker's default capabilities, compiled
  // for this kernel and architecture, as raw BPF on stdout. The driver runs it once and passes the result in every
  // spec. Failures go to stderr as the usual JSON line.
  if (argc == 2 && strcmp(argv[1], "--export-seccomp") == 0) {
    if (dup2(STDERR_FILENO, STATUS_FD) < 0) return EXIT_SETUP;
    export_seccomp(STDOUT_FILENO, default_caps_mask());
    return 0;
  }
  if (argc != 1) {
    fprintf(stderr, "usage: tsbuild-run < spec (status on fd %d) | tsbuild-run --export-seccomp\n", STATUS_FD);
    return EXIT_SETUP;
  }
  // Ctrl-C at a terminal reaches every process of tsbuild's process group at once. The driver cancels a step itself
  // (SIGTERM, then SIGKILL) once it has seen the interrupt; a helper that stopped its step on its own could report a
  // failed step before the driver saw the signal, and the build would end as a step's failure, not as cancelled.
  // The step's own processes get the default back (container()).
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) != 0) {
    fprintf(stderr, "tsbuild-run: fd %d must be the status pipe\n", STATUS_FD);
    return EXIT_SETUP;
  }
  // The driver passes fds 0-3 and nothing else; anything above came from whoever started tsbuild (a CI runner's
  // pipe, a shell's directory fd) and would reach the step's process: a directory fd is a way out of the rootfs
  // (`WORKDIR /proc/self/fd/N`, runc's CVE-2024-21626), any other a channel to the host. runc closes them the same
  // way before it execs the container's process (libcontainer/standard_init_linux.go, UnsafeCloseFrom).
  // TERMINAL_FD too, unless the spec says it is `tsbuild debug`'s (below, once the spec is read).
  if (syscall(SYS_close_range, TERMINAL_FD + 1, ~0U, 0) != 0) fail("close_range", "inherited fds", errno);
  umask(022);
  // If the driver dies, so do we (and then the container, through its own PDEATHSIG).
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("prctl", "PR_SET_PDEATHSIG", errno);
  struct spec s;
  spec_read(STDIN_FILENO, &s);
  if (s.terminal == T_PIPES) close(TERMINAL_FD);
  else if (fcntl(TERMINAL_FD, F_SETFD, FD_CLOEXEC) != 0) fail("fcntl", "terminal fd", errno);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) fail("open", "/dev/null", errno);
  if (dup2(devnull, STDIN_FILENO) < 0) fail("dup2", "stdin", errno);
  close(devnull);
  take_locks(&s);
  // cgroup v2: the device allow-list goes on before anyone joins the cgroup.
  if (s.devcgroup != NULL) attach_device_filter(&s);
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) != 0) fail("pipe2", "liveness pipe", errno);
  alive_read = alive[0];
  struct sigaction sa = { .sa_handler = on_stop };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 };
  int console[2] = { -1, -1 };   // T_TTY: the step's pseudo-terminal master comes back on console[0] (take_terminal)
  if (s.terminal == T_TTY) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) != 0) fail("socketpair", "console", errno);
    struct sigaction wa = { .sa_handler = on_winch };   // no SA_RESTART: poll returns, the size is copied
    sigemptyset(&wa.sa_mask);
    sigaction(SIGWINCH, &wa, NULL);
  } else {
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) fail("pipe2", "stdio pipes", errno);
    if (s.terminal == T_STDIO && (pipe2(in, O_CLOEXEC) != 0 || fcntl(in[1], F_SETFL, O_NONBLOCK) != 0)) fail("pipe2", "stdin pipe", errno);
  }
  // The driver going away must not kill this process by SIGPIPE before it reports: relay() drops what it cannot write.
  signal(SIGPIPE, SIG_IGN);
  if (unshare(CLONE_NEWPID) != 0) fail("unshare", "pid", errno);
  pid_t pid = fork();
  if (pid < 0) fail("fork", "", errno);
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    if (console[1] >= 0) {
      close(console[0]);
    } else {
      if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0) fail("dup2", "stdio pipes", errno);
      if (in[0] >= 0 && dup2(in[0], STDIN_FILENO) < 0) fail("dup2", "stdin pipe", errno);
      close(err[0]);
      close(out[0]);
    }
    container(&s, alive[1], console[1]);
  }
  child_pid = pid;
  if (stopping) kill(pid, SIGKILL);
  close(alive[0]);
  if (console[0] >= 0) {
    close(console[1]);
    // The step holds the only other ends: the master reads EIO once they are gone. No master: the container failed
    // before it made one, and said why on the status pipe.
    int master = recv_fd(console[0]);
    close(console[0]);
    if (master >= 0) {
      if (fcntl(master, F_SETFL, O_NONBLOCK) != 0) fail("fcntl", "pty", errno);
      relay(master, -1, master, true);
    }
  } else {
    close(out[1]);
    close(err[1]);
    if (in[0] >= 0) close(in[0]);
    relay(out[0], err[0], in[1], false);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail("waitpid", "", errno);
  if (WIFSIGNALED(status)) {
    status_exit(0, WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  status_exit(WEXITSTATUS(status), 0);
  return WEXITSTATUS(status);
}
