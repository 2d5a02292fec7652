/**
 * Table output of `ps` and `images`. The expected texts were produced by the docker CLI 28.2.2
 * against the same list responses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  containerFields,
  displayablePorts,
  ellipsis,
  goQuote,
  HEADERS,
  IMAGES_TABLE,
  imageRows,
  PS_TABLE,
  renderRows,
  truncateId,
  type ContainerSummary,
  type ImageSummary,
} from '../../../src/cli/format.js';
import { tabwrite } from '../../../src/cli/tabwriter.js';

const NOW = 1_795_358_690_000;
const now = NOW / 1000;

test('tabwriter: columns padded to max(cell+3, 10); the last cell is not padded', () => {
  assert.equal(tabwrite('A\tBB\tC\nlonger-cell-text\tx\ty\n'), 'A                  BB        C\nlonger-cell-text   x         y\n');
  assert.equal(tabwrite('Client:\n Version:\t1\n API version:\t2\n', { minwidth: 20, padding: 1 }), 'Client:\n Version:           1\n API version:       2\n');
});

test('ports: ranges grouped, host mappings last (DisplayablePorts)', () => {
  assert.equal(
    displayablePorts([
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 18080, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, PublicPort: 18080, Type: 'tcp' },
    ]),
    '0.0.0.0:18080->80/tcp, [::]:18080->80/tcp',
  );
  assert.equal(
    displayablePorts([
      { PrivatePort: 53, Type: 'udp' },
      { PrivatePort: 8080, Type: 'tcp' },
      { PrivatePort: 8081, Type: 'tcp' },
      { PrivatePort: 8082, Type: 'tcp' },
      { IP: '127.0.0.1', PrivatePort: 443, PublicPort: 8443, Type: 'tcp' },
    ]),
    '53/udp, 8080-8082/tcp, 127.0.0.1:8443->443/tcp',
  );
  assert.equal(displayablePorts([]), '');
});

test('ids, commands and names are shortened as docker does', () => {
  assert.equal(truncateId('sha256:9bd1f7369ccc1ca501090d04114eb74dfca9b7eca5896af3d0f368985dc1ad45'), '9bd1f7369ccc');
  assert.equal(ellipsis("sh -c 'echo out; echo err >&2; exit 3'", 20), "sh -c 'echo out; ec…");
  assert.equal(goQuote('echo "quoted\tx"'), '"echo \\"quoted\\tx\\""');
});

const containers: ContainerSummary[] = [
  {
    Id: '30bda07665519bf5f5aa38a56f811eb1630ed0ede6786b34b90944bad0538bef',
    Names: ['/insp1'],
    Image: 'busybox:local',
    ImageID: 'sha256:9bd1f7369ccc1ca501090d04114eb74dfca9b7eca5896af3d0f368985dc1ad45',
    Command: 'sleep 300',
    Created: now - 150,
    Ports: [
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 18080, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, PublicPort: 18080, Type: 'tcp' },
    ],
    State: 'running',
    Status: 'Up 2 minutes',
  },
  {
    Id: '50f030bf548d257d9708a2ac5c838d83e0761824441372b92ef796a2348fb419',
    Names: ['/r2b', '/other/alias'],
    Image: 'docker.io/library/busybox:latest',
    ImageID: 'sha256:aa36243d2a31ddf76a91fbce0ad7221c83d36d8df71870064c6bd1bd3c9aa524',
    Command: "sh -c 'echo out; echo err >&2; exit 3'",
    Created: now - 7200,
    Ports: [],
    State: 'exited',
    Status: 'Exited (3) 2 seconds ago',
  },
  {
    Id: '6ad7f4eca891b542817df4eaa9c7af593c082ce11162aa6781ecd4fd8209e34e',
    Names: ['/x1'],
    Image: 'sha256:9bd1f7369ccc1ca501090d04114eb74dfca9b7eca5896af3d0f368985dc1ad45',
    ImageID: 'sha256:9bd1f7369ccc1ca501090d04114eb74dfca9b7eca5896af3d0f368985dc1ad45',
    Command: 'true',
    Created: now - 3,
    State: 'created',
    Status: 'Created',
  },
  {
    Id: '7ad7f4eca891b542817df4eaa9c7af593c082ce11162aa6781ecd4fd8209e34e',
    Names: ['/x2'],
    Image: '127.0.0.1:5000/bbplus@sha256:1d10bda5f87a8b571631191b8821cc51c0031833fbd748924e12d31336c16b95',
    ImageID: 'sha256:aa36243d2a31ddf76a91fbce0ad7221c83d36d8df71870064c6bd1bd3c9aa524',
    Command: 'sh',
    Created: now - 86400 * 20,
    State: 'running',
    Status: 'Up 3 seconds',
  },
];

test('ps table', () => {
  const rows = containers.map((c) => containerFields(c, true, NOW));
  assert.equal(
    renderRows(PS_TABLE, rows, HEADERS.container),
    [
      'CONTAINER ID   IMAGE                   COMMAND                  CREATED         STATUS                     PORTS                                       NAMES',
      '30bda0766551   busybox:local           "sleep 300"              2 minutes ago   Up 2 minutes               0.0.0.0:18080->80/tcp, [::]:18080->80/tcp   insp1',
      '50f030bf548d   busybox:latest          "sh -c \'echo out; ec…"   2 hours ago     Exited (3) 2 seconds ago                                               r2b',
      '6ad7f4eca891   9bd1f7369ccc            "true"                   3 seconds ago   Created                                                                x1',
      '7ad7f4eca891   127.0.0.1:5000/bbplus   "sh"                     2 weeks ago     Up 3 seconds                                                           x2',
      '',
    ].join('\n'),
  );
  assert.equal(renderRows('{{.ID}}', rows, HEADERS.container), '30bda0766551\n50f030bf548d\n6ad7f4eca891\n7ad7f4eca891\n');
  assert.equal(renderRows('{{.Names}}', containers.map((c) => containerFields(c, false, NOW)), HEADERS.container).split('\n')[1], 'r2b,other/alias');
  assert.equal(renderRows('table {{.Names}}\\t{{.State}}', rows.slice(0, 1), HEADERS.container), 'NAMES     STATE\ninsp1     running\n');
});

const images: ImageSummary[] = [
  {
    Id: 'sha256:7833fa87d4fb8bc41a4eb4fcd1e092a7155401513471b3a3726d0dfd01330014',
    Created: now - 3600 * 5,
    RepoDigests: ['127.0.0.1:5055/debian-python@sha256:6020b5d0aea050fa7b2f9e065b49ed71c8f02294a5acd12582c0df60fc85fa18'],
    RepoTags: ['127.0.0.1:5055/debian-python:latest', 'docker.io/library/python:3'],
    Size: 395841979,
  },
  { Id: 'sha256:9bd1f7369ccc1ca501090d04114eb74dfca9b7eca5896af3d0f368985dc1ad45', Created: now - 130, RepoDigests: null, RepoTags: ['busybox:local'], Size: 1982298 },
  {
    Id: 'sha256:aa36243d2a31ddf76a91fbce0ad7221c83d36d8df71870064c6bd1bd3c9aa524',
    Created: now - 86400 * 400,
    RepoDigests: ['127.0.0.1:5000/bbplus@sha256:1d10bda5f87a8b571631191b8821cc51c0031833fbd748924e12d31336c16b95'],
    RepoTags: [],
    Size: 531000,
  },
  { Id: 'sha256:bb36243d2a31ddf76a91fbce0ad7221c83d36d8df71870064c6bd1bd3c9aa524', Created: now - 86400 * 3, RepoDigests: [], RepoTags: [], Size: 4260000 },
];

test('images table', () => {
  const rows = images.flatMap((i) => imageRows(i, { trunc: true, digests: false }, NOW));
  assert.equal(
    renderRows(IMAGES_TABLE, rows, HEADERS.image),
    [
      'REPOSITORY                     TAG       IMAGE ID       CREATED         SIZE',
      '127.0.0.1:5055/debian-python   latest    7833fa87d4fb   5 hours ago     396MB',
      'python                         3         7833fa87d4fb   5 hours ago     396MB',
      'busybox                        local     9bd1f7369ccc   2 minutes ago   1.98MB',
      '127.0.0.1:5000/bbplus          <none>    aa36243d2a31   13 months ago   531kB',
      '<none>                         <none>    bb36243d2a31   3 days ago      4.26MB',
      '',
    ].join('\n'),
  );
});
