/**
 * The Notifier port over @slack/web-api `chat.postMessage`. Slack being down, rate limited or
 * misconfigured never throws: the outcome is returned so the run can record it.
 */
import { LogLevel, WebClient } from '@slack/web-api';
import type { Config } from '../config';
import { redact } from '../errors';
import type { Logger } from '../logger';
import type { NotificationOutcome, Notifier, SlackMessage } from '../ports';

interface SlackError {
    code?: string;
    retryAfter?: number;
    statusCode?: number;
    data?: { error?: string };
    message?: string;
}

export function describeSlackError(error: unknown): string {
    return redact(slackReason(error));
}

function slackReason(error: unknown): string {
    const e = (error ?? {}) as SlackError;
    if (e.code === 'slack_webapi_rate_limited_error')
        return `rate limited (retry after ${e.retryAfter ?? '?'} s)`;
    if (e.code === 'slack_webapi_platform_error') return `Slack refused: ${e.data?.error ?? 'unknown error'}`;
    if (e.code === 'slack_webapi_http_error') return `Slack HTTP ${e.statusCode ?? 'error'}`;
    if (e.code === 'slack_webapi_request_error') return 'Slack unreachable';
    return (e.message ?? String(error)).slice(0, 200);
}

export class SlackNotifier implements Notifier {
    private readonly client?: WebClient;

    constructor(
        private readonly config: Config['slack'],
        private readonly logger: Logger
    ) {
        if (config.token) {
            this.client = new WebClient(config.token, {
                slackApiUrl: config.apiUrl,
                retryConfig: { retries: 0 },
                rejectRateLimitedCalls: true,
                timeout: config.timeoutMs,
                logLevel: LogLevel.ERROR
            });
        }
    }

    async post(message: SlackMessage): Promise<NotificationOutcome> {
        const channel = message.channel ?? this.config.channel;
        if (!this.client) return { status: 'skipped', detail: 'Slack is not configured (SLACK_BOT_TOKEN)' };
        if (!channel) return { status: 'skipped', detail: 'no Slack channel configured' };
        try {
            const response = await this.client.chat.postMessage({
                channel,
                text: message.text,
                blocks: message.blocks as never,
                unfurl_links: false
            });
            return {
                status: 'sent',
                detail: `posted to ${channel}${response.ts ? ` (ts ${response.ts})` : ''}`
            };
        } catch (error) {
            const detail = describeSlackError(error);
            this.logger.warn({ channel, detail }, 'Slack summary not posted');
            return { status: 'failed', detail };
        }
    }
}
