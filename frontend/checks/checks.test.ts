import { expect } from 'chai';
import { CheckOptionsError, checkBeforeError, checkDockerfile } from './index.js';
import { DockerfileError } from '../errors.js';
import { FromPlatformError } from '../compile/from-platform.js';
import { neededStageIndexes } from '../compile/stage-plan.js';
import { UserError } from '../../common/index.js';
import { lintResults } from './lint-results.js';

const rules = (text: string) => checkDockerfile(text).warnings.map((w) => `${w.rule}@${w.line}`);

describe('build checks (BuildKit rules)', () => {
  const cases: [string, string, string[]][] = [
    ['JSONArgsRecommended', 'FROM a\nCMD node app.js\n', ['JSONArgsRecommended@2']],
    ['SecretsUsedInArgOrEnv', 'FROM a\nARG GITHUB_TOKEN\nENV DB_PASSWORD=x\nENV PUBLIC_KEY=y\n', ['SecretsUsedInArgOrEnv@2', 'SecretsUsedInArgOrEnv@3']],
    ['FromAsCasing', 'FROM a as b\n', ['FromAsCasing@1']],
    ['StageNameCasing', 'FROM a AS Build\n', ['StageNameCasing@1']],
    ['MultipleInstructionsDisallowed', 'FROM a\nCMD ["a"]\nCMD ["b"]\n', ['MultipleInstructionsDisallowed@2']],   // at the CMD that is ignored (validateUsedOnce)
    ['WorkdirRelativePath', 'FROM a\nWORKDIR app\n', ['WorkdirRelativePath@2']],
    ['ConsistentInstructionCasing', 'FROM a\nrun true\nCOPY . .\n', ['ConsistentInstructionCasing@2']],
    ['LegacyKeyValueFormat', 'FROM a\nENV A b\nLABEL x y\n', ['LegacyKeyValueFormat@2', 'LegacyKeyValueFormat@3']],
    ['DuplicateStageName', 'FROM a AS x\nFROM b AS x\n', ['DuplicateStageName@2']],
    ['ReservedStageName', 'FROM a AS scratch\n', ['ReservedStageName@1']],
    ['MaintainerDeprecated', 'FROM a\nMAINTAINER me\n', ['MaintainerDeprecated@2']],
    ['UndefinedArgInFrom', 'FROM alpine:$VERSION\n', ['UndefinedArgInFrom@1']],
    ['InvalidDefaultArgInFrom', 'ARG IMAGE\nFROM $IMAGE\n', ['InvalidDefaultArgInFrom@2']],
    ['RedundantTargetPlatform', 'FROM --platform=$TARGETPLATFORM a\nFROM --platform=${TARGETPLATFORM} b\n', ['RedundantTargetPlatform@1', 'RedundantTargetPlatform@2']],
    // A constant platform is fine when the stage's name says which (BuildKit: the name holds its OS or architecture).
    ['FromPlatformFlagConstDisallowed', 'FROM --platform=linux/amd64 a AS build\nFROM --platform=linux/arm64 a AS build-arm64\nFROM --platform=arm64 a\n', ['FromPlatformFlagConstDisallowed@1', 'FromPlatformFlagConstDisallowed@3']],
    ['ExposeProtoCasing', 'FROM a\nEXPOSE 80/TCP 53/udp\n', ['ExposeProtoCasing@2']],
    ['ExposeInvalidFormat', 'FROM a\nEXPOSE 8080:80 127.0.0.1:53:53/udp 443\n', ['ExposeInvalidFormat@2', 'ExposeInvalidFormat@2']],
  ];
  for (const [rule, text, want] of cases) {
    it(`reports ${rule} at its line`, () => expect(rules(text)).to.deep.equal(want));
  }
  it('finds nothing in a clean Dockerfile (platform args are predefined)', () => {
    expect(rules('ARG V=3.20\nFROM --platform=$BUILDPLATFORM alpine:$V AS build\nWORKDIR /src\nENV A=b\nCMD ["sh"]\n')).to.deep.equal([]);
  });
  it('skips rules named by # check=skip= and turns findings into errors with error=true', () => {
    const r = checkDockerfile('# check=skip=JSONArgsRecommended;error=true\nFROM a as b\nCMD x\n');
    expect(r.warnings.map((w) => w.rule)).to.deep.equal(['FromAsCasing']);
    expect(r.isError).to.equal(true);
    expect(checkDockerfile('# check=skip=all\nFROM a as b\n').warnings).to.deep.equal([]);
  });
  it('reads # check= as BuildKit\'s ParseLintOptions: Go booleans, experimental=, and a failure at the directive for anything else', () => {
    expect(checkDockerfile('# check=error=T\nFROM a as b\n').isError).to.equal(true);
    expect(checkDockerfile('# check=experimental=all;error=0\nFROM a as b\n').isError).to.equal(false);
    for (const [directive, why] of [
      ['error=maybe', 'failed to parse check option "error=maybe": strconv.ParseBool: parsing "maybe": invalid syntax'],
      ['bogus', 'invalid check option "bogus"'],
      ['skip=X;nonsense=1', 'invalid check option "nonsense"'],
    ]) {
      expect(() => checkDockerfile(`# check=${directive ?? ''}\nFROM a as b\n`), directive).to.throw(CheckOptionsError, `Dockerfile:1:1: failed to parse check options: ${why ?? ''}`);
    }
  });

  it('takes the BUILDKIT_DOCKERFILE_CHECK build arg over # check=, as BuildKit\'s testCheckOptions (dockerfile_check_test.go)', () => {
    const df = '#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n';
    const r = checkDockerfile(df, 'Dockerfile', { args: { buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=ConsistentInstructionCasing;error=true' } } });
    expect(r.warnings.map((w) => `${w.rule}:${w.line}`)).to.deep.equal(['FromAsCasing:2']);
    expect(r.isError).to.equal(true);
    const off = checkDockerfile('#check=error=true\nFROM scratch as base\ncopy Dockerfile .\n', 'Dockerfile', { args: { buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=all' } } });
    expect(off).to.deep.equal({ warnings: [], isError: false });
    // An empty value is BuildKit's empty Config: every rule on, findings not fatal, whatever the file says.
    expect(checkDockerfile(df, 'Dockerfile', { args: { buildArgs: { BUILDKIT_DOCKERFILE_CHECK: '' } } }).warnings.map((w) => w.rule)).to.have.members(['FromAsCasing', 'ConsistentInstructionCasing']);
    // A later skip= replaces an earlier one, as ParseLintOptions assigns it.
    expect(checkDockerfile(df, 'Dockerfile', { args: { buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=FromAsCasing;skip=ConsistentInstructionCasing' } } }).warnings.map((w) => w.rule)).to.deep.equal(['FromAsCasing']);
    expect(() => checkDockerfile(df, 'Dockerfile', { args: { buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'nope' } } }))
      .to.throw(UserError, 'failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: invalid check option "nope"');
  });

  it('reports CopyIgnoredFile as BuildKit\'s testCopyIgnoredFiles and testCopyIgnoredFileContextRoot (dockerfile_check_test.go)', () => {
    const found = (text: string, excludes?: string[]): string[] => checkDockerfile(text, 'Dockerfile', excludes ? { excludes } : {}).warnings
      .filter((w) => w.rule === 'CopyIgnoredFile').map((w) => `${w.line}: ${w.message}`);
    const df = '\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n';
    expect(found(df, ['Dockerfile'])).to.deep.equal([
      '3: Attempting to Copy file "Dockerfile" that is excluded by .dockerignore', '4: Attempting to Add file "Dockerfile" that is excluded by .dockerignore',
    ]);
    expect(found(df)).to.deep.equal([]);   // no .dockerignore
    expect(found(`# check=skip=CopyIgnoredFile\n${df}`, ['Dockerfile'])).to.deep.equal([]);
    // --from copies from a stage, not the context; a path the patterns do not name is fine.
    expect(found('FROM scratch AS base\nCOPY Dockerfile /foobar\nADD Dockerfile /windy\nFROM base\nCOPY --from=base /foobar /Dockerfile\n', ['foobar'])).to.deep.equal([]);
    // An exclusion (`!`) turns the rule off: a file may be re-included below an excluded directory.
    expect(found('FROM scratch\nCOPY ./Dockerfile .\n', ['**', '!Dockerfile'])).to.deep.equal([]);
    // The context root only when a pattern excludes every root entry; a parent directory's match counts.
    expect(found('FROM scratch\nCOPY . .\nCOPY ./ /x\n', ['node_modules'])).to.deep.equal([]);
    expect(found('FROM scratch\nCOPY . .\n', ['*'])).to.deep.equal(['2: Attempting to Copy file "." that is excluded by .dockerignore']);
    expect(found('FROM scratch\nCOPY build/out/app.js /app/\n', ['build'])).to.deep.equal(['2: Attempting to Copy file "build/out/app.js" that is excluded by .dockerignore']);
    // URLs, git sources, heredocs and words with variables are left alone.
    expect(found('FROM scratch\nADD https://example.com/build /x\nADD git@github.com:a/build.git /y\nCOPY <<build /z\nhi\nbuild\nCOPY $DIR /w\n', ['build', '*.git', 'https:'])).to.deep.equal([]);
  });

  it('reports the rules BuildKit runs while dispatching only for the stages a build dispatches (testAllTargetUnmarshal)', () => {
    const df = '\nFROM scratch AS first\nCOPY $foo .\nENV password=x\nCMD a\nfrom scratch as Second\nCOPY $bar .\n';
    const all = checkDockerfile(df).warnings.map((w) => `${w.rule}:${w.line}`);
    expect(all).to.include.members(['UndefinedVar:3', 'SecretsUsedInArgOrEnv:4', 'JSONArgsRecommended:5', 'UndefinedVar:7', 'StageNameCasing:6']);
    // A build of the last stage: the first stage's dispatch-time findings go; parse-time ones (casing) stay.
    const built = checkDockerfile(df, 'Dockerfile', { stages: [1] }).warnings.map((w) => `${w.rule}:${w.line}`);
    expect(built).to.include.members(['UndefinedVar:7', 'StageNameCasing:6', 'ConsistentInstructionCasing:6']);
    expect(built).to.not.include.members(['UndefinedVar:3']);
    expect(built.filter((w) => w.endsWith(':3') || w.endsWith(':4') || w.endsWith(':5'))).to.deep.equal([]);
    expect(neededStageIndexes(df)).to.deep.equal([1]);
    expect(neededStageIndexes(df, 'first')).to.deep.equal([0]);
    expect(neededStageIndexes('FROM a AS x\nFROM b\nCOPY --from=x / /\n')).to.deep.equal([0, 1]);
  });

  it('reports SecretsUsedInArgOrEnv as BuildKit\'s testSecretsUsedInArgOrEnv: every key, file/version names allowed, # check= above one instruction', () => {
    const df = [
      '# check=skip=InvalidDefinitionDescription', '', 'FROM scratch', 'ARG SECRET_PASSPHRASE', 'ENV SUPER_Secret=foo', 'ENV password=bar secret=baz',
      'ARG super_duper_secret_token=foo auth=bar', 'ENV apikey=bar sunflower=foo', 'ENV git_key=', 'ENV PUBLIC_KEY=', 'ARG public_token',
      'ARG SECRET_PASSPHRASE_FILE', 'ENV password_file=bar secret_File=baz', 'ARG AUTH_MODULE_VERSION',
      '# check=skip=SecretsUsedInArgOrEnv // allow secret in environment', 'ENV password=bar',
      '# check=skip=SecretsUsedInArgOrEnv // allow secret in arg', 'ARG password',
      '# check=skip=all // is local to only this instruction', 'ENV alternate_password=bar',
      '# check=skip=all // is local to only this instruction', 'ARG alternate_password', '',
    ].join('\n');
    const found = checkDockerfile(df).warnings.map((w) => `${w.line} ${w.rule}: ${w.message.replace('Do not use ARG or ENV instructions for sensitive data ', '')}`);
    expect(found).to.have.members([
      '4 SecretsUsedInArgOrEnv: (ARG "SECRET_PASSPHRASE")', '5 SecretsUsedInArgOrEnv: (ENV "SUPER_Secret")', '6 SecretsUsedInArgOrEnv: (ENV "password")',
      '6 SecretsUsedInArgOrEnv: (ENV "secret")', '7 SecretsUsedInArgOrEnv: (ARG "auth")', '7 SecretsUsedInArgOrEnv: (ARG "super_duper_secret_token")',
      '8 SecretsUsedInArgOrEnv: (ENV "apikey")', '9 SecretsUsedInArgOrEnv: (ENV "git_key")',
    ]);
    // A global ARG is never dispatched as one, so BuildKit does not check its name.
    expect(checkDockerfile('ARG PASSWORD\nFROM scratch\n').warnings).to.deep.equal([]);
    // A comment's check= adds to the file's for that instruction only; one that does not parse changes nothing.
    expect(checkDockerfile('FROM scratch\n# check=nonsense\nENV password=x\n').warnings.map((w) => w.line)).to.deep.equal([3]);
  });

  it('matches BuildKit\'s dockerfile_check_test.go where the text alone decides (messages, SHELL, inherited WORKDIR, defaults-only FROM)', () => {
    const valid = (ref: string): boolean => ref !== '' && !ref.endsWith(':') && ref === ref.toLowerCase();
    const found = (text: string): string[] => checkDockerfile(text, 'Dockerfile', { isValidReference: valid }).warnings.map((w) => `${w.line} ${w.rule}: ${w.message}`);
    // testDuplicateStageName, testReservedStageName, testMaintainerDeprecated: ruleset.go's Format strings.
    expect(found('\nFROM scratch AS b\nFROM scratch AS b\n')).to.deep.equal(['3 DuplicateStageName: Duplicate stage name "b", stage names should be unique']);
    expect(found('\nFROM scratch AS scratch\nFROM scratch AS context\n')).to.have.members([
      '2 ReservedStageName: Stage name should not use the same name as reserved stage "scratch"', '3 ReservedStageName: Stage name should not use the same name as reserved stage "context"']);
    expect(found('\nFROM scratch\nMAINTAINER me@example.org\n')).to.deep.equal(['3 MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label']);
    // testJSONArgsRecommended: not after a SHELL, in the stage or the one it is built on.
    expect(found('\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\nCMD mycommand\n')).to.deep.equal([]);
    expect(found('\nFROM scratch\nENTRYPOINT mycommand\n')).to.deep.equal(['3 JSONArgsRecommended: JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals']);
    // testWorkdirRelativePath: the first WORKDIR of the chain of stages only.
    expect(found('\nFROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\nWORKDIR subdir/\n')).to.deep.equal([]);
    expect(found('\nFROM scratch\nWORKDIR app/\nWORKDIR more/\n')).to.deep.equal(['3 WorkdirRelativePath: Relative workdir "app/" can have unexpected results if the base image changes']);
    // testMultipleInstructionsDisallowed: at the instruction that is ignored.
    expect(found('\nFROM scratch\nCMD ["/a"]\nCOPY <<EOF /a.txt\nhi\nEOF\nCMD ["/b"]\n').map((w) => w.split(':')[0])).to.deep.equal(['3 MultipleInstructionsDisallowed']);
    // testUndeclaredArg: suggest.Search's suggestion; testInvalidDefaultArgInFrom: the name with defaults only.
    expect(found('\nFROM --platform=$BULIDPLATFORM scratch\n')).to.deep.equal(["2 UndefinedArgInFrom: FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)"]);
    expect(found('\nARG tag=latest\nFROM busybox:${tag}${version} AS b\n')).to.deep.equal(["3 UndefinedArgInFrom: FROM argument 'version' is not declared"]);
    expect(found('\nARG VERSION\nFROM busybox:$VERSION\n')).to.deep.equal(['3 InvalidDefaultArgInFrom: Default value for ARG busybox:$VERSION results in empty or invalid base image name']);
    expect(found('\nARG SFX="box:"\nFROM busy${SFX}\n')).to.deep.equal(['3 InvalidDefaultArgInFrom: Default value for ARG busy${SFX} results in empty or invalid base image name']);
    expect(found('\nARG VERSION="latest"\nFROM busybox:${VERSION}\n')).to.deep.equal([]);
    expect(found('\nARG V=""\nFROM busybox:stable${V}\n')).to.deep.equal([]);
  });

  it('reports what BuildKit has found when an error stops it: parse-time rules above a bad instruction, FROM rules down to a bad platform', () => {
    const at = (line: number) => ({ file: 'Dockerfile', line, column: 1, endLine: line, endColumn: 1 });
    const found = (text: string, err: DockerfileError): string[] => checkBeforeError(text, 'Dockerfile', {}, err).map((w) => `${w.rule}@${w.line}`);
    // testWarningsBeforeError: instructions.Parse stops at BADCMD; the casing of a later line is never looked at.
    expect(found('\nFROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\nfrom scratch as x\n', new DockerfileError(at(4), 'unknown instruction "BADCMD"')))
      .to.deep.equal(['StageNameCasing@2', 'MaintainerDeprecated@3']);
    // A FROM --platform that names nothing: the stages above it were set up, the ones below were not; no dispatch-time rule.
    const text = 'FROM --platform=$BULIDPLATFORM scratch\nENV password=x\nFROM --platform=$NOPE scratch as b\n';
    expect(found(text, new FromPlatformError(at(1), 'empty platform value from expression $BULIDPLATFORM'))).to.deep.equal(['UndefinedArgInFrom@1', 'FromAsCasing@3']);
    expect(found(text, new DockerfileError(at(3), 'later'))).to.have.members(['UndefinedArgInFrom@1', 'FromAsCasing@3', 'UndefinedArgInFrom@3']);
  });

  describe('InvalidDefinitionDescription (experimental)', () => {
    const described = (text: string) => checkDockerfile(text).warnings.filter((w) => w.rule === 'InvalidDefinitionDescription').map((w) => `${w.line}: ${w.message}`);

    it('reports what BuildKit\'s testDefinitionDescription expects, and nothing in its well-described Dockerfile', () => {
      // frontend/dockerfile/dockerfile_check_test.go: the rule reports even under skip=all (Linter.Run checks only
      // experimental= for an experimental rule); an empty `#` separates a comment from the ARG below it.
      expect(described([
        '# check=skip=all;experimental=InvalidDefinitionDescription', '# foo this is the foo', 'ARG foo=bar', '',
        '# base this is the base image', 'FROM scratch AS base', '', '# version this is the version number', 'ARG version=latest', '',
        '# baz this is the baz', 'ARG foo=baz bar=qux baz=quux', '#', 'ARG bit=bat', '', '# comment for something other than ARG or FROM', 'COPY Dockerfile .', '',
      ].join('\n'))).to.deep.equal([]);
      expect(described([
        '# check=experimental=InvalidDefinitionDescription', '# bar this is the bar', 'ARG foo=bar', '# BasE this is the BasE image', 'FROM scratch AS base',
        '# definitely a bad comment', 'ARG version=latest', '# definitely a bad comment', 'ARG foo=baz bar=qux baz=quux', '',
      ].join('\n'))).to.deep.equal([
        '3: Comment for ARG should follow the format: `# foo <description>`',
        '5: Comment for FROM should follow the format: `# base <description>`',
        '7: Comment for ARG should follow the format: `# version <description>`',
        '9: Comment for ARG should follow the format: `# <arg_key> <description>`',
      ]);
    });
    it('runs only when # check=experimental= names it or says all, and then skip= does not silence it', () => {
      const body = '# a stage\nFROM scratch AS base\n';
      expect(described(body)).to.deep.equal([]);
      expect(described(`# check=skip=InvalidDefinitionDescription\n${body}`)).to.deep.equal([]);
      for (const directive of ['experimental=all', 'experimental=InvalidDefinitionDescription', 'skip=InvalidDefinitionDescription;experimental=all']) {
        expect(described(`# check=${directive}\n${body}`), directive).to.deep.equal(['3: Comment for FROM should follow the format: `# base <description>`']);
      }
    });
    it('reads the last comment since the previous instruction, past blank lines, as BuildKit\'s parser collects PrevComment', () => {
      const on = '# check=experimental=all\n';
      expect(described(`${on}# base builds\n# other words\n\nFROM scratch AS base\n`)).to.deep.equal(['5: Comment for FROM should follow the format: `# base <description>`']);
      expect(described(`${on}# other words\n   #   base builds\nFROM scratch AS base\n`)).to.deep.equal([]);
      expect(described(`${on}# base\nFROM scratch AS base\n`), 'a name alone').to.deep.equal([]);
      expect(described(`${on}FROM scratch AS base\nARG v=1\n# x\nCOPY a b\nARG v\n`), 'the comment belongs to COPY').to.deep.equal([]);
      expect(described(`${on}# base\tbuilds\nFROM scratch AS Base\n`), 'only a space ends the name').to.deep.equal(['3: Comment for FROM should follow the format: `# base <description>`']);
      expect(described(`${on}# not a stage name\nFROM scratch\n`), 'FROM without AS').to.deep.equal([]);
    });
    it('names its docs page and description as BuildKit\'s ruleset does', () => {
      const r = checkDockerfile('# check=experimental=all\n# x\nARG a\n');
      const results = lintResults(r.warnings, '', 'Dockerfile');
      expect(results.warnings[0]).to.include({
        ruleName: 'InvalidDefinitionDescription', url: 'https://docs.docker.com/go/dockerfile/rule/invalid-definition-description/',
        description: 'Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.',
      });
    });
  });

  describe('UndefinedVar', () => {
    const undefinedVar = (text: string, baseEnv?: Record<string, string[]>) =>
      checkDockerfile(text, 'Dockerfile', baseEnv ? { baseEnv } : {}).warnings.filter((w) => w.rule === 'UndefinedVar').map((w) => `${w.line}: ${w.message}`);

    it('reports a $VAR that no ARG, earlier ENV or predefined arg defines, once per stage, with a suggestion', () => {
      expect(undefinedVar('FROM scratch\nARG VERSION=1\nENV APP_HOME=/app\nCOPY a-$VERSION $APP_HOME/\nWORKDIR $APP_HOM\nLABEL v=$APP_HOM\n'))
        .to.deep.equal(["5: Usage of undefined variable '$APP_HOM' (did you mean $APP_HOME?)"]);
    });
    it('knows PATH, the platform and proxy args, ENV of parent stages, and leaves RUN/CMD and fallbacks alone', () => {
      expect(undefinedVar([
        'FROM scratch AS base', 'ENV ROOT=/r', 'FROM base', 'WORKDIR $ROOT', 'ENV PATH=$PATH:/x', 'COPY --chown=$TARGETARCH a /$TARGETOS/',
        'RUN echo $NOPE', 'CMD echo $NOPE', 'LABEL a=${NOPE:-fallback} b=\\$LITERAL', '',
      ].join('\n'))).to.deep.equal([]);
    });
    it('needs a global ARG redeclared in the stage, as BuildKit', () => {
      expect(undefinedVar('ARG V=1\nFROM scratch\nLABEL v=$V\nARG V\nLABEL w=$V\n')).to.deep.equal(["3: Usage of undefined variable '$V'"]);
    });
    it('skips a stage on an image whose ENV it was not given, and checks it against the base ENV when given', () => {
      const text = 'FROM node:22\nWORKDIR $NODE_HOME\nCOPY . $APP_DIR\n';
      expect(undefinedVar(text)).to.deep.equal([]);
      expect(undefinedVar(text, { 'node:22': ['PATH', 'NODE_HOME'] })).to.deep.equal(["3: Usage of undefined variable '$APP_DIR'"]);
    });
    it('checks a stage whose FROM names a variable against the image the variable expands to (build args win)', () => {
      const text = 'ARG BASE=node:22\nARG TAG\nFROM $BASE\nWORKDIR $NODE_HOME\nCOPY . $APP_DIR\nFROM python:${TAG}\nWORKDIR $PYHOME\n';
      const baseEnv = { 'node:22': ['PATH', 'NODE_HOME'], 'node:20': ['PATH'], 'python:3': ['PYHOME'] };
      const check = (args: Record<string, string>): string[] => checkDockerfile(text, 'Dockerfile', { baseEnv, args: { buildArgs: args } })
        .warnings.filter((w) => w.rule === 'UndefinedVar').map((w) => `${w.line}: ${w.message}`);
      expect(check({})).to.deep.equal(["5: Usage of undefined variable '$APP_DIR'"]);   // python: (TAG empty) unchecked
      expect(check({ BASE: 'node:20', TAG: '3' })).to.deep.equal([
        "4: Usage of undefined variable '$NODE_HOME'", "5: Usage of undefined variable '$APP_DIR'",
      ]);
    });
    it('expands FROM with the platform args too, and follows a variable naming an earlier stage', () => {
      const text = 'FROM scratch AS base-amd64\nENV ROOT=/r\nFROM base-$TARGETARCH\nWORKDIR $ROOT$NOPE\n';
      const r = checkDockerfile(text, 'Dockerfile', { args: { platform: { os: 'linux', architecture: 'amd64' } } });
      expect(r.warnings.filter((w) => w.rule === 'UndefinedVar').map((w) => w.message)).to.deep.equal(["Usage of undefined variable '$NOPE'"]);
    });
    it('leaves a stage a --build-context replaces unchecked, and the stages built on it (BuildKit never dispatches it)', () => {
      const text = 'FROM scratch AS deps\nCOPY $NOPE /x\nFROM deps\nWORKDIR $ALSO_NOPE\n';
      expect(rules(text)).to.deep.equal(['UndefinedVar@2', 'UndefinedVar@4']);
      expect(checkDockerfile(text, 'Dockerfile', { replaced: ['deps'] }).warnings).to.deep.equal([]);
    });

    it('is skipped by # check=skip=UndefinedVar', () => {
      expect(undefinedVar('# check=skip=UndefinedVar\nFROM scratch\nWORKDIR $X\n')).to.deep.equal([]);
    });
  });
});
