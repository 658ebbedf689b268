/**
 * Skitai's public API. Everything a user imports comes from here; nothing else is public.
 * @packageDocumentation
 */
export { App, abort } from './app/app.js';
export type { Args, RouteHandler, RouteOptions, Route, LifecycleHook, BeforeHook, AfterHook, TeardownHook } from './app/app.js';
export type { Fields, RouteArgs, RuleParams, NamedParams, RuleCheck } from './app/params.js';
export { Was } from './was/was.js';
export { WasRequest } from './was/request.js';
export { WasResponse } from './was/response.js';
export type { Cookies, CookieOptions } from './was/cookie.js';
export type { Session, SessionOptions, FlashMessage } from './was/session.js';
export type { MessageBox } from './was/mbox.js';
export type { Templates, TemplateEnvironment, TemplateSetup } from './was/templates.js';
export type { ReadableLike, StreamSource } from './was/tostream.js';
export { SkitaiError, isSkitaiError, ERRORS } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { AuthUser } from './auth/users.js';
export { Site } from './site.js';
export type { SiteOptions } from './site.js';
export { loadConfig, defaultConfig, parseConfigText } from './config/load.js';
export type { SiteConfig, ServerConfig, RouteEntry, HostGroup, ClusterConfig } from './config/types.js';
export type { UploadedFile } from './http/body.js';
export { Clients } from './client/clients.js';
export type { ClientsOptions, ClientsStatus } from './client/clients.js';
export { Status } from './client/status.js';
export { Result, Results } from './client/result.js';
export type { ResultHeaders, RpcFaultInfo } from './client/result.js';
export type { Call, CallOptions, ResultFilter } from './client/call.js';
export type { RpcCall, RpcMethod, RpcClient, RpcMethods, RpcReply, ReservedRpcName } from './client/proxy.js';
export type { UploadFile } from './client/request.js';
export type { ClusterStatus, MemberStatus } from './cluster/cluster.js';
export type { Composer } from './mail/composer.js';
export type { MailSpool, MailState, SpoolStatus } from './mail/spool.js';
export { MailAgent } from './mail/agent.js';
export type { AgentStatus, MailAgentOptions } from './mail/agent.js';
export { parseSmtpdaOptions, SMTPDA_KEYS } from './mail/options.js';
export type { SmtpdaOptions } from './mail/options.js';
export { Databases } from './db/databases.js';
export type { DatabasesOptions, DatabasesStatus } from './db/databases.js';
export { DbResult } from './db/result.js';
export type { Row, DbField, DbResults } from './db/result.js';
export type { DbCall, DbCallOptions, DbResultFilter, ExecuteOptions } from './db/call.js';
export type { DbClusterStatus } from './db/cluster.js';
export type { PoolStatus } from './db/query.js';
