import { expect } from 'chai';
import type { Instruction } from '../ast.js';
import { parseDockerfile } from './parse-dockerfile.js';

const one = (text: string): Instruction => {
  const df = parseDockerfile(text);
  expect(df.instructions).to.have.length(1);
  const inst = df.instructions[0];
  if (!inst) throw new Error('no instruction');
  return inst;
};
const shape = (i: Instruction): unknown => ({ keyword: i.keyword, flags: i.flags.map((f) => [f.name, f.value]), args: i.args, json: i.json });

describe('parseDockerfile: instructions', () => {
  const table: [string, string, unknown][] = [
    ['FROM with --platform and AS', 'FROM --platform=$BUILDPLATFORM golang:1.22 AS build', { keyword: 'FROM', flags: [['platform', '$BUILDPLATFORM']], args: ['golang:1.22', 'AS', 'build'], json: false }],
    ['lower-case keywords', 'from alpine', { keyword: 'FROM', flags: [], args: ['alpine'], json: false }],
    ['RUN in shell form', 'RUN make -j4 all', { keyword: 'RUN', flags: [], args: ['make -j4 all'], json: false }],
    ['RUN in exec form', 'RUN ["make", "all"]', { keyword: 'RUN', flags: [], args: ['make', 'all'], json: true }],
    ['RUN with --mount, --network and --security', 'RUN --mount=type=cache,target=/c --network=none --security=insecure make', { keyword: 'RUN', flags: [['mount', 'type=cache,target=/c'], ['network', 'none'], ['security', 'insecure']], args: ['make'], json: false }],
    ['invalid JSON falls back to the shell form', 'RUN [ "a", ]', { keyword: 'RUN', flags: [], args: ['[ "a", ]'], json: false }],
    ['CMD exec form', 'CMD ["nginx", "-g", "daemon off;"]', { keyword: 'CMD', flags: [], args: ['nginx', '-g', 'daemon off;'], json: true }],
    ['CMD shell form', 'CMD echo $HOME', { keyword: 'CMD', flags: [], args: ['echo $HOME'], json: false }],
    ['ENTRYPOINT exec form', 'ENTRYPOINT ["/init"]', { keyword: 'ENTRYPOINT', flags: [], args: ['/init'], json: true }],
    ['LABEL pairs with quotes', 'LABEL a=b "c d"="e f"', { keyword: 'LABEL', flags: [], args: ['a=b', '"c d"="e f"'], json: false }],
    ['EXPOSE ports', 'EXPOSE 80 443/udp', { keyword: 'EXPOSE', flags: [], args: ['80', '443/udp'], json: false }],
    ['ENV key=value pairs', 'ENV a=b c="d e"', { keyword: 'ENV', flags: [], args: ['a=b', 'c="d e"'], json: false }],
    ['legacy ENV key value', 'ENV a b c', { keyword: 'ENV', flags: [], args: ['a=b c'], json: false }],
    ['ADD with every flag', 'ADD --chown=1:2 --chmod=644 --checksum=sha256:x --link --exclude=*.md --keep-git-dir https://x/y.tgz /y', { keyword: 'ADD', flags: [['chown', '1:2'], ['chmod', '644'], ['checksum', 'sha256:x'], ['link', undefined], ['exclude', '*.md'], ['keep-git-dir', undefined]], args: ['https://x/y.tgz', '/y'], json: false }],
    ['COPY with every flag', 'COPY --from=build --chown=app --chmod=755 --link --parents --exclude=a --exclude=b src/ /app/', { keyword: 'COPY', flags: [['from', 'build'], ['chown', 'app'], ['chmod', '755'], ['link', undefined], ['parents', undefined], ['exclude', 'a'], ['exclude', 'b']], args: ['src/', '/app/'], json: false }],
    ['COPY JSON form with spaces', 'COPY ["a b", "/c d/"]', { keyword: 'COPY', flags: [], args: ['a b', '/c d/'], json: true }],
    ['quoted flag values', 'COPY --chown="a b" x y', { keyword: 'COPY', flags: [['chown', 'a b']], args: ['x', 'y'], json: false }],
    ['VOLUME list', 'VOLUME /a /b', { keyword: 'VOLUME', flags: [], args: ['/a', '/b'], json: false }],
    ['VOLUME JSON', 'VOLUME ["/data"]', { keyword: 'VOLUME', flags: [], args: ['/data'], json: true }],
    ['USER', 'USER app:app', { keyword: 'USER', flags: [], args: ['app:app'], json: false }],
    ['WORKDIR keeps the whole rest', 'WORKDIR /my dir', { keyword: 'WORKDIR', flags: [], args: ['/my dir'], json: false }],
    ['ARG with and without default', 'ARG A B=2 C="x y"', { keyword: 'ARG', flags: [], args: ['A', 'B=2', 'C="x y"'], json: false }],
    ['STOPSIGNAL', 'STOPSIGNAL SIGQUIT', { keyword: 'STOPSIGNAL', flags: [], args: ['SIGQUIT'], json: false }],
    ['HEALTHCHECK with options', 'HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/', { keyword: 'HEALTHCHECK', flags: [['interval', '5s'], ['retries', '3']], args: ['CMD', 'curl -f http://x/'], json: false }],
    ['HEALTHCHECK exec form', 'HEALTHCHECK CMD ["true"]', { keyword: 'HEALTHCHECK', flags: [], args: ['CMD', 'true'], json: true }],
    ['HEALTHCHECK NONE', 'HEALTHCHECK none', { keyword: 'HEALTHCHECK', flags: [], args: ['NONE'], json: false }],
    ['SHELL', 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]', { keyword: 'SHELL', flags: [], args: ['/bin/bash', '-o', 'pipefail', '-c'], json: true }],
    ['MAINTAINER', 'MAINTAINER Jane <j@x>', { keyword: 'MAINTAINER', flags: [], args: ['Jane <j@x>'], json: false }],
    ['ONBUILD keeps the trigger text', 'ONBUILD COPY . /app', { keyword: 'ONBUILD', flags: [], args: ['COPY . /app'], json: false }],
  ];
  for (const [name, text, want] of table) {
    it(`parses ${name}`, () => {
      expect(shape(one(text))).to.deep.equal(want);
    });
  }

  it('parses the ONBUILD trigger as an instruction of its own', () => {
    const trigger = one('ONBUILD RUN --network=none make').trigger;
    expect(trigger && shape(trigger)).to.deep.equal({ keyword: 'RUN', flags: [['network', 'none']], args: ['make'], json: false });
  });

  it('records 1-based line and column ranges', () => {
    const df = parseDockerfile('FROM a\n\n  RUN x \\\n    y\n');
    expect(df.instructions[1]?.location).to.deep.include({ line: 3, column: 3, endLine: 4 });
  });
});

describe('parseDockerfile: directives, comments and continuations', () => {
  it('reads syntax, escape and check directives at the top', () => {
    const df = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\n#check=skip=all\nFROM a\n');
    expect(df.directives.map((d) => [d.name, d.value])).to.deep.equal([['syntax', 'docker/dockerfile:1'], ['escape', '`'], ['check', 'skip=all']]);
    expect(df.escapeToken).to.equal('`');
  });

  it('treats a directive after a blank line or an instruction as a comment', () => {
    const df = parseDockerfile('\n# escape=`\nFROM a\n# syntax=x\n');
    expect(df.directives).to.deep.equal([]);
    expect(df.escapeToken).to.equal('\\');
  });

  it('accepts a file whose last line ends with a continuation, as docker and BuildKit do', () => {
    const df = parseDockerfile('FROM a\nRUN echo hi \\\n', 'Dockerfile');
    expect(df.instructions.map((i) => i.keyword)).to.deep.equal(['FROM', 'RUN']);
    expect(df.instructions[1]?.args).to.deep.equal(['echo hi']);
  });

  it('joins continuation lines, skipping comments and blank lines inside them', () => {
    const inst = one('RUN apt-get update \\\n  # install things\n\n  && apt-get install -y curl\n');
    expect(inst.args).to.deep.equal(['apt-get update   && apt-get install -y curl']);
  });

  it('uses the backtick as the continuation character after # escape=`', () => {
    const df = parseDockerfile('# escape=`\nFROM a\nRUN dir c:\\ `\n  /b\n');
    expect(df.instructions[1]?.args).to.deep.equal(['dir c:\\   /b']);
  });

  it('does not continue a line that ends in an escaped escape', () => {
    const df = parseDockerfile('FROM a\nRUN echo \\\\\nRUN b\n');
    expect(df.instructions).to.have.length(3);
  });

  it('ignores comment lines and leading whitespace', () => {
    const df = parseDockerfile('# hi\n   # indented comment\n\tFROM a\n');
    expect(df.instructions.map((i) => i.keyword)).to.deep.equal(['FROM']);
  });

  it('accepts CRLF line endings and a BOM', () => {
    const df = parseDockerfile('\uFEFFFROM a\r\nRUN b \\\r\n c\r\n');
    expect(df.instructions[1]?.args).to.deep.equal(['b  c']);
  });
});

describe('parseDockerfile: heredocs', () => {
  it('reads a RUN heredoc body up to its terminator', () => {
    const inst = one('RUN <<EOF\necho a\necho b\nEOF\n');
    expect(inst.heredocs).to.deep.equal([{ name: 'EOF', content: 'echo a\necho b\n', expand: true, chomp: false, fd: 0 }]);
    expect(inst.location).to.deep.include({ line: 1, endLine: 4 });
  });

  it('marks quoted delimiters as not expanding', () => {
    expect(one('RUN <<"EOF"\n$x\nEOF\n').heredocs[0]?.expand).to.equal(false);
    expect(one("RUN <<'EOF'\n$x\nEOF\n").heredocs[0]?.expand).to.equal(false);
  });

  it('lets <<- end on a tab-indented terminator', () => {
    const inst = one('RUN <<-EOT\n\techo a\n\tEOT\n');
    expect(inst.heredocs[0]).to.deep.include({ chomp: true, content: '\techo a\n' });
  });

  it('reads several heredocs of one instruction in order', () => {
    const inst = one('COPY <<A <<B /dest/\na\nA\nb\nB\n');
    expect(inst.heredocs.map((h) => [h.name, h.content])).to.deep.equal([['A', 'a\n'], ['B', 'b\n']]);
    expect(inst.args).to.deep.equal(['<<A', '<<B', '/dest/']);
  });

  it('reads a heredoc passed to a command with a file descriptor', () => {
    const inst = one('RUN python3 3<<EOF\nprint(1)\nEOF\n');
    expect(inst.heredocs[0]).to.deep.include({ name: 'EOF', fd: 3 });
  });

  it('does not look for heredocs in the exec form or in other instructions', () => {
    const df = parseDockerfile('FROM a\nRUN ["cat", "<<EOF"]\nENV X=<<EOF\n');
    expect(df.instructions.map((i) => i.heredocs.length)).to.deep.equal([0, 0, 0]);
  });
});
