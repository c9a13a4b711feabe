/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return --
   parsed manifests are untyped YAML trees: the schema and type checks in this file are what type them. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { kafkaEnvShape } from '@sluice/config';
import {
  configSchemas,
  envNames,
  httpPorts,
  repoRoot,
  run,
  runtimeEnv,
  services,
  type ServiceName,
} from './operate-helpers';

const k8sRoot = join(repoRoot, 'infra', 'k8s');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

interface Kustomization {
  dir: string;
  resources?: string[];
  patches?: { path?: string }[];
  configMapGenerator?: { name: string; files?: string[]; literals?: string[] }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const yamlFiles = walk(k8sRoot).filter((f) => /\.ya?ml$/.test(f));
const kustomizations: Kustomization[] = yamlFiles
  .filter((f) => f.endsWith('kustomization.yaml'))
  .map((f) => ({
    dir: dirname(f),
    ...(parseAllDocuments(readFileSync(f, 'utf8'))[0]!.toJS() as Obj),
  }));
const patchFiles = new Set(
  kustomizations.flatMap((k) => (k.patches ?? []).map((p) => resolve(k.dir, p.path ?? ''))),
);

function loadDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Obj;
  });
}

/** Every manifest a kustomization lists, in the order kustomize reads them (bases first). */
function manifestsOf(k: Kustomization): { file: string; doc: Obj }[] {
  return (k.resources ?? []).flatMap((r) => {
    const path = resolve(k.dir, r);
    if (statSync(path).isDirectory())
      return manifestsOf(kustomizations.find((x) => x.dir === path)!);
    return loadDocs(path).map((doc) => ({ file: relative(repoRoot, path), doc }));
  });
}

/** ConfigMaps and Secrets by name: manifests plus configMapGenerator entries. */
function envSources(k: Kustomization): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const { doc } of manifestsOf(k))
    if (doc.kind === 'ConfigMap' || doc.kind === 'Secret')
      out.set(doc.metadata.name, { ...(doc.data ?? {}), ...(doc.stringData ?? {}) });
  for (const g of k.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const l of g.literals ?? []) {
      const i = l.indexOf('=');
      data[l.slice(0, i)] = l.slice(i + 1);
    }
    for (const f of g.files ?? []) data[f] = readFileSync(join(k.dir, f), 'utf8');
    out.set(g.name, data);
  }
  // Patches in overlays change ConfigMap data: apply those of this kustomization.
  for (const p of k.patches ?? []) {
    for (const doc of loadDocs(resolve(k.dir, p.path!)))
      if (doc.kind === 'ConfigMap')
        out.set(doc.metadata.name, { ...out.get(doc.metadata.name), ...doc.data });
  }
  return out;
}

/** apiVersion + kind → the kubernetes-models module and its interface. */
function modelOf(doc: Obj): { module: string; iface: string } {
  const [group, version] = String(doc.apiVersion).includes('/')
    ? String(doc.apiVersion).split('/')
    : [null, String(doc.apiVersion)];
  return {
    module: `kubernetes-models/${group ? `${group}/` : ''}${version}/${doc.kind}`,
    iface: `I${doc.kind}`,
  };
}

interface PodSpecOwner {
  file: string;
  kind: string;
  name: string;
  pod: Obj;
}
function podSpecs(docs: { file: string; doc: Obj }[]): PodSpecOwner[] {
  return docs
    .filter(({ doc }) => ['Deployment', 'Job', 'DaemonSet', 'StatefulSet'].includes(doc.kind))
    .map(({ file, doc }) => ({
      file,
      kind: doc.kind,
      name: doc.metadata.name,
      pod: doc.spec.template,
    }));
}

/** Which Sluice program a container runs, from its command. */
function programOf(container: Obj): ServiceName | 'cli' | null {
  const cmd = (container.command ?? []).join(' ');
  const svc = /services\/([a-z]+)\/dist\/main\.js/.exec(cmd)?.[1];
  if (svc && (services as readonly string[]).includes(svc)) return svc as ServiceName;
  if (cmd.includes('apps/cli/dist/main.js')) return 'cli';
  return null;
}

const manifestFiles = yamlFiles.filter(
  (f) => !f.endsWith('kustomization.yaml') && !patchFiles.has(f),
);

describe('infra/k8s (kustomize)', () => {
  it('has a base, an overlay and the nameserver sidecar example, and every reference in a kustomization resolves', () => {
    expect(kustomizations.map((k) => relative(k8sRoot, k.dir)).sort()).toEqual([
      'base',
      'examples/nsd-with-ingest',
      'overlays/enforce',
    ]);
    for (const k of kustomizations) {
      for (const r of k.resources ?? []) {
        const path = resolve(k.dir, r);
        expect(`${relative(k8sRoot, path)}: ${existsSync(path)}`).toBe(
          `${relative(k8sRoot, path)}: true`,
        );
        if (statSync(path).isDirectory())
          expect(existsSync(join(path, 'kustomization.yaml'))).toBe(true);
      }
      for (const p of k.patches ?? []) {
        // A strategic-merge patch must name something the kustomization has.
        const patch = loadDocs(resolve(k.dir, p.path!))[0]!;
        const target = manifestsOf(k).find(
          ({ doc }) => doc.kind === patch.kind && doc.metadata?.name === patch.metadata?.name,
        );
        expect(`${p.path} → ${patch.kind}/${patch.metadata?.name}: ${!!target}`).toMatch(/true$/);
      }
      for (const g of k.configMapGenerator ?? [])
        for (const f of g.files ?? []) {
          // kustomize refuses files outside the kustomization's folder.
          expect(resolve(k.dir, f).startsWith(k.dir + '/')).toBe(true);
          expect(existsSync(resolve(k.dir, f))).toBe(true);
        }
      // Images are named `sluice` in the manifests and pinned here.
      expect(k.images ?? (k.resources ?? []).some((r) => r.startsWith('../'))).toBeTruthy();
    }
    // Every manifest file is used by some kustomization.
    const listed = new Set(
      kustomizations.flatMap((k) => (k.resources ?? []).map((r) => resolve(k.dir, r))),
    );
    for (const f of manifestFiles)
      expect(`${relative(k8sRoot, f)}: ${listed.has(f)}`).toMatch(/true$/);
  });

  it('every manifest validates against the Kubernetes API schemas (kubernetes-models)', () => {
    const problems: string[] = [];
    let count = 0;
    for (const file of manifestFiles)
      for (const doc of loadDocs(file)) {
        count++;
        const { module } = modelOf(doc);
        let Model: { new (data: Obj): { validate(): void } };
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          Model = (require(module) as Obj)[doc.kind];
        } catch {
          problems.push(`${relative(repoRoot, file)}: no schema for ${doc.apiVersion} ${doc.kind}`);
          continue;
        }
        try {
          new Model(doc).validate();
        } catch (error) {
          problems.push(
            `${relative(repoRoot, file)} ${doc.kind}/${doc.metadata?.name}: ${String(error)}`,
          );
        }
      }
    expect(problems).toEqual([]);
    expect(count).toBeGreaterThan(15);
  });

  /**
   * The OpenAPI schemas allow unknown fields (the API server drops them, silently unless
   * --validate=strict): a misspelt `readinesProbe` would pass. Each manifest is therefore also
   * type-checked as an object literal of the API type, where TypeScript rejects every field
   * the type does not have, at any depth.
   */
  it('no manifest has a field the API does not know (TypeScript excess-property check)', () => {
    const imports = new Map<string, string>();
    const lines: string[] = [];
    const where: string[] = [];
    for (const file of manifestFiles)
      loadDocs(file).forEach((doc, i) => {
        const { module, iface } = modelOf(doc);
        const alias = `T${imports.size}`;
        if (![...imports.values()].includes(module)) imports.set(alias, module);
        const used = [...imports.entries()].find(([, m]) => m === module)![0];
        lines.push(`export const r${where.length}: ${used}.${iface} = ${JSON.stringify(doc)};`);
        where.push(`${relative(repoRoot, file)} #${i + 1} ${doc.kind}/${doc.metadata?.name}`);
      });
    const source = [
      ...[...imports.entries()].map(
        ([alias, module]) => `import type * as ${alias} from '${module}';`,
      ),
      ...lines,
    ].join('\n');
    const fileName = join(repoRoot, 'test', 'integration', 'operate', '__manifests__.ts');
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      target: ts.ScriptTarget.ES2022,
      types: [],
      skipLibCheck: true,
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang, onError) =>
      name === fileName
        ? ts.createSourceFile(name, source, lang)
        : getSourceFile(name, lang, onError);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === fileName || fileExists(name);
    const program = ts.createProgram([fileName], options, host);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const line =
        d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      const idx = line - imports.size;
      return `${where[idx] ?? d.file?.fileName}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
    expect(problems).toEqual([]);
  }, 60_000);

  it('a container sets only variables its program reads, with values its config schema accepts', () => {
    const cliEnv = new Set(Object.keys(kafkaEnvShape));
    const problems: string[] = [];
    for (const k of kustomizations) {
      const sources = envSources(k);
      for (const owner of podSpecs(manifestsOf(k))) {
        const spec = owner.pod.spec;
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          const program = programOf(c);
          if (!program) continue;
          const env: Record<string, string> = {};
          for (const ref of c.envFrom ?? []) {
            const name = ref.configMapRef?.name ?? ref.secretRef?.name;
            const data = sources.get(name);
            if (!data) problems.push(`${owner.file} ${c.name}: envFrom ${name} does not exist`);
            Object.assign(env, data);
          }
          for (const e of c.env ?? []) env[e.name] = e.value ?? '';
          const known = program === 'cli' ? cliEnv : envNames(program);
          for (const name of Object.keys(env))
            if (!known.has(name) && !runtimeEnv.has(name))
              problems.push(
                `${relative(k8sRoot, k.dir)} ${owner.name}/${c.name}: ${name} is read by no ${program} setting`,
              );
          if (program !== 'cli') {
            // What the service would do at boot (loadConfig drops empty values first).
            const cleaned = Object.fromEntries(
              Object.entries(env).filter(([, v]) => v.trim() !== ''),
            );
            const parsed = configSchemas[program].safeParse(cleaned);
            if (!parsed.success)
              problems.push(
                `${relative(k8sRoot, k.dir)} ${owner.name}/${c.name}: ${parsed
                  .error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
                  .join('; ')}`,
              );
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('each service has replicas, resources, probes on /healthz and /readyz, and its metrics port annotated', () => {
    const base = kustomizations.find((k) => k.dir.endsWith('base'))!;
    const example = kustomizations.find((k) => k.dir.endsWith('nsd-with-ingest'))!;
    const seen = new Set<string>();
    for (const owner of podSpecs([...manifestsOf(base), ...manifestsOf(example)])) {
      for (const c of [...(owner.pod.spec.initContainers ?? []), ...owner.pod.spec.containers]) {
        const program = programOf(c);
        const label = `${owner.name}/${c.name}`;
        expect(
          `${label}: ${c.resources?.requests?.cpu} ${c.resources?.requests?.memory} ${c.resources?.limits?.memory}`,
        ).toMatch(/: \S+ \S+ \S+$/);
        if (!program || program === 'cli') continue;
        seen.add(program);
        const port = c.ports.find((p: Obj) => p.containerPort === httpPorts[program]);
        expect(`${label} http port: ${!!port}`).toMatch(/true$/);
        expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
        expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
        expect([port.name, port.containerPort]).toContain(c.readinessProbe.httpGet.port);
        expect(owner.pod.metadata.annotations['prometheus.io/port']).toBe(
          String(port.containerPort),
        );
        // Node's heap ceiling stays under the container's memory limit.
        const heap = Number(
          /--max-old-space-size=(\d+)/.exec(
            c.env.find((e: Obj) => e.name === 'NODE_OPTIONS').value,
          )![1],
        );
        expect(heap).toBeLessThan(mebibytes(c.resources.limits.memory));
      }
    }
    expect([...seen].sort()).toEqual([...services].sort());
  });

  it('the consumers have PodDisruptionBudgets selecting their pods; Services select pods and name their ports', () => {
    const docs = manifestsOf(kustomizations.find((k) => k.dir.endsWith('base'))!).map((d) => d.doc);
    const pods = podSpecs(docs.map((doc) => ({ file: '', doc })));
    const matches = (selector: Record<string, string>) =>
      pods.filter((p) =>
        Object.entries(selector).every(([k, v]) => p.pod.metadata.labels[k] === v),
      );
    const pdbs = docs.filter((d) => d.kind === 'PodDisruptionBudget');
    expect(
      pdbs
        .map((p) => matches(p.spec.selector.matchLabels).map((m) => m.name))
        .flat()
        .sort(),
    ).toEqual(['detector', 'enrichment', 'reputation']);
    for (const s of docs.filter((d) => d.kind === 'Service')) {
      const selected = matches(s.spec.selector);
      expect(selected).toHaveLength(1);
      const names = selected[0]!.pod.spec.containers.flatMap((c: Obj) =>
        c.ports.map((p: Obj) => p.name),
      );
      for (const p of s.spec.ports) expect(names).toContain(p.targetPort);
    }
  });

  it("the console reaches every stage's /readyz and /metrics through a Service on the stage's HTTP port", () => {
    const base = kustomizations.find((k) => k.dir.endsWith('base'))!;
    const docs = manifestsOf(base).map((d) => d.doc);
    const consolePod = podSpecs(docs.map((doc) => ({ file: '', doc }))).find(
      (p) => p.name === 'console',
    )!;
    const container = consolePod.pod.spec.containers.find((c: Obj) => programOf(c) === 'console');
    const env: Record<string, string> = {};
    for (const ref of container.envFrom)
      Object.assign(env, envSources(base).get(ref.configMapRef?.name ?? ref.secretRef?.name));
    // Parsed by the console's own setting, as at boot.
    const stages = (
      configSchemas.console.shape.CONSOLE_STAGES as {
        parse(v: unknown): { name: string; url: string }[];
      }
    ).parse(env.CONSOLE_STAGES);
    expect(stages.map((s) => s.name).sort()).toEqual(
      services.filter((s) => s !== 'console').sort(),
    );
    for (const { name, url } of stages) {
      const { hostname, port } = new URL(url);
      const service = docs.find((d) => d.kind === 'Service' && d.metadata.name === hostname);
      expect(`${name}: Service ${hostname} ${!!service}`).toMatch(/true$/);
      if (!service) continue;
      const servicePort = service.spec.ports.find((p: Obj) => String(p.port) === port);
      expect(`${name}: port ${port} on Service ${hostname}: ${!!servicePort}`).toMatch(/true$/);
      const pod = podSpecs(docs.map((doc) => ({ file: '', doc }))).find((p) =>
        Object.entries(service.spec.selector as Record<string, string>).every(
          ([k, v]) => p.pod.metadata.labels[k] === v,
        ),
      )!;
      const target = pod.pod.spec.containers
        .flatMap((c: Obj) => c.ports)
        .find((p: Obj) => p.name === servicePort.targetPort);
      expect(`${name}: ${target?.containerPort}`).toBe(
        `${name}: ${httpPorts[name as ServiceName]}`,
      );
    }
  });

  it('the sidecar example shares the dnstap socket: NSD writes where the ingest listens, and nsd-checkconf accepts its nsd.conf', async () => {
    const example = kustomizations.find((k) => k.dir.endsWith('nsd-with-ingest'))!;
    const sources = envSources(example);
    const socket = sources.get('sluice-ingest-sidecar')!.INGEST_DNSTAP_SOCKET!;
    const nsdConf = sources.get('nsd-config')!['nsd.conf']!;
    expect(nsdConf).toContain(`dnstap-socket-path: "${socket}"`);
    const pod = podSpecs(manifestsOf(example))[0]!.pod.spec;
    const sidecar = pod.initContainers.find((c: Obj) => programOf(c) === 'ingest');
    expect(sidecar.restartPolicy).toBe('Always');
    const nsd = pod.containers.find((c: Obj) => c.name === 'nsd');
    const mountOf = (c: Obj) =>
      c.volumeMounts.find((m: Obj) => socket.startsWith(`${m.mountPath}/`));
    expect(mountOf(sidecar).name).toBe(mountOf(nsd).name);
    expect(pod.volumes.find((v: Obj) => v.name === mountOf(nsd).name).emptyDir).toBeDefined();
    // Same user in both containers: the socket the ingest creates is writable by NSD.
    expect(pod.securityContext.runAsUser).toBeDefined();
    expect(sidecar.securityContext.runAsUser ?? pod.securityContext.runAsUser).toBe(
      nsd.securityContext.runAsUser ?? pod.securityContext.runAsUser,
    );
    // The dnstap section is the operator snippet of infra/nameservers/nsd, word for word.
    const snippet = readFileSync(
      join(repoRoot, 'infra', 'nameservers', 'nsd', 'sluice-dnstap.conf'),
      'utf8',
    );
    const section = (text: string) =>
      text
        .slice(text.indexOf('dnstap:'))
        .split(/\n\n/)[0]!
        .replace(/\s*#.*$/gm, '')
        .trim();
    expect(section(nsdConf)).toBe(section(snippet));
    const { stdout, stderr } = await run('nsd-checkconf', [join(example.dir, 'nsd.conf')]);
    expect(stdout + stderr).toBe('');
    await run('nsd-checkzone', ['example.com', join(example.dir, 'example.com.zone')]);
  });

  const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
  /**
   * kustomize itself, when this machine has it (kubectl's built-in kustomize; not in Debian, so
   * CI may not): each kustomization builds, and what it builds validates too.
   */
  (kubectl ? it : it.skip)(
    'kubectl kustomize builds each kustomization, and its output validates',
    async () => {
      for (const k of kustomizations) {
        const { stdout } = await run(kubectl!, ['kustomize', k.dir], {
          maxBuffer: 16 * 1024 * 1024,
        });
        const docs = parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
        for (const doc of docs) {
          const Model = // eslint-disable-next-line @typescript-eslint/no-require-imports
            (require(modelOf(doc).module) as Obj)[doc.kind] as {
              new (data: Obj): { validate(): void };
            };
          new Model(doc).validate();
          if (doc.kind !== 'Namespace') expect(doc.metadata.namespace).toBeTruthy();
        }
        for (const owner of podSpecs(docs.map((doc) => ({ file: '', doc }))))
          for (const c of [...(owner.pod.spec.initContainers ?? []), ...owner.pod.spec.containers])
            if (programOf(c)) expect(c.image).toMatch(/^registry\.example\.net\/sluice:/);
        if (k.dir.endsWith('enforce'))
          expect(docs.find((d) => d.metadata.name === 'sluice-reputation')!.data.BLOCK_SHADOW).toBe(
            'false',
          );
      }
    },
    60_000,
  );
});

function mebibytes(quantity: string): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!m) throw new Error(`unexpected quantity ${quantity}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}
