/**
 * The User-Agent of every HTTP request tsbuild makes itself: to registries (registry/session.ts) and for ADD <url>
 * (worker/fileops/downloads.ts), as BuildKit names itself in both (version.UserAgent(): `buildkit/vMAJOR.MINOR`, set by
 * its resolver and by its http source). A server's logs then say which builder fetched, whatever HTTP library sends.
 */
export const USER_AGENT = 'tsbuild/0.1';
