/**
 * Picks the implementation of a role for a spec's protocol. The AMQP and NATS clients are
 * optional packages: imported only when a spec needs them.
 */
import type { ConfirmedPublishSpec, ConsumerSpec, StreamPublisherSpec, SubscriberSpec } from "../specs.ts";
import { openHttpPublisher } from "./http.ts";
import type { AckGate, ConfirmedPublisher, Consumer, PayloadListener, StampedPublisher, StreamPublisher, Subscriber } from "./roles.ts";
import { openWsConfirmedPublisher, openWsConsumer, openWsPublisher, openWsStampedPublisher, openWsSubscriber } from "./ws.ts";

export async function openConfirmedPublisher(spec: ConfirmedPublishSpec, inflight: number): Promise<ConfirmedPublisher> {
  switch (spec.protocol) {
    case "http":
      return openHttpPublisher(spec.host, spec.port, spec.path, spec.body, spec.expectBody, inflight, spec.token);
    case "ws-confirm":
      return openWsConfirmedPublisher(spec.host, spec.port, spec.path, spec.exchange, spec.key, inflight, spec.payloadBytes, spec.token);
    case "amqp":
      return (await import("./amqp.ts")).openAmqpConfirmedPublisher(
        spec.url,
        spec.exchange,
        spec.routingKey,
        spec.persistent,
        inflight,
        spec.payloadBytes,
      );
    case "jetstream":
      return (await import("./nats.ts")).openJetStreamPublisher(spec.servers, spec.subject, inflight);
  }
}

export async function openStreamPublisher(spec: StreamPublisherSpec): Promise<StreamPublisher> {
  switch (spec.protocol) {
    case "ws":
      return openWsPublisher(spec.host, spec.port, spec.path, spec.publishFrame, spec.token);
    case "amqp":
      return (await import("./amqp.ts")).openAmqpPublisher(spec.url, spec.exchange, spec.routingKey, spec.persistent);
    case "nats":
      return (await import("./nats.ts")).openNatsPublisher(spec.servers, spec.subject);
  }
}

export async function openStampedPublisher(spec: StreamPublisherSpec): Promise<StampedPublisher> {
  switch (spec.protocol) {
    case "ws":
      return openWsStampedPublisher(spec.host, spec.port, spec.path, spec.publishFrame, spec.token);
    case "amqp":
      return (await import("./amqp.ts")).openAmqpStampedPublisher(spec.url, spec.exchange, spec.routingKey);
    case "nats":
      return (await import("./nats.ts")).openNatsStampedPublisher(spec.servers, spec.subject);
  }
}

export async function openSubscriber(spec: SubscriberSpec, onPayload?: PayloadListener): Promise<Subscriber> {
  switch (spec.protocol) {
    case "ws":
      return openWsSubscriber(spec.host, spec.port, spec.path, spec.subscribeFrame, onPayload, spec.token, spec.batched === true);
    case "amqp":
      return (await import("./amqp.ts")).openAmqpSubscriber(spec.url, spec.exchange, onPayload);
    case "nats":
      return (await import("./nats.ts")).openNatsSubscriber(spec.servers, spec.subject, onPayload);
    case "nats-wire":
      return (await import("./nats-wire.ts")).openNatsWireSubscriber(spec.host, spec.port, spec.subject, onPayload);
  }
}

export async function openConsumer(spec: ConsumerSpec, gate?: AckGate): Promise<Consumer> {
  switch (spec.protocol) {
    case "ws":
      return openWsConsumer(spec.host, spec.port, spec.path, spec.queue, spec.prefetch, gate, spec.token);
    case "amqp":
      return (await import("./amqp.ts")).openAmqpConsumer(spec.url, spec.queue, spec.prefetch, gate);
    case "jetstream":
      return (await import("./nats.ts")).openJetStreamConsumer(spec.servers, spec.stream, spec.consumer, spec.prefetch, gate);
  }
}
