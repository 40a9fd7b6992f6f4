// tsbuild-run: sets up one container and runs one process in it. All policy is decided by the TypeScript driver
// (worker/exec/) and arrives as a spec on stdin; this program only carries it out, checking every syscall and
// reporting the first failure as one JSON line on the status fd.
#ifndef TSBUILD_RUN_H
#define TSBUILD_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include <linux/filter.h>

#define STATUS_FD 3
/* `tsbuild debug`: the person's terminal (or whatever their stdin is), which the helper reads and the step never holds. */
#define TERMINAL_FD 4
#define EXIT_SETUP 125

/** An overlay mount: read-only when upper is empty. */
struct overlay {
  const char *dst;
  const char *upper;
  const char *work;
  size_t nlower;
  const char **lowers; /* top first, overlayfs order */
};

/**
 * One container mount, applied in spec order after the system mounts. M_FILE: a file with `data` as its content,
 * written into the step's scratch tmpfs and bound read-write onto `target` (/etc/hosts and friends). M_SECRET: `len`
 * bytes of `data` (any bytes: the spec carries them in hex) written there with uid/gid/mode and bound read-only.
 */
struct mount_entry {
  enum { M_BIND, M_TMPFS, M_FILE, M_SECRET } kind;
  const char *src_root; /* bind: the source is resolved inside this directory (symlinks cannot escape it) */
  const char *src_path; /* bind: path of the source inside src_root */
  const char *target;   /* absolute path inside the container */
  bool readonly;        /* bind */
  bool noexec;          /* bind: MOUNT_ATTR_NOEXEC too (secrets) */
  const char *data;     /* tmpfs: mount data, e.g. "size=65536k,mode=1777"; file: its content; secret: its bytes */
  size_t len;           /* secret: length of data */
  uid_t uid; gid_t gid; mode_t mode; /* secret: the file's owner and permission bits */
};

/* BuildKit's cap on a secret (session/secrets: MaxSecretSize); the driver refuses larger ones with the id first. */
#define MAX_SECRET_BYTES (500 * 1024)
#define MAX_DEVICE_RULES 64
#define MAX_RLIMITS 16

/** A resource limit set with setrlimit just before execve (RLIM_INFINITY for "inf"). */
struct rlimit_entry { int resource; unsigned long long soft; unsigned long long hard; };

/** A device allow rule (cgroup v2 only; see devices-bpf.c): type 'a' | 'b' | 'c', major/minor -1 for any. */
struct device_rule { char type; long major; long minor; const char *access; };

/** The whole spec, as parsed from stdin. Strings point into the spec buffer. */
struct spec {
  const char **argv; size_t nargv;
  const char **env; size_t nenv;
  const char *cwd;
  const char *hostname;
  uid_t uid;
  gid_t gid;
  gid_t *groups; size_t ngroups;
  bool isolate_net;
  const char *netns;  /* join this network namespace (an nsfs path) instead of creating one; needs isolate_net */
  unsigned long long netns_inode; /* ... which must be this nsfs inode (the path names a pid, which can be reused) */
  bool privileged; /* security=insecure: keep every capability, no masked paths, writable /sys */
  bool insecure_devices; /* security=insecure as real root: make BuildKit's extra /dev nodes (fuse, loop, kmsg …) */
  bool userxattr;  /* rootless: overlays are mounted with `userxattr` (user.overlay.* instead of trusted.overlay.*) */
  bool premounted; /* fuse-overlayfs: the driver mounted rootfs and overlays on their dst; bind the rootfs instead */
  struct sock_filter *seccomp; size_t nseccomp; /* a seccomp filter (raw BPF) to load just before execve */
  const char *devcgroup;                 /* cgroup v2 dir to attach the device allow-list to (NULL: none) */
  struct device_rule devices[MAX_DEVICE_RULES]; size_t ndevices;
  const char **cgroups; size_t ncgroups; /* cgroup.procs files to join */
  bool cgroups_joined; /* the helper was moved into `cgroups` before its spec came (helper-pool.ts): join none */
  const char **locks; size_t nlocks;     /* files to flock(LOCK_EX) for the whole run */
  /**
   * An existing directory the helper mounts a private tmpfs on, in its own mount namespace only (so concurrent steps
   * may share it): it holds the M_FILE and M_SECRET files and, when rootfs.dst is "", the rootfs mount point. NULL: none.
   */
  const char *scratch;
  int scratch_fd;
  struct overlay rootfs;
  struct overlay *overlays; size_t noverlays; /* staged read-only or scratch-upper overlays on host dirs */
  struct mount_entry *mounts; size_t nmounts;
  struct rlimit_entry rlimits[MAX_RLIMITS]; size_t nrlimits;
  unsigned long long shm_kib; /* /dev/shm tmpfs size in KiB; 0: not mounted, a RUN mount replaces it */
  /**
   * T_PIPES: a build step (stdin /dev/null, stdout and stderr relayed to the driver). T_STDIO and T_TTY: `tsbuild
   * debug`, a person at the other end of TERMINAL_FD: what it gives is relayed into the step's stdin pipe (T_STDIO) or a
   * pseudo-terminal made for the step (T_TTY), and its output to this process's own stdout and stderr.
   */
  enum { T_PIPES, T_STDIO, T_TTY } terminal;
};

/* spec.c */
void spec_read(int fd, struct spec *out);

/* status.c */
_Noreturn void fail(const char *op, const char *arg, int err);
void status_stub(const char *path, bool isdir, const struct timespec *before, const struct timespec *after);
void status_settled(const struct timespec *mtime);
void status_exit(int code, int sig);

/* mounts.c */
void mount_overlay(const struct overlay *o, bool userxattr);
void mount_layers(const struct spec *s);
int open_in_root(int rootfd, const char *path, int flags);
int ensure_target(int rootfd, const char *root, const char *target, bool isdir);
void mount_entry(int rootfd, const char *root, const struct mount_entry *m, int scratchfd, size_t index);
void mount_scratch(struct spec *s);
const char *fd_path(int fd, char buf[32]);

/* system.c */
void mount_system(int rootfd, const char *root, const struct spec *s);
void enter_root(const char *root);
void bind_tree(int src, int dst, unsigned long long attr_set, const char *what);
void mask_paths(int rootfd);

/* devices-bpf.c */
void attach_device_filter(const struct spec *s);

/* seccomp-filter.c */
void export_seccomp(int fd, unsigned long long caps);
void load_seccomp(const struct sock_filter *insns, size_t n);

/* main.c */
void check_parent(void);

/* process.c */
void loopback_up(void);
void join_netns(const char *path, unsigned long long inode);
void join_cgroups(const struct spec *s);
unsigned long long default_caps_mask(void);
void apply_rlimits(const struct spec *s);
_Noreturn void exec_process(const struct spec *s);

#endif
