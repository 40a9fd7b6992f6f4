import { expect } from 'chai';
import { describeReason } from './describe-reason.js';

describe('describeReason', () => {
  it('says (unset) for a build arg or setting that was not set on one side, never a bare null', () => {
    expect(describeReason({ kind: 'arg', name: 'V', before: '1' })).to.equal('build arg V changed: "1" → (unset)');
    expect(describeReason({ kind: 'arg', name: 'V', after: '' })).to.equal('build arg V changed: (unset) → ""');
    expect(describeReason({ kind: 'setting', setting: 'ENV', name: 'MODE', after: 'prod' })).to.equal('ENV MODE changed: (unset) → "prod"');
  });
});
