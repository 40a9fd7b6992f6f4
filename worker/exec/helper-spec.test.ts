import { expect } from 'chai';
import { encodeHelperSpec } from './helper-spec.js';
import type { HelperSpec } from './helper-spec.js';

const spec: HelperSpec = {
  argv: ['/bin/sh', '-c', 'echo "a b"'], env: ['A=1'], cwd: '/w', hostname: 'h', uid: 1, gid: 2, groups: [3],
  network: 'none', isPrivileged: false, seccompFilter: Buffer.from([0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]), cgroups: ['/cg/cgroup.procs'], locks: [],
  rootfs: { dst: '/r', upperDir: '/u', workDir: '/wk', lowerDirs: ['/l2', '/l1'] },
  overlays: [{ dst: '/m1', lowerDirs: ['/a', '/b'] }],
  mounts: [
    { kind: 'bind', srcRoot: '/ctx', srcPath: 'src', target: '/in', readonly: true },
    { kind: 'tmpfs', target: '/t', data: 'mode=1777' },
  ],
};

describe('encodeHelperSpec', () => {
  it('writes NUL-terminated records in the order worker/native/spec.c reads them', () => {
    const tokens = encodeHelperSpec(spec).toString('utf8').split('\0');
    expect(tokens.pop()).to.equal('');
    expect(tokens).to.deep.equal([
      'arg', '/bin/sh', 'arg', '-c', 'arg', 'echo "a b"', 'env', 'A=1', 'cwd', '/w', 'hostname', 'h', 'uid', '1', 'gid', '2',
      'group', '3', 'net', 'none', 'seccomp', '060000000000ff7f', 'cgroup', '/cg/cgroup.procs',
      'rootfs', '/r', '/u', '/wk', '2', '/l2', '/l1',
      'overlay', '/m1', '', '', '2', '/a', '/b',
      'bind', '/ctx', 'src', '/in', 'ro', 'tmpfs', '/t', 'mode=1777',
    ]);
  });

  it('joins a prepared network namespace by path and inode', () => {
    const tokens = encodeHelperSpec({ ...spec, network: { netns: '/proc/7/ns/net', inode: 4026532000 } }).toString('utf8').split('\0');
    expect(tokens.slice(tokens.indexOf('netns'), tokens.indexOf('netns') + 3)).to.deep.equal(['netns', '/proc/7/ns/net', '4026532000']);
    expect(tokens).not.to.include('net');
  });

  it('passes a cgroup v2 device allow-list as one devcgroup record and a device record per rule', () => {
    const tokens = encodeHelperSpec({ ...spec, devices: { cgroupDir: '/cg', rules: [{ type: 'c', access: 'm' }, { type: 'c', major: 1, minor: 3, access: 'rwm' }] } })
      .toString('utf8').split('\0');
    const at = tokens.indexOf('devcgroup');
    expect(tokens.slice(at, at + 12)).to.deep.equal(['devcgroup', '/cg', 'device', 'c', '*', '*', 'm', 'device', 'c', '1', '3', 'rwm']);
  });

  it('marks a privileged step and refuses a value with a NUL byte', () => {
    expect(encodeHelperSpec({ ...spec, isPrivileged: true }).toString('utf8').split('\0')).to.include('privileged');
    expect(() => encodeHelperSpec({ ...spec, argv: ['a\0b'] })).to.throw(Error);
  });

  it('passes --ulimit as rlimit records (inf for -1) and --shm-size as one shm record in KiB', () => {
    const tokens = encodeHelperSpec({ ...spec, rlimits: [{ resource: 7, soft: 1024, hard: 2048 }, { resource: 4, soft: -1, hard: -1 }], shmKib: 131072 }).toString('utf8').split('\0');
    const at = tokens.indexOf('rlimit');
    expect(tokens.slice(at, at + 10)).to.deep.equal(['rlimit', '7', '1024', '2048', 'rlimit', '4', 'inf', 'inf', 'shm', '131072']);
    expect(encodeHelperSpec(spec).toString('utf8').split('\0')).not.to.include.members(['rlimit', 'shm']);
  });

  it('passes a secret as one record with its owner, mode and value in hex: NUL bytes and newlines arrive as they are', () => {
    const value = Buffer.from([0x00, 0x0a, 0xff, 0x41, 0x00]);
    const tokens = encodeHelperSpec({ ...spec, mounts: [{ kind: 'secret', target: '/run/secrets/s', uid: 1000, gid: 1001, mode: 0o440, value }] }).toString('utf8').split('\0');
    const at = tokens.indexOf('secret');
    expect(tokens.slice(at, at + 6)).to.deep.equal(['secret', '/run/secrets/s', '1000', '1001', '288', '000aff4100']);
  });
});
