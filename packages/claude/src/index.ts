export { anthropicModel } from './anthropic-model.ts';
export { mapSdkError } from './errors.ts';
export type { AnthropicModelOptions, ModelClient, ModelRequest } from './types.ts';
export { exhaustedUntil } from './rate-limit-headers.ts';
