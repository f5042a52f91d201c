/**
 * Picks the implementation of a role for a spec's protocol. The AMQP and NATS clients are
 * optional packages: imported only when a spec needs them.
 */
import type { ConfirmedPublishSpec, FanoutPublisherSpec, SubscriberSpec } from "../specs.ts";
import { openHttpPublisher } from "./http.ts";
import type { ConfirmedPublisher, StreamPublisher, Subscriber } from "./roles.ts";
import { openWsPublisher, openWsSubscriber } from "./ws.ts";

export async function openConfirmedPublisher(spec: ConfirmedPublishSpec, inflight: number): Promise<ConfirmedPublisher> {
  switch (spec.protocol) {
    case "http":
      return openHttpPublisher(spec.host, spec.port, spec.path, spec.body, spec.expectBody, inflight);
    case "amqp":
      return (await import("./amqp.ts")).openAmqpConfirmedPublisher(spec.url, spec.exchange, spec.routingKey, spec.persistent, inflight);
    case "jetstream":
      return (await import("./nats.ts")).openJetStreamPublisher(spec.servers, spec.subject, inflight);
  }
}

export async function openStreamPublisher(spec: FanoutPublisherSpec): Promise<StreamPublisher> {
  switch (spec.protocol) {
    case "ws":
      return openWsPublisher(spec.host, spec.port, spec.path, spec.publishFrame);
    case "amqp":
      return (await import("./amqp.ts")).openAmqpPublisher(spec.url, spec.exchange);
    case "nats":
      return (await import("./nats.ts")).openNatsPublisher(spec.servers, spec.subject);
  }
}

export async function openSubscriber(spec: SubscriberSpec): Promise<Subscriber> {
  switch (spec.protocol) {
    case "ws":
      return openWsSubscriber(spec.host, spec.port, spec.path, spec.subscribeFrame);
    case "amqp":
      return (await import("./amqp.ts")).openAmqpSubscriber(spec.url, spec.exchange);
    case "nats":
      return (await import("./nats.ts")).openNatsSubscriber(spec.servers, spec.subject);
  }
}
