import { ConfigError } from '../errors.js';
import type { Tracer } from '@opentelemetry/api';

/**
 * Tracing is on when the standard OTLP endpoint variables say where to send spans. Off, nothing
 * of OpenTelemetry is loaded: every import below is dynamic, so a plain run pays nothing.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/** The protocols millrace exports with: OTLP over HTTP, as JSON or protobuf (the OTLP default). */
export type OtlpProtocol = 'http/json' | 'http/protobuf';

export function otlpProtocol(env: NodeJS.ProcessEnv = process.env): OtlpProtocol {
  const value = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
  if (value === 'http/json' || value === 'http/protobuf') return value;
  throw new ConfigError(
    `OTEL_EXPORTER_OTLP_PROTOCOL: expected http/protobuf or http/json (millrace exports OTLP over HTTP only), got ${JSON.stringify(value)}`,
  );
}

/** Ids chosen by the caller for the next span (job spans: ids made from job ids), else random ones. */
export interface ChosenIds {
  next: { traceId?: string; spanId?: string } | undefined;
}

export interface OpenTracer {
  tracer: Tracer;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * A tracer that exports over OTLP/HTTP to the endpoint of the standard variables (the exporter
 * reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and _HEADERS itself). `register` makes it the
 * process's (thread's) global tracer with an AsyncLocalStorage context manager, so that user code's
 * `trace.getTracer()` and instrumentations use it. `batch: false` exports each span as it ends
 * (an executor thread may be terminated without a flush).
 */
export async function openTracer(options: {
  serviceName: string;
  register: boolean;
  batch: boolean;
  ids?: ChosenIds;
}): Promise<OpenTracer> {
  const protocol = otlpProtocol();
  const [
    { NodeTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, RandomIdGenerator },
    { resourceFromAttributes },
    exporterModule,
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    protocol === 'http/json'
      ? import('@opentelemetry/exporter-trace-otlp-http')
      : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  const exporter = new exporterModule.OTLPTraceExporter();
  const random = new RandomIdGenerator();
  const ids = options.ids;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME || options.serviceName }),
    spanProcessors: [options.batch ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter)],
    idGenerator: {
      generateTraceId: () => ids?.next?.traceId ?? random.generateTraceId(),
      generateSpanId: () => ids?.next?.spanId ?? random.generateSpanId(),
    },
  });
  if (options.register) provider.register();
  return {
    tracer: provider.getTracer('millrace'),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
