import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The service's Prometheus metrics, in their own registry so tests can start several services. */
export class Metrics {
    readonly registry = new Registry();
    readonly runs = new Counter({
        name: 'rollcall_runs_total',
        help: 'Provisioning runs finished, by trigger and final status',
        labelNames: ['trigger', 'status'] as const,
        registers: [this.registry]
    });
    readonly previews = new Counter({
        name: 'rollcall_previews_total',
        help: 'Previews written',
        registers: [this.registry]
    });
    readonly invitations = new Counter({
        name: 'rollcall_invitations_total',
        help: 'Invitations by outcome (sent, failed, skipped)',
        labelNames: ['outcome'] as const,
        registers: [this.registry]
    });
    readonly salesforceCalls = new Counter({
        name: 'rollcall_salesforce_calls_total',
        help: 'Salesforce REST API calls made',
        registers: [this.registry]
    });
    readonly salesforceRetries = new Counter({
        name: 'rollcall_salesforce_retries_total',
        help: 'Salesforce calls retried, by reason',
        labelNames: ['reason'] as const,
        registers: [this.registry]
    });
    readonly notifications = new Counter({
        name: 'rollcall_notifications_total',
        help: 'Audit emails and Slack summaries, by channel and outcome',
        labelNames: ['channel', 'outcome'] as const,
        registers: [this.registry]
    });
    readonly runDuration = new Histogram({
        name: 'rollcall_run_duration_seconds',
        help: 'Duration of executed runs',
        labelNames: ['trigger'] as const,
        buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
        registers: [this.registry]
    });
    readonly previewDuration = new Histogram({
        name: 'rollcall_preview_duration_seconds',
        help: 'Duration of previews (evaluation and writes)',
        buckets: [0.5, 1, 2, 5, 10, 30, 60, 120],
        registers: [this.registry]
    });
    readonly httpDuration = new Histogram({
        name: 'rollcall_http_request_duration_seconds',
        help: 'HTTP requests served, by route and status',
        labelNames: ['method', 'route', 'status'] as const,
        buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30],
        registers: [this.registry]
    });

    constructor(collectDefaults = true) {
        if (collectDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'rollcall_' });
    }
}
