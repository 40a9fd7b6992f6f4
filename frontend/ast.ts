import type { SourceRange } from './graph.js';

// The Dockerfile syntax tree: what the parser reads, before any variable is expanded or any stage is linked.

/** A here-document attached to ADD, COPY or RUN (`<<EOF`, `<<-EOF`, `<<"EOF"`). */
export interface Heredoc {
  /** The delimiter word, quotes removed: also the file name for `COPY <<EOF /dest`. */
  name: string;
  /** The body, every line with its newline, the terminator line excluded; leading tabs not yet removed. */
  content: string;
  /** False when the delimiter was quoted: the body is then taken literally. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body and the terminator. */
  chomp: boolean;
  /** The file descriptor number written before `<<` (`3<<EOF`), 0 when absent. */
  fd: number;
}

/** One `--name=value` (or bare `--name`) flag written before an instruction's arguments. */
export interface Flag {
  name: string;
  /** undefined for a bare boolean flag such as `--link`. */
  value: string | undefined;
  /** The flag as written, quotes and escapes removed (as BuildKit's flag extraction leaves it). */
  raw: string;
}

/**
 * One instruction, flags split off, arguments not yet expanded. `args` follows BuildKit's parse tree:
 * - RUN, CMD, ENTRYPOINT, SHELL: the JSON array's strings (`json`), else one element holding the whole command;
 * - ADD, COPY, VOLUME: the JSON array's strings, else the whitespace-separated words;
 * - FROM, EXPOSE: the whitespace-separated words; ARG: its words (quotes kept until expansion);
 * - ENV, LABEL: one `key=value` element per pair (the legacy `ENV key value` form gives `key=value` too);
 * - MAINTAINER, USER, WORKDIR, STOPSIGNAL, ONBUILD: the whole rest of the line as one element;
 * - HEALTHCHECK: [type, ...command] where the command part follows the RUN rule.
 */
export interface Instruction {
  /** Upper-case keyword (`copy` → `COPY`). */
  keyword: string;
  flags: Flag[];
  args: string[];
  /** True when the arguments were written as a JSON (exec form) array. */
  json: boolean;
  heredocs: Heredoc[];
  /** The logical line as written after continuations were joined (heredoc bodies excluded). */
  original: string;
  location: SourceRange;
  /** ENV, LABEL only: written in the legacy `ENV key value` form (one pair, the value is the rest of the line). */
  legacyKeyValue?: true;
  /**
   * Set when blank lines sat inside the instruction's line continuation (BuildKit's parser warns that they will become
   * errors): the line the continuation ended on, where BuildKit reports it.
   */
  emptyContinuation?: SourceRange;
  /** ONBUILD only: the trigger instruction, parsed. */
  trigger?: Instruction;
}

/** A parser directive from the top of the file (`# syntax=`, `# escape=`, `# check=`). */
export interface Directive {
  name: 'syntax' | 'escape' | 'check';
  value: string;
  location: SourceRange;
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  file: string;
  escapeToken: '\\' | '`';
  directives: Directive[];
  instructions: Instruction[];
}
