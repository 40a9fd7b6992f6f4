// The last steps inside the container: network loopback, cgroups, hostname, working directory, credentials,
// capabilities, and execve of the step's process.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tsbuild-run.h"

/** Brings up "lo" in a fresh network namespace (it starts down), so 127.0.0.1 works with network=none. */
void loopback_up(void) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) fail("socket", "lo", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) fail("ioctl", "SIOCGIFFLAGS lo", errno);
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) fail("ioctl", "SIOCSIFFLAGS lo", errno);
  close(sock);
}

/** Enters the network namespace at path (an nsfs file: /proc/PID/ns/net), if it is the one with that inode. */
void join_netns(const char *path, unsigned long long inode) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) fail("fstat", path, errno);
  if ((unsigned long long)st.st_ino != inode) fail("setns", path, ESTALE);
  if (setns(fd, CLONE_NEWNET) != 0) fail("setns", path, errno);
  close(fd);
}

/** Moves this process into every cgroup the driver created (writing 0 means "the writer"). */
void join_cgroups(const struct spec *s) {
  if (s->cgroups_joined) return;
  for (size_t i = 0; i < s->ncgroups; i++) {
    int fd = open(s->cgroups[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail("open", s->cgroups[i], errno);
    if (write(fd, "0", 1) != 1) fail("write", s->cgroups[i], errno);
    close(fd);
  }
}

// Docker's default capability set; CapEff of a root process is 0x00000000a80425fb.
static const int default_caps[] = {
  CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID, CAP_SETUID,
  CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

/** Docker's default capabilities as a bit mask (also what the seccomp profile's capability conditions see). */
unsigned long long default_caps_mask(void) {
  unsigned long long mask = 0;
  for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++) mask |= 1ULL << default_caps[i];
  return mask;
}

// The bounding set must shrink while we still hold CAP_SETPCAP, i.e. before setuid.
static void drop_bounding(unsigned long long keep) {
  for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) fail("prctl", "PR_CAPBSET_DROP", errno);
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail("prctl", "PR_CAP_AMBIENT_CLEAR_ALL", errno);
}

// Raw capset: effective = permitted = mask, inheritable empty (as Docker since CVE-2022-24769). A non-root uid
// already lost every capability in setuid; this just makes the result explicit.
static void set_caps(unsigned long long mask) {
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof(data));
  data[0].effective = data[0].permitted = (unsigned)(mask & 0xffffffffULL);
  data[1].effective = data[1].permitted = (unsigned)(mask >> 32);
  if (syscall(SYS_capset, &hdr, data) != 0) fail("capset", "", errno);
}

/*
 * Makes the working directory as BuildKit's runc executor does before a step (executor/runcexecutor/executor.go, Run):
 * continuity's fs.RootPath of the cwd, then MkdirAll 0755 of what is missing there. A symlink on the way is followed
 * even when its target is missing, which is then made (`/app -> /srv/app` in a base image whose WorkingDir is /app
 * makes /srv/app), as the frontend's WORKDIR mkdir does through the confined writer (fsattr/root.c mkdirs). This runs
 * after pivot_root with the old root detached: the kernel's walk can only see the container's tree, an absolute link
 * target is the root's path and `..` stops at "/", which is what RESOLVE_IN_ROOT gives the confined writer. A failure
 * names the cwd as the step has it (the WORKDIR the user wrote), not the path a link led to.
 */
static void make_cwd(const char *cwd) {
  char done[PATH_MAX] = "", rest[PATH_MAX], link[PATH_MAX], next[PATH_MAX];
  if (strlen(cwd) >= sizeof(rest)) fail("mkdir", cwd, ENAMETOOLONG);
  strcpy(rest, cwd);
  for (int links = 0; rest[0] != '\0';) {
    char *slash = strchr(rest, '/');
    size_t n = slash == NULL ? strlen(rest) : (size_t)(slash - rest);
    char name[NAME_MAX + 1];
    if (n > NAME_MAX) fail("mkdir", cwd, ENAMETOOLONG);
    memcpy(name, rest, n);
    name[n] = '\0';
    memmove(rest, rest + n + (slash == NULL ? 0 : 1), strlen(rest + n + (slash == NULL ? 0 : 1)) + 1);
    if (n == 0 || strcmp(name, ".") == 0) continue;
    if (strcmp(name, "..") == 0) {
      char *up = strrchr(done, '/');
      if (up != NULL) *up = '\0';
      continue;
    }
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", done, name) >= (int)sizeof(path)) fail("mkdir", cwd, ENAMETOOLONG);
    struct stat st;
    if (lstat(path, &st) != 0) {
      if (errno != ENOENT) fail("lstat", cwd, errno);
      if (mkdir(path, 0755) != 0 && errno != EEXIST) fail("mkdir", cwd, errno);
      if (lstat(path, &st) != 0) fail("lstat", cwd, errno);
    }
    if (S_ISLNK(st.st_mode)) {
      // Its target takes its place in what is left to walk, from the root when absolute.
      if (++links > 40) fail("mkdir", cwd, ELOOP);
      ssize_t t = readlink(path, link, sizeof(link) - 1);
      if (t < 0) fail("readlink", cwd, errno);
      link[t] = '\0';
      if (snprintf(next, sizeof(next), "%s/%s", link, rest) >= (int)sizeof(next)) fail("mkdir", cwd, ENAMETOOLONG);
      strcpy(rest, next);
      if (link[0] == '/') done[0] = '\0';
      continue;
    }
    if (!S_ISDIR(st.st_mode)) fail("mkdir", cwd, ENOTDIR);
    strcpy(done, path);
  }
  if (chdir(cwd) != 0) fail("chdir", cwd, errno);
  // A cwd reached through a magic link to a directory outside the rootfs (/proc/self/fd/N of an fd this process
  // held) is "(unreachable)" to getcwd(2), which glibc reports as ENOENT: refuse it, as runc's verifyCwd
  // (libcontainer/init_linux.go) does since CVE-2024-21626.
  char here[PATH_MAX];
  errno = ENOENT;
  if (getcwd(here, sizeof(here)) == NULL || here[0] != '/') fail("getcwd", cwd, errno);
}

static const char *env_path(const struct spec *s) {
  for (size_t i = 0; i < s->nenv; i++)
    if (strncmp(s->env[i], "PATH=", 5) == 0) return s->env[i] + 5;
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

// execvpe with the container's PATH (not ours): a bare argv[0] is looked up in each PATH entry in turn.
static _Noreturn void exec_search(const struct spec *s) {
  char *const *argv = (char *const *)s->argv;
  char *const *envp = (char *const *)s->env;
  const char *file = s->argv[0];
  if (strchr(file, '/') != NULL) {
    execve(file, argv, envp);
    fail("execve", file, errno);
  }
  int err = ENOENT;
  const char *p = env_path(s);
  for (;;) {
    const char *colon = strchr(p, ':');
    size_t len = colon == NULL ? strlen(p) : (size_t)(colon - p);
    char full[PATH_MAX];
    if (snprintf(full, sizeof(full), "%.*s/%s", (int)len, len == 0 ? "." : p, file) < (int)sizeof(full)) {
      execve(full, argv, envp);
      if (errno == EACCES) err = EACCES;
      else if (errno != ENOENT && errno != ENOTDIR) fail("execve", full, errno);
    }
    if (colon == NULL) break;
    p = colon + 1;
  }
  fail("execve", file, err);
}

/** `--ulimit`: set while this process still holds CAP_SYS_RESOURCE, so a hard limit may be raised too (as runc). */
void apply_rlimits(const struct spec *s) {
  for (size_t i = 0; i < s->nrlimits; i++) {
    const struct rlimit_entry *r = &s->rlimits[i];
    struct rlimit lim = { .rlim_cur = (rlim_t)r->soft, .rlim_max = (rlim_t)r->hard };
    if (setrlimit(r->resource, &lim) != 0) {
      char what[16];
      snprintf(what, sizeof(what), "%d", r->resource);
      fail("setrlimit", what, errno);
    }
  }
}

/** Sets hostname, cwd, credentials, limits and capabilities, then replaces this process (pid 1) with the step's. */
_Noreturn void exec_process(const struct spec *s) {
  apply_rlimits(s);
  if (s->hostname != NULL && sethostname(s->hostname, strlen(s->hostname)) != 0) fail("sethostname", s->hostname, errno);
  make_cwd(s->cwd);
  unsigned long long mask = default_caps_mask();
  // Privileged (security=insecure) keeps whatever root has here; setuid to another user still drops it all.
  if (!s->privileged) drop_bounding(mask);
  else if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail("prctl", "PR_CAP_AMBIENT_CLEAR_ALL", errno);
  // No no_new_privs, as BuildKit's spec (executor/oci/spec.go, oci.WithNewPrivileges) and Docker's default: a
  // setuid-root binary run after `USER app` (sudo, su) gains the step's root, which is where every RUN starts anyway,
  // within the bounding set dropped above. Without no_new_privs the kernel takes a seccomp filter only from a
  // process holding CAP_SYS_ADMIN, so it goes on here, before the credentials change, as runc loads it early when
  // NoNewPrivileges is false (libcontainer/standard_init_linux.go); the profile allows what follows (setgroups,
  // setres[ug]id, capset, prctl, execve).
  if (s->nseccomp > 0) load_seccomp(s->seccomp, s->nseccomp);
  if (setgroups(s->ngroups, s->groups) != 0) fail("setgroups", "", errno);
  if (setresgid(s->gid, s->gid, s->gid) != 0) fail("setresgid", "", errno);
  if (setresuid(s->uid, s->uid, s->uid) != 0) fail("setresuid", "", errno);
  if (!s->privileged || s->uid != 0) set_caps(s->uid == 0 ? mask : 0);
  // Changing credentials cleared the parent-death signal: set it again now that they are final.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("prctl", "PR_SET_PDEATHSIG", errno);
  check_parent();
  exec_search(s);
}
