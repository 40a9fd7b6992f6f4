import { expect } from 'chai';
import { titlePath } from './title-path.js';
import { TsbuildError } from '../../common/index.js';

function refusal(title: string): string {
  try {
    titlePath('/out', title, 'r');
  } catch (err) {
    if (err instanceof TsbuildError) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('artifact layer titles', () => {
  it('places plain and nested names inside the output directory', () => {
    expect(titlePath('/out', 'report.json', 'r')).to.equal('/out/report.json');
    expect(titlePath('/out/', 'docs/a.md', 'r')).to.equal('/out/docs/a.md');
    expect(titlePath('/out', './b.txt', 'r')).to.equal('/out/b.txt');
  });

  const hostile = ['../evil', 'a/../../evil', 'a/..', '..', '/etc/passwd', '\\evil', '', '.', './', 'a\0b', '..\\evil', 'x/../../../../tmp/y'];
  for (const title of hostile) {
    it(`refuses the title ${JSON.stringify(title)} with INVALID_LAYER`, () => {
      expect(refusal(title)).to.equal('INVALID_LAYER');
    });
  }
});
