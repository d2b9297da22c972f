export type { ApiUsage, MessagesBody, Reply, Responder } from './messages-protocol.ts';
export { lastUserText, textOfContent } from './messages-protocol.ts';
export type {
  MessagesReply,
  MessagesRequest,
  MessagesServer,
  MessagesServerOptions,
  StreamPacing,
} from './messages-server.ts';
export { startMessagesServer } from './messages-server.ts';
export { analystResponder } from './offline-analyst.ts';
export { asReply, OFFLINE_MODEL, startOfflineModel } from './offline-model.ts';
export { teamResponder } from './offline-team.ts';
