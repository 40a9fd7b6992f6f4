import { expect } from 'chai';
import { invokeArgv, parseInvokeConfig } from './invoke.js';

describe('debug --invoke, as buildx\'s parseInvokeConfig reads it', () => {
  it('takes nothing or `default` as a shell, one word as that command, `on-error` as /bin/sh', () => {
    expect(invokeArgv(parseInvokeConfig(undefined))).to.deep.equal(['sh']);
    expect(invokeArgv(parseInvokeConfig('default'))).to.deep.equal(['sh']);
    expect(invokeArgv(parseInvokeConfig('/bin/bash'))).to.deep.equal(['/bin/bash']);
    expect(invokeArgv(parseInvokeConfig('on-error'))).to.deep.equal(['/bin/sh']);
  });

  it('reads the long form: JSON arrays or single values, entrypoint before args, env, user, cwd, tty', () => {
    const cfg = parseInvokeConfig('entrypoint=["sh"],"args=[""-c"", ""env | grep FOO""]","env=[""FOO=bar"", ""AAA=bbb""]",user=1000,cwd=/tmp,tty=false');
    expect(invokeArgv(cfg)).to.deep.equal(['sh', '-c', 'env | grep FOO']);
    expect(cfg).to.include({ user: '1000', cwd: '/tmp', tty: false });
    expect(cfg.env).to.deep.equal(['FOO=bar', 'AAA=bbb']);
    expect(invokeArgv(parseInvokeConfig('args=ls'))).to.deep.equal(['ls']);
  });

  it('refuses an unknown key, a field without =, and a tty that is no boolean, with a usage error', () => {
    for (const bad of ['bogus=1', 'args=ls,oops', 'tty=maybe']) {
      expect(() => parseInvokeConfig(bad), bad).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });
});
