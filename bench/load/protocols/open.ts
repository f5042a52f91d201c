/** Picks the implementation of a role for a spec's protocol. */
import type { ConfirmedPublishSpec, FanoutPublisherSpec, SubscriberSpec } from "../specs.ts";
import { openAmqpConfirmedPublisher, openAmqpPublisher, openAmqpSubscriber } from "./amqp.ts";
import { openHttpPublisher } from "./http.ts";
import { openJetStreamPublisher, openNatsPublisher, openNatsSubscriber } from "./nats.ts";
import type { ConfirmedPublisher, StreamPublisher, Subscriber } from "./roles.ts";
import { openWsPublisher, openWsSubscriber } from "./ws.ts";

export function openConfirmedPublisher(spec: ConfirmedPublishSpec, inflight: number): Promise<ConfirmedPublisher> {
  switch (spec.protocol) {
    case "http":
      return openHttpPublisher(spec.host, spec.port, spec.path, spec.body, spec.expectBody, inflight);
    case "amqp":
      return openAmqpConfirmedPublisher(spec.url, spec.exchange, spec.routingKey, spec.persistent, inflight);
    case "jetstream":
      return openJetStreamPublisher(spec.servers, spec.subject, inflight);
  }
}

export function openStreamPublisher(spec: FanoutPublisherSpec): Promise<StreamPublisher> {
  switch (spec.protocol) {
    case "ws":
      return openWsPublisher(spec.host, spec.port, spec.path, spec.publishFrame);
    case "amqp":
      return openAmqpPublisher(spec.url, spec.exchange);
    case "nats":
      return openNatsPublisher(spec.servers, spec.subject);
  }
}

export function openSubscriber(spec: SubscriberSpec): Promise<Subscriber> {
  switch (spec.protocol) {
    case "ws":
      return openWsSubscriber(spec.host, spec.port, spec.path, spec.subscribeFrame);
    case "amqp":
      return openAmqpSubscriber(spec.url, spec.exchange);
    case "nats":
      return openNatsSubscriber(spec.servers, spec.subject);
  }
}
