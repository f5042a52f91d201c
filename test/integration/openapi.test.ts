/**
 * [OPENAPI-1] The broker's own OpenAPI document lists what each route can answer and types
 * fields as the routes check them (integers as integers, closed request bodies, query flags).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, removeDir, startBroker, type BrokerProcess } from "../support/broker-process.ts";

let broker: BrokerProcess;
let spec: any;
beforeAll(async () => {
  broker = await startBroker();
  spec = (await api(broker.url, "GET", "/swagger/json")).body;
});
afterAll(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

const operations = () =>
  Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

test("every operation lists 403 (ALLOWED_HOSTS), and its other errors", async () => {
  expect(operations().length).toBeGreaterThanOrEqual(15);
  for (const { path, method, op } of operations()) {
    expect({ path, method, has403: "403" in op.responses }).toEqual({ path, method, has403: true });
    if (method === "delete") expect({ path, method, has404: "404" in op.responses }).toEqual({ path, method, has404: true });
    if (op.requestBody) {
      for (const status of ["400", "413", "422"]) expect({ path, method, status, listed: status in op.responses }).toEqual({ path, method, status, listed: true });
    }
  }
  expect(Object.keys(spec.paths["/publish"].post.responses)).toEqual(expect.arrayContaining(["200", "404", "429", "503"]));
});

test("integers are typed integer; request bodies are closed; query flags are documented", async () => {
  const schemas = spec.components.schemas;
  expect(schemas.QueueDeclare.properties.max_length.type).toBe("integer");
  expect(schemas.PublishRequest.properties.ttl.type).toBe("integer");
  expect(schemas.Queue.properties.messages.type).toBe("integer");
  for (const model of ["ExchangeDeclare", "QueueDeclare", "BindingRequest", "PublishRequest"]) {
    expect({ model, additionalProperties: schemas[model].additionalProperties }).toEqual({ model, additionalProperties: false });
  }
  const params = spec.paths["/queues/{name}"].delete.parameters.map((p: any) => `${p.in}:${p.name}`);
  expect(params).toEqual(expect.arrayContaining(["query:if_unused", "query:if_empty"]));
});

test("GET /readyz is documented: 200 and 503 answer the Readiness model; /metrics documents its disk figures", async () => {
  const responses = spec.paths["/readyz"].get.responses;
  expect(Object.keys(responses).sort()).toEqual(["200", "403", "503"]);
  for (const status of ["200", "503"]) expect(responses[status].content["application/json"].schema.$ref).toBe("#/components/schemas/Readiness");
  expect(spec.components.schemas.Readiness.properties.status.anyOf.map((s: any) => s.const)).toEqual(["ready", "not_ready"]);
  expect(Object.keys(spec.components.schemas.Metrics.properties.disk.properties).sort()).toEqual(["alarm", "free_bytes", "limit_bytes", "path"]);
});
