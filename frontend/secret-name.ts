// Which build-arg and ENV names look like they hold a secret. One rule for the whole tool: the build warns about
// them (BuildKit's SecretsUsedInArgOrEnv check) and every report, summary and attached artifact redacts their values.
// The rule is BuildKit's (dockerfile2llb getSecretsRegex): a secret word as the whole name or as its first or last
// `_`-separated word, any case (api_key, DATABASE_PASSWORD, GITHUB_TOKEN, secret_MESSAGE, AUTH), unless a `public`,
// `file` or `version` word says it holds something else (PUBLIC_KEY, GITHUB_TOKEN_FILE, AUTH_VERSION).
const SECRET_WORDS = ['apikey', 'auth', 'credential', 'credentials', 'key', 'password', 'pword', 'passwd', 'secret', 'token'];
const secretPattern = new RegExp(`(?:_|^)(?:${SECRET_WORDS.join('|')})(?:_|$)`, 'i');
const allowPattern = /(?:_|^)(?:public|file|version)(?:_|$)/i;

/** True when a variable named `name` probably carries a secret, so its value must never leave the machine. */
export function isSecretName(name: string): boolean {
  return secretPattern.test(name) && !allowPattern.test(name);
}

const anySecretWord = new RegExp(SECRET_WORDS.join('|'), 'i');

/**
 * False when no name anywhere in `text` can be a secret one: every secret name holds a secret word. A cheap test
 * that lets a caller skip a walk that would redact nothing.
 */
export function mayHoldSecretName(text: string): boolean {
  return anySecretWord.test(text);
}

/** The text that stands in for a redacted value in reports, summaries and artifacts. */
export const REDACTED = '<redacted>';
