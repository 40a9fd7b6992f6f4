import { expect } from 'chai';
import { exposedPorts, PortSpecError } from './expose-port.js';
import { isStopSignal } from './stop-signal.js';

// Cases from BuildKit's convert_expose.go parsePort and moby/sys/signal ParseSignal.
describe('EXPOSE port specs and STOPSIGNAL values, as BuildKit reads them', () => {
  it('expands ports and ranges, with the protocol lower-cased and tcp when absent or empty', () => {
    expect(exposedPorts('80')).to.deep.equal(['80/tcp']);
    expect(exposedPorts('53/UDP')).to.deep.equal(['53/udp']);
    expect(exposedPorts('9000/')).to.deep.equal(['9000/tcp']);
    expect(exposedPorts('8000-8002/sctp')).to.deep.equal(['8000/sctp', '8001/sctp', '8002/sctp']);
    expect(exposedPorts('7-7')).to.deep.equal(['7/tcp']);
  });

  it('drops a host port and an IP after checking them (buildkit lints them, and builds)', () => {
    expect(exposedPorts('8080:81')).to.deep.equal(['81/tcp']);
    expect(exposedPorts('127.0.0.1:8080:81/udp')).to.deep.equal(['81/udp']);
    expect(exposedPorts('[::1]:8080:81')).to.deep.equal(['81/tcp']);
    expect(exposedPorts('8000-8010:81')).to.deep.equal(['81/tcp']);
  });

  it('refuses what BuildKit refuses, in its words', () => {
    const cases: [string, string][] = [
      ['80/foo', 'invalid port: "80/foo": invalid proto: foo'],
      ['/tcp', 'invalid port: "/tcp": no port specified'],
      ['70000', 'invalid containerPort: 70000'],
      ['90-80', 'invalid containerPort: 90-80'],
      ['http', 'invalid containerPort: http'],
      ['x:80', 'invalid hostPort: x'],
      ['nothost:1:80', 'invalid IP address: nothost'],
      ['1-3:80-81', 'invalid ranges specified for container and host Ports: 80-81 and 1-3'],
    ];
    for (const [spec, message] of cases) expect(() => exposedPorts(spec), spec).to.throw(PortSpecError, message);
  });

  it('takes a signal name with or without SIG in any case, or a non-zero number', () => {
    for (const ok of ['SIGTERM', 'term', 'SigQuit', 'KILL', 'SIGRTMIN+3', 'RTMAX-2', '9', '37']) expect(isStopSignal(ok), ok).to.equal(true);
    for (const bad of ['FOO', 'SIGFOO', '0', '', 'SIG', 'RTMIN+16', '9x']) expect(isStopSignal(bad), bad).to.equal(false);
  });
});
