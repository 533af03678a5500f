// The generated code for protos/webhooks/v1 (ts-proto): messages, enums,
// grpc-js service definitions and clients.
export * from "./gen/webhooks/v1/subscription";
export * from "./gen/webhooks/v1/principal";
export * from "./gen/webhooks/v1/dialect";
export * from "./gen/webhooks/v1/event";
export * from "./gen/webhooks/v1/delivery";
export * from "./gen/webhooks/v1/config";
export * from "./gen/webhooks/v1/api_key";
