import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// BuildKit's own Dockerfile integration tests of RUN (moby/buildkit frontend/dockerfile: dockerfile_mount_test.go,
// dockerfile_runnetwork_test.go, dockerfile_runsecurity_test.go, dockerfile_secrets_test.go, dockerfile_ssh_test.go,
// dockerfile_heredoc_test.go), built with the tsbuild CLI. Each `it` is named after the BuildKit test function it
// ports and checks what that test asserts. To stay fast, the cases share a few builds: a RUN writes what BuildKit's
// `[ … ]` would test into /out, and the `it` reads it back, so one wrong answer fails one `it`, not the whole batch.
// The ledger of every function, ported or not, is test/compat/buildkit-parity/run.md.
// BuildKit's busybox:latest and alpine are the fixture's busybox (Debian's busybox-static: no adduser, so
// testCopyHeredoc's user is written into /etc/passwd instead).

/** Docker's default bounding set (moby's oci/caps DefaultCapabilities), as BuildKit's tests expect it. */
const DEFAULT_CAPBND = 'CapBnd:\t00000000a80425fb';

/** testCacheMountParallel's stages: nested cache mounts, side by side. */
const PARALLEL = `FROM BASE AS b1
RUN --mount=type=cache,target=/foo/bar --mount=type=cache,target=/foo/bar/baz echo 1

FROM BASE AS b2
RUN --mount=type=cache,target=/foo/bar --mount=type=cache,target=/foo/bar/baz echo 2
`;

const RUN_BATCH = `ARG META_PATH=/tmp/meta
FROM BASE AS all
RUN mkdir /out
RUN --mount=target=/context cat /context/testfile > /out/mountcontext
RUN --mount=target=/mytmp,type=tmpfs touch /mytmp/foo
RUN if [ -f /mytmp/foo ]; then echo kept; else echo gone; fi > /out/mounttmpfs
RUN --mount=type=cache,target=/cmuser,uid=1001,gid=1002,mode=0751 stat -c "%u %g %f" /cmuser > /out/cachemountuser
RUN --mount=type=cache,target=/mycache touch /mycache/foo
RUN --mount=type=cache,target=/mycache2 ls /mycache2 > /out/defaultid-other
RUN --mount=type=cache,target=/mycache ls /mycache > /out/defaultid-same
ENV SOME_PATH=/envcache
RUN --mount=type=cache,target=/envcache touch /envcache/foo
RUN --mount=type=cache,target=$SOME_PATH ls $SOME_PATH > /out/mountenvvar
ARG MNT_TYPE=cache
RUN --mount=type=$MNT_TYPE,target=/argcache touch /argcache/foo
RUN --mount=type=cache,target=/argcache ls /argcache > /out/mountarg
RUN --mount=type=tmpfs,target=/dev/shm,size=128m mount | grep /dev/shm > /out/tmpfssize
RUN --mount=type=secret,required=false,mode=741,uid=100,gid=102,target=/mysecret stat -c "%u %g %f" /mysecret > /out/secretparams
RUN if [ -e /mysecret ]; then echo stub; else echo none; fi > /out/secretstub
ENV SECRET_ENV=foo
RUN --mount=type=secret,id=mysecret,env=SECRET_ENV if [ "$SECRET_ENV" == "pw" ] && [ ! -f /run/secrets/mysecret ]; then echo ok; else echo bad; fi > /out/secretenv
RUN --mount=type=secret,id=mysecret,target=/run/secrets/secret,env=SECRET_ENV if [ "$SECRET_ENV" == "pw" ] && [ -f /run/secrets/secret ]; then echo ok; else echo bad; fi > /out/secretenvfile
RUN --mount=type=ssh,mode=741,uid=100,gid=102 stat -c "%u %g %f" $SSH_AUTH_SOCK > /out/sshsocket
RUN grep CapBnd /proc/self/status > /out/capbnd-default
RUN --security=sandbox grep CapBnd /proc/self/status > /out/capbnd-sandbox
RUN --security=insecure grep CapBnd /proc/self/status > /out/capbnd-insecure
RUN ls /dev > /out/dev-sandbox
RUN --security=insecure ls /dev > /out/dev-insecure
RUN --security=insecure dmesg > /dev/null && dd if=/dev/zero of=/disk.img bs=1M count=8 2>/dev/null && mke2fs -F /disk.img > /dev/null 2>&1 && mkdir /lm && mount -o loop /disk.img /lm && touch /lm/foo && ls /lm > /out/loopmount && umount /lm && rm /disk.img
RUN if ip link show eth0 > /dev/null 2>&1; then echo yes; else echo no; fi > /out/eth0-default
RUN --network=none if ip link show eth0 > /dev/null 2>&1; then echo yes; else echo no; fi > /out/eth0-none
RUN --network=host nc 127.0.0.1 PORT > /out/hostnet
RUN nc 127.0.0.1 PORT > /out/defaultnet 2>&1 || true

FROM BASE AS stage1
ENV MNT_ID=mycache
ENV MNT_TYPE2=cache
RUN --mount=type=cache,id=mycache,target=/abcabc touch /abcabc/foo
RUN --mount=type=$MNT_TYPE2,id=$MNT_ID,target=/cbacba ls /cbacba > /acrossstages1

FROM stage1 AS stage2
RUN --mount=type=$MNT_TYPE2,id=$MNT_ID,target=/whatever ls /whatever > /acrossstages2

FROM BASE AS metaarg
ARG META_PATH
RUN --mount=type=cache,id=metacache,target=/tmp/meta touch /tmp/meta/foo
RUN --mount=type=cache,id=metacache,target=$META_PATH ls /tmp/meta > /metaarg

${PARALLEL}
FROM scratch
COPY --from=all /out /
COPY --from=stage1 /acrossstages1 /
COPY --from=stage2 /acrossstages2 /
COPY --from=metaarg /metaarg /
COPY --from=b1 /etc/passwd p1
COPY --from=b2 /etc/passwd p2
`;

/** testMountRWCache and testMountDuplicate: built twice, with one context file changed in between. */
const REBUILD = `from BASE AS build
copy cachebust /
run mkdir out && echo foo > out/foo

from BASE as second
RUN --mount=from=build,src=out,target=/out,rw touch /out/bar && cat /dev/urandom | head -c 100 | sha256sum > /unique

FROM BASE AS dup
RUN --mount=source=.,target=/tmp/test --mount=source=b.txt,target=/tmp/b.txt cat /tmp/test/a.txt /tmp/b.txt > /combined.txt

from scratch
COPY --from=second /unique /unique
COPY --from=dup /combined.txt /
`;

/**
 * testSSHFileDescriptorsClosed's client, as busybox has no ssh: asks the agent at $SSH_AUTH_SOCK for its identities
 * (SSH2_AGENTC_REQUEST_IDENTITIES), prints the reply's type and closes. Built static by the test.
 */
const AGENT_QUERY = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void) {
  const char *path = getenv("SSH_AUTH_SOCK");
  if (path == NULL) return 2;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return 3;
  unsigned char req[5] = { 0, 0, 0, 1, 11 }, hdr[5];
  if (write(fd, req, 5) != 5 || read(fd, hdr, 5) != 5) return 4;
  printf("%d\\n", hdr[4]);
  return close(fd);
}
`;

const HEREDOC = `FROM BASE AS build

RUN echo 'user:x:1000:1000::/home/user:/bin/sh' >> /etc/passwd && echo 'user:x:1000:' >> /etc/group
WORKDIR /dest

COPY <<EOF single
single file
EOF

COPY <<EOF <<EOF2 double/
first file
EOF
second file
EOF2

RUN mkdir -p /permfiles
COPY --chmod=777 <<EOF /permfiles/all
dummy content
EOF
COPY --chmod=0644 <<EOF /permfiles/rw
dummy content
EOF
COPY --chown=user:user <<EOF /permfiles/owned
dummy content
EOF
RUN stat -c "%04a" /permfiles/all >> perms && \\
	stat -c "%04a" /permfiles/rw >> perms && \\
	stat -c "%U:%G" /permfiles/owned >> perms

COPY <<EOF quotefile
"quotes in file"
EOF

COPY <<EOF slashfile1
\\
EOF
COPY <<EOF slashfile2
\\\\
EOF
COPY <<EOF slashfile3
\\$
EOF

COPY <<"EOF" rawslashfile1
\\
EOF
COPY <<"EOF" rawslashfile2
\\\\
EOF
COPY <<"EOF" rawslashfile3
\\$
EOF

RUN <<EOF
echo "i am" >> /dest/basic
whoami >> /dest/basic
EOF

RUN <<EOF
#!/bin/awk -f
BEGIN {
	print "hello" >> "./out1"
	print "world" >> "./out1"
}
EOF

RUN <<-EOF
	#!/bin/awk -f
	BEGIN {
		print "hello" >> "./out2"
		print "world" >> "./out2"
	}
EOF

RUN cat <<EOF1 | tr '[:upper:]' '[:lower:]' > ./cout1; \\
	cat <<EOF2 | tr '[:lower:]' '[:upper:]' > ./cout2
hello WORLD
EOF1
HELLO world
EOF2

RUN <<EOF 3<<IN1 4<<IN2 awk -f -
BEGIN {
	while ((getline line < "/proc/self/fd/3") > 0)
		print tolower(line) > "./fd3"
	while ((getline line < "/proc/self/fd/4") > 0)
		print toupper(line) > "./fd4"
}
EOF
hello WORLD
IN1
HELLO world
IN2

COPY <<EOF /dest/foo-copy
	foo
EOF

COPY <<-EOF /dest/bar-copy
	bar
EOF

RUN <<EOF
echo "
	foo" > /dest/foo-run
EOF

RUN <<-EOF
echo "
	bar" > /dest/bar-run
EOF

RUN <<EOF
#!/bin/sh
echo "
	foo" > /dest/foo2-run
EOF

RUN <<-EOF
#!/bin/sh
echo "
	bar" > /dest/bar2-run
EOF

RUN <<EOF sh > /dest/foo3-run
echo "
	foo"
EOF

RUN <<-EOF sh > /dest/bar3-run
echo "
	bar"
EOF

ARG name=world

COPY <<EOF /dest/c1
Hello \${name}!
EOF
COPY <<'EOF' /dest/c2
Hello \${name}!
EOF
COPY <<"EOF" /dest/c3
Hello \${name}!
EOF

COPY <<EOF /dest/q1
Hello '\${name}'!
EOF
COPY <<EOF /dest/q2
Hello "\${name}"!
EOF
COPY <<'EOF' /dest/qsingle1
Hello '\${name}'!
EOF
COPY <<'EOF' /dest/qsingle2
Hello "\${name}"!
EOF
COPY <<"EOF" /dest/qdouble1
Hello '\${name}'!
EOF
COPY <<"EOF" /dest/qdouble2
Hello "\${name}"!
EOF

RUN <<EOF
greeting="Hello"
echo "\${greeting} \${name}!" > /dest/r1
EOF
RUN <<EOF
name="new world"
echo "Hello \${name}!" > /dest/r2
EOF

FROM BASE AS fake
SHELL ["/bin/awk"]
RUN <<EOF
BEGIN {
	print "foo" > "/dest"
}
EOF

FROM ONBUILD_BASE AS onbuild

FROM scratch
COPY --from=build /dest /
COPY --from=fake /dest /fake
COPY --from=onbuild /dest /onbuild
`;

describe('BuildKit\'s RUN tests (mount, network, security, secrets, ssh, heredoc) on tsbuild', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;
  let dir: string;
  let echo: Server | undefined;
  let port = 0;

  before(async () => {
    env = await startBuildEnv('tsbuild-bkparity-run-');
    dir = env.dir;
    // BuildKit's echoserver: answers every connection with "foo" (testRunHostNetwork, testRunGlobalNetwork).
    const server = createServer((c) => c.end('foo\n'));
    echo = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => (echo === undefined ? resolve() : echo.close(() => resolve())));
    await env?.stop();
  });

  const baseRef = (): string => {
    if (env === undefined) throw new Error('no build env');
    return env.base;
  };

  /** Writes context NAME (the Dockerfile with BASE and PORT filled in, and `files`) and builds it to a local dir. */
  const build = async (name: string, dockerfile: string, files: Record<string, string> = {}, extra: string[] = []): Promise<CliResult & { out: string }> => {
    const ctx = join(dir, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile.replaceAll('BASE', baseRef()).replaceAll('PORT', String(port)));
    for (const [p, content] of Object.entries(files)) await writeFile(join(ctx, p), content);
    const out = join(dir, `${name}-out`);
    await rm(out, { recursive: true, force: true });
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', ...extra, '-o', `type=local,dest=${out}`, ctx]);
    return { ...r, out };
  };

  describe('one build: mounts, secrets, ssh, security and network of RUN', () => {
    let r: CliResult & { out: string };
    const file = (name: string): Promise<string> => readFile(join(r.out, name), 'utf8');

    before(async () => {
      await writeFile(join(dir, 'mysecret'), 'pw');
      const key = join(dir, 'key');
      const kg = await run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', '', '-f', key]);
      expect(kg.code, kg.stderr).to.equal(0);
      r = await build('run-batch', RUN_BATCH, { testfile: 'contents0' }, [
        '--secret', `id=mysecret,src=${join(dir, 'mysecret')}`, '--ssh', `default=${key}`,
        '--allow', 'network.host', '--allow', 'security.insecure',
      ]);
      expect(r.code, r.stderr).to.equal(0);
    });

    it('testMountContext: a bind mount without from is the build context', async () => {
      expect(await file('mountcontext')).to.equal('contents0');
    });
    it('testMountTmpfs: what a RUN writes into a tmpfs mount is not in the next step', async () => {
      expect(await file('mounttmpfs')).to.equal('gone\n');
    });
    it('testCacheMountUser: a new cache mount has the uid, gid and mode asked for', async () => {
      expect(await file('cachemountuser')).to.equal('1001 1002 41e9\n');
    });
    it('testCacheMountDefaultID: a cache mount without id is the cache of its target', async () => {
      expect(await file('defaultid-other')).to.equal('');
      expect(await file('defaultid-same')).to.equal('foo\n');
    });
    it('testMountEnvVar: target=$VAR expands the stage\'s ENV', async () => {
      expect(await file('mountenvvar')).to.equal('foo\n');
    });
    it('testMountArg: type=$ARG expands a build arg', async () => {
      expect(await file('mountarg')).to.equal('foo\n');
    });
    it('testMountEnvAcrossStages: type=$VAR and id=$VAR expand ENV inherited from the parent stage', async () => {
      expect(await file('acrossstages1')).to.equal('foo\n');
      expect(await file('acrossstages2')).to.equal('foo\n');
    });
    it('testMountMetaArg: target=$ARG expands a global ARG redeclared in the stage', async () => {
      expect(await file('metaarg')).to.equal('foo\n');
    });
    it('testMountTmpfsSize: size=128m is the tmpfs size, and the only /dev/shm mount', async () => {
      // One line: the mount replaces the default /dev/shm, as BuildKit's dedupMounts does; BuildKit asserts the size.
      const lines = (await file('tmpfssize')).trimEnd().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.contain('size=131072k');
    });
    it('testCacheMountParallel: two stages with nested cache mounts build side by side', async () => {
      expect(await file('p1')).to.contain('root:');
      expect(await file('p2')).to.contain('root:');
      // BuildKit runs it 20 times with no-cache (runc's nested-mkdir race); three no-cache builds here.
      for (let i = 0; i < 3; i++) {
        const again = await build('parallel', `${PARALLEL}\nFROM scratch\nCOPY --from=b1 /etc/passwd p1\nCOPY --from=b2 /etc/passwd p2\n`, {}, ['--no-cache']);
        expect(again.code, again.stderr).to.equal(0);
      }
    });
    it('testSecretFileParams: a secret file has the mode, uid and gid asked for, and leaves no stub', async () => {
      expect(await file('secretparams')).to.equal('100 102 81e1\n');
      expect(await file('secretstub')).to.equal('none\n');
    });
    it('testSecretAsEnviron: env= puts the secret in the variable, no file, and the step is named with ****', async () => {
      expect(await file('secretenv')).to.equal('ok\n');
      expect(r.stderr).to.match(/RUN --mount=type=secret,id=mysecret,env=SECRET_ENV if \[ "\*\*\*\*" == "pw" \] && \[ ! -f \/run\/secrets\/mysecret \]/);
    });
    it('testSecretAsEnvironWithFileMount: env= and target= give both the variable and the file', async () => {
      expect(await file('secretenvfile')).to.equal('ok\n');
    });
    it('testSSHSocketParams: the agent socket has the mode, uid and gid asked for', async () => {
      expect(await file('sshsocket')).to.equal('100 102 c1e1\n');
    });
    it('testRunSecurityDefault and testRunSecuritySandbox: Docker\'s default bounding set', async () => {
      expect(await file('capbnd-default')).to.equal(`${DEFAULT_CAPBND}\n`);
      expect(await file('capbnd-sandbox')).to.equal(`${DEFAULT_CAPBND}\n`);
    });
    it('testRunSecurityInsecure: security=insecure keeps every capability this process has', async () => {
      // BuildKit grants cap.Current() (getAllCaps): its test expects 0x3fffffffff, which needs a host that has every
      // capability; this one's own bounding set is the most a step can get.
      const own = (await readFile('/proc/self/status', 'utf8')).split('\n').find((l) => l.startsWith('CapBnd:'));
      expect(await file('capbnd-insecure')).to.equal(`${own ?? ''}\n`);
    });
    it('testInsecureDevicesWhitelist: security=insecure has /dev/fuse, loop devices and dmesg; sandbox has neither', async () => {
      const sandbox = (await file('dev-sandbox')).split('\n');
      const insecure = (await file('dev-insecure')).split('\n');
      expect(sandbox).to.not.include.members(['fuse']);
      expect(sandbox).to.not.include.members(['loop-control']);
      expect(insecure).to.include.members(['fuse', 'cuse', 'kmsg', 'kvm', 'loop-control', 'loop0', 'loop7', 'net']);
      expect(await file('loopmount')).to.contain('foo\n');
    });
    it('testRunDefaultNetwork and testRunNoNetwork: eth0 by default, none with --network=none', async () => {
      expect(await file('eth0-default')).to.equal('yes\n');
      expect(await file('eth0-none')).to.equal('no\n');
    });
    it('testRunHostNetwork: --network=host reaches the host\'s loopback, the default network does not', async () => {
      expect(await file('hostnet')).to.equal('foo\n');
      expect(await file('defaultnet')).to.not.contain('foo');
    });
  });

  describe('two builds, one context file changed in between', () => {
    const outputs: { unique: Buffer; combined: string; stderr: string }[] = [];
    before(async () => {
      for (const [cachebust, a] of [['0', 'foo\n'], ['1', 'updated\n']] as const) {
        const r = await build('rebuild', REBUILD, { cachebust, 'a.txt': a, 'b.txt': 'bar\n' });
        expect(r.code, r.stderr).to.equal(0);
        outputs.push({ unique: await readFile(join(r.out, 'unique')), combined: await readFile(join(r.out, 'combined.txt'), 'utf8'), stderr: r.stderr });
      }
    });

    it('testMountRWCache: a RUN with a mount from a rebuilt stage that gives the same files stays cached', () => {
      expect(outputs[1]?.unique.equals(outputs[0]?.unique ?? Buffer.alloc(0)), outputs[1]?.stderr).to.equal(true);
    });
    it('testMountDuplicate: a mount of the context and one of a file in it both see the new content', () => {
      expect(outputs.map((o) => o.combined)).to.deep.equal(['foo\nbar\n', 'updated\nbar\n']);
    });
  });

  describe('heredocs', () => {
    let r: CliResult & { out: string };
    const file = (name: string): Promise<string> => readFile(join(r.out, name), 'utf8');
    before(async () => {
      // testOnBuildHeredoc's base, pushed to the test registry, whose ONBUILD RUN heredoc the heredoc build triggers.
      if (env === undefined) throw new Error('no build env');
      const onbuild = `${env.registry.host}/buildkit/testonbuildheredoc:base`;
      const ctx = join(dir, 'onbuild');
      await mkdir(ctx, { recursive: true });
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${baseRef()}\nONBUILD RUN <<EOF\necho "hello world" >> /dest\nEOF\n`);
      const pushed = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--provenance=false', '-t', onbuild, '--push', ctx]);
      expect(pushed.code, pushed.stderr).to.equal(0);
      r = await build('heredoc', HEREDOC.replace('ONBUILD_BASE', onbuild));
      expect(r.code, r.stderr).to.equal(0);
    });

    it('testCopyHeredoc: COPY <<EOF makes files, several into a directory, with --chmod and --chown', async () => {
      expect(await file('single')).to.equal('single file\n');
      expect(await file('double/EOF')).to.equal('first file\n');
      expect(await file('double/EOF2')).to.equal('second file\n');
      expect(await file('perms')).to.equal('0777\n0644\nuser:user\n');
    });
    it('testCopyHeredocSpecialSymbols: <<EOF interprets backslashes, <<"EOF" keeps them', async () => {
      expect(await file('quotefile')).to.equal('"quotes in file"\n');
      expect(await file('slashfile1')).to.equal('\n');
      expect(await file('slashfile2')).to.equal('\\\n');
      expect(await file('slashfile3')).to.equal('$\n');
      expect(await file('rawslashfile1')).to.equal('\\\n');
      expect(await file('rawslashfile2')).to.equal('\\\\\n');
      expect(await file('rawslashfile3')).to.equal('\\$\n');
    });
    it('testRunBasicHeredoc: RUN <<EOF runs the body in the shell', async () => {
      expect(await file('basic')).to.equal('i am\nroot\n');
    });
    it('testRunFakeHeredoc: the body goes to the SHELL, here awk', async () => {
      expect(await file('fake')).to.equal('foo\n');
    });
    it('testRunShebangHeredoc: a body with #! runs as a script, <<- strips the tabs first', async () => {
      expect(await file('out1')).to.equal('hello\nworld\n');
      expect(await file('out2')).to.equal('hello\nworld\n');
    });
    it('testRunComplexHeredoc: heredocs piped to commands and given on fds 3 and 4', async () => {
      expect(await file('cout1')).to.equal('hello world\n');
      expect(await file('cout2')).to.equal('HELLO WORLD\n');
      expect(await file('fd3')).to.equal('hello world\n');
      expect(await file('fd4')).to.equal('HELLO WORLD\n');
    });
    it('testHeredocIndent: <<EOF keeps tabs, <<-EOF removes them, for COPY and RUN', async () => {
      const expected: Record<string, string> = {
        'foo-copy': '\tfoo\n', 'foo-run': '\n\tfoo\n', 'foo2-run': '\n\tfoo\n', 'foo3-run': '\n\tfoo\n',
        'bar-copy': 'bar\n', 'bar-run': '\nbar\n', 'bar2-run': '\nbar\n', 'bar3-run': '\nbar\n',
      };
      for (const [name, content] of Object.entries(expected)) expect(await file(name), name).to.equal(content);
    });
    it('testHeredocVarSubstitution: <<EOF expands build args, quoted delimiters do not; RUN bodies are the shell\'s', async () => {
      const expected: Record<string, string> = {
        c1: 'Hello world!\n', c2: 'Hello ${name}!\n', c3: 'Hello ${name}!\n', q1: 'Hello \'world\'!\n', q2: 'Hello "world"!\n',
        qsingle1: 'Hello \'${name}\'!\n', qsingle2: 'Hello "${name}"!\n', qdouble1: 'Hello \'${name}\'!\n', qdouble2: 'Hello "${name}"!\n',
        r1: 'Hello world!\n', r2: 'Hello new world!\n',
      };
      for (const [name, content] of Object.entries(expected)) expect(await file(name), name).to.equal(content);
    });
    it('testOnBuildHeredoc: an ONBUILD RUN heredoc of a pushed base runs in the stage built on it', async () => {
      expect(await file('onbuild')).to.equal('hello world\n');
    });
  });

  describe('builds that must fail, and say why', () => {
    const failing = async (name: string, dockerfile: string, extra: string[] = []): Promise<string> => {
      const r = await build(name, dockerfile, {}, extra);
      expect(r.code, r.stderr).to.not.equal(0);
      return r.stderr;
    };

    it('testMountInvalid: a misspelt flag, --mount key or mount type is refused with BuildKit\'s suggestion', async () => {
      const flag = await failing('invalid-flag', 'FROM scratch\nRUN --mont=target=/mytmp,type=tmpfs /bin/true\n');
      expect(flag).to.contain('unknown flag: --mont').and.contain('did you mean mount?');
      const key = await failing('invalid-key', '\tFROM scratch\n\tRUN --mount=typ=tmpfs /bin/true\n\t');
      expect(key).to.contain('unexpected key \'typ\'').and.contain('did you mean type?');
      const type = await failing('invalid-type', '\tFROM scratch\n\tRUN --mount=type=tmp /bin/true\n\t');
      expect(type).to.contain('unsupported mount type "tmp"').and.contain('did you mean tmpfs?');
    });
    it('testMountFromError: from=$VAR is refused', async () => {
      const err = await failing('from-var', 'FROM BASE as test\nRUN touch /tmp/test\n\nFROM BASE\nENV ttt=test\nRUN --mount=from=$ttt,type=cache,target=/tmp ls\n');
      expect(err).to.contain('\'from\' doesn\'t support variable expansion, define alias stage instead');
    });
    it('testSecretRequiredWithoutValue: a required secret nobody gave fails the build, naming it', async () => {
      const err = await failing('secret-required', 'FROM BASE \n\t\tRUN --mount=type=secret,required,id=mysecret foo');
      expect(err).to.contain('secret mysecret: not found');
    });
    it('testRunHostNetwork, testRunSecurityInsecure (denied): without --allow the entitlement is refused', async () => {
      const net = await failing('net-denied', `FROM BASE\nRUN --network=host nc 127.0.0.1 ${port} | grep foo\n`);
      expect(net).to.contain('network.host is not allowed');
      const sec = await failing('sec-denied', 'FROM BASE\nRUN --security=insecure true\n');
      expect(sec).to.contain('security.insecure is not allowed');
    });
    it('testCacheMountSourceEscape: a cache source= planted as a link to /etc does not show the host\'s /etc', async () => {
      const err = await failing('source-escape', [
        'FROM BASE AS init',
        'RUN --mount=type=cache,id=sourceescape,target=/cache mkdir -p /cache/sel && echo benign > /cache/sel/benign.txt',
        'FROM init AS link',
        'RUN --mount=type=cache,id=sourceescape,target=/cache rm -rf /cache/sel && ln -s /etc /cache/sel',
        'FROM link AS victim',
        'RUN --mount=type=cache,id=sourceescape,source=sel,target=/victim cat /victim/hostname',
        'FROM scratch',
        'COPY --from=victim /etc/hostname /hostname',
        '',
      ].join('\n'), ['--no-cache']);
      expect(err).to.contain('/victim/hostname');
      // The step's output lines (`#N 0.012 text`) never hold the host's hostname.
      const host = (await readFile('/etc/hostname', 'utf8').catch(() => '')).trim();
      const printed = err.split('\n').filter((l) => /^#\d+ \d+\.\d+ /.test(l)).map((l) => l.replace(/^#\d+ \d+\.\d+ /, ''));
      expect(printed).to.not.include(host);
    });
  });

  it('testSSHFileDescriptorsClosed: each connection a step makes to the forwarded agent is closed when the step closes it', async () => {
    // BuildKit's test runs `ssh -T git@github.com` three times from alpine against `ssh-agent -d` and checks that the
    // agent only ever saw socket 1: a connection left open by the forwarding would make the next one socket 2.
    const ctx = join(dir, 'ssh-fds');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'agentq.c'), AGENT_QUERY);
    const cc = await run('cc', ['-static', '-O2', '-o', join(ctx, 'agentq'), join(ctx, 'agentq.c')]);
    expect(cc.code, `cc -static (gcc, libc6-dev: scripts/setup.sh): ${cc.stderr}`).to.equal(0);
    const sock = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-s', '-d', '-a', sock], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    agent.stderr.on('data', (c: Buffer) => { log += c.toString(); });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(existsSync(sock), `ssh-agent did not start: ${log}`).to.equal(true);
      const r = await build('ssh-fds', 'FROM BASE\nRUN --mount=type=ssh --mount=target=/ctx for i in 1 2 3; do /ctx/agentq; done\n', {}, ['--ssh', `default=${sock}`]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr.match(/^#\d+ \d+\.\d+ 12$/gm), r.stderr).to.have.length(3);   // SSH2_AGENT_IDENTITIES_ANSWER, thrice
    } finally {
      if (agent.exitCode === null && agent.signalCode === null) {
        const exited = new Promise((resolve) => agent.once('exit', resolve));
        agent.kill();
        await exited;
      }
    }
    expect(log).to.contain('process_message: socket 1');
    expect(log).to.not.contain('process_message: socket 2');
    expect(log).to.not.contain('process_message: socket 3');
  });

  it('testRunGlobalNetwork: --network host is every RUN\'s network; --network=none still isolates one', async () => {
    const r = await build('global-network', [
      'FROM BASE',
      'RUN nc 127.0.0.1 PORT > /global',
      'RUN --network=none if nc -z 127.0.0.1 PORT; then echo reached; else echo isolated; fi > /none',
      'FROM scratch',
      'COPY --from=0 /global /none /',
      '',
    ].join('\n'), {}, ['--network', 'host']);
    expect(r.code, r.stderr).to.equal(0);
    expect(await readFile(join(r.out, 'global'), 'utf8')).to.equal('foo\n');
    expect(await readFile(join(r.out, 'none'), 'utf8')).to.equal('isolated\n');
    expect(await readdir(r.out)).to.have.members(['global', 'none']);
  });
});
