/*
 * tsbuild-fsattr: the filesystem calls Node has no API for, batched so a whole layer costs one process.
 *
 *   tsbuild-fsattr read   stdin: paths, each ended by NUL. stdout: for every path that has extended attributes,
 *                         "P<path>\0" then "N<name>\0V<hex value>\0" per attribute. Symlinks are not followed.
 *   tsbuild-fsattr read --batches [--only NAME]...   the same for any number of batches, for one long-lived process:
 *                         each batch is its paths then an empty field ("\0"); its answer ends with the field "E"
 *                         (flushed). With --only, only the values of those attributes are read and written: a path is
 *                         listed (one llistxattr, as without) but another attribute's value is never read.
 *   tsbuild-fsattr root   the confined writer: every write into a root (root.c has its protocol).
 *   tsbuild-fsattr serve  the same writer, its arguments on stdin, one session after another (root.c).
 *   tsbuild-fsattr splice whole files copied into places of one output file by the kernel (splice.c).
 *   tsbuild-fsattr exchange NEW DEST   a complete output file takes the place of the old one (splice.c).
 *
 * Every failing call is reported on stderr as one JSON line {"op":..,"arg":..,"errno":..} and the exit status is 1;
 * read skips paths that vanished (ENOENT), since a walk and the read may race with nothing else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/xattr.h>

static char *read_all(size_t *len) {
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  for (;;) {
    if (n == cap) {
      char *grown = realloc(buf, cap *= 2);
      if (!grown) { free(buf); return NULL; }
      buf = grown;
    }
    size_t got = fread(buf + n, 1, cap - n, stdin);
    n += got;
    if (got == 0) break;
  }
  *len = n;
  return buf;
}

static void fail(const char *op, const char *arg) {
  fprintf(stderr, "{\"op\":\"%s\",\"arg\":\"", op);
  for (const char *c = arg; *c; c++) {
    if (*c == '"' || *c == '\\') fputc('\\', stderr);
    if ((unsigned char)*c < 0x20) fprintf(stderr, "\\u%04x", (unsigned char)*c); else fputc(*c, stderr);
  }
  fprintf(stderr, "\",\"errno\":%d}\n", errno);
}

/* The attributes `--only` asks for (none: all of them). */
static char **only;
static int nonly;

static int is_wanted(const char *name) {
  if (nonly == 0) return 1;
  for (int i = 0; i < nonly; i++) if (strcmp(name, only[i]) == 0) return 1;
  return 0;
}

static int read_one(const char *path) {
  ssize_t size = llistxattr(path, NULL, 0);
  if (size < 0) { if (errno == ENOENT || errno == ENOTSUP) return 0; fail("llistxattr", path); return -1; }
  if (size == 0) return 0;
  char *names = malloc((size_t)size);
  if (!names) { fail("malloc", path); return -1; }
  size = llistxattr(path, names, (size_t)size);
  if (size < 0) { fail("llistxattr", path); free(names); return -1; }
  int listed = 0;
  for (char *name = names; name < names + size; name += strlen(name) + 1) {
    if (!is_wanted(name)) continue;
    if (!listed) { fputc('P', stdout); fwrite(path, 1, strlen(path) + 1, stdout); listed = 1; }
    ssize_t vlen = lgetxattr(path, name, NULL, 0);
    if (vlen < 0) { fail("lgetxattr", path); free(names); return -1; }
    unsigned char *value = malloc((size_t)vlen + 1);
    if (!value) { fail("malloc", path); free(names); return -1; }
    vlen = lgetxattr(path, name, value, (size_t)vlen);
    if (vlen < 0) { fail("lgetxattr", path); free(value); free(names); return -1; }
    fputc('N', stdout); fwrite(name, 1, strlen(name) + 1, stdout);
    fputc('V', stdout);
    for (ssize_t i = 0; i < vlen; i++) fprintf(stdout, "%02x", value[i]);
    fputc('\0', stdout);
    free(value);
  }
  free(names);
  return 0;
}

/* Splits the buffer into its NUL-ended fields, in place; returns how many. */
static size_t fields(char *buf, size_t len, char ***out) {
  size_t count = 0;
  for (size_t i = 0; i < len; i++) if (buf[i] == '\0') count++;
  char **f = calloc(count + 1, sizeof *f);
  if (!f) return 0;
  size_t k = 0;
  for (size_t start = 0, i = 0; i < len; i++) if (buf[i] == '\0') { f[k++] = buf + start; start = i + 1; }
  *out = f;
  return count;
}

int root_main(int argc, char **argv);
int root_serve(void);
int splice_main(void);
int exchange_main(const char *new_path, const char *dest);

/* read --batches: one path at a time; an empty field ends a batch, answered by "E\0" and a flush. */
static int read_batches(void) {
  char *field = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  while (rc == 0 && (n = getdelim(&field, &cap, '\0', stdin)) > 0) {
    if (field[n - 1] != '\0') { errno = EINVAL; fail("read", "stdin (a field without its NUL)"); rc = -1; break; }
    if (n > 1) { rc = read_one(field); continue; }
    fputs("E", stdout);
    fputc('\0', stdout);
    if (fflush(stdout) != 0) { fail("write", "stdout"); rc = -1; }
  }
  free(field);
  return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  /* A writer outlives nothing it works for: when the build that started it is killed (kill -9 skips every clean-up),
   * it must not go on writing into a snapshot, nor keep that snapshot's mount busy for the next build's clean-up. */
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) { fail("prctl", "PR_SET_PDEATHSIG"); return 1; }
  if (getppid() != parent) return 1;
  /* Ctrl-C at a terminal (or a CI runner's signal to the process group) reaches this process as well as the build.
   * The build ends a writer itself (end of input, SIGKILL) once it has seen the signal; a writer that died of it first
   * made the build fail with "tsbuild-fsattr root failed (exit null)" instead of being cancelled. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  if (argc >= 2 && strcmp(argv[1], "root") == 0) return root_main(argc, argv);
  if (argc == 2 && strcmp(argv[1], "serve") == 0) return root_serve();
  if (argc == 2 && strcmp(argv[1], "splice") == 0) return splice_main();
  if (argc == 4 && strcmp(argv[1], "exchange") == 0) return exchange_main(argv[2], argv[3]);
  if (argc >= 3 && strcmp(argv[1], "read") == 0 && strcmp(argv[2], "--batches") == 0) {
    for (int i = 3; i < argc; i += 2) if (strcmp(argv[i], "--only") != 0 || i + 1 == argc) { fprintf(stderr, "usage: tsbuild-fsattr read --batches [--only NAME]...\n"); return 2; }
    nonly = (argc - 3) / 2;
    only = calloc((size_t)nonly + 1, sizeof *only);
    if (!only) { fail("malloc", "--only"); return 1; }
    for (int i = 0; i < nonly; i++) only[i] = argv[4 + 2 * i];
    return read_batches();
  }
  if (argc != 2 || strcmp(argv[1], "read") != 0) {
    fprintf(stderr, "usage: tsbuild-fsattr read < NUL-separated paths | tsbuild-fsattr root <root> ...\n");
    return 2;
  }
  size_t len;
  char *input = read_all(&len);
  if (!input) { fail("read", "stdin"); return 1; }
  char **f = NULL;
  size_t n = fields(input, len, &f);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) rc = read_one(f[i]);
  if (fflush(stdout) != 0) { fail("write", "stdout"); rc = -1; }
  free(f);
  free(input);
  return rc == 0 ? 0 : 1;
}
