// Prometheus metrics for the whole cluster. Each worker counts its own; the
// primary's AggregatorRegistry sums them over IPC, so one scrape of /metrics
// on any worker describes the whole cluster.
import client from 'prom-client';

let aggregator: client.AggregatorRegistry<client.PrometheusContentType> | undefined;

/** In a worker: default metrics, and answer the primary's scrape requests. */
export function enableWorkerMetrics(): void {
  // Constructing it is what makes a worker answer the primary's requests.
  aggregator ??= new client.AggregatorRegistry();
  client.collectDefaultMetrics();
}

/** In the primary: every worker's metrics, summed. */
export async function clusterMetrics(): Promise<{ contentType: string; body: string }> {
  aggregator ??= new client.AggregatorRegistry();
  return { contentType: aggregator.contentType, body: await aggregator.clusterMetrics() };
}

/** This process's metrics only (tests, and a server run outside the cluster). */
export async function localMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: client.register.contentType, body: await client.register.metrics() };
}
