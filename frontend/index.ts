// The frontend's public surface: Dockerfile text in, plain-data build graph out. Pure: no fs writes, no processes.
export * from './graph.js';
export type * from './ast.js';
export { DockerfileError, formatDockerfileError, locationOf, sourceExcerpt, sourceOf, withSource } from './errors.js';
export type { DockerfileSource } from './errors.js';
export { parseDockerfile } from './parser/parse-dockerfile.js';
export { processWord, processWords, ShellSyntaxError } from './shell/lex.js';
export type { EnvLookup, ExpandResult, LexOptions } from './shell/lex.js';
export { parseDockerignore, createIgnoreMatcher } from './dockerignore.js';
export { PatternMatcher } from './patternmatcher.js';
export { compile } from './compile/compile.js';
export { neededStageBases } from './compile/stage-plan.js';
export type { CompileOptions, ResolveImage } from './compile/options.js';
export type { GlobalArgOptions } from './compile/global-args.js';
export { planText, planDot } from './plan.js';
export { printDockerfile, printInstruction } from './printer.js';
export { isSecretName, REDACTED } from './secret-name.js';
export { checkDockerfile, formatCheckWarning } from './checks/index.js';
export type { CheckOptions, CheckResult, CheckWarning } from './checks/index.js';
