import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatValue, goJson, parseTemplate, renderTemplate, TemplateError, TemplateExecError } from '../../../src/cli/template.js';

const container = {
  Id: '50f030bf548d257d9708a2ac5c838d83e0761824441372b92ef796a2348fb419',
  Name: '/r2b',
  State: { Status: 'exited', Running: false, ExitCode: 3, Health: null },
  Config: {
    Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'],
    Env: ['PATH=/bin', 'A=B'],
    Labels: { 'com.example': 'x', a: '1' },
    Entrypoint: null,
    Tty: false,
  },
  Mounts: [
    { Source: '/src', Destination: '/dst' },
    { Source: '/a', Destination: '/b' },
  ],
  NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.2' } } },
  Size: 1982298,
};

test('field chains, case-insensitive fallback ({{.ID}} and {{.Id}})', () => {
  assert.equal(renderTemplate('{{.State.ExitCode}}', container), '3');
  assert.equal(renderTemplate('{{.Id}}', container), container.Id);
  assert.equal(renderTemplate('{{.ID}}', container), container.Id);
  assert.equal(renderTemplate('{{.State.Status}} {{.Name}}', container), 'exited /r2b');
  assert.equal(renderTemplate('x{{.State.Running}}y', container), 'xfalsey');
  assert.equal(renderTemplate('{{.Size}}', container), '1982298');
  assert.equal(renderTemplate('{{.NetworkSettings.Networks.bridge.IPAddress}}', container), '172.17.0.2');
  assert.equal(renderTemplate('{{.Nope}}', container), '<no value>');
  assert.equal(renderTemplate('{{.}}', 'plain'), 'plain');
});

test('json, like Go json.Marshal (compact, HTML-escaped)', () => {
  assert.equal(
    renderTemplate('{{json .Config.Cmd}}', container),
    '["sh","-c","echo out; echo err \\u003e\\u00262; exit 3"]',
  );
  assert.equal(renderTemplate('{{json .Config.Entrypoint}}', container), 'null');
  assert.equal(renderTemplate('{{json .State}}', container), '{"Status":"exited","Running":false,"ExitCode":3,"Health":null}');
  assert.equal(goJson({ a: '<b>' }), '{"a":"\\u003cb\\u003e"}');
});

test("Go's %v printing of maps, slices and nil", () => {
  assert.equal(renderTemplate('{{.Config.Env}}', container), '[PATH=/bin A=B]');
  assert.equal(renderTemplate('{{.Config.Labels}}', container), 'map[a:1 com.example:x]');
  assert.equal(renderTemplate('{{.Config.Entrypoint}}', container), '<nil>');
  assert.equal(formatValue([1, 'a', true]), '[1 a true]');
});

test('range, if/else, with, variables, index, pipelines and functions', () => {
  assert.equal(renderTemplate('{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}', container), '/src:/dst /a:/b ');
  assert.equal(renderTemplate('{{range $i, $m := .Mounts}}{{$i}}={{$m.Source}};{{end}}', container), '0=/src;1=/a;');
  assert.equal(renderTemplate('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}', container), 'a=1,com.example=x,');
  assert.equal(renderTemplate('{{if .State.Running}}up{{else}}down{{end}}', container), 'down');
  assert.equal(renderTemplate('{{if eq .State.Status "running"}}r{{else if eq .State.Status "exited"}}e{{else}}?{{end}}', container), 'e');
  assert.equal(renderTemplate('{{with .State}}{{.ExitCode}}{{end}}', container), '3');
  assert.equal(renderTemplate('{{with .State.Health}}h{{else}}none{{end}}', container), 'none');
  assert.equal(renderTemplate('{{index .Config.Labels "com.example"}}', container), 'x');
  assert.equal(renderTemplate('{{index .Config.Cmd 1}}', container), '-c');
  assert.equal(renderTemplate('{{.Name | upper}}', container), '/R2B');
  assert.equal(renderTemplate('{{join .Config.Cmd " "}}', container), 'sh -c echo out; echo err >&2; exit 3');
  assert.equal(renderTemplate('{{len .Mounts}}', container), '2');
  assert.equal(renderTemplate('{{printf "%s-%d" .State.Status .State.ExitCode}}', container), 'exited-3');
  assert.equal(renderTemplate('{{$x := .State.ExitCode}}code={{$x}}', container), 'code=3');
  assert.equal(renderTemplate('{{(index .Mounts 1).Source}}', container), '/a');
  assert.equal(renderTemplate('{{range .Mounts}}{{$.Name}}{{end}}', container), '/r2b/r2b');
  assert.equal(renderTemplate('{{truncate .Id 12}}', container), '50f030bf548d');
  assert.equal(renderTemplate('{{title "hello world"}}', container), 'Hello World');
  assert.equal(renderTemplate('{{split "a,b" ","}}', container), '[a b]');
  assert.equal(renderTemplate('{{not .State.Running}} {{and 1 0}} {{or 0 "x"}}', container), 'true 0 x');
});

test('trim markers and errors', () => {
  assert.equal(renderTemplate('a  {{- .Name -}}  b', container), 'a/r2bb');
  assert.equal(renderTemplate('{{/* comment */}}x', container), 'x');
  assert.throws(() => renderTemplate('{{.Name', container), TemplateError);
  assert.throws(() => renderTemplate('{{nosuchfn .Name}}', container), /function "nosuchfn" not defined/);
  assert.throws(() => renderTemplate('{{if .Name}}x', container), TemplateError);
  assert.throws(() => renderTemplate('{{end}}', container), TemplateError);
});

test("parse errors carry their line, for Go's \"template: NAME:LINE: …\" wording; execution errors do not", () => {
  const parseError = (src: string): TemplateError => {
    try {
      renderTemplate(src, {});
    } catch (e) {
      if (e instanceof TemplateError) return e;
      throw e;
    }
    assert.fail(`${src} parsed`);
  };
  assert.equal(parseError('{{').goMessage(), 'template: :1: unclosed action');
  assert.equal(parseError('{{.A}}\n{{if .B}}').goMessage('version'), 'template: version:2: unexpected EOF');
  assert.equal(parseError('a\nb\n{{end}}').goMessage(), 'template: :3: unexpected {{end}}');
  assert.throws(() => renderTemplate('{{index .A 3}}', { A: [1] }), (e: unknown) => e instanceof TemplateError && e.line === undefined);
});

test("a typed row (a docker CLI context) fails on a field it lacks, with Go's position and wording; JSON data does not", () => {
  const execError = (src: string, data: Record<string, unknown>): string => {
    try {
      parseTemplate(src).execute(data, '*formatter.imageContext');
    } catch (e) {
      if (e instanceof TemplateExecError) return e.goMessage();
      throw e;
    }
    return assert.fail(`${src} executed`);
  };
  const row = { ID: 'abc', Names: 'web' };
  assert.equal(execError('{{.Nope}}', row), 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.imageContext');
  assert.equal(execError('{{index .Nope 1}}', row), 'template: :1:8: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.imageContext');
  // Exact names on a struct (Go's methods), and a chain is placed at its second field.
  assert.equal(execError('{{.id}}', row), 'template: :1:2: executing "" at <.id>: can\'t evaluate field id in type *formatter.imageContext');
  assert.equal(execError('x\n{{.ID}} {{.Names.Nope}}', row), 'template: :2:16: executing "" at <.Names.Nope>: can\'t evaluate field Nope in type string');
  assert.equal(parseTemplate('{{.ID}} {{.Names}}').execute(row, '*formatter.imageContext'), 'abc web');
  // The same data as plain JSON (inspect): Go's maps answer <no value>, any case matches.
  assert.equal(renderTemplate('{{.Nope}} {{.id}}', row), '<no value> abc');
});
