import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from '../../../src/images/changes.js';
import { isBerthError } from '../../../src/core/errors.js';

describe('commit/import changes', () => {
  it('CMD and ENTRYPOINT: JSON form as given, shell form through /bin/sh -c', () => {
    assert.deepEqual(applyChanges({}, ['CMD ["sh", "-c", "echo hi"]']).Cmd, ['sh', '-c', 'echo hi']);
    assert.deepEqual(applyChanges({}, ['cmd echo $HOME']).Cmd, ['/bin/sh', '-c', 'echo $HOME']);
    assert.deepEqual(applyChanges({}, ['CMD [not json']).Cmd, ['/bin/sh', '-c', '[not json']);
  });

  it('ENTRYPOINT resets CMD unless CMD is part of the same changes', () => {
    assert.deepEqual(applyChanges({ Cmd: ['old'] }, ['ENTRYPOINT ["/ep"]']), { Cmd: null, Entrypoint: ['/ep'] });
    assert.deepEqual(applyChanges({ Cmd: ['old'] }, ['CMD ["new"]', 'ENTRYPOINT ["/ep"]']), { Cmd: ['new'], Entrypoint: ['/ep'] });
  });

  it('ENV and LABEL: key=value pairs with quotes, the legacy "key value" form, replacing earlier values', () => {
    const c = applyChanges({ Env: ['PATH=/bin', 'A=old'] }, ['ENV A=new B="two words" C=x\\ y', 'ENV D the rest of the line', 'ENV E=$A-${B}']);
    assert.deepEqual(c.Env, ['PATH=/bin', 'A=new', 'B=two words', 'C=x y', 'D=the rest of the line', 'E=new-two words']);
    assert.deepEqual(applyChanges({ Labels: { a: '1' } }, ['LABEL b=2 "c d"="e f"']).Labels, { a: '1', b: '2', 'c d': 'e f' });
  });

  it('EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, HEALTHCHECK, ONBUILD', () => {
    const c = applyChanges({ WorkingDir: '/app', Env: ['P=8080'] }, [
      'EXPOSE $P 53/udp 7000-7001',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /cache',
      'USER 1000:1000',
      'WORKDIR sub',
      'STOPSIGNAL SIGINT',
      'HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost',
      'ONBUILD RUN make',
    ]);
    assert.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {}, '7000/tcp': {}, '7001/tcp': {} });
    assert.deepEqual(c.Volumes, { '/data': {}, '/logs': {}, '/cache': {} });
    assert.equal(c.User, '1000:1000');
    assert.equal(c.WorkingDir, '/app/sub');
    assert.equal(c.StopSignal, 'SIGINT');
    assert.deepEqual(c.Healthcheck, { Interval: 5e9, Retries: 3, Test: ['CMD-SHELL', 'wget -q localhost'] });
    assert.deepEqual(c.OnBuild, ['RUN make']);
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
  });

  it('joins continuation lines and skips comments', () => {
    assert.deepEqual(applyChanges({}, ['# a comment\nENV A=1 \\\n  B=2']).Env, ['A=1', 'B=2']);
  });

  it('leaves the base config untouched', () => {
    const base = { Env: ['A=1'] };
    applyChanges(base, ['ENV A=2']);
    assert.deepEqual(base, { Env: ['A=1'] });
  });

  it('refuses instructions that are not config changes and malformed arguments', () => {
    const refuse = (change: string, message: RegExp): void => {
      assert.throws(() => applyChanges({}, [change]), (err: unknown) => isBerthError(err, 'invalid-argument') && message.test((err as Error).message));
    };
    refuse('RUN echo hi', /RUN is not a valid change command/);
    refuse('FROM busybox', /FROM is not a valid change command/);
    refuse('COPY a b', /COPY is not a valid change command/);
    refuse('CMD', /requires at least one argument/);
    refuse('ENV =x', /names can not be blank/);
    refuse('ENV ONLYKEY', /must have two arguments/);
    refuse('EXPOSE 99999', /invalid range of ports/);
    refuse('EXPOSE http', /invalid containerPort/);
    refuse('LABEL a="unterminated', /unterminated quote/);
    refuse('HEALTHCHECK --interval=soon CMD true', /invalid duration/);
    refuse('HEALTHCHECK --bogus=1 CMD true', /unknown flag/);
    refuse('ONBUILD FROM x', /isn't allowed as an ONBUILD trigger/);
  });
});
