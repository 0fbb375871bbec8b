// kube-sim driven by the official JavaScript client (@kubernetes/client-node 1.x), the way a
// Node program would use it: CRUD of Namespaces, ConfigMaps and Secrets, the three patch types,
// server-side apply, a watch and an informer, paging, dry runs and validation, a few other kinds
// (Lease, Event, PVC, custom resources), and seed 003's orchestrator flow (a Deployment, a
// Service and an Ingress for one environment, waited for, scaled, read back and torn down).
//
// Run by tests/api/js_client.rs against a fresh sim: `KUBECONFIG=... node client-node.mjs`.
// Every step prints one line; the first failure prints the error (with the server's Status
// message) and exits non-zero. Install the client with `npm ci --prefix crates/kube-sim/tests/js`.

import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';

const kc = new k8s.KubeConfig();
kc.loadFromDefault(); // KUBECONFIG
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const net = kc.makeApiClient(k8s.NetworkingV1Api);
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);

const NS = 'js-client';
const as = (strategy) => k8s.setHeaderOptions('Content-Type', strategy);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let current = '(start)';
const started = Date.now();

/** Runs one step, printing its name and what it showed. */
async function step(name, body) {
  current = name;
  const t0 = Date.now();
  const detail = await body();
  console.log(`ok   ${name}${detail ? ` — ${detail}` : ''} (${Date.now() - t0} ms)`);
}

/** The HTTP code of a rejected call (ApiException), or undefined for any other error. */
function codeOf(err) {
  return err instanceof k8s.ApiException ? err.code : undefined;
}

/** Expects `call` to be rejected with HTTP `code`; returns the server's Status. */
async function rejects(code, call) {
  try {
    await call();
  } catch (err) {
    assert.equal(codeOf(err), code, `expected HTTP ${code}, got ${describe(err)}`);
    return status(err);
  }
  assert.fail(`expected HTTP ${code}, the call succeeded`);
}

/** The server's Status carried by an ApiException (parsed when it is still text). */
function status(err) {
  let body = err?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return { message: body };
    }
  }
  return body ?? {};
}

/** One line for an error: the HTTP code and the server's Status message when there is one. */
function describe(err) {
  if (err instanceof k8s.ApiException) {
    const s = status(err);
    return `HTTP ${err.code} ${s.reason ?? ''}: ${s.message ?? JSON.stringify(err.body)}`;
  }
  return err?.stack ?? String(err);
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
async function until(what, ms, check) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Waits until reading the object answers 404. */
async function gone(what, read) {
  await until(`${what} to be gone`, 30_000, async () => {
    try {
      await read();
      return false;
    } catch (err) {
      if (codeOf(err) === 404) return true;
      throw err;
    }
  });
}

const b64 = (s) => Buffer.from(s).toString('base64');

async function main() {
  await step('version', async () => {
    const v = await kc.makeApiClient(k8s.VersionApi).getCode();
    assert.match(v.gitVersion, /^v1\.\d+/);
    return v.gitVersion;
  });

  await step('namespace: create, read, list, replace, delete', async () => {
    const name = 'js-crud';
    const created = await core.createNamespace({ body: { metadata: { name } } });
    assert.equal(created.metadata.name, name);
    assert.ok(created.metadata.uid, 'a uid is assigned');
    const read = await core.readNamespace({ name });
    assert.equal(read.status.phase, 'Active');
    const list = await core.listNamespace({ labelSelector: `kubernetes.io/metadata.name=${name}` });
    assert.deepEqual(
      list.items.map((n) => n.metadata.name),
      [name],
    );
    read.metadata.labels = { ...read.metadata.labels, team: 'js' };
    const replaced = await core.replaceNamespace({ name, body: read });
    assert.equal(replaced.metadata.labels.team, 'js');
    assert.notEqual(replaced.metadata.resourceVersion, read.metadata.resourceVersion);
    await rejects(409, () => core.createNamespace({ body: { metadata: { name } } }));
    await core.deleteNamespace({ name });
    await gone(`namespace ${name}`, () => core.readNamespace({ name }));
    await core.createNamespace({ body: { metadata: { name: NS } } });
    return `uid ${created.metadata.uid}`;
  });

  await step('configmap: create, read, list, replace, conflict, delete', async () => {
    const name = 'settings';
    const body = { metadata: { name, labels: { app: 'web' } }, data: { color: 'blue' } };
    const created = await core.createNamespacedConfigMap({ namespace: NS, body });
    assert.equal(created.metadata.namespace, NS);
    assert.deepEqual(created.data, { color: 'blue' });
    const read = await core.readNamespacedConfigMap({ name, namespace: NS });
    assert.equal(read.metadata.resourceVersion, created.metadata.resourceVersion);
    const list = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'app=web' });
    assert.deepEqual(
      list.items.map((c) => c.metadata.name),
      [name],
    );
    assert.ok(list.metadata.resourceVersion, 'a list has a resourceVersion');
    read.data.color = 'green';
    const replaced = await core.replaceNamespacedConfigMap({ name, namespace: NS, body: read });
    assert.equal(replaced.data.color, 'green');
    // Replacing with the old resourceVersion is a conflict, as on a real cluster.
    const stale = await rejects(409, () =>
      core.replaceNamespacedConfigMap({ name, namespace: NS, body: { ...read, data: { color: 'red' } } }),
    );
    assert.equal(stale.reason, 'Conflict');
    const deleted = await core.deleteNamespacedConfigMap({ name, namespace: NS });
    assert.ok(deleted, 'delete answers');
    const missing = await rejects(404, () => core.readNamespacedConfigMap({ name, namespace: NS }));
    assert.equal(missing.reason, 'NotFound');
    assert.match(missing.message, /settings/);
    return `conflict said "${stale.message}"`;
  });

  await step('secret: create with stringData, read, list, replace, delete', async () => {
    const name = 'credentials';
    const created = await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name }, stringData: { user: 'admin' }, data: { token: b64('s3cr3t') } },
    });
    assert.equal(created.type, 'Opaque');
    assert.equal(created.stringData, undefined, 'stringData is folded into data');
    assert.deepEqual(created.data, { user: b64('admin'), token: b64('s3cr3t') });
    const read = await core.readNamespacedSecret({ name, namespace: NS });
    assert.equal(Buffer.from(read.data.token, 'base64').toString(), 's3cr3t');
    const list = await core.listNamespacedSecret({ namespace: NS, fieldSelector: `metadata.name=${name}` });
    assert.equal(list.items.length, 1);
    read.data = { user: b64('root') };
    const replaced = await core.replaceNamespacedSecret({ name, namespace: NS, body: read });
    assert.deepEqual(replaced.data, { user: b64('root') });
    await core.deleteNamespacedSecret({ name, namespace: NS });
    await rejects(404, () => core.readNamespacedSecret({ name, namespace: NS }));
  });

  await step('patch: JSON merge patch, JSON patch, strategic merge patch', async () => {
    const name = 'patched';
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name, labels: { a: '1' } }, data: { keep: 'yes', drop: 'me' } },
    });
    const merged = await core.patchNamespacedConfigMap(
      { name, namespace: NS, body: { metadata: { labels: { b: '2' } }, data: { drop: null, added: 'm' } } },
      as(k8s.PatchStrategy.MergePatch),
    );
    assert.deepEqual(merged.metadata.labels, { a: '1', b: '2' });
    assert.deepEqual(merged.data, { keep: 'yes', added: 'm' });

    const jsonPatched = await core.patchNamespacedConfigMap(
      {
        name,
        namespace: NS,
        body: [
          { op: 'test', path: '/data/keep', value: 'yes' },
          { op: 'replace', path: '/data/keep', value: 'still' },
          { op: 'add', path: '/data/json', value: 'j' },
          { op: 'remove', path: '/metadata/labels/a' },
        ],
      },
      as(k8s.PatchStrategy.JsonPatch),
    );
    assert.deepEqual(jsonPatched.data, { keep: 'still', added: 'm', json: 'j' });
    assert.deepEqual(jsonPatched.metadata.labels, { b: '2' });
    // A failing test operation rejects the whole patch and changes nothing.
    await rejects(422, () =>
      core.patchNamespacedConfigMap(
        {
          name,
          namespace: NS,
          body: [
            { op: 'test', path: '/data/keep', value: 'nope' },
            { op: 'add', path: '/data/never', value: 'x' },
          ],
        },
        as(k8s.PatchStrategy.JsonPatch),
      ),
    );
    const after = await core.readNamespacedConfigMap({ name, namespace: NS });
    assert.equal(after.data.never, undefined);

    // Strategic merge merges a Service's ports by port number; a merge patch replaces the list.
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'ports' },
        spec: {
          selector: { app: 'web' },
          ports: [
            { name: 'http', port: 80, targetPort: 8080 },
            { name: 'https', port: 443, targetPort: 8443 },
          ],
        },
      },
    });
    const strategic = await core.patchNamespacedService(
      { name: 'ports', namespace: NS, body: { spec: { ports: [{ name: 'debug', port: 9000 }] } } },
      as(k8s.PatchStrategy.StrategicMergePatch),
    );
    assert.deepEqual(strategic.spec.ports.map((p) => p.port).sort(), [443, 80, 9000].sort());
    assert.equal(strategic.spec.ports.find((p) => p.port === 9000).protocol, 'TCP', 'defaulted');
    const replacedList = await core.patchNamespacedService(
      { name: 'ports', namespace: NS, body: { spec: { ports: [{ name: 'only', port: 7000 }] } } },
      as(k8s.PatchStrategy.MergePatch),
    );
    assert.deepEqual(
      replacedList.spec.ports.map((p) => p.port),
      [7000],
    );
    // A patch sent with the wrong body for its type is a 4xx with a message, not a 500.
    const bad = await rejects(400, () =>
      core.patchNamespacedConfigMap(
        { name, namespace: NS, body: { data: { x: 'y' } } },
        as(k8s.PatchStrategy.JsonPatch),
      ),
    );
    assert.ok(bad.message, 'the Status has a message');
    return `strategic kept ports ${strategic.spec.ports.map((p) => p.port).join(',')}`;
  });

  await step('server-side apply: fieldManager, conflict, force', async () => {
    const name = 'applied';
    const manifest = (data) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: NS },
      data,
    });
    const ssa = as(k8s.PatchStrategy.ServerSideApply);
    const first = await core.patchNamespacedConfigMap(
      { name, namespace: NS, body: manifest({ owner: 'one', shared: 'a' }), fieldManager: 'js-one' },
      ssa,
    );
    assert.deepEqual(first.data, { owner: 'one', shared: 'a' });
    assert.deepEqual(
      first.metadata.managedFields.map((m) => [m.manager, m.operation]),
      [['js-one', 'Apply']],
    );
    // Applying again with the same manager is idempotent.
    const again = await core.patchNamespacedConfigMap(
      { name, namespace: NS, body: manifest({ owner: 'one', shared: 'a' }), fieldManager: 'js-one' },
      ssa,
    );
    assert.equal(again.metadata.resourceVersion, first.metadata.resourceVersion);
    const conflict = await rejects(409, () =>
      core.patchNamespacedConfigMap(
        { name, namespace: NS, body: manifest({ shared: 'b' }), fieldManager: 'js-two' },
        ssa,
      ),
    );
    assert.match(conflict.message, /conflict/i);
    assert.match(conflict.message, /js-one/);
    const forced = await core.patchNamespacedConfigMap(
      { name, namespace: NS, body: manifest({ shared: 'b' }), fieldManager: 'js-two', force: true },
      ssa,
    );
    assert.deepEqual(forced.data, { owner: 'one', shared: 'b' });
    const managers = Object.fromEntries(
      forced.metadata.managedFields.map((m) => [m.manager, Object.keys(m.fieldsV1?.['f:data'] ?? {})]),
    );
    assert.deepEqual(managers, { 'js-one': ['f:owner'], 'js-two': ['f:shared'] });
    // Dropping a field from one's own apply removes it.
    const dropped = await core.patchNamespacedConfigMap(
      { name, namespace: NS, body: manifest({}), fieldManager: 'js-one' },
      ssa,
    );
    assert.deepEqual(dropped.data, { shared: 'b' });
    // The generic object API applies any kind the same way.
    const generic = await objects.patch(
      manifest({ shared: 'c' }),
      undefined,
      undefined,
      'js-two',
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    assert.equal(generic.data.shared, 'c');
    return `conflict said "${conflict.message}"`;
  });

  await step('watch: ADDED, MODIFIED, DELETED of a ConfigMap', async () => {
    const name = 'watched';
    const list = await core.listNamespacedConfigMap({ namespace: NS });
    const events = [];
    let finished;
    const done = new Promise((resolve) => {
      finished = resolve;
    });
    const watch = new k8s.Watch(kc);
    const controller = await watch.watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (type, obj) => {
        if (type === 'BOOKMARK' || obj?.metadata?.name !== name) return;
        events.push([type, obj.data?.n]);
        if (type === 'DELETED') finished();
      },
      (err) => finished(err),
    );
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name }, data: { n: '1' } } });
    await core.patchNamespacedConfigMap(
      { name, namespace: NS, body: { data: { n: '2' } } },
      as(k8s.PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedConfigMap({ name, namespace: NS });
    const timeout = sleep(10_000).then(() => 'timeout');
    const outcome = await Promise.race([done, timeout]);
    controller.abort();
    assert.notEqual(outcome, 'timeout', `watch saw only ${JSON.stringify(events)}`);
    assert.ok(!(outcome instanceof Error), `watch ended with ${outcome}`);
    assert.deepEqual(events, [
      ['ADDED', '1'],
      ['MODIFIED', '2'],
      ['DELETED', '2'],
    ]);
    return events.map((e) => e[0]).join(' ');
  });

  await step('list: pagination with limit/continue, deleteCollection', async () => {
    for (let i = 0; i < 5; i++) {
      await core.createNamespacedConfigMap({
        namespace: NS,
        body: { metadata: { name: `page-${i}`, labels: { batch: 'pages' } }, data: { i: String(i) } },
      });
    }
    const names = [];
    let token;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({
        namespace: NS,
        labelSelector: 'batch=pages',
        limit: 2,
        _continue: token,
      });
      assert.ok(page.items.length <= 2);
      names.push(...page.items.map((c) => c.metadata.name));
      token = page.metadata._continue;
      pages += 1;
    } while (token);
    assert.deepEqual(names, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    assert.equal(pages, 3);
    await core.deleteCollectionNamespacedConfigMap({ namespace: NS, labelSelector: 'batch=pages' });
    const left = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'batch=pages' });
    assert.equal(left.items.length, 0);
    return `${pages} pages`;
  });

  await step('dryRun and strict field validation', async () => {
    const dry = await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'dry' }, data: { a: 'b' } },
      dryRun: 'All',
    });
    assert.equal(dry.metadata.name, 'dry');
    await rejects(404, () => core.readNamespacedConfigMap({ name: 'dry', namespace: NS }));
    // The typed models drop unknown fields before sending; a patch body goes as written.
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'strict' } } });
    const strict = await rejects(400, () =>
      core.patchNamespacedConfigMap(
        { name: 'strict', namespace: NS, body: { data: { a: 'b' }, bogus: 1 }, fieldValidation: 'Strict' },
        as(k8s.PatchStrategy.MergePatch),
      ),
    );
    assert.match(strict.message, /bogus/);
    const invalid = await rejects(422, () =>
      core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'Not_Valid' } } }),
    );
    assert.equal(invalid.reason, 'Invalid');
    return `strict said "${strict.message}"`;
  });

  await step('informer: list then watch, add/update/delete callbacks', async () => {
    const name = 'informed';
    const seen = [];
    const informer = k8s.makeInformer(
      kc,
      `/api/v1/namespaces/${NS}/configmaps`,
      () => core.listNamespacedConfigMap({ namespace: NS }),
    );
    const errors = [];
    informer.on(k8s.ADD, (o) => o.metadata.name === name && seen.push(['add', o.data?.v]));
    informer.on(k8s.UPDATE, (o) => o.metadata.name === name && seen.push(['update', o.data?.v]));
    informer.on(k8s.DELETE, (o) => o.metadata.name === name && seen.push(['delete', o.data?.v]));
    informer.on(k8s.ERROR, (err) => errors.push(err));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name }, data: { v: '1' } } });
    await until('the informer to cache the ConfigMap', 10_000, () => informer.get(name, NS));
    await core.patchNamespacedConfigMap(
      { name, namespace: NS, body: { data: { v: '2' } } },
      as(k8s.PatchStrategy.MergePatch),
    );
    await until('the informer to see the update', 10_000, () => informer.get(name, NS)?.data?.v === '2');
    await core.deleteNamespacedConfigMap({ name, namespace: NS });
    await until('the informer to drop the ConfigMap', 10_000, () => !informer.get(name, NS));
    assert.deepEqual(errors, [], 'the informer saw no error while it ran');
    await informer.stop();
    assert.deepEqual(seen, [
      ['add', '1'],
      ['update', '2'],
      ['delete', '2'],
    ]);
    return seen.map((e) => e[0]).join(' ');
  });

  await step('generic object API: read, list, replace, delete', async () => {
    const header = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'generic', namespace: NS } };
    const spec = { ...header, data: { g: '1' } };
    await objects.create(spec);
    const read = await objects.read(header);
    assert.equal(read.data.g, '1');
    const byName = 'metadata.name=generic';
    const list = await objects.list('v1', 'ConfigMap', NS, undefined, undefined, undefined, byName);
    assert.equal(list.items.length, 1);
    read.data.g = '2';
    const replaced = await objects.replace(read);
    assert.equal(replaced.data.g, '2');
    await objects.delete(replaced);
    await rejects(404, () => objects.read(spec));
  });

  await step('other kinds: Lease and Event times, PVC defaults, health', async () => {
    const health = new k8s.Health(kc);
    assert.equal(await health.readyz({}), true);
    assert.equal(await health.livez({}), true);
    // MicroTime fields go out as JavaScript Dates (milliseconds) and come back as dates.
    const coord = kc.makeApiClient(k8s.CoordinationV1Api);
    const renewed = new Date();
    const lease = await coord.createNamespacedLease({
      namespace: NS,
      body: {
        metadata: { name: 'leader' },
        spec: { holderIdentity: 'js-1', leaseDurationSeconds: 15, acquireTime: renewed, renewTime: renewed },
      },
    });
    assert.equal(new Date(lease.spec.renewTime).getTime(), renewed.getTime());
    lease.spec.holderIdentity = 'js-2';
    lease.spec.renewTime = new Date(renewed.getTime() + 1000);
    const taken = await coord.replaceNamespacedLease({ name: 'leader', namespace: NS, body: lease });
    assert.equal(taken.spec.holderIdentity, 'js-2');
    const events = kc.makeApiClient(k8s.EventsV1Api);
    await events.createNamespacedEvent({
      namespace: NS,
      body: {
        metadata: { name: 'started' },
        eventTime: new Date(),
        reportingController: 'example.com/orchestrator',
        reportingInstance: 'js-1',
        action: 'Start',
        reason: 'Started',
        type: 'Normal',
        regarding: { kind: 'Namespace', name: NS },
        note: 'environment started',
      },
    });
    const coreEvents = await core.listNamespacedEvent({ namespace: NS });
    assert.deepEqual(
      coreEvents.items.map((e) => [e.reason, e.message]),
      [['Started', 'environment started']],
    );
    const pvc = await core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: {
        metadata: { name: 'workspace' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    assert.equal(pvc.status?.phase, 'Pending', 'a new claim is Pending');
    assert.equal(pvc.spec.volumeMode, 'Filesystem');
    await core.deleteNamespacedPersistentVolumeClaim({ name: 'workspace', namespace: NS });
    return `lease renewed at ${new Date(taken.spec.renewTime).toISOString()}`;
  });

  await step('custom resources: CRD, CustomObjectsApi CRUD, patches, status, apply', async () => {
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const crd = 'widgets.example.com';
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: crd },
        spec: {
          group: 'example.com',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: { type: 'object', properties: { size: { type: 'integer' } } },
                    status: { type: 'object', properties: { ready: { type: 'boolean' } } },
                  },
                },
              },
            },
          ],
        },
      },
    });
    await until('the CRD to be established', 10_000, async () => {
      const c = await ext.readCustomResourceDefinition({ name: crd });
      return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    });
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const at = { group: 'example.com', version: 'v1', namespace: NS, plural: 'widgets' };
    const widget = (name, size) => ({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name, namespace: NS },
      spec: { size },
    });
    const created = await custom.createNamespacedCustomObject({ ...at, body: widget('w1', 3) });
    assert.equal(created.metadata.generation, 1);
    const merged = await custom.patchNamespacedCustomObject(
      { ...at, name: 'w1', body: { spec: { size: 4 } } },
      as(k8s.PatchStrategy.MergePatch),
    );
    assert.equal(merged.spec.size, 4);
    // Without a strategy the generated client sends application/json-patch+json.
    const jsonPatched = await custom.patchNamespacedCustomObject({
      ...at,
      name: 'w1',
      body: [{ op: 'replace', path: '/spec/size', value: 5 }],
    });
    assert.equal(jsonPatched.spec.size, 5);
    assert.equal(jsonPatched.metadata.generation, 3);
    const status = await custom.patchNamespacedCustomObjectStatus(
      { ...at, name: 'w1', body: { status: { ready: true }, spec: { size: 99 } } },
      as(k8s.PatchStrategy.MergePatch),
    );
    assert.equal(status.status.ready, true);
    assert.equal(status.spec.size, 5, 'the status subresource ignores spec');
    assert.equal(status.metadata.generation, 3);
    const applied = await custom.patchNamespacedCustomObject(
      { ...at, name: 'w2', fieldManager: 'js-apply', body: widget('w2', 1) },
      as(k8s.PatchStrategy.ServerSideApply),
    );
    assert.equal(applied.metadata.managedFields[0].manager, 'js-apply');
    await objects.create(widget('w3', 9));
    const list = await custom.listNamespacedCustomObject(at);
    assert.deepEqual(
      list.items.map((w) => [w.metadata.name, w.spec.size]),
      [
        ['w1', 5],
        ['w2', 1],
        ['w3', 9],
      ],
    );
    const all = await custom.listClusterCustomObject({
      group: 'example.com',
      version: 'v1',
      plural: 'widgets',
    });
    assert.equal(all.items.length, 3);
    await custom.deleteNamespacedCustomObject({ ...at, name: 'w1' });
    await rejects(404, () => custom.getNamespacedCustomObject({ ...at, name: 'w1' }));
    return `${list.items.length} widgets`;
  });

  await step('seed 003: start an environment (Deployment, Service, Ingress)', async () => {
    const replId = 'repl-js-123';
    const env = `env-${replId}`;
    await core.createNamespace({ body: { metadata: { name: env } } });
    const template = TEMPLATE.replaceAll('service_name', replId);
    const specs = k8s.loadAllYaml(template).filter(Boolean);
    assert.deepEqual(
      specs.map((s) => s.kind),
      ['Deployment', 'Service', 'Ingress'],
    );
    for (const spec of specs) {
      spec.metadata.namespace = env;
      const created = await objects.create(spec);
      assert.equal(created.metadata.name, replId);
      assert.ok(created.metadata.uid);
    }

    const deployment = await until('the Deployment to be available', 30_000, async () => {
      const d = await apps.readNamespacedDeployment({ name: replId, namespace: env });
      return d.status?.availableReplicas === 1 ? d : undefined;
    });
    assert.equal(deployment.status.readyReplicas, 1);
    const available = deployment.status.conditions.find((c) => c.type === 'Available');
    assert.equal(available.status, 'True');
    const pods = await core.listNamespacedPod({ namespace: env, labelSelector: `app=${replId}` });
    assert.equal(pods.items.length, 1);
    const pod = pods.items[0];
    assert.equal(pod.status.phase, 'Running');
    assert.ok(pod.spec.nodeName, 'the pod is scheduled');
    assert.deepEqual(
      pod.spec.initContainers.map((c) => c.name),
      ['copy-s3-resources'],
    );

    const log = await core.readNamespacedPodLog({
      name: pod.metadata.name,
      namespace: env,
      container: 'runner',
    });
    assert.match(log, /started container "runner"/);

    const scale = await apps.readNamespacedDeploymentScale({ name: replId, namespace: env });
    assert.equal(scale.spec.replicas, 1);
    await apps.patchNamespacedDeploymentScale(
      { name: replId, namespace: env, body: { spec: { replicas: 2 } } },
      as(k8s.PatchStrategy.MergePatch),
    );
    await until('two available replicas', 30_000, async () => {
      const d = await apps.readNamespacedDeploymentStatus({ name: replId, namespace: env });
      return d.status?.availableReplicas === 2;
    });

    const service = await core.readNamespacedService({ name: replId, namespace: env });
    assert.match(service.spec.clusterIP, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(service.spec.type, 'ClusterIP');
    assert.deepEqual(
      service.spec.ports.map((p) => [p.name, p.port, p.protocol]),
      [
        ['ws', 3001, 'TCP'],
        ['user', 3000, 'TCP'],
      ],
    );
    const ingress = await net.readNamespacedIngress({ name: replId, namespace: env });
    assert.equal(ingress.spec.ingressClassName, 'nginx');
    const rule = ingress.spec.rules[0];
    assert.equal(rule.host, `${replId}.example.test`);
    const path = rule.http.paths[0];
    assert.equal(path.pathType, 'Prefix');
    assert.equal(path.backend.service.name, replId);
    assert.equal(path.backend.service.port.number, 3001);
    const ingresses = await net.listNamespacedIngress({ namespace: env });
    assert.equal(ingresses.items.length, 1);
    return `clusterIP ${service.spec.clusterIP}, pod ${pod.metadata.name} on ${pod.spec.nodeName}`;
  });

  await step('seed 003: stop the environment and delete its namespace', async () => {
    const replId = 'repl-js-123';
    const env = `env-${replId}`;
    const foreground = await apps.deleteNamespacedDeployment({
      name: replId,
      namespace: env,
      body: { propagationPolicy: 'Foreground' },
    });
    assert.ok(foreground, 'delete answers');
    await core.deleteNamespacedService({ name: replId, namespace: env });
    await net.deleteNamespacedIngress({ name: replId, namespace: env });
    await gone('the Deployment', () => apps.readNamespacedDeployment({ name: replId, namespace: env }));
    await rejects(404, () => core.readNamespacedService({ name: replId, namespace: env }));
    await rejects(404, () => net.readNamespacedIngress({ name: replId, namespace: env }));
    await until('the pods to be gone', 30_000, async () => {
      const pods = await core.listNamespacedPod({ namespace: env });
      return pods.items.length === 0;
    });
    const deleting = await core.deleteNamespace({ name: env });
    assert.ok(deleting, 'namespace delete answers');
    await gone(`namespace ${env}`, () => core.readNamespace({ name: env }));
    await core.deleteNamespace({ name: NS });
    await gone(`namespace ${NS}`, () => core.readNamespace({ name: NS }));
  });

  console.log(`all steps passed in ${Date.now() - started} ms`);
}

// Seed 003's service.yaml: `service_name` is replaced by the environment's id.
const TEMPLATE = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: service_name
  labels:
    app: service_name
spec:
  replicas: 1
  selector:
    matchLabels:
      app: service_name
  template:
    metadata:
      labels:
        app: service_name
    spec:
      volumes:
        - name: workspace-volume
          emptyDir: {}
      initContainers:
        - name: copy-s3-resources
          image: amazon/aws-cli
          command: ["/bin/sh", "-c"]
          args:
            - >
              aws s3 cp s3://bucket/code/service_name/ /workspace/ --recursive &&
              echo "Resources copied from S3";
          volumeMounts:
            - name: workspace-volume
              mountPath: /workspace
      containers:
        - name: runner
          image: runner:latest
          ports:
            - containerPort: 3001
            - containerPort: 3000
          volumeMounts:
            - name: workspace-volume
              mountPath: /workspace
---
apiVersion: v1
kind: Service
metadata:
  name: service_name
spec:
  selector:
    app: service_name
  ports:
    - protocol: TCP
      name: ws
      port: 3001
      targetPort: 3001
    - protocol: TCP
      name: user
      port: 3000
      targetPort: 3000
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: service_name
spec:
  ingressClassName: nginx
  rules:
  - host: service_name.example.test
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: service_name
            port:
              number: 3001
`;

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`FAIL ${current}: ${describe(err)}`);
    process.exit(1);
  },
);
