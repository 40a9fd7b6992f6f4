import { expect } from 'chai';
import { TemplateError, renderTemplate } from './go-template.js';
import { GoDuration, GoMap, GoNil, GoStruct, GoTime, fromJsonAny, type GoValue } from './go-value.js';
import { imageValue } from './inspect-values.js';
import { isTsbuildError } from '../../common/index.js';

// Expected outputs are what Go's text/template (with buildx's `json` = json.MarshalIndent(v, "", "  ")) prints.
const desc = new GoStruct('v1.Descriptor', [
  { name: 'MediaType', json: 'mediaType', value: 'application/vnd.oci.image.manifest.v1+json' },
  { name: 'Digest', json: 'digest', value: 'sha256:aa' },
  { name: 'Size', json: 'size', value: 528n },
  { name: 'Annotations', json: 'annotations', omitEmpty: true, value: new GoNil('map') },
]);
const data = new GoStruct('imagetools.tplInput', [
  { name: 'Name', json: 'name', omitEmpty: true, value: 'example.com/app:1' },
  { name: 'Manifest', json: 'manifest', omitEmpty: true, value: desc },
  { name: 'List', json: 'list', value: ['a', 'b'] },
  { name: 'Map', json: 'map', value: fromJsonAny({ b: 2, a: 1.5, big: 1000000, s: 'x<y', n: null, nested: { k: [true, 'v'] } }) },
  { name: 'Labels', json: 'labels', value: new GoMap(new Map([['z', '1'], ['a', '2']]), '') },
  { name: 'Lazy', value: () => Promise.resolve('computed') },
  { name: 'Empty', json: 'empty', value: '' },
  { name: 'Nil', value: new GoNil('pointer', '*v1.Platform') },
]);

const cases: [string, GoValue, string][] = [
  ['plain text', data, 'plain text'],
  ['{{.Name}}', data, 'example.com/app:1'],
  ['{{.Manifest.Digest}}', data, 'sha256:aa'],
  ['{{.Manifest.Size}}', data, '528'],
  ['{{json .Manifest}}', data, '{\n  "mediaType": "application/vnd.oci.image.manifest.v1+json",\n  "digest": "sha256:aa",\n  "size": 528\n}'],
  ['{{.Manifest | json}}', data, '{\n  "mediaType": "application/vnd.oci.image.manifest.v1+json",\n  "digest": "sha256:aa",\n  "size": 528\n}'],
  ['{{json .List}}', data, '[\n  "a",\n  "b"\n]'],
  ['{{json .Map.s}}', data, '"x\\u003cy"'],
  ['{{json .Map}}', data, '{\n  "a": 1.5,\n  "b": 2,\n  "big": 1000000,\n  "n": null,\n  "nested": {\n    "k": [\n      true,\n      "v"\n    ]\n  },\n  "s": "x\\u003cy"\n}'],
  ['{{.List}}', data, '[a b]'],
  ['{{.Map}}', data, 'map[a:1.5 b:2 big:1e+06 n:<nil> nested:map[k:[true v]] s:x<y]'],
  ['{{.Labels}}', data, 'map[a:2 z:1]'],
  ['{{.Map.missing}}', data, '<no value>'],
  ['{{.Map.n}}', data, '<no value>'],
  ['{{.Map.missing.deeper}}', data, '<no value>'],
  ['{{index .Labels "a"}}|{{index .Labels "q"}}|', data, '2||'],
  ['{{index .Map "missing"}}', data, '<no value>'],
  ['{{index .List 1}}', data, 'b'],
  ['{{index .Map.nested.k 0}}', data, 'true'],
  ['{{len .List}} {{len .Labels}} {{len .Name}}', data, '2 2 17'],
  ['{{range .List}}[{{.}}]{{end}}', data, '[a][b]'],
  ['{{range $i, $v := .List}}{{$i}}={{$v}} {{end}}', data, '0=a 1=b '],
  ['{{range $k, $v := .Labels}}{{$k}}:{{$v}};{{end}}', data, 'a:2;z:1;'],
  ['{{range .Empty}}x{{else}}none{{end}}', new GoStruct('t', [{ name: 'Empty', value: [] }]), 'none'],
  ['{{range .List}}{{$.Name}} {{end}}', data, 'example.com/app:1 example.com/app:1 '],
  ['{{if .Empty}}yes{{else if .Name}}name{{else}}no{{end}}', data, 'name'],
  ['{{if not .Empty}}empty{{end}}', data, 'empty'],
  ['{{with .Manifest}}{{.MediaType}}{{end}}', data, 'application/vnd.oci.image.manifest.v1+json'],
  ['{{with .Empty}}x{{else}}nothing{{end}}', data, 'nothing'],
  ['{{with .Empty}}x{{else with .Name}}{{.}}{{end}}', data, 'example.com/app:1'],
  ['{{if .Nil}}set{{else}}nil{{end}} {{.Nil}}', data, 'nil <nil>'],
  ['{{range $i, $v := .Labels}}{{end}}{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}', data, '2'],
  ['{{if eq .Manifest.Size 528}}ok{{end}}', data, 'ok'],
  ['{{if eq .Name "a" "example.com/app:1"}}one of{{end}}', data, 'one of'],
  ['{{if ne .Name "a"}}differs{{end}}', data, 'differs'],
  ['{{and .Name .Empty}}|{{or .Empty .Name}}', data, '|example.com/app:1'],
  ['{{print "a" "b" 1 2 "c"}}', data, 'ab1 2c'],
  ['{{println .Name 3}}', data, 'example.com/app:1 3\n'],
  ['{{printf "%s has %d bytes" .Manifest.Digest .Manifest.Size}}', data, 'sha256:aa has 528 bytes'],
  ['{{printf "%v %q" .List .Name}}', data, '[a b] "example.com/app:1"'],
  ['{{.Lazy}}', data, 'computed'],
  ['a  {{- .Name -}}  b', data, 'aexample.com/app:1b'],
  ['{{- /* a comment */ -}}\n x', data, 'x'],
  ['{{$n := .Manifest.Size}}{{$n}}', data, '528'],
  ['{{(index .Map "nested").k}}', data, '[true v]'],
  ['{{"quoted\\ttab"}} {{`raw\\t`}} {{3}} {{1.5}} {{true}}', data, 'quoted\ttab raw\\t 3 1.5 true'],
  ['{{json .}}', data, '{\n  "name": "example.com/app:1",\n  "manifest": {\n    "mediaType": "application/vnd.oci.image.manifest.v1+json",\n    "digest": "sha256:aa",\n    "size": 528\n  },\n  "list": [\n    "a",\n    "b"\n  ],\n  "map": {\n    "a": 1.5,\n    "b": 2,\n    "big": 1000000,\n    "n": null,\n    "nested": {\n      "k": [\n        true,\n        "v"\n      ]\n    },\n    "s": "x\\u003cy"\n  },\n  "labels": {\n    "a": "2",\n    "z": "1"\n  },\n  "empty": ""\n}'],
  // A time.Duration (buildx's `history inspect` .Duration): Duration.String, the integer in JSON, compared as an int.
  ['{{.}}', new GoDuration(1_500_000_000n), '1.5s'],
  ['{{.}}', new GoDuration(123_000_000n), '123ms'],
  ['{{.}}', new GoDuration(1_500n), '1.5µs'],
  ['{{.}}', new GoDuration(3_723_004_000_000n), '1h2m3.004s'],
  ['{{.}}', new GoDuration(60_000_000_000n), '1m0s'],
  ['{{.}}', new GoDuration(0n), '0s'],
  ['{{json .}}', new GoDuration(1_500_000_000n), '1500000000'],
  ['{{if .}}y{{else}}n{{end}} {{eq . 0}}', new GoDuration(0n), 'n true'],
];

describe('go-template: the text/template subset imagetools inspect --format runs', () => {
  for (const [template, value, expected] of cases) {
    it(`prints ${JSON.stringify(template)} as Go does`, async () => {
      expect(await renderTemplate(template, value)).to.equal(expected);
    });
  }

  it('marshals an image config in ocispecs.Image field order, dropping what the type does not hold', async () => {
    const image = imageValue({ os: 'linux', architecture: 'amd64', created: '2024-01-02T03:04:05.500000000+00:00',
      config: { Env: ['A=1'], Healthcheck: { Test: ['NONE'] }, ExposedPorts: { '80/tcp': {} } }, rootfs: { type: 'layers', diff_ids: ['sha256:bb'] } });
    const out = await renderTemplate('{{json .}}', image);
    expect(out).to.equal('{\n  "created": "2024-01-02T03:04:05.5Z",\n  "architecture": "amd64",\n  "os": "linux",\n  "config": {\n    "ExposedPorts": {\n      "80/tcp": {}\n    },\n    "Env": [\n      "A=1"\n    ]\n  },\n  "rootfs": {\n    "type": "layers",\n    "diff_ids": [\n      "sha256:bb"\n    ]\n  }\n}');
    expect(await renderTemplate('{{.RootFS.DiffIDs}} {{.Architecture}} {{.Created}} {{.History}}', image)).to.equal('[sha256:bb] amd64 2024-01-02 03:04:05.5 +0000 UTC []');
  });

  it('prints a time with a non-zero offset as Go does', async () => {
    const t = new GoTime('2024-01-02T03:04:05+02:00');
    expect(t.rfc3339Nano()).to.equal('2024-01-02T03:04:05+02:00');
    expect(await renderTemplate('{{.}}', t)).to.equal('2024-01-02 03:04:05 +0200 +0200');
  });

  const errors: [string, string][] = [
    ['{{nosuch .Name}}', '1:3: function "nosuch" not defined'],
    ['{{.Name', '1:1: unclosed action'],
    ['ab\n{{if .Name}}x', '2:14: unexpected EOF'],
    ['{{end}}', '1:3: unexpected {{end}}'],
    ['{{.Nope}}', "1:3: can't evaluate field Nope in type imagetools.tplInput"],
    ['{{.Name.X}}', "can't evaluate field X in type string"],
    ['{{index .List 5}}', 'index out of range: 5'],
    ['{{eq .Manifest.Size 1.5}}', 'incompatible types for comparison'],
  ['{{.Nil.Architecture}}', 'nil pointer evaluating *v1.Platform.Architecture'],
  ];
  for (const [template, message] of errors) {
    it(`refuses ${JSON.stringify(template)} as a user error naming the position`, async () => {
      const err = await renderTemplate(template, data).then(() => undefined, (e: unknown) => e);
      expect(isTsbuildError(err), String(err)).to.equal(true);
      expect((err as { code: string }).code).to.equal('TEMPLATE_FAILED');
      expect((err as Error).message).to.contain(message);
    });
  }
});

describe('go-template: a run that fails', () => {
  it('keeps what it wrote before the failure, as Go\'s Execute leaves it written', async () => {
    const err = await renderTemplate('{{.Name}} {{index .List 5}}', data).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(TemplateError);
    expect((err as TemplateError).output).to.equal(`${await renderTemplate('{{.Name}}', data)} `);
  });
});

describe('go-template: deeply nested templates', () => {
  it('refuses nesting past its bound with the position instead of overflowing the stack', async () => {
    for (const template of [`{{${'('.repeat(20000)}.${')'.repeat(20000)}}}`, `${'{{if .}}'.repeat(20000)}x${'{{end}}'.repeat(20000)}`]) {
      const err = await renderTemplate(template, fromJsonAny({})).then(() => undefined, (e: unknown) => e);
      expect(isTsbuildError(err), String(err)).to.equal(true);
      expect(String((err as Error).message)).to.match(/nested more than 100 levels deep/);
    }
  });
});

