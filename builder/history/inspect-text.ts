import { goBytesSize } from '../../common/index.js';
import type { VertexRecord } from '../../solver/index.js';
import { describeReason } from '../report/index.js';
import { historyDuration } from './list.js';
import { GRPC_CANCELED, GRPC_UNKNOWN, type InspectOutput, type KeyValue } from './inspect.js';
import { tabWrite, type TabWriterOptions } from '../tab-writer.js';

// `history inspect` without --format (buildx's `pretty`), laid out as runInspect prints it (commands/history/
// inspect.go): blocks of `Field:<tab>value` through tabwriter.NewWriter(out, 1, 8, 1, '\t', 0), each followed by an
// empty line, the named contexts, build args and labels as two-column tables, then where to read the logs. buildx's
// last line, the build's Docker Desktop link, is left out: there is no Desktop that could open it. tsbuild adds one
// block before the logs line, its own: every step, hit or miss, with its time and why it missed (what buildx cannot
// say); --format json and templates stay buildx's alone.

/** buildx's tabwriter for this text: cells padded with tabs to the next multiple of 8. */
const TABS: TabWriterOptions = { minwidth: 1, padding: 1, padchar: '\t', tabwidth: 8 };

/** gRPC code names as codes.Code.String writes the ones a record holds. */
const CODE_NAMES: Record<number, string> = { [GRPC_CANCELED]: 'Canceled', [GRPC_UNKNOWN]: 'Unknown' };

/** The pretty text; `refGiven`: buildx shows the Ref line only when inspecting the latest build. */
export function inspectPretty(out: InspectOutput, opts: { refGiven: boolean; logsCommand: string }, steps: VertexRecord[] = []): string {
  const parts: string[] = [];
  const block = (lines: [string, string | false][]): void => {
    const shown = lines.filter((l): l is [string, string] => l[1] !== false);
    parts.push(shown.length ? `${tabWrite(shown.map(([k, v]) => `${k}:\t${v}`).join('\n'), TABS)}\n` : '', '\n');
  };
  const table = (kvs: KeyValue[], title: string): void => {
    if (kvs.length === 0) return;
    parts.push(`${tabWrite([`${title.toUpperCase()}\tVALUE`, ...kvs.map((kv) => `${kv.Name}\t${kv.Value}`)].join('\n'), TABS)}\n`, '\n');
  };
  const when = (v: string): string | false => (v === '' ? false : v);
  block([
    ['Name', when(out.Name)], ['Ref', !opts.refGiven && when(out.Ref)], ['Context', when(out.Context)], ['Dockerfile', when(out.Dockerfile)],
    ['VCS Repository', when(out.VCSRepository)], ['VCS Revision', when(out.VCSRevision)], ['Target', when(out.Target)],
    ['Platforms', when(out.Platform.join(', '))], ['Keep Git Dir', out.KeepGitDir && 'true'],
  ]);
  table(out.NamedContexts, 'Named Context');
  const cached = (out.NumCachedSteps / out.NumTotalSteps) * 100;
  block([
    ['Started', out.StartedAt.slice(0, 19).replace('T', ' ')],
    ['Duration', historyDuration(Number(out.Duration / 1_000_000n))],
    ['Error', out.Status === 'failed' && `${CODE_NAMES[out.Error?.Code ?? GRPC_UNKNOWN] ?? ''} ${out.Error?.Message ?? ''}`],
    ['Status', out.Status === 'canceled' && 'Canceled'],
    ['Build Steps', `${out.NumCompletedSteps}/${out.NumTotalSteps} (${goFixed0(cached)}% cached)`],
  ]);
  const c = out.Config;
  block([
    ['Network', when(c.Network)], ['Hostname', when(c.Hostname)], ['Extra Hosts', when(c.ExtraHosts.join(', '))],
    ['Cgroup Parent', when(c.CgroupParent)], ['Image Resolve Mode', when(c.ImageResolveMode)],
    ['Multi-Platform', c.MultiPlatform && 'true'], ['No Cache', c.NoCache && 'true'], ['No Cache Filter', when(c.NoCacheFilter.join(', '))],
    ['Shm Size', when(c.ShmSize)], ['Resource Limits', when(c.Ulimit)], ['Memory', when(humanizeBytes(c.Memory))],
    ['Memory Swap', when(humanizeBytes(c.MemorySwap))], ['CPU Shares', when(c.CPUShares)], ['CPU Period', when(c.CPUPeriod)],
    ['CPU Quota', when(c.CPUQuota)], ['CPUSet CPUs', when(c.CPUSetCPUs)], ['CPUSet Mems', when(c.CPUSetMems)],
    ['Cache Mount Namespace', when(c.CacheMountNS)], ['Dockerfile Check Config', when(c.DockerfileCheckConfig)],
    ['Source Date Epoch', when(c.SourceDateEpoch)], ['Sandbox Hostname', when(c.SandboxHostname)],
    ...c.RestRaw.map((kv): [string, string] => [kv.Name, kv.Value]),
  ]);
  table(out.BuildArgs, 'Build Arg');
  table(out.Labels, 'Label');
  if (steps.length > 0) {
    const lines = ['Steps:'];
    for (const v of steps) {
      const status = v.error !== undefined ? 'ERROR' : v.cached ? 'CACHED' : 'RAN';
      lines.push(`${status.padEnd(6)}  ${`${(v.durationMs / 1000).toFixed(2)}s`.padStart(7)}  ${firstLine(v.text)}`);
      // The failed step's error is the Error line above; a miss says why, as the build's own summary does.
      if (v.error === undefined && v.reasons[0]) lines.push(`${' '.repeat(17)}miss: ${describeReason(v.reasons[0])}`);
    }
    parts.push(`${lines.join('\n')}\n`, '\n');
  }
  parts.push(`Print build logs: ${opts.logsCommand} ${out.Ref}\n`);
  return parts.join('');
}

/** buildx's humanizeBytes: a byte count as go-units' BytesSize; anything else (`-1`, unlimited swap) as it is. */
function humanizeBytes(v: string): string {
  return /^[+-]?\d+$/.test(v) && Number(v) >= 0 ? goBytesSize(Number(v)) : v;
}

/** fmt's `%.0f`: a half rounds to even (12.5 → 12), where toFixed rounds it up; NaN (no steps) prints NaN. */
function goFixed0(n: number): string {
  const floor = Math.floor(n);
  return n - floor === 0.5 ? String(floor % 2 === 0 ? floor : floor + 1) : n.toFixed(0);
}

const firstLine = (text: string): string => text.split('\n', 1)[0] ?? '';
