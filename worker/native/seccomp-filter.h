// The shape of one rule of Docker's default seccomp profile, as seccomp-gen.py writes the table
// (seccomp-profile.h) and seccomp-filter.c reads it.
#ifndef TSBUILD_SECCOMP_FILTER_H
#define TSBUILD_SECCOMP_FILTER_H

#include <stdbool.h>
#include <seccomp.h>

#define CAPBIT(c) (1ULL << (c))

/** One argument condition: libseccomp's scmp_arg_cmp (value_two is the masked value for SCMP_CMP_MASKED_EQ). */
struct seccomp_arg { unsigned index; enum scmp_compare op; unsigned long long value; unsigned long long value_two; };

/** A group of syscalls with one action and the conditions under which the group applies (moby's Syscall). */
struct seccomp_rule {
  const char *const *names;       /* NULL-terminated */
  bool is_errno;                  /* else allow */
  int errno_ret;
  unsigned long long caps_include; /* every one of these must be granted */
  unsigned long long caps_exclude; /* none of these may be granted */
  const char *arches_include;     /* space-separated Go GOARCH names; NULL = any */
  const char *arches_exclude;
  unsigned min_kernel[2];          /* major, minor; 0.0 = any */
  unsigned nargs;
  struct seccomp_arg args[6];
};

#endif
