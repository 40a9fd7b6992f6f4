// Compiles Docker's default seccomp profile (seccomp-profile.h, generated from moby/profiles) with libseccomp. The
// conditions are evaluated as moby's profiles/seccomp/seccomp_linux.go does: a rule group applies when the
// native architecture, the capabilities the step is granted and the running kernel match; a syscall name this
// libseccomp or architecture does not know is skipped (runc does the same). Default action: ERRNO(EPERM).
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "seccomp-profile.h"
#include "tsbuild-run.h"

#if defined(__x86_64__)
#define GOARCH "amd64"
static const uint32_t sub_arches[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
#elif defined(__aarch64__)
#define GOARCH "arm64"
static const uint32_t sub_arches[] = { SCMP_ARCH_ARM };
#elif defined(__riscv) && __riscv_xlen == 64
#define GOARCH "riscv64"
static const uint32_t sub_arches[] = { 0 };
#elif defined(__s390x__)
#define GOARCH "s390x"
static const uint32_t sub_arches[] = { SCMP_ARCH_S390 };
#else
#error "tsbuild-run: no seccomp architecture mapping for this target"
#endif

// True when word is one of the space-separated words of list.
static bool word_in(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; (p = strstr(p, word)) != NULL; p += n) {
    bool starts = p == list || p[-1] == ' ';
    bool ends = p[n] == '\0' || p[n] == ' ';
    if (starts && ends) return true;
  }
  return false;
}

static bool kernel_at_least(const unsigned want[2]) {
  if (want[0] == 0 && want[1] == 0) return true;
  struct utsname u;
  unsigned major = 0, minor = 0;
  if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2) return false;
  return major > want[0] || (major == want[0] && minor >= want[1]);
}

static bool applies(const struct seccomp_rule *r, unsigned long long caps) {
  if (r->arches_exclude != NULL && word_in(r->arches_exclude, GOARCH)) return false;
  if (r->arches_include != NULL && !word_in(r->arches_include, GOARCH)) return false;
  if ((r->caps_include & caps) != r->caps_include) return false;
  if ((r->caps_exclude & caps) != 0) return false;
  return kernel_at_least(r->min_kernel);
}

static void add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name, unsigned n,
                     const struct scmp_arg_cmp *cmp) {
  int rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);
  // -EACCES/-EINVAL here would be a table the library cannot express: a bug, reported like any setup failure.
  if (rc != 0) fail("seccomp_rule_add", name, -rc);
}

static void add_group(scmp_filter_ctx ctx, const struct seccomp_rule *r) {
  uint32_t action = r->is_errno ? SCMP_ACT_ERRNO((uint32_t)r->errno_ret) : SCMP_ACT_ALLOW;
  struct scmp_arg_cmp cmp[6];
  bool same_index = false;
  for (unsigned i = 0; i < r->nargs; i++) {
    cmp[i] = (struct scmp_arg_cmp){ .arg = r->args[i].index, .op = r->args[i].op,
                                    .datum_a = r->args[i].value, .datum_b = r->args[i].value_two };
    for (unsigned j = 0; j < i; j++) same_index |= r->args[j].index == r->args[i].index;
  }
  for (const char *const *name = r->names; *name != NULL; name++) {
    int nr = seccomp_syscall_resolve_name(*name);
    if (nr == __NR_SCMP_ERROR) continue;
    // Conditions on one argument index are alternatives (runc adds each as its own rule); on distinct indexes,
    // they must all hold.
    if (same_index) for (unsigned i = 0; i < r->nargs; i++) add_rule(ctx, action, nr, *name, 1, &cmp[i]);
    else add_rule(ctx, action, nr, *name, r->nargs, cmp);
  }
}

/**
 * Writes Docker's default profile for a step granted `caps` as raw BPF (struct sock_filter[]) to fd. Compiling
 * ~400 rules takes libseccomp 5-10 ms; the driver does it once per process and hands every step the result.
 */
void export_seccomp(int fd, unsigned long long caps) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (ctx == NULL) fail("seccomp_init", "", ENOMEM);
  for (size_t i = 0; i < sizeof(sub_arches) / sizeof(sub_arches[0]); i++) {
    if (sub_arches[i] == 0) continue;
    int rc = seccomp_arch_add(ctx, sub_arches[i]);
    if (rc != 0 && rc != -EEXIST) fail("seccomp_arch_add", GOARCH, -rc);
  }
  for (size_t i = 0; i < sizeof(seccomp_profile) / sizeof(seccomp_profile[0]); i++)
    if (applies(&seccomp_profile[i], caps)) add_group(ctx, &seccomp_profile[i]);
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc != 0) fail("seccomp_export_bpf", "", -rc);
  seccomp_release(ctx);
}

/**
 * Installs a filter exported by export_seccomp. The caller must hold CAP_SYS_ADMIN (RUN has no no_new_privs, as in
 * BuildKit): it runs before the step's credentials are set, and from here on only the profile's syscalls work.
 */
void load_seccomp(const struct sock_filter *insns, size_t n) {
  if (n == 0 || n > BPF_MAXINSNS) fail("seccomp", "filter length", EINVAL);
  struct sock_fprog prog = { .len = (unsigned short)n, .filter = (struct sock_filter *)insns };
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) fail("seccomp", "SECCOMP_SET_MODE_FILTER", errno);
}
