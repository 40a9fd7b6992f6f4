/** Raised for malformed expansions (`${`, `${a:#b}`, `${a?msg}` with a unset); the caller adds the location. */
export class ShellSyntaxError extends Error {}
