// Which flags each instruction accepts, as BuildKit's instructions/parse.go declares them.

/** `string`: needs a value; `bool`: bare or =true/false; `strings`: repeatable. */
export type FlagKind = 'string' | 'bool' | 'strings';

/** Flags by upper-case keyword; instructions not listed accept none. */
export const FLAG_SPECS: Readonly<Record<string, Readonly<Record<string, FlagKind>>>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string', device: 'strings' },
  ADD: { chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', unpack: 'bool', exclude: 'strings' },
  COPY: { chown: 'string', from: 'string', chmod: 'string', link: 'bool', exclude: 'strings', parents: 'bool' },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** Every Dockerfile instruction keyword. */
export const KEYWORDS: readonly string[] = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD',
  'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
];
