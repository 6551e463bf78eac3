import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '@ai-agent/common/testing';
import { EngineMetrics } from '../../src/control/metrics/engine-metrics.ts';

// The monitoring files shipped in deploy/: every metric the Grafana dashboard queries is one the engine registers
// (a renamed metric would leave a panel silently empty), and the Prometheus job the dashboard reads scrapes the
// engine's protected /metrics with a bearer token kept out of the file.

interface Panel {
  type: string;
  title: string;
  id: number;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ expr: string; refId: string }>;
  panels?: Panel[];
}

const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/grafana/ai-agent-dashboard.json'), 'utf8')) as {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; definition?: string }> };
};

/** Series Prometheus itself adds to every scrape. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** Names the engine exports: each registered metric, and a histogram's _bucket/_sum/_count series. */
function exportedNames(): Set<string> {
  const metrics = new EngineMetrics({});
  const names = new Set<string>();
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/**
 * Metric names in a PromQL expression: every selector written `name{…}` (the dashboard's convention: every
 * selector filters by job and instance), and anything named like the engine's metrics wherever it appears.
 */
function metricNames(expr: string): string[] {
  const selectors = [...expr.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*\{/g)].map((m) => m[1]!);
  const ours = [...expr.matchAll(/\b((?:ai_agent|nodejs|process)_[A-Za-z0-9_:]+)/g)].map((m) => m[1]!);
  return [...new Set([...selectors, ...ours])];
}

const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);

describe('monitoring files in deploy/', () => {
  it('the dashboard queries only metrics the engine registers', () => {
    const exported = exportedNames();
    assert.ok(exported.has('ai_agent_calls_total') && exported.has('ai_agent_turn_latency_seconds_bucket'), 'the registry was read');
    const queries = [
      ...allPanels(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
      ...dashboard.templating.list.filter((v) => v.definition).map((v) => ({ where: `variable $${v.name}`, expr: v.definition! })),
    ];
    const unknown: string[] = [];
    let checked = 0;
    for (const { where, expr } of queries) {
      for (const name of metricNames(expr)) {
        checked++;
        if (!exported.has(name) && !PROMETHEUS_SERIES.has(name)) unknown.push(`${where}: ${name}`);
      }
    }
    assert.deepEqual(unknown, [], 'metrics the engine does not export');
    assert.ok(checked >= 30, `only ${checked} metric references found: the parser missed the queries`);
  });

  it('the dashboard is a complete Grafana dashboard: every panel queries something, ids unique, inside the grid', () => {
    assert.ok(dashboard.title && dashboard.uid && dashboard.schemaVersion >= 30);
    const panels = allPanels(dashboard.panels);
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
    for (const panel of panels) {
      assert.ok(panel.gridPos.x >= 0 && panel.gridPos.x + panel.gridPos.w <= 24, `panel "${panel.title}" fits the 24-column grid`);
      if (panel.type === 'row') continue;
      assert.ok(panel.targets?.length && panel.targets.every((t) => t.expr.trim() && t.refId), `panel "${panel.title}" has queries`);
      // Every panel follows the engine and job picked at the top of the dashboard.
      for (const t of panel.targets!) assert.match(t.expr, /instance=~"\$instance"/, `panel "${panel.title}" filters by engine`);
    }
    assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource', 'job', 'instance']);
  });

  it('Prometheus scrapes the engines\' /metrics with the bearer token from a file, never inline', () => {
    const config = parse(readFileSync(join(REPO_ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{
        job_name: string;
        metrics_path?: string;
        authorization?: { type?: string; credentials?: string; credentials_file?: string };
        static_configs?: Array<{ targets: string[] }>;
      }>;
    };
    const job = config.scrape_configs.find((j) => j.job_name === 'ai-agent-engine');
    assert.ok(job, 'the job the dashboard lists');
    assert.equal(job.metrics_path, '/metrics');
    assert.equal(job.authorization?.type, 'Bearer');
    assert.ok(job.authorization?.credentials_file, 'the token comes from a file');
    assert.equal(job.authorization?.credentials, undefined, 'no token in the file');
    const targets = job.static_configs!.flatMap((s) => s.targets);
    assert.ok(targets.length >= 2, 'several engines');
    // The control API refuses Host names it does not know: targets are addresses with the control port.
    for (const target of targets) assert.match(target, /^\d{1,3}(\.\d{1,3}){3}:\d+$/, target);
  });
});
