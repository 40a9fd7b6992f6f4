// What BuildKit says about each build check rule beside its finding: the description and the docs page, as its
// linter (frontend/dockerfile/linter/ruleset.go) gives them. The lint results of `--call=check`, the metadata file's
// warnings and the build's notes all name a rule by these.

/** BuildKit's rule descriptions (frontend/dockerfile/linter/ruleset.go), by rule name. */
const RULE_DESCRIPTIONS: Record<string, string> = {
  StageNameCasing: 'Stage names should be lowercase',
  FromAsCasing: "The 'as' keyword should match the case of the 'from' keyword",
  NoEmptyContinuation: 'Empty continuation lines will become errors in a future release',
  ConsistentInstructionCasing: 'All commands within the Dockerfile should use the same casing (either upper or lower)',
  DuplicateStageName: 'Stage names should be unique',
  ReservedStageName: 'Reserved words should not be used as stage names',
  JSONArgsRecommended: 'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
  MaintainerDeprecated: 'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
  UndefinedArgInFrom: 'FROM command must use declared ARGs',
  WorkdirRelativePath: 'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes',
  UndefinedVar: 'Variables should be defined before their use',
  MultipleInstructionsDisallowed: 'Multiple instructions of the same type should not be used in the same stage',
  LegacyKeyValueFormat: 'Legacy key/value format with whitespace separator should not be used',
  InvalidBaseImagePlatform: 'Base image platform does not match expected target platform',
  RedundantTargetPlatform: 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
  SecretsUsedInArgOrEnv: 'Sensitive data should not be used in the ARG or ENV commands',
  InvalidDefaultArgInFrom: 'Default value for global ARG results in an empty or invalid base image name',
  FromPlatformFlagConstDisallowed: 'FROM --platform flag should not use a constant value',
  CopyIgnoredFile: 'Attempting to Copy file that is excluded by .dockerignore',
  ExposeProtoCasing: 'Protocol in EXPOSE instruction should be lowercase',
  ExposeInvalidFormat: 'IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release',
  InvalidDefinitionDescription: 'Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.',
};

/**
 * The rules BuildKit marks Experimental (ruleset.go): its linter runs one only when `# check=experimental=` names it
 * (or says `all`), and `skip=` does not apply to it (linter.go, Linter.Run).
 */
const EXPERIMENTAL_RULES = new Set(['InvalidDefinitionDescription']);

/** Whether BuildKit's ruleset marks `rule` experimental (off unless `# check=experimental=` enables it). */
export function isExperimentalRule(rule: string): boolean {
  return EXPERIMENTAL_RULES.has(rule);
}

/** A rule's docs page, as BuildKit links it: `StageNameCasing` → …/rule/stage-name-casing/ (InvalidBaseImagePlatform has none). */
export function ruleUrl(rule: string): string | undefined {
  if (rule === 'InvalidBaseImagePlatform' || !Object.hasOwn(RULE_DESCRIPTIONS, rule)) return undefined;
  const kebab = rule.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2').toLowerCase();
  return `https://docs.docker.com/go/dockerfile/rule/${kebab}/`;
}

/** A rule's one-line description, as BuildKit's ruleset has it (undefined for a rule it does not know). */
export function ruleDescription(rule: string): string | undefined {
  return Object.hasOwn(RULE_DESCRIPTIONS, rule) ? RULE_DESCRIPTIONS[rule] : undefined;
}
