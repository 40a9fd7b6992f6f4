import { expect } from 'chai';
import { formatTargets, listTargets } from './targets.js';

describe('--call=targets (BuildKit ListTargets / PrintTargets)', () => {
  const text = [
    '# syntax=docker/dockerfile:1',
    '# a comment that does not start with the stage name',
    'FROM alpine AS Base',
    'RUN true',
    '',
    '# build compiles the app',
    '# (more words)',
    'FROM base AS build',
    '#',
    '# test runs the tests',
    'FROM build AS test',
    'FROM scratch',
    '',
  ].join('\n');

  it('lists every stage with its doc comment, the last one the default', () => {
    expect(listTargets(text).map(({ name, description, base, isDefault }) => ({ name, description, base, isDefault }))).to.deep.equal([
      { name: 'base', description: '', base: 'alpine', isDefault: false },
      { name: 'build', description: 'compiles the app', base: 'base', isDefault: false },
      { name: 'test', description: 'runs the tests', base: 'build', isDefault: false },
      { name: '', description: '', base: 'scratch', isDefault: true },
    ]);
  });

  it('prints the table as buildx does', () => {
    expect(formatTargets(listTargets(text))).to.equal([
      'TARGET    DESCRIPTION',
      'base      ',
      'build     compiles the app',
      'test      runs the tests',
      '(default) ',
      '',
    ].join('\n'));
  });
});
