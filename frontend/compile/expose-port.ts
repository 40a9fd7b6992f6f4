import { isIP } from 'node:net';

// EXPOSE's port specs as BuildKit reads them (dockerfile2llb convert_expose.go parsePort): `[[ip:]host:]port[-end][/proto]`.
// The ip and host parts are checked and then dropped (BuildKit's lint calls them ExposeInvalidFormat, yet builds); the
// protocol is tcp, udp or sctp in any case, tcp when left out or empty.

/** What is wrong with a spec, as BuildKit words it; the caller adds the place. */
export class PortSpecError extends Error {}

/** The `port/proto` entries one EXPOSE word gives (a range gives one per port). */
export function exposedPorts(raw: string): string[] {
  const parts = raw.split(':');
  const n = parts.length;
  const container = parts[n - 1] ?? '';
  const host = n >= 2 ? (parts[n - 2] ?? '') : '';
  let ip = n >= 3 ? parts.slice(0, n - 2).join(':') : '';
  const slash = container.indexOf('/');
  const port = slash < 0 ? container : container.slice(0, slash);
  const proto = slash < 0 ? '' : container.slice(slash + 1);
  if (port === '') throw new PortSpecError(`invalid port: "${raw}": no port specified`);
  const lower = proto.toLowerCase();
  if (!['', 'tcp', 'udp', 'sctp'].includes(lower)) throw new PortSpecError(`invalid port: "${raw}": invalid proto: ${proto}`);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== '' && isIP(ip) === 0) throw new PortSpecError(`invalid IP address: ${ip}`);
  const ports = portRange(port);
  if (ports === undefined) throw new PortSpecError(`invalid containerPort: ${port}`);
  if (host !== '') {
    const hosts = portRange(host);
    if (hosts === undefined) throw new PortSpecError(`invalid hostPort: ${host}`);
    // A host range is allowed beside a single container port (the range to allocate from), not beside another size.
    if (ports[1] - ports[0] !== hosts[1] - hosts[0] && ports[1] !== ports[0]) {
      throw new PortSpecError(`invalid ranges specified for container and host Ports: ${port} and ${host}`);
    }
  }
  const out: string[] = [];
  for (let p = ports[0]; p <= ports[1]; p++) out.push(`${p}/${lower === '' ? 'tcp' : lower}`);
  return out;
}

/** `start[-end]` as [start, end], each 0-65535 and end ≥ start; undefined when it is not one. */
function portRange(text: string): [number, number] | undefined {
  const dash = text.indexOf('-');
  const start = portNumber(dash < 0 ? text : text.slice(0, dash));
  if (start === undefined) return undefined;
  if (dash < 0 || text.slice(dash + 1) === text.slice(0, dash)) return [start, start];
  const end = portNumber(text.slice(dash + 1));
  return end === undefined || end < start ? undefined : [start, end];
}

function portNumber(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 0 && n <= 65535 ? n : undefined;
}
